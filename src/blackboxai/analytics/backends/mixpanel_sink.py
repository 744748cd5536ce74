"""Mixpanel adapter: the SDK formats each event, its Consumer posts up to 50 per /track request."""

from __future__ import annotations

from blackboxai.analytics.backends import Record, SinkError
from blackboxai.analytics.defaults import MIXPANEL_BATCH

__all__ = ["MixpanelSink"]


class _Collect:
    """A stand-in consumer: `Mixpanel.track()` hands us its formatted JSON instead of sending."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, endpoint: str, json_message: str, *args: object, **kwargs: object) -> None:
        self.messages.append(json_message)


class MixpanelSink:
    """One request per batch through `mixpanel.Consumer` with retries off and a finite timeout
    (its default is none: a silent host would hang). We never use BufferedConsumer: after a
    partial failure it can resend a batch that was already delivered."""

    name = "mixpanel"
    max_batch = MIXPANEL_BATCH

    def __init__(self, host: str, token: str, connect_timeout: float, read_timeout: float):
        import mixpanel  # type: ignore[import-untyped]  # the SDK ships no type hints
        import requests

        self._mp_mod = mixpanel
        self._requests = requests
        self._collect = _Collect()
        self._mp = mixpanel.Mixpanel(token, consumer=self._collect)
        self._consumer = mixpanel.Consumer(
            events_url=host.rstrip("/") + "/track",
            request_timeout=(connect_timeout, read_timeout),
            retry_limit=0,
        )

    def send(self, batch: list[Record]) -> None:
        self._collect.messages.clear()
        for record in batch:
            raw = record.get("properties")
            props: dict[str, object] = dict(raw) if isinstance(raw, dict) else {}
            # Our id and time override the SDK's fresh ones: a retry is recognisably the same event.
            props.update({"time": record["time"], "$insert_id": record["id"]})
            self._mp.track(record["user_id"], record["event"], props)
        body = "[" + ",".join(self._collect.messages) + "]"
        try:
            self._consumer.send("events", body)
        except self._mp_mod.MixpanelException as exc:
            cause = exc.__cause__
            if isinstance(cause, self._requests.exceptions.RequestException):
                raise SinkError("network", type(cause).__name__) from None
            # The server answered: {"status": 0} is a verdict on the payload; anything
            # unreadable (a proxy's 502 page) is worth one more try.
            if str(exc).startswith("Mixpanel error"):
                raise SinkError("rejected", "status 0") from None
            raise SinkError("retry", "unreadable answer") from None
        except (KeyError, TypeError, ValueError):
            # The SDK indexes the answer's "status" blindly: a 5xx with some other JSON body
            # surfaces as a KeyError. The server did answer, so it is worth one more try.
            raise SinkError("retry", "unreadable answer") from None

    def close(self) -> None:
        self._consumer._session.close()
