"""The analytics benchmark: `python -m bench.run` from the repository root (see README.md)."""
