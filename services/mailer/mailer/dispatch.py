"""Sends the queued e-mails: each through its tenant's mailbox, within the mailbox's limits.

Every replica runs one dispatcher. A round takes the due jobs (einvoice.outbox), claims
as many of each mailbox's jobs as its limiter has free slots, and sends them a few at a
time; the others wait for the next slot. Each send takes its slot right before it starts
and settles it with the time the server answered (mailer.limits), within a deadline.
Temporary SMTP trouble (4xx, a lost connection) puts the job back with backoff; a permanent
refusal (5xx, an invalid address) or temporary trouble that outlasts `give_up_after` ends it
as `mail.failed` with the reason. Finished jobs are reported on Kafka, then marked published.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any, Protocol

from einvoice import events
from einvoice.bus import TRANSIENT, Outgoing, TransientError
from einvoice.log import get_logger
from einvoice.metrics import STAGE_FAILURES
from einvoice.outbox import DONE, FAILED, WORKING, Outbox, backoff, run_rounds
from einvoice.sealing import SealingError
from einvoice.smtp import SmtpServer
from mailer.handlers import MailJob, MailOutcome, PermanentSmtpError, message_of, outcome
from mailer.limits import Grant, Limits

log = get_logger(__name__)

# A job whose lease has less than this left is renewed before it is sent.
LEASE_MARGIN = timedelta(seconds=5)
WAITING_FOR_SLOT = "mailbox limit"
WAITING_FOR_RETRY = "retry"


class Limiter(Protocol):
    async def available(self, mailbox_id: str, limits: Limits, wanted: int) -> Grant: ...
    async def acquire(self, mailbox_id: str, limits: Limits, wanted: int, hold: float) -> Grant: ...
    async def settle(self, mailbox_id: str, limits: Limits, token: str) -> None: ...


class Sender(Protocol):
    async def send(self, server: SmtpServer, message: Message) -> None: ...


@dataclass(frozen=True)
class Route:
    """Which server a tenant's mail leaves through, and its limits."""

    server: SmtpServer
    limits: Limits


