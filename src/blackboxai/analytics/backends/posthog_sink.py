"""PostHog adapter: builds capture messages and posts batches through the SDK's own transport."""

from __future__ import annotations

from datetime import datetime, timezone

from blackboxai.analytics.backends import Record, SinkError, classify_status
from blackboxai.analytics.defaults import POSTHOG_BATCH

__all__ = ["PostHogSink", "to_message"]


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
    when = record.get("time")
    stamp = datetime.fromtimestamp(when if isinstance(when, (int, float)) else 0, timezone.utc)
    return {
        "type": "capture",
        "event": record["event"],
        "distinct_id": record["user_id"],
        "properties": props,
        "timestamp": stamp.isoformat(),
        "uuid": record["id"],
    }


class PostHogSink:
    """Posts to <host>/batch/ with `posthog.request.batch_post` on a session without retries:
    the uploader is the single retry layer (the SDK's default session retries https on its own)."""

    name = "posthog"
    max_batch = POSTHOG_BATCH

    def __init__(self, host: str, api_key: str, connect_timeout: float, read_timeout: float):
        import requests
        from posthog import request as ph_request
        from posthog.version import VERSION

        self._requests = requests
        self._ph = ph_request
        self._version = VERSION
        self._session = requests.Session()
        self._host = host
        self._key = api_key
        self._timeout = (connect_timeout, read_timeout)

    def send(self, batch: list[Record]) -> None:
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
            raise classify_status(exc.status, exc.retry_after) from None
        except self._requests.exceptions.RequestException as exc:
            raise SinkError("network", type(exc).__name__) from None

    def close(self) -> None:
        self._session.close()
