"""Opt-in, anonymous analytics for blackboxai: consent, the audit log, and deferred delivery."""

from __future__ import annotations

from blackboxai.analytics.core import Analytics

__all__ = ["Analytics"]
