"""The console adapter: a thread of a channel in your terminal (or a pipe)."""

from adapters.console.repl import run_console

__all__ = ["run_console"]
