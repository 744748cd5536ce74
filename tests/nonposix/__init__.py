"""The POSIX-hiding simulation tests/test_portable.py runs (see nonposix.py)."""
