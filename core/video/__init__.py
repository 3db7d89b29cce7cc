"""Video backends: one async interface (`backend.VideoBackend`), two implementations."""
