"""One delivery run: claim the waiting events, send each to the destination it was recorded for."""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

from blackboxai.analytics.consent.state import StateStore
from blackboxai.analytics.defaults import MIXPANEL_BATCH, POSTHOG_BATCH
from blackboxai.analytics.delivery.health import Tally, update_health
from blackboxai.analytics.delivery.machine import ALL, current, still_required, turned_off
from blackboxai.analytics.delivery.outcome import Outcome, save_outcome
from blackboxai.analytics.delivery.retry import Budget, Sender, Stop, Verdict
from blackboxai.analytics.delivery.sinks import Answer, Sink, SinkFactory, sink_factory
from blackboxai.analytics.delivery.triage import allowed, batches, may_leave, why_gone
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.fileops import LockTimeout, lockable, locked
from blackboxai.analytics.queue.launch import UploadConfig
from blackboxai.analytics.queue.progress import PROGRESS_FILE, Progress
from blackboxai.analytics.queue.spool import Spool
from blackboxai.analytics.queue.waiting import Record, Waiting, epoch_seconds, read_waiting

__all__ = ["SinkFactory", "deliver"]

# Events spooled while a run sends are claimed too, for a few rounds, as long as all goes well.
_ROUNDS = 3
# Room a round makes sure it has in the progress file before it claims anything: the line of
# one full batch of uuids (39 bytes each, quoted, with a comma).
_RESERVE = max(POSTHOG_BATCH, MIXPANEL_BATCH) * 40 + 64
# Why events were deleted unsent -> the Outcome field that counts them.
_GONE = {"consent": "discarded", "old-format": "old_format", "malformed": "malformed"}


def deliver(
    config: UploadConfig,
    *,
    sinks: SinkFactory | Mapping[str, Sink] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
    rand: Callable[[], float] = random.random,
) -> Outcome:
    """One run under the upload lock, which it waits for (up to `config.lock_wait`), then sends for
    up to `config.send_time`. Never raises: whatever goes wrong is in the Outcome. With nothing
    waiting it takes no lock and writes nothing."""
    outcome = Outcome()
    directory = Path(config.data_dir)
    try:
        if not directory.is_dir() or not Spool(directory).has_waiting():
            return outcome
        with locked(lockable(directory / "upload.lock"), timeout=config.lock_wait):
            budget = Budget(clock, clock() + config.send_time, config.request_timeout)
            sender = Sender(budget, sleep, rand)
            factory = sink_factory(directory, config.connect_timeout, config.request_timeout, sinks)
            off, required = turned_off(config, current(config)), partial(still_required, config)
            run = _Run(directory, outcome, factory, sender, off, required)
            try:
                if run.go(now):
                    ended = now()  # one time for the run, in both records
                    save_outcome(directory, outcome, ended)
                    update_health(directory, run.tallies, ended)
            finally:
                run.close()
    except LockTimeout:
        outcome.busy = True
    except Exception as exc:  # a bug or a disk error: never raised into the CLI or the uploader
        outcome.failures.append(f"internal error ({_what(exc)})")
    return outcome


def _what(exc: BaseException) -> str:
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{type(exc).__name__}: {detail}"[:200] if detail else type(exc).__name__


