"""Mixpanel adapter: the SDK formats each event; one documented /import request per batch."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from blackboxai.analytics.defaults import MIXPANEL_BATCH, MIXPANEL_BATCH_BYTES
from blackboxai.analytics.delivery.sinks import Answer, event_millis, retry_after
from blackboxai.analytics.delivery.sinks.http import status_detail
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.queue.waiting import Record

__all__ = ["MixpanelSink", "import_error"]

# The fields `Mixpanel.track` sets itself, which a property of the same name would override (it
# merges the caller's properties last): who the event is from, which project, when, its
# de-duplication id, the library. And `ip`, from which /import would work out a location.
# /import refuses a time before 1971 for good, or more than an hour ahead of its clock for now.
_TIME_FIELDS = ("properties.time", "time")
_AFTER_1971 = 31_536_000_000  # ms

RESERVED = frozenset({"distinct_id", "token", "time", "$insert_id", "mp_lib", "$lib_version", "ip"})


class _Collect:
    """A stand-in consumer: `Mixpanel.track()` hands us its formatted JSON instead of sending."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, endpoint: str, json_message: str, *args: object, **kwargs: object) -> None:
        self.messages.append(json_message)


class MixpanelSink:
    """Events go to `/import`, which takes events of any age; `/track` silently drops those older
    than 5 days while answering `status: 1`.

    The request is the documented one (mixpanel/docs openapi/src/ingestion.openapi.yaml): a JSON
    array, gzip, `?strict=1` so invalid events come back as `failed_records`, and the project token
    as the Basic-auth user name. The SDK's own path there, `Consumer.send("imports", ...)`, posts
    form data (`data=...&verbose=1`) without gzip or strict, and calls any answer whose JSON
    `status` is not 1 an error, yet the documented success answer is `{"code": 200,
    "num_records_imported": N, "status": "OK"}`: it would report every import as a failure, and
    a 429 or 401 as a verdict on the data. So the SDK formats the events (`Mixpanel.track`
    into a collecting consumer: token, `mp_lib`, `$lib_version`) and the HTTP status is read
    here, on `requests`' session (which the SDK itself uses) with no retries of its own.
    """

    name = "mixpanel"
    max_batch = MIXPANEL_BATCH
    max_bytes = MIXPANEL_BATCH_BYTES

    def __init__(
        self,
        destination: Destination,
        connect_timeout: float,
        read_timeout: float,
        data_dir: Path | None = None,
    ):
        host, token = destination.host, destination.key
        import mixpanel  # type: ignore[import-untyped]  # the SDK ships no type hints
        import requests

        from blackboxai.analytics.delivery.sinks.http import NoRedirects

        self._requests = requests
        self._collect = _Collect()
        self._mp = mixpanel.Mixpanel(token, consumer=self._collect)
        self._session = NoRedirects()  # its default adapter never retries; a 3xx is the answer
        self._url = host.rstrip("/") + "/import"
        self._auth = (token, "")
        self._timeout = (connect_timeout, read_timeout)

    def send(self, batch: list[Record]) -> Answer:
        self._collect.messages.clear()
        for record in batch:
            raw = record.get("properties")
            own = raw.items() if isinstance(raw, dict) else ()
            props: dict[str, object] = {k: v for k, v in own if k not in RESERVED}
            # Our id and time override the SDK's fresh ones: a resend is recognisably the same
            # event ((event, distinct_id, time, $insert_id) is Mixpanel's de-duplication key),
            # and milliseconds keep the order of events within a second.
            props.update({"time": event_millis(record), "$insert_id": record.get("id")})
            self._mp.track(record.get("user_id"), record.get("event"), props)
        body = gzip.compress(("[" + ",".join(self._collect.messages) + "]").encode())
        try:
            response = self._session.post(
                self._url,
                params={"strict": "1"},
                data=body,
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                auth=self._auth,
                timeout=self._timeout,
                allow_redirects=False,  # NoRedirects forces it too
            )
            text = response.text
        except self._requests.exceptions.RequestException as exc:
            return Answer(0, detail=type(exc).__name__)
        status = response.status_code
        failed, deferred = _failed_ids(text, batch) if status == 400 else ((), ())
        return Answer(
            status,
            failed=failed,
            deferred=deferred,
            retry_after=retry_after(response.headers.get("Retry-After")),
            detail=status_detail(status, self._session.location),
            from_service=status in (400, 413) and import_error(text, status),
        )

    def close(self) -> None:
        self._session.close()


def import_error(text: str, status: int) -> bool:
    """Whether an error answer is /import's own: JSON with the `failed_records` of a strict
    import, or with `error` and `code` (the HTTP status). mixpanel/docs
    openapi/src/ingestion.openapi.yaml, responses StrictInvalid (400: code, error, status,
    num_records_imported, failed_records) and StrictTooLarge (413: code, error, status)."""
    try:
        data = json.loads(text)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    if isinstance(data.get("failed_records"), list):
        return True
    code = data.get("code")
    return isinstance(data.get("error"), str) and code == status and not isinstance(code, bool)


def _failed_ids(text: str, batch: list[Record]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ids of the events a strict /import named invalid: by `$insert_id` (the docs spell it
    both with and without the `$`), else by their index in the batch. And those of them refused
    only for their time while it is after 1971: /import refuses events more than an hour ahead
    of Mixpanel's clock, which they stop being once its clock catches up with ours."""
    try:
        records = json.loads(text).get("failed_records")
    except (ValueError, AttributeError):
        return (), ()
    if not isinstance(records, list):
        return (), ()
    by_id = {str(r.get("id")): r for r in batch}
    failed: list[str] = []
    ahead: list[str] = []
    for item in records:
        if not isinstance(item, dict):
            continue
        named = item.get("$insert_id", item.get("insert_id"))
        index = item.get("index")
        if isinstance(named, str) and named in by_id:
            ident = named
        elif isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(batch):
            ident = str(batch[index].get("id"))
        else:
            continue
        failed.append(ident)
        if item.get("field") in _TIME_FIELDS and event_millis(by_id[ident]) >= _AFTER_1971:
            ahead.append(ident)
    return tuple(dict.fromkeys(failed)), tuple(dict.fromkeys(ahead))
