"""The coding-assistant session: chat, edits, the model endpoint, paths (src/blackboxai/session)."""