@dataclass
class Dispatcher:
    outbox: Outbox[MailJob]
    limiter: Limiter
    sender: Sender
    route_for: Callable[[str], Route]  # tenant id -> route
    publish: Callable[[list[Outgoing]], Awaitable[None]]
    concurrency: int = 8
    batch: int = 200
    idle_poll: float = 0.5
    retry_initial: float = 10.0
    retry_cap: float = 900.0
    give_up_after: timedelta = timedelta(hours=48)
    # Jobs this replica queued wait in memory for its next round, so a round need not ask
    # the database what is due: SecantusDB reads every due job to sort them, which cost
    # more per e-mail the longer the queue (ADR 0007, hand-off). A full hand-off
    # makes the pdf.rendered consumer wait, so a backlog stays in Kafka, where it is
    # cheap. The database is still asked every `db_poll` seconds, and whenever the
    # hand-off is empty: for retries, mailbox waits, other replicas' jobs and leases that
    # ran out. A batch's handed-off job is stored already claimed by this replica
    # (Outbox.enqueue with hold), under `handoff_lease`, so a round sends it without a
    # claim write; a replica that dies leaves its hand-off to whoever finds those leases
    # run out (itself, at once, if it restarts). The lease is long rather than kept by the
    # heartbeat: extending up to `handoff_limit` jobs every few seconds was one big write
    # that every send's record waited behind.
    handoff_limit: int = 1000
    handoff_lease: timedelta = timedelta(minutes=2)
    db_poll: float = 2.0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _urgent: asyncio.Queue[MailJob] = field(default_factory=asyncio.Queue)
    _bulk: asyncio.Queue[MailJob] = field(init=False)
    _polled_at: float = field(default=-math.inf, init=False)
    _reported_at: float = field(default=-math.inf, init=False)
    _held: set[str] = field(default_factory=set, init=False)  # being sent: the heartbeat's
    _waiting: set[str] = field(default_factory=set, init=False)  # held in the hand-off
    _finished: list[MailJob] = field(default_factory=list, init=False)  # to report
    # Until when the last heartbeat extended every held job's lease (None: not every one).
    _leases_until: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._bulk = asyncio.Queue(maxsize=self.handoff_limit)

    def wake(self) -> None:
        self._wake.set()

    async def queued(self, job: MailJob) -> None:
        """A job this replica just queued: sent in a coming round. Shoppers' and operators'
        jobs (priority 0) never wait for room; a batch's wait while the hand-off is full."""
        if self._holds(job):
            self._waiting.add(job["_id"])
        if job.get("priority") == 0:
            self._urgent.put_nowait(job)
        else:
            await self._bulk.put(job)
        self.wake()

    def _holds(self, job: MailJob) -> bool:
        """Whether `job` was stored claimed by this replica (see `queued`)."""
        return job.get("state") == WORKING and job.get("owner") == self.outbox.owner

    def _split(self, jobs: list[MailJob]) -> tuple[list[MailJob], list[MailJob]]:
        """(the jobs this replica holds already, the others)."""
        held = [job for job in jobs if self._holds(job)]
        return held, [job for job in jobs if not self._holds(job)]

    def _handed_off(self, limit: int) -> list[MailJob]:
        jobs: list[MailJob] = []
        for queue in (self._urgent, self._bulk):
            while len(jobs) < limit and not queue.empty():
                jobs.append(queue.get_nowait())
        self._waiting.difference_update(job["_id"] for job in jobs)
        return jobs

    async def _due(self) -> list[MailJob]:
        """This round's jobs: the hand-off first; the database's due jobs when the hand-off
        is empty or every `db_poll` seconds (a job found both ways is taken once)."""
        jobs = self._handed_off(self.batch)
        if len(jobs) < self.batch and (
            not jobs or time.monotonic() - self._polled_at >= self.db_poll
        ):
            self._polled_at = time.monotonic()
            # What this replica holds (here, still in the hand-off, or being sent) is not
            # taken again, even if its lease ran out while the database was away.
            seen = {job["_id"] for job in jobs} | self._held | self._waiting
            jobs += [job for job in await self.outbox.due(self.batch) if job["_id"] not in seen]
        return jobs

    async def run(self, stop: asyncio.Event) -> None:
        async def report_then_round() -> int:
            # A round reports what it finished itself; the database is searched for
            # finished jobs nobody reported (a crash between recording and reporting,
            # a failed publish) at start and every `db_poll` seconds.
            if time.monotonic() - self._reported_at >= self.db_poll:
                self._reported_at = time.monotonic()
                await self.report_finished()
            return await self.round()

        heartbeat = asyncio.create_task(self._heartbeat(stop))
        try:
            await run_rounds(report_then_round, stop, self._wake, self.idle_poll, "mail")
        finally:
            heartbeat.cancel()

    async def round(self) -> int:
        """One pass over the due jobs; returns how many were sent or settled.

        Per mailbox, only as many jobs as it has free slots are claimed; the others are moved
        to the time of the next free slot in one write, so a mailbox at its limit costs one
        read and one write per round, however long its queue."""
        due = await self._due()
        by_mailbox: dict[str, list[tuple[MailJob, Route]]] = defaultdict(list)
        settled = 0
        for job in due:
            try:
                route = self.route_for(job["tenant_id"])
            except SealingError as exc:
                if claimed := await self.outbox.claim(job):
                    reason = f"the tenant's mailbox cannot be used: {exc}"
                    await self._finish(claimed, FAILED, {"reason": reason})
                    settled += 1
                continue
            by_mailbox[route.server.mailbox_id].append((job, route))
        limit = asyncio.Semaphore(self.concurrency)
        sends: list[tuple[MailJob, Route]] = []
        try:
            for mailbox_id, jobs in by_mailbox.items():
                limits = jobs[0][1].limits
                free = await self.limiter.available(mailbox_id, limits, len(jobs))
                routes = {job["_id"]: route for job, route in jobs[: free.granted]}
                held, unclaimed = self._split([job for job, _ in jobs[: free.granted]])
                taken = await self._still_held(held) + await self.outbox.claim_many(unclaimed)
                for claimed in taken:
                    self._held.add(claimed["_id"])  # the heartbeat keeps its lease from now
                    sends.append((claimed, routes[claimed["_id"]]))
                mine, rest = self._split([job for job, _ in jobs[free.granted :]])
                if mine:
                    ids = [job["_id"] for job in mine]
                    await self.outbox.release(ids, free.wait_until(), waiting_for=WAITING_FOR_SLOT)
                if rest:
                    ids = [job["_id"] for job in rest]
                    await self.outbox.defer(ids, free.wait_until(), waiting_for=WAITING_FOR_SLOT)
            # Every send runs to its end before the round does, failing or not: a job stays
            # under the heartbeat for as long as it is being sent.
            outcomes = await asyncio.gather(
                *(self._send(job, route, limit) for job, route in sends), return_exceptions=True
            )
        finally:
            # Whatever this round took and did not send (released, or the round failed) is
            # no longer held: its lease runs out, and another round takes it.
            self._held.difference_update(job["_id"] for job in due)
        if failed := next((o for o in outcomes if isinstance(o, BaseException)), None):
            raise failed
        await self._report_round()
        return settled + len(sends)

    async def _still_held(self, jobs: list[MailJob]) -> list[MailJob]:
        """Handed-off jobs (stored claimed by this replica), ready to be sent under the
        heartbeat like claimed ones: a job that waited so long that less than a lease is
        left of its hold is renewed first, and one another replica took over is dropped."""
        ready = []
        for job in jobs:
            kept: MailJob | None = job
            if _aware(job["lease_until"]) - datetime.now(UTC) < self.outbox.lease:
                kept = await self.outbox.renew(job)
            if kept is not None:
                ready.append(kept)
        return ready

    async def _send(self, job: MailJob, route: Route, limit: asyncio.Semaphore) -> None:
        try:
            await self._send_held(job, route, limit)
        finally:
            self._held.discard(job["_id"])  # finished, put back or lost: no longer in hand

    async def _send_held(self, job: MailJob, route: Route, limit: asyncio.Semaphore) -> None:
        async with limit:
            # The whole send (a reconnect included) must end by the slot's deadline.
            deadline = 2 * route.server.timeout + 5
            held = await self._keep_lease(job)
            if held is None:  # the lease ran out while the job waited its turn
                log.info("job taken over by another replica before sending", job_id=job["_id"])
                return
            job = held
            try:
                message = message_of(job)
            except ValueError as exc:  # a header no server may get: no retry can help
                await self._finish(job, FAILED, {"reason": f"not sendable: {exc}"})
                return
            mailbox_id = route.server.mailbox_id
            grant = await self.limiter.acquire(mailbox_id, route.limits, 1, hold=deadline)
            if not grant.granted:  # another replica took the slots first
                await self.outbox.postpone(
                    job, grant.wait_until(), waiting_for=WAITING_FOR_SLOT, count_attempt=False
                )
                return
            try:
                try:
                    await asyncio.wait_for(self.sender.send(route.server, message), deadline)
                except PermanentSmtpError as exc:
                    await self._finish(job, FAILED, {"reason": str(exc)})
                except (TransientError, TimeoutError) as exc:
                    await self._retry_later(job, str(exc) or f"no answer within {deadline:g} s")
                except Exception as exc:  # noqa: BLE001 - unforeseen: treat as temporary
                    log.exception("sending failed unexpectedly", job_id=job["_id"])
                    await self._retry_later(job, repr(exc))
                else:
                    await self._record_sent(job)
            finally:  # whatever the outcome, the provider counted the attempt
                await self._settle(mailbox_id, route, grant)

    async def _keep_lease(self, job: MailJob) -> MailJob | None:
        """The job, still held: the heartbeat keeps this replica's leases running, so only
        a lease about to run out (the heartbeat failed, the database was away) is renewed
        here first; None if another replica took the job over meanwhile (it must not be
        sent twice)."""
        until = job.get("lease_until")
        if until is not None:
            until = _aware(until)
        if self._leases_until is not None and (until is None or self._leases_until > until):
            until = self._leases_until
        if until is not None and until - datetime.now(UTC) >= LEASE_MARGIN:
            return job
        return await self.outbox.renew(job)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        period = self.outbox.lease.total_seconds() / 3
        while not stop.is_set():
            held = list(self._held)
            try:
                until, extended = await self.outbox.heartbeat(held)
                # Trusted for every held job only if none was lost to another replica.
                self._leases_until = until if extended == len(held) else None
            except Exception:  # noqa: BLE001 - the leases run on; sends check their own
                self._leases_until = None
                log.warning("could not extend the leases of the held jobs", exc_info=True)
            try:
                await asyncio.wait_for(stop.wait(), period)
            except TimeoutError:
                pass

    async def _record_sent(self, job: MailJob) -> None:
        """The first thing after the server accepted the message. Until this write lands, a
        crash sends the message again: SMTP has no idempotency key, so this one round trip
        is the window in which an e-mail can be repeated (ADR 0005). If the database is
        unreachable, the write is retried, every second at most, until it lands: giving up
        would leave the job to be claimed and sent again once the database is back. (The
        round waits for it, so this replica claims nothing meanwhile; another replica could
        take the job only after its lease ran out and before this write lands.)"""
        sent_at = datetime.now(UTC)
        delay = 0.1
        while True:
            try:
                if not await self._finish(job, DONE, {"sent_at": sent_at}):
                    log.error("sent, but another replica had taken the job over", job_id=job["_id"])
                return
            except TRANSIENT as exc:
                log.warning("sent; recording it waits for the database", error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def _settle(self, mailbox_id: str, route: Route, grant: Grant) -> None:
        """Record when the server answered; if that fails, the hold counts until its
        deadline, which is later still (the safe side)."""
        if grant.token is None:
            return
        try:
            await self.limiter.settle(mailbox_id, route.limits, grant.token)
        except Exception:  # noqa: BLE001 - the hold's deadline covers it
            log.warning("sending slot not settled; it counts until its deadline", exc_info=True)

    async def _retry_later(self, job: MailJob, reason: str) -> None:
        STAGE_FAILURES.labels("mailer", "mail", "temporary").inc()
        if datetime.now(UTC) - _aware(job["created_at"]) > self.give_up_after:
            hours = self.give_up_after.total_seconds() / 3600
            await self._finish(
                job, FAILED, {"reason": f"temporary failures for {hours:g} h; last: {reason}"}
            )
            return
        attempts = job["attempts"] + 1
        due = datetime.now(UTC) + backoff(attempts, self.retry_initial, self.retry_cap)
        log.info("mail will be retried", job_id=job["_id"], reason=reason, due_at=due.isoformat())
        await self.outbox.postpone(
            job, due, waiting_for=WAITING_FOR_RETRY, count_attempt=True, note={"last_error": reason}
        )

    async def _finish(self, job: MailJob, state: str, result: MailOutcome) -> bool:
        """Record a held job's end; this round reports it (False: the lease was lost, the
        replica that took the job over reports it)."""
        if finished := await self.outbox.finish(job, state, result):
            self._finished.append({**job, **result, "state": state})
        return finished

    async def _report_round(self) -> None:
        """Publish the outcomes of the jobs this round finished, from memory, then mark them
        published. If publishing fails they stay unpublished in the database, and the next
        search (report_finished) reports them."""
        jobs, self._finished = self._finished, []
        if jobs:
            await self.publish([outcome(job) for job in jobs])
            await self.outbox.mark_published([job["_id"] for job in jobs])

    async def report_finished(self) -> None:
        """Publish the outcome of every finished job not yet reported (a crash between
        finishing and publishing repeats the same event id)."""
        while jobs := await self.outbox.unpublished(self.batch, without=("html", "text")):
            await self.publish([outcome(job) for job in jobs])
            await self.outbox.mark_published([job["_id"] for job in jobs])
            if len(jobs) < self.batch:
                return


def _aware(moment: datetime) -> datetime:
    """A stored time as UTC (a naive one is UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def route_for(
    tenants: Any,
    platform: Route,
    unseal: Callable[[str], str],
) -> Callable[[str], Route]:
    """Tenant id -> the tenant's own mailbox, or the platform's."""

    def route(tenant_id: str) -> Route:
        tenant: events.TenantConfig | None = tenants.get(tenant_id)
        box = tenant.mailbox if tenant else None
        if box is None:
            return platform
        password = unseal(box.password_sealed) if box.password_sealed else None
        timeout = platform.server.timeout
        server = SmtpServer(box.host, box.port, box.tls, box.user, password, timeout)
        return Route(server, Limits(box.per_minute, box.per_hour, box.per_day))

    return route
