"""The composition root: settings, wiring and the `director-bot` command line."""