class _Run:
    """One run's state: the adapters it built, what it settled, and whether it must stop."""

    def __init__(
        self,
        directory: Path,
        outcome: Outcome,
        factory: SinkFactory,
        sender: Sender,
        turned_off: dict[str, str],
        required: Callable[[], bool] = lambda: False,
    ) -> None:
        self.spool = Spool(directory)
        self.store = StateStore(directory)
        self.progress = Progress(directory)
        self.outcome = outcome
        self.factory = factory
        self.sender = sender
        self.sinks: dict[Destination, Sink | str] = {}  # built adapters, or why one could not be
        self.tallies: dict[tuple[str, str], Tally] = {}  # what each destination did, for status
        self.halted: Stop | None = None  # out of time, consent moved, progress lost: no more
        self.ahead: dict[str, int] = {}  # events refused for now: dated ahead of a service's clock
        # Services the machine's policy turned off (machine.ALL: every one), and why: what
        # waits for them stays unsent.
        self.turned_off = turned_off
        # Whether the policy still requires its collector (what it alone sends goes only then).
        self.required = required

    def go(self, now: Callable[[], float]) -> bool:
        """Claim and send, round by round; True when there is an outcome worth saving. Each
        round first makes sure it can record progress: a run that could not would send the
        same batch again on every run. A failed round stops the run and leaves its files."""
        moved = self.progress.repair()
        if moved:
            self.outcome.set_aside.append(f"{PROGRESS_FILE} (not a regular file) -> {moved}")
        looked = False
        for _ in range(_ROUNDS):
            try:
                self.progress.reserve(_RESERVE)
            except OSError as exc:  # nothing is claimed, so the spool keeps its own bound
                self.outcome.failures.append(
                    f"cannot record delivery progress ({_what(exc)}), so nothing more was sent"
                )
                looked = True
                break
            self.spool.claim()
            files = self.spool.claimed()
            if not files:
                self.progress.clear()  # only the reservation: no claimed file it could cover
                break
            looked = True
            try:
                done = self._round(files, now())
            except Exception as exc:  # a bug: the claimed files and the progress stay as they are
                self.outcome.failures.append(f"internal error ({_what(exc)})")
                done = False
            if not done:
                break
        self.outcome.set_aside += self.spool.set_aside
        self.outcome.requests.update(self.sender.requests)
        return looked or bool(self.outcome.set_aside)

    def tally(self, dest: Destination) -> Tally:
        """What this run did with a destination (by service and place, not by service alone)."""
        return self.tallies.setdefault((dest.name, dest.where), Tally())

    def close(self) -> None:
        for sink in self.sinks.values():
            if not isinstance(sink, str):
                with contextlib.suppress(Exception):
                    sink.close()

    # -- one round: the claimed files, start to finish -----------------------------------------
    def _round(self, files: list[Path], when: float) -> bool:
        """Send what the files hold, put back what must wait; True when nothing had to wait."""
        state, required = self.store.load(), self.required()
        groups: dict[Destination, list[Waiting]] = {}
        waiting: list[Waiting] = []
        gone: Counter[str] = Counter()  # deleted unsent, by why: counted once the files are gone
        for item in read_waiting(files, self.progress.settled()):
            why = why_gone(state, item, when, required)
            if why is not None:
                gone[why] += why in ("expired", "future") or not item.taken
                continue
            if not item.owed:
                continue  # settled everywhere already
            waiting.append(item)
            for dest in item.owed:
                off = self.turned_off.get(dest.name, self.turned_off.get(ALL))
                if off is not None:
                    self.outcome.errors[dest.name] = off
                    continue
                groups.setdefault(dest, []).append(item)
        stops = 0
        for dest, items in groups.items():
            items.sort(key=lambda it: epoch_seconds(it.record.get("time")) or 0.0)
            stops += self._send_to(dest, items) is not None
        try:
            kept = self._put_back([it for it in waiting if it.owed], gone)
            self.progress.keep_memos()  # what the sinks must remember, before the progress goes
        except OSError as exc:  # e.g. a full disk: the claimed files and the progress stay
            self.outcome.failures.append(
                f"could not return waiting events to the queue ({_what(exc)}): "
                "they stay claimed for the next run"
            )
            return False
        for path in files:  # only now: a kill before this leaves them (and the progress) intact
            path.unlink(missing_ok=True)
        self.progress.clear()
        for why, n in gone.items():
            field = _GONE.get(why, why)
            setattr(self.outcome, field, getattr(self.outcome, field) + n)
        return not kept and not stops and self.halted is None

    def _send_to(self, dest: Destination, items: list[Waiting]) -> Stop | None:
        """Send one destination's events in batches; a Stop leaves the rest of them waiting."""
        sink = self._sink(dest)
        if isinstance(sink, str):
            return self._stopped(dest, Stop(Verdict.BROKEN, sink))
        for batch in batches(items, sink.max_batch, sink.max_bytes):
            if self.halted is not None:
                return self._stopped(dest, self.halted)

            def settle(
                taken: list[str],
                refused: list[str],
                later: list[str],
                answer: Answer,
                batch: list[Waiting] = batch,
            ) -> bool:
                recorded = self._record(dest, taken + refused, answer.memo)  # first of all
                tally = self.tally(dest)
                tally.sent, tally.rejected = tally.sent + len(taken), tally.rejected + len(refused)
                if refused and answer.detail:
                    self.outcome.rejected_why[dest.name] = tally.rejected_why = answer.detail
                tally.error = answer.note or tally.error
                self._ahead(dest, len(later))
                took, done = set(taken), set(taken) | set(refused)
                for it in batch:
                    ident = str(it.record.get("id"))
                    if ident in done and it.owed is not None and dest in it.owed:
                        it.owed.remove(dest)
                        it.taken = it.taken or ident in took
                self.outcome.count(self.outcome.sent, dest.name, len(taken))
                self.outcome.count(self.outcome.rejected, dest.name, len(refused))
                return recorded

            stop = self.sender.send(sink, [it.record for it in batch], settle, self._still_allowed)
            if stop is not None:
                return self._stopped(dest, stop)
        return None

    def _still_allowed(self, records: list[Record]) -> bool:
        """Asked before every request and during every wait: consent read afresh. Opted out, id
        reset or waiting events cleared since the round began: the generation moved, so nothing
        more is sent (what is left is judged, and deleted, at put-back)."""
        state = self.store.load()
        required = any(r.get("by") == "policy" for r in records) and self.required()
        return all(may_leave(state, r, required) for r in records)

    def _ahead(self, dest: Destination, n: int) -> None:
        """Events the service refused only for being dated ahead of its clock: they wait (until
        its clock catches up, or they expire), and the outcome says why."""
        if n:
            self.ahead[dest.name] = self.ahead.get(dest.name, 0) + n
            self.outcome.errors[dest.name] = self.tally(dest).error = (
                f"{self.ahead[dest.name]} dated more than an hour ahead of {dest.name}'s "
                "clock (is this computer's clock fast?), kept until they are not"
            )

    def _record(self, dest: Destination, ids: list[str], memo: str | None) -> bool:
        """Note a decided request in the progress file; on failure, stop the whole run: every
        later run would send again whatever it failed to note."""
        try:
            self.progress.add(dest, ids, memo)
        except OSError as exc:
            self.outcome.failures.append(
                f"cannot record delivery progress ({_what(exc)}): stopped after the request "
                "that was just answered, which may be sent once more"
            )
            self.halted = Stop(Verdict.UNRECORDED, "stopped: progress could not be recorded")
            return False
        return True

    def _stopped(self, dest: Destination, stop: Stop) -> Stop:
        if stop.reason in (Verdict.DEADLINE, Verdict.UNRECORDED, Verdict.CONSENT):
            self.halted = self.halted or stop  # for every destination: start nothing more
        if stop.reason is not Verdict.CONSENT:  # those events are deleted at put-back, not kept
            self.outcome.errors[dest.name] = self.tally(dest).error = stop.detail
        if stop.reason is Verdict.REFUSED:
            self.outcome.refused[dest.name] = f"{stop.detail} by {dest.where}"
        return stop

    def _sink(self, dest: Destination) -> Sink | str:
        self.tally(dest)  # tried: its record is updated, whatever happens
        if dest not in self.sinks:
            try:
                self.sinks[dest] = self.factory(dest)
            except Exception as exc:  # unknown adapter, SDK missing or broken: keep its events
                self.sinks[dest] = f"unavailable ({type(exc).__name__})"
        return self.sinks[dest]

    def _put_back(self, items: list[Waiting], gone: Counter[str]) -> bool:
        """Return what still waits to the spool, if consent still holds for it; True if any.
        Raises OSError when it cannot be written (nothing is then counted)."""
        state = self.store.load()
        required = self.required()
        keep = [it for it in items if allowed(state, it, required)]
        gone["consent"] += sum(not it.taken for it in items if not allowed(state, it, required))
        lines = [it.line() for it in keep]

        def still_wanted() -> bool:  # asked again under the spool lock that an opt-out takes
            now = self.store.load()
            return all(allowed(now, it, self.required()) for it in keep)

        if not self.spool.put_back(lines, still_wanted=still_wanted):
            gone["consent"] += sum(not it.taken for it in keep)
            return False
        for item in keep:
            for dest in item.owed or ():
                self.outcome.count(self.outcome.kept, dest.name)
                if (dest.name, dest.where) in self.tallies:  # one this run tried
                    self.tallies[dest.name, dest.where].kept += 1
        self.outcome.waiting += len(keep)
        return bool(keep)
