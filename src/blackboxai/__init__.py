"""blackboxai: a command-line coding assistant with opt-in, anonymous analytics."""

__version__ = "0.1.0"
