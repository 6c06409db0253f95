"""einvoice.outbox: jobs claimed under a lease by one replica at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from einvoice.outbox import DONE, Outbox
from tests.support.clock import Clock
from tests.support.mongo import FakeCollection

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


async def test_claim_many_takes_what_is_due_and_leaves_what_another_replica_took() -> None:
    jobs, clock = FakeCollection(), Clock(START)
    one = Outbox(jobs, owner="one", clock=clock)
    two = Outbox(jobs, owner="two", clock=clock)
    for n in range(5):
        await one.enqueue(f"j{n}", {"n": n})
    seen = await one.due(10)
    assert [j["_id"] for j in await two.claim_many(seen[:2])] == ["j0", "j1"]

    claimed = await one.claim_many(seen)
    assert [j["_id"] for j in claimed] == ["j2", "j3", "j4"]
    assert all(j["owner"] == "one" and j["v"] == 1 for j in claimed)
    # what it returns is what the outbox holds: finishing works with it
    await one.finish(claimed[0], DONE, {})
    assert jobs.docs["j2"]["state"] == DONE
    assert jobs.docs["j0"]["owner"] == "two"


async def test_claim_many_takes_over_a_lease_that_ran_out_but_not_a_live_one() -> None:
    jobs, clock = FakeCollection(), Clock(START)
    one = Outbox(jobs, owner="one", clock=clock)
    two = Outbox(jobs, owner="two", clock=clock)
    await one.enqueue("a", {})
    await one.enqueue("b", {})
    held = await one.claim_many(await one.due(10))
    await one.postpone(held[1], clock.now, waiting_for="retry", count_attempt=True)
    clock.now += timedelta(seconds=10)
    seen = await two.due(10)  # "b" is due again; "a" is held, lease alive
    assert [j["_id"] for j in await two.claim_many(seen)] == ["b"]
    clock.now += one.lease
    seen = await two.due(10)
    assert [j["_id"] for j in seen] == ["a"]
    assert [j["owner"] for j in await two.claim_many(seen)] == ["two"]
    assert await one.finish(held[0], DONE, {}) is False  # its lease was lost


async def test_a_heartbeat_keeps_a_live_replicas_jobs_from_being_taken_over() -> None:
    jobs, clock = FakeCollection(), Clock(START)
    one = Outbox(jobs, owner="one", clock=clock)
    two = Outbox(jobs, owner="two", clock=clock)
    await one.enqueue("a", {})
    [held] = await one.claim_many(await one.due(10))
    await one.enqueue("dropped", {})  # claimed, then its round failed: not in hand
    await one.claim_many(await one.due(10))
    for _ in range(4):  # a long send: one lease and more, with heartbeats every lease / 3
        clock.now += one.lease / 3
        assert (await one.heartbeat(["a"]))[1] == 1
    assert [j["_id"] for j in await two.due(10)] == ["dropped"]  # its lease ran out
    assert await one.finish(held, DONE, {}) is True
    await one.enqueue("b", {})
    await one.claim_many(await one.due(10))
    clock.now += one.lease + timedelta(seconds=1)  # "one" died: no heartbeat
    taken = await two.claim_many(await two.due(10))
    assert {j["_id"]: j["owner"] for j in taken} == {"b": "two", "dropped": "two"}
    assert (await one.heartbeat(["b"]))[1] == 0  # lost to "two"


async def test_a_coalescing_outbox_enqueues_and_reads_as_a_plain_one() -> None:
    jobs = FakeCollection()
    outbox = Outbox(jobs, owner="one", coalesce=True)
    stored = await outbox.enqueue("a", {"n": 1})
    assert stored is not None and await outbox.enqueue("a", {"n": 2}) is None
    assert (await outbox.get("a"))["n"] == 1 and await outbox.get("zz") is None


async def test_finish_many_records_held_jobs_in_one_write_and_leaves_lost_ones() -> None:
    jobs, clock = FakeCollection(), Clock(START)
    one = Outbox(jobs, owner="one", clock=clock)
    two = Outbox(jobs, owner="two", clock=clock)
    for name in "abc":
        await one.enqueue(name, {})
    held = await one.claim_many(await one.due(10))
    clock.now += one.lease + timedelta(seconds=1)
    [taken] = await two.claim_many([j for j in await two.due(10) if j["_id"] == "c"])

    ends = [(job, DONE, {"n": i}) for i, job in enumerate(held)]
    assert sorted(await one.finish_many(ends)) == ["a", "b"]  # "c" is two's now
    assert jobs.docs["a"]["state"] == DONE and jobs.docs["a"]["published"] is False
    assert jobs.docs["b"]["n"] == 1 and jobs.docs["c"]["owner"] == "two"
    assert jobs.docs["c"]["state"] == "working" and "n" not in jobs.docs["c"]
    assert await two.finish_many([(taken, DONE, {})]) == ["c"]
