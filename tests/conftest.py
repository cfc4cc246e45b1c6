"""Our own tests: pytester for the plugin; the releaseops plugin (entry point) gives clusters."""

pytest_plugins = ["pytester"]
