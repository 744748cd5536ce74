"""PostHog adapter: builds capture messages and posts batches through the SDK's own transport."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from blackboxai.analytics.defaults import POSTHOG_BATCH, POSTHOG_BATCH_BYTES
from blackboxai.analytics.delivery.sinks import Answer, event_millis, retry_after
from blackboxai.analytics.delivery.sinks.http import status_detail
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.queue.waiting import Record

__all__ = ["CAPTURE_ERRORS", "PostHogSink", "capture_error", "iso_time", "to_message"]


def iso_time(record: Record) -> str:
    """ISO 8601 with milliseconds, e.g. 2026-11-25T04:02:01.234+00:00 (PostHog keeps fractions)."""
    ms = event_millis(record)
    stamp = datetime.fromtimestamp(ms // 1000, timezone.utc).replace(microsecond=ms % 1000 * 1000)
    return stamp.isoformat(timespec="milliseconds")


def to_message(record: Record, lib_version: str) -> dict[str, object]:
    """A PostHog capture message carrying the event's own uuid, so retries deduplicate."""
    raw = record.get("properties")
    props: dict[str, object] = dict(raw) if isinstance(raw, dict) else {}
    props.update(
        {
            "$lib": "posthog-python",
            "$lib_version": lib_version,
            "$geoip_disable": True,  # never derive a location from the sender's address
            "$process_person_profile": False,  # anonymous events, no person profiles
        }
    )
    return {
        "type": "capture",
        "event": record.get("event"),
        "distinct_id": record.get("user_id"),
        "properties": props,
        "timestamp": iso_time(record),
        "uuid": record.get("id"),
    }


# How PostHog's capture words a refusal of the data: the text of its CaptureError, sent as is
# with a 400 (413 for an event too big in newer releases). PostHog/posthog rust/capture/src/
# api.rs, `impl IntoResponse for CaptureError`: `(StatusCode::BAD_REQUEST, self.to_string())`,
# with the `#[error("...")]` texts below; an oversized body is refused by axum's body limit,
# "Failed to buffer the request body: length limit exceeded". The Django capture it replaced
# (still in older self-hosted installs) answered JSON from posthog/exceptions.py
# `generate_exception_response`: {"type": "validation_error", "code", "detail", "attr"}.
CAPTURE_ERRORS = (
    "failed to decode request",
    "failed to parse request",
    "failed to hydrate events from request",
    "request holds no event",
    "request missing data payload",
    "event submitted ",
    "replay event ",
    "invalid event could not be processed",
    "maximum event size exceeded",
    "payload empty after filtering invalid event types",
    "Failed to buffer the request body",
)


def capture_error(body: str) -> bool:
    """Whether an error answer's body is PostHog's own (see CAPTURE_ERRORS)."""
    if body.startswith(CAPTURE_ERRORS):
        return True
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(data, dict)
        and data.get("type") == "validation_error"
        and isinstance(data.get("code"), str)
        and "detail" in data
    )


class PostHogSink:
    """Posts to <host>/batch/ with `posthog.request.batch_post` on a session without retries
    or redirects: the uploader is the single retry layer (the SDK's default session retries
    https on its own), and a 3xx is an answer, not a success.
    The SDK adds `sent_at`, with which PostHog corrects the timestamps for clock skew."""

    name = "posthog"
    max_batch = POSTHOG_BATCH
    max_bytes = POSTHOG_BATCH_BYTES

    def __init__(
        self,
        destination: Destination,
        connect_timeout: float,
        read_timeout: float,
        data_dir: Path | None = None,
    ):
        host, api_key = destination.host, destination.key
        import requests
        from posthog import request as ph_request
        from posthog.version import VERSION

        from blackboxai.analytics.delivery.sinks.http import NoRedirects

        self._requests = requests
        self._ph = ph_request
        self._version = VERSION
        self._session = NoRedirects()  # a 3xx is the answer: see NoRedirects
        self._host = host.rstrip("/")
        self._key = api_key
        self._timeout = (connect_timeout, read_timeout)

    def send(self, batch: list[Record]) -> Answer:
        messages = [to_message(r, self._version) for r in batch]
        try:
            self._ph.batch_post(
                self._key,
                host=self._host,
                gzip=True,
                timeout=self._timeout,  # type: ignore[arg-type]  # requests takes (connect, read)
                batch=messages,
                session=self._session,
            )
        except self._ph.APIError as exc:
            status = exc.status if isinstance(exc.status, int) else 0
            # The SDK reads Retry-After (seconds or a date); normalised the way Mixpanel's is.
            wait = retry_after(getattr(exc, "retry_after", None))
            detail = (
                status_detail(status, self._session.location) if status else f"HTTP {exc.status}"
            )
            own = status in (400, 413) and capture_error(self._session.body)
            return Answer(status, retry_after=wait, detail=detail, from_service=own)
        except self._requests.exceptions.RequestException as exc:
            return Answer(0, detail=type(exc).__name__)
        return Answer(200)

    def close(self) -> None:
        self._session.close()
