"""Jobs that leave the platform (e-mails, webhook calls), kept in MongoDB until they are done.

A consumer does not call the outside world inside its Kafka handler: it enqueues a job and
commits. Dispatchers in every replica then take due jobs, each under a lease, so that

- one slow or rate-limited destination (a mailbox at its limit, a webhook receiver that is
  down) never holds up a partition or other tenants' work;
- a job waits for its time (a sending slot, a retry with backoff) in the database, not in a
  process, so waiting survives restarts and is shared by all replicas;
- a replica that dies mid-job loses only its lease: another replica (or the same one after
  a restart) takes the job up again.

States: `queued` (waiting until `due_at`), `working` (leased until `lease_until`), `done`,
`failed`. A finished job carries `published: False` until the event that reports it was
acknowledged by Kafka, so a crash between the two repeats the event (same event id), never
loses it.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, NotRequired, TypedDict, TypeVar, cast

from pymongo import ASCENDING, UpdateOne
from pymongo.errors import DuplicateKeyError

from einvoice.log import get_logger
from einvoice.mongo import CoalescedGets, CoalescedUpdates, Collection

log = get_logger(__name__)

QUEUED, WORKING, DONE, FAILED = "queued", "working", "done", "failed"
# Ids per `{"_id": {"$in": [...]}}` command. The local stack's MongoDB-wire server matches
# `$in` in Python, comparing each candidate with the whole list: 2,000 ids cost it 13 s of
# CPU in one update_many, 100 ids at a time 2.6 s for the same 2,000 (measured on
# SecantusDB 0.7, ADR 0016). A real MongoDB does not care; the round trips it adds are few.
IDS_PER_COMMAND = 100


class OutboxJob(TypedDict):
    """The fields the outbox keeps on every job; a job's own fields (an e-mail, a webhook
    call) come beside them, in a TypedDict that extends this one (mailer.handlers.MailJob,
    einvoice.readmodels.billing_feed.WebhookJob)."""

    _id: str
    state: str  # QUEUED, WORKING, DONE or FAILED
    priority: int
    due_at: datetime
    created_at: datetime
    attempts: int
    v: int  # bumped by every change a holder makes: a stale copy changes nothing
    owner: NotRequired[str]  # the replica holding it (WORKING) or that last held it
    lease_until: NotRequired[datetime]
    claim: NotRequired[str]  # the claim_many round that took it
    waiting_for: NotRequired[str | None]  # why a queued job waits (postpone, release)
    last_error: NotRequired[str]  # why the last attempt failed, when it is retried
    finished_at: NotRequired[datetime]
    published: NotRequired[bool]  # whether the event that reports its end was acknowledged


Job = TypeVar("Job", bound=OutboxJob)


def utcnow() -> datetime:
    return datetime.now(UTC)


def default_owner() -> str:
    """A replica's name: stable across restarts of the same host or pod."""
    return socket.gethostname()


def backoff(attempts: int, initial: float, cap: float) -> timedelta:
    """Delay before retry number `attempts` (1-based): initial, 2x, 4x, ... up to cap."""
    return timedelta(seconds=min(cap, initial * 2 ** max(0, attempts - 1)))


async def run_rounds(
    round_: Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    wake: asyncio.Event,
    idle_poll: float,
    what: str,
) -> None:
    """A dispatcher's life: rounds back to back while they find work; otherwise wait for a
    wake-up (work enqueued by this replica) or `idle_poll` seconds (another replica's work,
    a job coming due). A failing round is logged and the loop goes on."""
    while not stop.is_set():
        try:
            worked = await round_()
        except Exception:  # noqa: BLE001 - a dependency hiccup must not end the loop
            log.exception("dispatch round failed", dispatcher=what)
            worked = 0
        if not worked:
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), idle_poll)
            except TimeoutError:
                pass


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[i : i + IDS_PER_COMMAND]) for i in range(0, len(ids), IDS_PER_COMMAND)]


