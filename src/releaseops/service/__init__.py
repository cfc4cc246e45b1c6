"""The deployed service: HTTP client, smoke paths and its request logs."""
