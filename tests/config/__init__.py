"""Settings from every source, and what a cloned project's file may do (src/blackboxai/config)."""