@dataclass
class Outbox(Generic[Job]):
    """An outbox of jobs of one kind, `Job`: the TypedDict of what its collection holds."""

    jobs: Collection
    owner: str = field(default_factory=default_owner)
    lease: timedelta = timedelta(seconds=30)
    clock: Callable[[], datetime] = utcnow
    # Whether finished jobs are reported by an event (then `published` tracks it); a job
    # whose own record is the report (a webhook call and its delivery log) needs none.
    reports: bool = True
    # Concurrent get and enqueue calls go to the database together (einvoice.mongo
    # CoalescedGets, CoalescedUpdates): one command for many jobs instead of one each.
    coalesce: bool = False
    _writes: CoalescedUpdates | None = field(default=None, init=False, repr=False)
    _gets: CoalescedGets | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.coalesce:
            self._writes = CoalescedUpdates(self.jobs)
            self._gets = CoalescedGets(self.jobs)

    async def setup(self) -> None:
        await self.jobs.create_index([("state", ASCENDING), ("due_at", ASCENDING)])
        await self.jobs.create_index([("published", ASCENDING)])
        # This replica restarted: whatever it held when it stopped is nobody's now.
        await self.jobs.update_many(
            {"state": WORKING, "owner": self.owner},
            {"$set": {"state": QUEUED, "due_at": self.clock()}, "$inc": {"v": 1}},
        )

    def _job(self, doc: Mapping[str, Any]) -> Job:
        """A document of `jobs` as its record: the collection holds only what `enqueue` stored
        and this class changed since."""
        return cast(Job, doc)

    async def get(self, job_id: str) -> Job | None:
        if self._gets is not None:
            found = await self._gets.get(job_id)
        else:
            found = await self.jobs.find_one({"_id": job_id})
        return None if found is None else self._job(found)

    async def enqueue(
        self,
        job_id: str,
        job: Mapping[str, object],
        priority: int = 1,
        *,
        hold: timedelta | None = None,
    ) -> Job | None:
        """Add a job once and return it as stored; None if a job with this id exists
        already (a redelivery). With `hold`, the job is stored already claimed by this
        replica, under a lease that long (a dispatcher that sends it from memory need not
        claim it in another write); once the lease runs out, any replica takes it up."""
        now = self.clock()
        doc = dict(job) | {
            "_id": job_id,
            "state": QUEUED,
            "priority": priority,
            "due_at": now,
            "created_at": now,
            "attempts": 0,
            "v": 0,
        }
        if hold is not None:
            doc |= {"state": WORKING, "owner": self.owner, "lease_until": now + hold}
        try:
            await (self._writes or self.jobs).insert_one(doc)
        except DuplicateKeyError:
            return None
        return self._job(doc)

    async def due(
        self,
        limit: int,
        without: tuple[str, ...] = (),
        where: Mapping[str, Any] | None = None,
    ) -> list[Job]:
        """Jobs whose time has come, and jobs whose holder's lease ran out; `without` leaves
        out fields the caller does not look at before claiming (`Job` must have them
        NotRequired, or the caller must not read them); `where` narrows the queued ones
        (say, to one priority)."""
        now = self.clock()
        projection = dict.fromkeys(without, 0) or None
        queued = (
            await self.jobs.find(
                {"state": QUEUED, **(where or {}), "due_at": {"$lte": now}}, projection
            )
            .sort([("priority", ASCENDING), ("due_at", ASCENDING)])
            .limit(limit)
            .to_list(None)
        )
        stale = (
            await self.jobs.find({"state": WORKING, "lease_until": {"$lt": now}}, projection)
            .limit(limit)
            .to_list(None)
        )
        return [self._job(doc) for doc in queued + stale]

    async def claim(self, job: Job) -> Job | None:
        """Take a job under a lease; None if another replica took it first."""
        now = self.clock()
        changes = {"state": WORKING, "owner": self.owner, "lease_until": now + self.lease}
        result = await self.jobs.update_one(
            {"_id": job["_id"], "v": job["v"], "state": job["state"]},
            {"$set": changes, "$inc": {"v": 1}},
        )
        if result.matched_count != 1:
            return None
        return self._job({**job, **changes, "v": job["v"] + 1})

    async def _update_ids(
        self, ids: Sequence[str], query: Mapping[str, Any], update: Mapping[str, Any]
    ) -> int:
        """`update_many` of the jobs among `ids` that match `query`, a chunk of ids at a
        time; how many matched."""
        matched = 0
        for chunk in _chunks(ids):
            result = await self.jobs.update_many({"_id": {"$in": chunk}, **query}, update)
            matched += result.matched_count
        return matched

    async def _find_ids(
        self,
        ids: Sequence[str],
        query: Mapping[str, Any],
        projection: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for chunk in _chunks(ids):
            found += await self.jobs.find({"_id": {"$in": chunk}, **query}, projection).to_list(
                None
            )
        return found

    async def claim_many(self, jobs: list[Job]) -> list[Job]:
        """Take several jobs under a lease in two round trips (one update, one read of what
        it took) per hundred jobs: those still due or whose lease ran out, as `due()`
        found them; the others were taken or rescheduled meanwhile by another replica."""
        if not jobs:
            return []
        now = self.clock()
        token = uuid.uuid4().hex
        changes = {"state": WORKING, "owner": self.owner, "lease_until": now + self.lease}
        update = {"$set": changes | {"claim": token}, "$inc": {"v": 1}}
        queued = [job["_id"] for job in jobs if job["state"] == QUEUED]
        stale = [job["_id"] for job in jobs if job["state"] == WORKING]
        await self._update_ids(queued, {"state": QUEUED, "due_at": {"$lte": now}}, update)
        await self._update_ids(stale, {"state": WORKING, "lease_until": {"$lt": now}}, update)
        # What the jobs are now (another replica may have retried one meanwhile), as claimed.
        taken = {doc["_id"]: doc for doc in await self._find_ids(queued + stale, {"claim": token})}
        return [self._job(taken[job["_id"]]) for job in jobs if job["_id"] in taken]

    async def _update_held(self, job: OutboxJob, changes: Mapping[str, object]) -> bool:
        """Change a job this replica holds; False if its lease was lost meanwhile."""
        result = await self.jobs.update_one(
            {"_id": job["_id"], "v": job["v"], "owner": self.owner},
            {"$set": changes, "$inc": {"v": 1}},
        )
        return result.matched_count == 1

    async def renew(self, job: Job) -> Job | None:
        """Extend the lease of a job this replica holds; None if it was lost meanwhile."""
        until = self.clock() + self.lease
        if await self._update_held(job, {"lease_until": until}):
            return self._job({**job, "lease_until": until, "v": job["v"] + 1})
        return None

    async def heartbeat(self, job_ids: list[str]) -> tuple[datetime, int]:
        """Extend the leases of the jobs this replica is working on, in one write; returns
        the new end of the leases and how many it extended (a job another replica took over
        is not). Called every lease/3 while the replica lives, so a job held for a long send
        is never taken over, and one held by a replica that died is free within one lease.
        Only the jobs actually in hand: one claimed and then dropped (its round failed) must
        run out, or nobody would ever send it."""
        until = self.clock() + self.lease
        if not job_ids:
            return until, 0
        extended = await self._update_ids(
            job_ids, {"owner": self.owner, "state": WORKING}, {"$set": {"lease_until": until}}
        )
        return until, extended

    async def postpone(
        self,
        job: OutboxJob,
        until: datetime,
        *,
        waiting_for: str,
        count_attempt: bool,
        note: Mapping[str, object] | None = None,
    ) -> bool:
        """Put a held job back to wait (a sending slot, a retry), saying what it waits for."""
        attempts = job["attempts"] + (1 if count_attempt else 0)
        changes = {"state": QUEUED, "due_at": until, "waiting_for": waiting_for}
        return await self._update_held(job, {**changes, "attempts": attempts, **(note or {})})

    async def release(self, job_ids: list[str], until: datetime, *, waiting_for: str) -> None:
        """Put jobs this replica holds but will not send now back in the queue, due at
        `until`, in one write (a job lost to another replica meanwhile is left to it)."""
        await self._update_ids(
            job_ids,
            {"owner": self.owner, "state": WORKING},
            {
                "$set": {"state": QUEUED, "due_at": until, "waiting_for": waiting_for},
                "$inc": {"v": 1},
            },
        )

    async def defer(self, job_ids: list[str], until: datetime, *, waiting_for: str) -> None:
        """Move due, unclaimed jobs to a later time in one write (a mailbox at its limit):
        nobody holds them, and a job meanwhile claimed or rescheduled is left alone."""
        await self._update_ids(
            job_ids,
            {"state": QUEUED, "due_at": {"$lte": self.clock()}},
            {"$set": {"due_at": until, "waiting_for": waiting_for}},
        )

    async def finish(self, job: OutboxJob, state: str, result: Mapping[str, object]) -> bool:
        """Record the job's end at once, in a write of its own (never coalesced: for an
        e-mail, this write closes the window in which a crash repeats it); False if its
        lease was lost meanwhile (another replica's record stands)."""
        assert state in (DONE, FAILED)
        changes = {
            **result,
            "state": state,
            "finished_at": self.clock(),
            "published": not self.reports,
            "waiting_for": None,
        }
        return await self._update_held(job, changes)

    async def finish_many(
        self,
        ends: Sequence[tuple[OutboxJob, str, Mapping[str, object]]],
        *,
        reported: bool = False,
    ) -> list[str]:
        """Record the ends of several held jobs in one write (for jobs whose outside effect
        is idempotent, unlike an e-mail's); returns the ids recorded. A job whose lease was
        lost meanwhile is left to the replica that took it over. `reported`: their events
        were published already (a crash before this write repeats the work, and the same
        events, which is harmless when the work is asking a question again)."""
        if not ends:
            return []
        stamp = self.clock()
        writes = []
        for job, state, result in ends:
            assert state in (DONE, FAILED)
            changes = {
                **result,
                "state": state,
                "finished_at": stamp,
                "published": reported or not self.reports,
                "waiting_for": None,
            }
            writes.append(
                UpdateOne(
                    {"_id": job["_id"], "v": job["v"], "owner": self.owner},
                    {"$set": changes, "$inc": {"v": 1}},
                )
            )
        ids = [job["_id"] for job, _, _ in ends]
        outcome = await self.jobs.bulk_write(writes, ordered=False)
        if outcome.matched_count == len(writes):
            return ids
        found = await self._find_ids(ids, {"owner": self.owner, "finished_at": stamp}, {"_id": 1})
        return [doc["_id"] for doc in found]

    async def log_attempt(
        self, job: OutboxJob, entry: Mapping[str, object], field: str = "log"
    ) -> bool:
        """Append one attempt (its time, outcome, duration) to a held job's log; the job's
        version stays, so the postpone() or finish() that follows still applies."""
        result = await self.jobs.update_one(
            {"_id": job["_id"], "v": job["v"], "owner": self.owner},
            {"$push": {field: entry}},
        )
        return result.matched_count == 1

    async def unpublished(self, limit: int = 200, without: tuple[str, ...] = ()) -> list[Job]:
        """Finished jobs whose report is not yet acknowledged; `without` leaves out fields
        the report does not need (an e-mail's bodies: `Job` must have them NotRequired)."""
        projection = dict.fromkeys(without, 0) or None
        found = await self.jobs.find({"published": False}, projection).limit(limit).to_list(None)
        return [self._job(doc) for doc in found]

    async def mark_published(self, job_ids: list[str]) -> None:
        if job_ids:
            await self._update_ids(job_ids, {}, {"$set": {"published": True}})
