"""The one retry layer: what an answer means (by HTTP status first), waits, splits, deadlines."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from blackboxai.analytics.defaults import (
    CONSENT_POLL,
    UPLOAD_BACKOFF,
    UPLOAD_RETRIES,
    UPLOAD_RETRY_CAP,
)
from blackboxai.analytics.delivery.sinks import Answer, Sink
from blackboxai.analytics.queue.waiting import Record

__all__ = ["Allowed", "Budget", "Sender", "Stop", "Verdict", "bounded", "classify"]

# Time kept at the end of a run to put back what is left and save the outcome.
FINISH_MARGIN = 1.0


class Verdict(str, enum.Enum):
    """What an answer means for the records of the request it answers, or why a destination
    gets nothing more in this run."""

    OK = "ok"  # taken: all of them, except those the service named invalid (dropped, counted)
    SPLIT = "split"  # refused as a whole for something in it (400, 413): halve, to isolate it
    REJECT = "reject"  # a single event the service refused for good: a verdict on the data
    # A 400/413 in a form the service never answers with: someone else (a proxy, a TLS port
    # spoken to in plain HTTP) refused the request, not the data; keep, stop.
    FOREIGN = "foreign"
    RETRY = "retry"  # try again after a wait (408, 429, 5xx)
    NO_ANSWER = "no-answer"  # unreachable or timed out: nothing more for it this run
    REFUSED = "refused"  # 401/403: the key or token is refused; keep everything, say so
    BROKEN = "broken"  # the adapter raised: an SDK that changed or broke; keep everything
    OTHER = "other"  # any other answer (404, 405, a 3xx): not a verdict on the data; keep
    # Why a run stops for every destination:
    UNRECORDED = "unrecorded"  # an answer whose outcome could not be saved: stop at once
    CONSENT = "consent"  # consent moved (opt-out, id reset, queue cleared): nothing more is sent
    DEADLINE = "deadline"  # out of time for this run


def classify(answer: Answer, size: int) -> Verdict:
    """Only a verdict on the data itself (a 400/413 in the service's own words pinned on one
    event, or an event named in `failed`) ever drops data; everything else keeps it for a
    later try. A 413 splits a batch whoever answers it (halving deletes nothing, and a proxy's
    body limit is then met); a single event it refuses is dropped only on the service's word.
    A 400 whose body is not the service's (an nginx page for plain HTTP sent to an HTTPS port)
    would otherwise bisect every batch down to single events and delete them all."""
    status = answer.status
    if status < 0:
        return Verdict.BROKEN
    if answer.final:
        return Verdict.REJECT
    if status == 0:
        return Verdict.NO_ANSWER
    if 200 <= status < 300 or (status == 400 and answer.failed):
        return Verdict.OK
    if status == 413 and size > 1:
        return (
            Verdict.SPLIT
        )  # too large, whoever says so (a proxy's body limit too): halves may pass
    if status in (400, 413):
        if not answer.from_service:
            return Verdict.FOREIGN
        return Verdict.SPLIT if size > 1 else Verdict.REJECT
    if status in (401, 403):
        return Verdict.REFUSED
    if status in (408, 429) or status >= 500:
        return Verdict.RETRY
    return Verdict.OTHER


@dataclass(frozen=True)
class Stop:
    """Why a destination gets nothing more in this run; its remaining events wait for a later."""

    reason: Verdict
    detail: str


@dataclass
class Budget:
    """The run's end on an injected monotonic clock: no request starts unless it can end in time."""

    clock: Callable[[], float]
    end: float
    request_timeout: float

    def left(self) -> float:
        return self.end - self.clock()

    def room_for_request(self, wait: float = 0.0) -> bool:
        return self.left() - wait >= self.request_timeout + FINISH_MARGIN


def bounded(call: Callable[[], Answer], seconds: float) -> Answer:
    """Run one request with a bound on its whole duration. A read timeout applies to each recv,
    so a server that sends a byte every few seconds would hold a plain call forever; here the
    caller moves on and the worker thread (a daemon) is abandoned to end with the process."""
    box: list[Answer | BaseException] = []

    def work() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # handed to the caller, never raised in the thread
            box.append(exc)

    worker = threading.Thread(target=work, name="blackboxai-upload-request", daemon=True)
    worker.start()
    worker.join(seconds)
    if not box:
        return Answer(0, detail="timed out")
    result = box[0]
    if isinstance(result, BaseException):
        return Answer(-1, detail=f"SDK error {type(result).__name__}")
    return result


# (taken ids, refused-for-good ids, refused-for-now ids, the answer) -> whether that was
# recorded (with the answer's memo); False stops the run. Those refused for now stay waiting.
Settle = Callable[[list[str], list[str], list[str], Answer], bool]
# Whether these records may still leave: consent read afresh from disk (consent.may_send).
Allowed = Callable[[list[Record]], bool]


