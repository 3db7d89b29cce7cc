"""Running turns as background jobs (`base.TurnRunner`; in-process implementation)."""
