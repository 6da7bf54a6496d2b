"""The run loop, one-off fetches and re-parsing: the one place that calls sources, merge and the store."""
