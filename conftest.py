"""Root conftest: the releaseops plugin (pytest11 entry point) provides every fixture."""
