"""Every Python process that has tests/nonposix on its PYTHONPATH (the pytest that
tests/test_portable.py starts, and every CLI and uploader that pytest starts) runs our code
without POSIX-only calls from its first line (see nonposix.py). That PYTHONPATH entry is the
simulation's whole switch."""

import nonposix

nonposix.apply()
