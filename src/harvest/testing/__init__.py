"""The 127.0.0.1 replay server the tests, the demo and the benchmarks talk to (never the real sites)."""
