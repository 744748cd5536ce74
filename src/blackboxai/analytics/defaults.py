"""Every tunable number and built-in endpoint of the analytics layer, in one place."""

from __future__ import annotations

__all__ = [
    "BUFFER_EVENTS",
    "CONSENT_POLL",
    "DOCS_URL",
    "EVENT_MAX_AGE_DAYS",
    "HEALTH_FILE",
    "MIXPANEL_BATCH",
    "MIXPANEL_BATCH_BYTES",
    "MIXPANEL_DEFAULT_HOST",
    "OTLP_BATCH",
    "OTLP_BATCH_BYTES",
    "POSTHOG_BATCH",
    "POSTHOG_BATCH_BYTES",
    "POSTHOG_DEFAULT_HOST",
    "POSTHOG_PROJECT_API_KEY",
    "SESSION_LOCK_WAIT",
    "SPOOL_MAX_BYTES",
    "SPOOL_MAX_EVENTS",
    "UPLOAD_BACKOFF",
    "UPLOAD_CONNECT_TIMEOUT",
    "UPLOAD_LIFETIME",
    "UPLOAD_LOCK_WAIT",
    "UPLOAD_REQUEST_TIMEOUT",
    "UPLOAD_RETRIES",
    "UPLOAD_RETRY_CAP",
    "UPLOAD_SEND_TIME",
]

# The project's PostHog write key. A project API key is public by design (it can only ingest
# events); maintainers set it here and nowhere else. PostHog's edge only checks a key's shape, so
# a made-up key is answered 200 and filed nowhere: until a real one is set here, PostHog is a
# destination only when the user configures a key.
POSTHOG_PROJECT_API_KEY: str | None = None
POSTHOG_DEFAULT_HOST = "https://us.i.posthog.com"
MIXPANEL_DEFAULT_HOST = "https://api.mixpanel.com"

# Where users read what is collected; printed with the opt-in question, so it must work for an
# installed wheel too (docs/analytics.md only exists in a checkout).
DOCS_URL = "https://blackbox.ai/docs/more/analytics.html"

# How long a session waits for the state or spool lock held by another process (a stopped one,
# a hung network disk) before it gives up: events to append are dropped and counted; a choice
# is not stored (an opt-out is still kept, by the marker analytics.disabled).
SESSION_LOCK_WAIT = 2.0

# Events held in memory before they are appended to the on-disk spool.
BUFFER_EVENTS = 500
# The spool keeps at most this much; past it the oldest events are dropped and counted.
SPOOL_MAX_EVENTS = 10_000
SPOOL_MAX_BYTES = 5 * 1024 * 1024

# Per request. PostHog's /batch/ takes up to 20 MB; we send at most 250 events, so a crash
# repeats few. Mixpanel's /import takes 2,000 events and 2 MB (uncompressed) a request.
POSTHOG_BATCH = 250
POSTHOG_BATCH_BYTES = 10 * 1024 * 1024
MIXPANEL_BATCH = 2_000
MIXPANEL_BATCH_BYTES = 1_900_000  # under Mixpanel's 2,097,152, leaving room for the SDK's fields
# A team's collector: the spec asks clients for no more than 64 MiB a request; the collector's
# default body limit is 20 MiB (confighttp). 500 records of a few hundred bytes stay far below.
OTLP_BATCH = 500
OTLP_BATCH_BYTES = 4 * 1024 * 1024

# The uploader. Each request is bounded as a whole (connect, send, every byte of the answer), so
# a server that trickles bytes cannot hold it; each read may take that long too, so an answer
# that arrives within the bound counts (a shorter read timeout made a late 200 "no answer", and
# the batch was sent again on every run). A run waits for a running one to finish, then sends
# for at most UPLOAD_SEND_TIME, and starts no request it could not finish by then.
UPLOAD_CONNECT_TIMEOUT = 3.0
UPLOAD_REQUEST_TIMEOUT = 10.0
UPLOAD_LOCK_WAIT = 65.0
UPLOAD_SEND_TIME = 60.0
# The detached process is ended by an alarm past this, whatever it is doing: a backstop only, as
# progress is saved after every acknowledged batch (a kill repeats at most the batch in flight).
UPLOAD_LIFETIME = 135
# Answers that ask to try again (408, 429, 5xx): waits of 2, 4 and 8 s plus up to 1 s of jitter,
# or what Retry-After asks (up to the cap), never past the end of the run; then a later run.
UPLOAD_RETRIES = 3
UPLOAD_BACKOFF = 2.0
UPLOAD_RETRY_CAP = 30.0
# While a retry waits, consent is read again this often (seconds): an opt-out, an id reset or a
# cleared queue during the wait ends the run within that, and the batch is not sent again.
CONSENT_POLL = 0.25
# An event not delivered within this many days of being recorded is deleted and counted.
EVENT_MAX_AGE_DAYS = 30
# Each destination's delivery record, written by the uploader, read by `analytics status`.
HEALTH_FILE = "delivery.health.json"
