"""Director Bot's platform-free core.

Nothing in this package imports `adapters` or `bot`: platforms plug in through the
small protocols in `core.delivery` and `core.incoming`.
"""
