"""What PostHog and Mixpanel accept, as pure functions the loopback stand-in applies.

PostHog `/batch/` (PostHog/posthog `rust/capture`):
- `src/api.rs` maps each CaptureError to a status: 400 for an unparsable body, an empty batch, an
  empty event name, a missing or empty distinct_id, an event over the size limit; 401 for a
  missing or malformed token; 429 for rate or billing limits; 503 to retry. Error bodies are
  plain text, the error's own words (`impl IntoResponse for CaptureError`:
  `(StatusCode::BAD_REQUEST, self.to_string())`, e.g. "failed to parse request: ..."); a body
  over the limit is refused by axum: 413 "Failed to buffer the request body: length limit
  exceeded". The uploader trusts a 400 only in those words (posthog_sink.CAPTURE_ERRORS).
- `src/events/analytics.rs`: `process_events` runs `process_single_event(...)?` over the batch,
  so one bad event fails the whole request; a non-UUID `uuid` fails deserialising the request.
- `src/token.rs`: a key is only shape-checked at the edge (non-empty after trimming, at most 64
  characters, ASCII, not a personal `phx_` key, no NUL). A well-shaped key of no project is
  answered 200 and its events are filed nowhere.
- Bodies up to 20 MB (413 beyond), events up to 1 MB. No age limit. Every event received is
  kept, duplicates included: de-duplication on `uuid` is eventual (ClickHouse merges).

Mixpanel (mixpanel/docs `openapi/src/ingestion.openapi.yaml`):
- `/track`: form data `data=<json>`; "Ingesting historical events: Last 5 days only" — older
  events are dropped while the answer still says `{"status": 1}` (`1`
  without `verbose=1`). No authentication ("does not signify a valid project token").
- `/import`: HTTP Basic auth, the project token as user name (401 without, or for a token of no
  project); a JSON array (`application/json`) or NDJSON, optionally gzip; up
  to 2,000 events and 2 MB uncompressed (413 beyond; the docs give the limits, and 413 for a
  payload too large). Each event needs a name, `time` (seconds or milliseconds, after 1971, at
  most an hour ahead), `distinct_id` (not one of the documented placeholder values),
  `$insert_id` (at most 36 of `[A-Za-z0-9-]`), fewer than 255 properties, at most 1 MB. With
  `strict=1`, invalid events come back in a 400 with `failed_records` (index, `$insert_id`,
  field, message) and `num_records_imported`, the valid ones being ingested (a partial
  success); without it they are dropped silently. Success: `{"code": 200,
  "num_records_imported": N, "status": "OK"}`; every error is JSON `{"code", "error",
  "status"}` (responses StrictInvalid, StrictUnauthorized, StrictTooLarge with status
  "Request Entity Too Large", RateLimitExceeded). Form data (`data=...`, what the SDK's
  `Consumer.send("imports")` posts) gets the same answers.
- Strings are cut at 255 characters. Events with the same (event, distinct_id, time,
  $insert_id) are duplicates, counted once.
- Rate limits answer 429; 502 and 503 happen too (retry both with backoff from 2 s).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

POSTHOG_MAX_BODY = 20 * 1024 * 1024
POSTHOG_MAX_EVENT = 1024 * 1024
MIXPANEL_MAX_BODY = 2 * 1024 * 1024
MIXPANEL_MAX_EVENTS = 2000
MIXPANEL_MAX_EVENT = 1024 * 1024
TRACK_MAX_AGE = 5 * 86_400
# Documented as refused for both distinct_id and $insert_id.
PLACEHOLDER_IDS = {
    "00000000-0000-0000-0000-000000000000", "anon", "anonymous", "nil", "none", "null", "n/a",
    "na", "undefined", "unknown", "<nil>", "0", "-1", "true", "false", "[]", "{}",
}  # fmt: skip
INSERT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")


def posthog_key_ok(key: str) -> bool:
    """rust/capture src/token.rs: the shape only (a key of no project passes)."""
    key = key.strip()
    return (
        bool(key)
        and len(key) <= 64
        and key.isascii()
        and not key.startswith("phx_")
        and ("\0" not in key)
    )


def posthog_refusal(payload: object) -> tuple[int, str] | None:
    """The status and text /batch/ answers a decoded body with, or None when it takes it all.
    Any one bad event refuses the whole request (process_events applies `?` to each)."""
    try:
        assert isinstance(payload, dict)
        events = payload["batch"]
        if not isinstance(events, list):
            raise TypeError("batch is not a list")
        for event in events:  # what deserialising a RawEvent demands of each
            if not isinstance(event["event"], str):
                raise TypeError("event is not a string")
            if event.get("uuid") is not None:
                uuid.UUID(event["uuid"])  # a non-string raises TypeError, a bad one ValueError
    except (AssertionError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return 400, f"failed to parse request: {type(exc).__name__}"
    if not posthog_key_ok(str(payload.get("api_key") or "")):
        return 401, "API key is not valid"
    if not events:
        return 400, "request holds no event"
    for event in events:
        distinct = event.get("distinct_id", (event.get("properties") or {}).get("distinct_id"))
        if not event["event"]:
            return 400, "event submitted with an empty event name"
        if distinct is None:
            return 400, "event submitted without a distinct_id"
        if str(distinct) == "":
            return 400, "event submitted with an empty distinct_id"
        if len(json.dumps(event)) > POSTHOG_MAX_EVENT:
            return 400, "maximum event size exceeded"
    return None


def basic_user(header: str | None) -> str:
    if not header or not header.startswith("Basic "):
        return ""
    try:
        return base64.b64decode(header[6:]).decode().partition(":")[0]
    except ValueError:
        return ""


def event_seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value / 1000 if value > 1e11 else float(value)


def cut_strings(event: dict[str, Any]) -> dict[str, Any]:
    props = event.get("properties") or {}
    cut = {k: v[:255] if isinstance(v, str) else v for k, v in props.items()}
    return {**event, "properties": cut}


def import_refusal(index: int, event: object, now: float) -> dict[str, Any] | None:
    """The failed_records row for an event /import refuses, or None when it is valid."""
    props = event.get("properties") if isinstance(event, dict) else None
    insert_id = props.get("$insert_id") if isinstance(props, dict) else None

    def row(field: str, message: str) -> dict[str, Any]:
        return {"index": index, "$insert_id": insert_id, "field": field, "message": message}

    if not isinstance(event, dict) or not isinstance(props, dict):
        return row("properties", "'properties' must be an object")
    if not isinstance(event.get("event"), str) or not event["event"]:
        return row("event", "'event' must be a non-empty string")
    seconds = event_seconds(props.get("time"))
    if seconds is None or seconds < 31_536_000 or seconds > now + 3600:
        return row("properties.time", "'properties.time' is invalid")
    distinct = props.get("distinct_id")
    if not isinstance(distinct, str) or distinct.lower() in PLACEHOLDER_IDS:
        return row("properties.distinct_id", "'properties.distinct_id' is invalid")
    if (
        not isinstance(insert_id, str)
        or not INSERT_ID.match(insert_id)
        or insert_id.lower() in PLACEHOLDER_IDS
    ):
        return row("properties.$insert_id", "'properties.$insert_id' is invalid")
    if len(props) >= 255:
        return row("properties", "an event must have fewer than 255 properties")
    if len(json.dumps(event)) > MIXPANEL_MAX_EVENT:
        return row("event", "an event must be smaller than 1MB")
    return None
