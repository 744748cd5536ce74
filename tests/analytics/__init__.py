"""The analytics layer as a library and as a whole (src/blackboxai/analytics); a folder per
stage below."""
