"""Every tunable number and built-in endpoint of the analytics layer, in one place."""

from __future__ import annotations

__all__ = [
    "BUFFER_EVENTS",
    "DOCS_URL",
    "MIXPANEL_BATCH",
    "MIXPANEL_DEFAULT_HOST",
    "POSTHOG_BATCH",
    "POSTHOG_DEFAULT_HOST",
    "POSTHOG_PROJECT_API_KEY",
    "SPOOL_MAX_BYTES",
    "SPOOL_MAX_EVENTS",
    "UPLOAD_CONNECT_TIMEOUT",
    "UPLOAD_LIFETIME",
    "UPLOAD_READ_TIMEOUT",
    "UPLOAD_RETRY_CAP",
]

# The project's PostHog write key. A project API key is public by design (it can
# only ingest events); maintainers replace it here and nowhere else.
POSTHOG_PROJECT_API_KEY = "phc_blackboxai_project_key_set_by_maintainers"
POSTHOG_DEFAULT_HOST = "https://us.i.posthog.com"
MIXPANEL_DEFAULT_HOST = "https://api.mixpanel.com"

# Where users read what is collected; printed with the opt-in question, so it must work for an
# installed wheel too (docs/analytics.md only exists in a checkout).
DOCS_URL = "https://blackbox.ai/docs/more/analytics.html"

# Events held in memory before they are appended to the on-disk spool.
BUFFER_EVENTS = 500
# The spool keeps at most this much; past it the oldest events are dropped and counted.
SPOOL_MAX_EVENTS = 10_000
SPOOL_MAX_BYTES = 5 * 1024 * 1024

# Batch sizes: PostHog's /batch/ takes large batches; Mixpanel's /track takes at most 50.
POSTHOG_BATCH = 250
MIXPANEL_BATCH = 50

# The detached uploader: short timeouts, one retry layer, a hard lifetime.
UPLOAD_CONNECT_TIMEOUT = 3.0
UPLOAD_READ_TIMEOUT = 5.0
UPLOAD_RETRY_CAP = 3.0
UPLOAD_LIFETIME = 60
