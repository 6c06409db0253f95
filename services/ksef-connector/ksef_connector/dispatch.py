"""The dispatcher: takes due submission jobs, one context's at a time, and submits them.

Each round groups the due jobs by context (tenant, environment, NIP) and lane, and starts a
task per group that is not already in flight in this replica: a shopper's invoice never
waits behind a utility's batch, and one tenant's slow or rate-limited KSeF context never
holds up another's. Jobs are held under the outbox's lease, extended by a heartbeat while a
batch is processed, so a replica that dies frees them within one lease.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import httpx

from einvoice import events
from einvoice.bus import Outgoing
from einvoice.log import get_logger
from einvoice.metrics import STAGE_FAILURES
from einvoice.outbox import FAILED, Outbox, backoff, run_rounds
from ksef_api import RetryableError
from ksef_connector.connections import Context, NotConnected
from ksef_connector.gate import Gate
from ksef_connector.jobs import INTERACTIVE_PRIORITY, SubmissionJob, outcome
from ksef_connector.metrics import SUBMISSIONS
from ksef_connector.submit import Finished, Submitted, Submitter

log = get_logger(__name__)

WAITING_FOR_LIMIT = "KSeF rate limit"
WAITING_FOR_KSEF = "KSeF unavailable"
WAITING_FOR_CONNECTION = "KSeF connection"

Group = tuple[Context, str]  # (context, lane)


@dataclass
class Dispatcher:
    outbox: Outbox[SubmissionJob]
    submitter: Submitter
    gate: Gate
    publish: Callable[[list[Outgoing]], Awaitable[None]]
    gather: float = 2.0  # seconds a utility's wave gathers before its group is taken
    batch_min: int = 20
    batch_max: int = 2000
    retry_initial: float = 5.0
    retry_cap: float = 600.0
    idle_poll: float = 1.0
    db_poll: float = 30.0
    due_limit: int = 5000
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _held: set[str] = field(default_factory=set)
    _busy: set[Group] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _reported_at: float = field(default=float("-inf"))
    _timer: asyncio.TimerHandle | None = None
    _bulk_asked_at: float = field(default=float("-inf"))
    _bulk_due: bool = True

    def wake(self) -> None:
        self._wake.set()

    def wake_in(self, delay: float) -> None:
        """Wake the dispatcher when a job enqueued now comes due: one timer for a whole
        batch's jobs, not a round for every consumed record."""
        if delay <= 0:
            self.wake()
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        if self._timer is not None and self._timer.when() <= when + self.idle_poll:
            return  # a wake-up comes soon enough (a round takes every due job)
        self._timer = loop.call_at(when, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self._bulk_due = True
        self.wake()

    async def run(self, stop: asyncio.Event) -> None:
        async def report_then_round() -> int:
            if time.monotonic() - self._reported_at >= self.db_poll:
                self._reported_at = time.monotonic()
                await self.report_finished()
            return await self.round()

        heartbeat = asyncio.create_task(self._heartbeat(stop))
        try:
            await run_rounds(report_then_round, stop, self._wake, self.idle_poll, "ksef")
        finally:
            heartbeat.cancel()
            # Work in flight is left to its lease: another replica (or this one restarted)
            # asks KSeF about what was sent and sends what was not.
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def round(self) -> int:
        """Start a task for each due group not in flight; returns how many jobs it took.

        A utility's wave of invoices travels together: its group is taken once its oldest
        job has waited `gather` seconds (or it fills a batch session), with every job that
        arrived meanwhile, whenever the round happens to run."""
        # Shoppers' jobs are asked for on every round (few, by their own index); a
        # utility's, which may be thousands gathering behind a wave in flight, once a
        # second or when a wave is due: not on every shopper's wake-up.
        bulk = time.monotonic() - self._bulk_asked_at >= self.idle_poll or self._bulk_due
        if bulk:
            self._bulk_asked_at, self._bulk_due = time.monotonic(), False
        where = None if bulk else {"priority": INTERACTIVE_PRIORITY}
        due = [
            job
            for job in await self.outbox.due(self.due_limit, without=("issued",), where=where)
            if job["_id"] not in self._held
        ]
        groups: dict[Group, list[SubmissionJob]] = defaultdict(list)
        for job in due:
            context = Context(job["tenant_id"], job["environment"], job["context_nip"])
            groups[(context, job["lane"])].append(job)
        taken = 0
        for group, jobs in groups.items():
            if group in self._busy:
                # A utility's group waits for the one in flight (it gathers meanwhile, into
                # one batch session); a shopper's invoice never waits behind another's: its
                # group starts beside the one in flight, in the same online session.
                continue
            context, lane = group
            if lane == events.BULK and len(jobs) < self.batch_max:
                waited = datetime.now(UTC) - min(job["created_at"] for job in jobs)
                if (left := self.gather - waited.total_seconds()) > 0:
                    self.wake_in(left)
                    continue
            if until := await self.gate.closed_until(context.limits_key):
                queued = [job["_id"] for job in jobs if job["state"] == "queued"]
                await self.outbox.defer(queued, until, waiting_for=WAITING_FOR_LIMIT)
                continue
            claimed = await self.outbox.claim_many(jobs[: self.batch_max])
            if not claimed:
                continue
            taken += len(claimed)
            if lane == events.BULK:
                self._busy.add(group)
            self._held.update(job["_id"] for job in claimed)
            task = asyncio.create_task(self._work(group, claimed))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return taken

    async def _work(self, group: Group, jobs: list[SubmissionJob]) -> None:
        context, lane = group
        ids = [job["_id"] for job in jobs]
        try:
            submitted = await self._submit(context, lane, jobs)
            await self._finish(submitted.finished)
            if submitted.throttled:
                throttled = [job["_id"] for job in submitted.throttled]
                await self._throttle(context, throttled, submitted.retry_after, "429")
        except RetryableError as exc:
            await self._throttle(context, ids, exc.retry_after, str(exc))
        except NotConnected as exc:
            await self._retry(jobs, WAITING_FOR_CONNECTION, str(exc))
        except (httpx.TransportError, TimeoutError, OSError) as exc:
            await self._retry(jobs, WAITING_FOR_KSEF, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a KSeF error for the whole group
            log.warning("KSeF submission failed", context=context.limits_key, exc_info=True)
            await self._retry(jobs, WAITING_FOR_KSEF, str(exc) or type(exc).__name__)
        finally:
            self._held.difference_update(ids)
            self._busy.discard(group)
            self._bulk_due = self._bulk_due or lane == events.BULK
            self.wake()

    async def _throttle(
        self, context: Context, ids: list[str], retry_after: float, reason: str
    ) -> None:
        """KSeF answered 429: close the context's gate for every replica and put the jobs
        back until it opens (those KSeF took are asked about where they went)."""
        until = datetime.now(UTC) + timedelta(seconds=max(retry_after, 1.0))
        log.info("KSeF asks to wait", context=context.limits_key, until=until.isoformat())
        SUBMISSIONS.labels("any", "throttled").inc(len(ids))
        await self.gate.close(context.limits_key, until, reason)
        await self.outbox.release(ids, until, waiting_for=WAITING_FOR_LIMIT)

    async def _submit(self, context: Context, lane: str, jobs: list[SubmissionJob]) -> Submitted:
        batched = [job for job in jobs if job.get("mode") == "batch"]
        online = [job for job in jobs if job.get("mode") == "online"]
        fresh = [job for job in jobs if "mode" not in job]
        if lane == events.BULK and len(fresh) >= self.batch_min:
            batched += fresh
        else:
            online += fresh
        submitted = Submitted()
        if online:
            submitted += await self.submitter.online(context, online)
        if batched:
            submitted += await self.submitter.batch(context, batched)
        return submitted

    async def _finish(self, finished: list[Finished]) -> None:
        """Publish the group's outcomes, then record them, published, in one write. KSeF's
        answers can be asked for again, unlike an e-mail sent: a crash between the two makes
        another replica ask KSeF again and publish the same events (same ids) again."""
        if not finished:
            return
        await self.publish(
            [
                outcome(cast(SubmissionJob, {**job, **result, "state": state}))
                for job, state, result in finished
            ]
        )
        await self.outbox.finish_many(finished, reported=True)
        for job, state, result in finished:
            mode = result.get("mode") or job.get("mode") or "online"
            SUBMISSIONS.labels(mode, "registered" if state != FAILED else "rejected").inc()
            if state == FAILED:
                STAGE_FAILURES.labels("ksef-connector", "ksef", "rejected").inc()
                log.info("KSeF rejected the invoice", invoice_id=job["invoice_id"], **result)

    async def _retry(self, jobs: list[SubmissionJob], waiting_for: str, reason: str) -> None:
        for job in jobs:
            due = datetime.now(UTC) + backoff(
                job["attempts"] + 1, self.retry_initial, self.retry_cap
            )
            await self.outbox.postpone(
                job, due, waiting_for=waiting_for, count_attempt=True, note={"last_error": reason}
            )

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        period = self.outbox.lease.total_seconds() / 3
        while not stop.is_set():
            try:
                await self.outbox.heartbeat(list(self._held))
            except Exception:  # noqa: BLE001 - the leases run on
                log.warning("could not extend the leases of the held jobs", exc_info=True)
            try:
                await asyncio.wait_for(stop.wait(), period)
            except TimeoutError:
                pass

    async def report_finished(self) -> None:
        """Publish the outcome of every finished job not yet reported (a crash between
        finishing and publishing repeats the same event id)."""
        while jobs := await self.outbox.unpublished(500):
            await self.publish([outcome(job) for job in jobs])
            await self.outbox.mark_published([job["_id"] for job in jobs])
            if len(jobs) < 500:
                return