@dataclass
class Sender:
    """Sends one destination's batches: retries what the status says to retry, splits what must
    be isolated, and reports each decided request at once through `settle` (progress per batch).

    Consent is continuous: `allowed` is asked before every request (a retry, a split half) and
    every `CONSENT_POLL` seconds of a wait, so an opt-out, an id reset or a cleared queue stops
    the run within that, with nothing more sent."""

    budget: Budget
    sleep: Callable[[float], None]
    rand: Callable[[], float]
    requests: dict[str, int] = field(default_factory=dict)

    def send(
        self, sink: Sink, batch: list[Record], settle: Settle, allowed: Allowed
    ) -> Stop | None:
        """Deliver `batch` as far as possible; a Stop means the rest of it was not decided."""
        parts = [batch]
        while parts:
            part = parts.pop(0)
            answer, stop = self._attempt(sink, part, allowed)
            if stop is not None:
                return stop
            assert answer is not None
            verdict = classify(answer, len(part))
            ids = [str(r.get("id")) for r in part]
            if verdict in (Verdict.OK, Verdict.REJECT):
                failed = set(ids if verdict is Verdict.REJECT else answer.failed)
                if verdict is Verdict.OK and answer.rejected and not answer.failed:
                    # A partial success counts, not names, what it refused: the counts are the
                    # service's, which records they were is not known (all are settled alike).
                    failed = set(ids[len(ids) - min(answer.rejected, len(ids)) :])
                later = failed & set(answer.deferred) if verdict is Verdict.OK else set()
                taken = [i for i in ids if i not in failed]
                refused = [i for i in ids if i in failed and i not in later]
                if not settle(taken, refused, [i for i in ids if i in later], answer):
                    return Stop(Verdict.UNRECORDED, "could not record what was sent")
            elif verdict is Verdict.SPLIT:
                half = len(part) // 2
                parts[:0] = [part[:half], part[half:]]
            else:
                return Stop(verdict, _describe(verdict, answer, sink.name))
        return None

    def _attempt(
        self, sink: Sink, part: list[Record], allowed: Allowed
    ) -> tuple[Answer | None, Stop | None]:
        """One request, and the retries its answers ask for, within the run's budget."""
        for attempt in range(UPLOAD_RETRIES + 1):
            if not allowed(part):
                return None, Stop(Verdict.CONSENT, "consent changed")
            if not self.budget.room_for_request():
                return None, Stop(Verdict.DEADLINE, "out of time for this run")
            self.requests[sink.name] = self.requests.get(sink.name, 0) + 1
            answer = bounded(lambda: sink.send(part), self.budget.request_timeout)
            verdict = classify(answer, len(part))
            if verdict is not Verdict.RETRY:
                if verdict in (Verdict.NO_ANSWER, Verdict.BROKEN):
                    return None, Stop(verdict, _describe(verdict, answer))
                return answer, None
            wait = UPLOAD_BACKOFF * 2**attempt + self.rand()
            asked = answer.retry_after
            if asked is not None:
                # Honoured however long: a wait past the cap or the run's end stops this
                # destination for the run (its events are kept), never a shorter backoff.
                if asked > UPLOAD_RETRY_CAP or not self.budget.room_for_request(asked):
                    detail = f"{answer.detail or f'HTTP {answer.status}'}, asked to wait"
                    return None, Stop(Verdict.RETRY, f"{detail} {_duration(asked)}; retry later")
                wait = max(wait, asked)
            if attempt == UPLOAD_RETRIES or not self.budget.room_for_request(wait):
                return None, Stop(Verdict.RETRY, _describe(Verdict.RETRY, answer))
            if not self._wait(wait, lambda: allowed(part)):
                return None, Stop(Verdict.CONSENT, "consent changed")
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, seconds: float, allowed: Callable[[], bool]) -> bool:
        """Sleep `seconds` in slices, asking `allowed` after each; False as soon as it says no.
        Consent lives in a file another process writes: there is nothing to block on, so the
        wait polls it (a small read every CONSENT_POLL seconds, only while a retry waits)."""
        left = seconds
        while left > 0:
            step = min(CONSENT_POLL, left)
            self.sleep(step)
            left -= step
            if not allowed():
                return False
        return True


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds != float("inf"):
            n = int(seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return "longer than a run" if seconds == float("inf") else f"{seconds:g} s"


def _describe(verdict: Verdict, answer: Answer, service: str = "the service") -> str:
    detail = answer.detail or f"HTTP {answer.status}"
    if verdict is Verdict.REFUSED:  # a sink that said more than the status said what it was
        return f"key refused ({detail})" if detail == f"HTTP {answer.status}" else detail
    if verdict is Verdict.FOREIGN:
        return (
            f"{detail} in a form {service} never answers with: a proxy in the way, or "
            "http:// sent to an https port? Nothing was deleted"
        )
    if verdict is Verdict.RETRY:
        return f"{detail}, retry later"
    return detail
