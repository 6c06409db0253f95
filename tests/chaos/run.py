"""`make chaos`: inject the faults of issue 6 into the running platform, then count.

    .venv/bin/python tests/chaos/run.py [--invoices 2000] [--retail-rate 1] [--short]
                                        [--only NAME ...] [--seed N]

The workload is a 2,000-invoice utility batch, published in one part per fault, and shoppers'
requests arriving meanwhile. The faults come one after another, each at a random moment
while its part is at the stage it hurts most: kill -9 of every service (restarted), a Kafka
restart, S3 down, MongoDB down, SMTP refusing connections, and two mailer replicas of which
one is killed. After each fault heals, its part is waited for; at the end the stores are
counted (tests.chaos.audit) and a table printed. The last line is one summary:

    chaos: faults=11 invoices=2000 retail=… lost=0 duplicated=0 gaps=0 failed=0 ...

An e-mail that the SMTP server accepted just before the mailer died (or its connection was
cut), whose sending was not recorded yet, goes out again: SMTP has no idempotency key. Such
repeats are counted apart, as `smtp_window`, and only where a fault that can cause them
overlapped the invoice's delivery; anywhere else a repeat counts as duplicated.

`--short` is the version `make test` runs: fewer invoices, shorter outages. The stack and the
services are started if they are not running, and what the run started is stopped at the
end; faults stop and kill only what this checkout's launchers started (their pid files).
Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from einvoice.bus import make_producer  # noqa: E402
from einvoice.mongo import mongo_client  # noqa: E402
from einvoice.settings import Settings  # noqa: E402
from einvoice.storage import s3_client  # noqa: E402
from tests.chaos import faults, workload  # noqa: E402
from tests.chaos.audit import Audit, audit  # noqa: E402
from tests.chaos.gate import SmtpGate  # noqa: E402
from tests.chaos.track import Track, follow, open_tail  # noqa: E402
from tests.support import LocalStack, local_settings  # noqa: E402

MAILDEV_SMTP = 1025
REPORTS = ROOT / ".run" / "chaos"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Options:
    invoices: int = 2000
    retail_rate: float = 1.0
    durations: faults.Durations = faults.FULL
    only: tuple[str, ...] = ()
    repeat: int = 1  # the plan, this many times over (to measure how often something occurs)
    seed: int = 6
    part_timeout: float = 600.0  # a part not delivered by then is left to the final count


@dataclass
class Row:
    fault: faults.Fault
    moment: str = ""
    in_flight: set[str] = field(default_factory=set)
    injected_at: float = 0.0
    healed_at: float = 0.0
    settled_after: float | None = None  # s from healed until its part was delivered

    @property
    def smtp_window(self) -> bool:
        """Can this fault lose the record of an e-mail the server accepted?"""
        f = self.fault
        return isinstance(f, faults.RefuseSmtp | faults.KillReplica) or (
            isinstance(f, faults.KillService) and f.service == "mailer"
        )


@dataclass
class Result:
    rows: list[Row]
    track: Track
    audit: Audit
    invoices: int
    retail: int
    retail_errors: list[str]
    seconds: float

    def attributed(self, index: int) -> list[str]:
        return [i for i, e in self.track.expected.items() if e.fault == index]

    def window_ids(self) -> set[str]:
        """Invoices whose delivery overlapped a fault that can repeat an e-mail."""
        found = set()
        for row in (r for r in self.rows if r.smtp_window):
            for invoice_id, expected in self.track.expected.items():
                done_at = self.track.done_at.get(invoice_id, float("inf"))
                if expected.started_at <= row.healed_at and done_at >= row.injected_at:
                    found.add(invoice_id)
        return found

    def figures(self, ids: list[str]) -> dict[str, int]:
        window = self.window_ids()
        out = dict.fromkeys(("lost", "duplicated", "smtp_window", "failed", "delivered"), 0)
        for invoice_id in ids:
            held, expected = self.audit.invoices[invoice_id], self.track.expected[invoice_id]
            repeats = held.repeated_mails()
            out["duplicated"] += held.duplicated() + (0 if invoice_id in window else repeats)
            out["smtp_window"] += repeats if invoice_id in window else 0
            if held.lost(expected):
                out["lost"] += 1
            elif held.failed:
                out["failed"] += 1
            else:
                out["delivered"] += 1
        return out

    def totals(self) -> dict[str, int]:
        out = self.figures(list(self.track.expected))
        out["duplicated"] += self.audit.numbers_reused
        out["gaps"] = self.audit.gaps
        out["lag"] = sum(self.audit.lag.values())
        out["stuck_batches"] = sum(1 for b in self.audit.batches.values() if not b.get("complete"))
        return out


async def chaos(options: Options, progress=say) -> Result:
    # The harness's own Kafka clients complain while the broker restarts; that is the fault.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    settings = Settings(**local_settings())
    rng = random.Random(options.seed)
    gate = SmtpGate(MAILDEV_SMTP)
    await gate.open()
    run_id = uuid.uuid4().hex[:8]
    tenants = await workload.register(settings.kafka_bootstrap, gate.port, run_id)
    plan = [
        f
        for _ in range(options.repeat)
        for f in faults.plan(gate, options.durations)
        if not options.only or any(o in f.name for o in options.only)
    ]
    if not plan:
        raise SystemExit(f"no fault matches {options.only}")
    sizes = [
        options.invoices // len(plan) + (i < options.invoices % len(plan)) for i in range(len(plan))
    ]
    progress(
        f"== chaos run {run_id}: {options.invoices} invoices in {len(plan)} parts, "
        f"retail {options.retail_rate:g}/s, SMTP gate 127.0.0.1:{gate.port} -> {MAILDEV_SMTP}"
    )
    track = Track()
    mongo = mongo_client(settings)
    producer = make_producer(settings.kafka_bootstrap, "chaos")
    await producer.start()
    tail = await open_tail(settings.kafka_bootstrap)
    follower = asyncio.create_task(follow(tail, track))
    current = 0
    shoppers = workload.Shoppers(
        tenants, mongo, producer, track, options.retail_rate, lambda: current, seed=options.seed
    )
    enough = asyncio.Event()
    retail = asyncio.create_task(shoppers.run(enough)) if options.retail_rate > 0 else None
    rows: list[Row] = []
    batch_ids: dict[str, str] = {}
    t0 = time.monotonic()
    try:
        for index, fault in enumerate(plan):
            current = index
            row = Row(fault)
            rows.append(row)
            await fault.prepare()
            invoices = workload.utility_part(tenants, index, sizes[index], options.seed)
            ids = await workload.publish_part(tenants, index, invoices, track, index)
            batch_ids[workload.batch_id(tenants, index)] = tenants.utility_id
            share = rng.uniform(0.1, 0.5)
            reached = await _until_reached(track, ids, fault.stage, share, within=90)
            row.moment = f"{reached}/{len(ids)} {fault.stage}"
            row.in_flight = set(track.pending())
            row.injected_at = time.monotonic()
            progress(
                f"-- {index + 1}/{len(plan)} {fault.name}: at {row.moment}, "
                f"{len(row.in_flight)} in flight"
            )
            await fault.inject()
            row.healed_at = time.monotonic()
            progress(f"   {fault.detail}")
            if await _until_done(track, ids, options.part_timeout, progress):
                row.settled_after = time.monotonic() - row.healed_at
                progress(f"   part {index} delivered {row.settled_after:.1f} s after healing")
            else:
                progress(f"   part {index} NOT delivered within {options.part_timeout:g} s")
        if retail is not None:
            enough.set()
            await retail
        progress("== waiting for everything still in flight")
        await _until_done(track, list(track.expected), options.part_timeout, progress)
        progress("== counting in MongoDB, S3, maildev and Kafka")
        counted = await audit(
            track.expected,
            mongo,
            s3_client(settings),
            settings.s3_bucket,
            tenants.domain,
            batch_ids,
            settings.kafka_bootstrap,
        )
    finally:
        for fault in plan:
            with contextlib.suppress(Exception):
                await fault.cleanup()
        if retail is not None and not retail.done():
            retail.cancel()
            await asyncio.gather(retail, return_exceptions=True)
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await tail.stop()
        await producer.stop()
        await mongo.close()
        await gate.close()
    return Result(
        rows,
        track,
        counted,
        options.invoices,
        shoppers.requested,
        shoppers.errors,
        time.monotonic() - t0,
    )


async def _until_reached(track: Track, ids: list[str], stage: str, share: float, within: float):
    deadline = time.monotonic() + within
    goal = max(1, int(len(ids) * share))
    while (reached := track.reached(ids, stage)) < goal and time.monotonic() < deadline:  # noqa: ASYNC110 (the tail updates `track` in place)
        await asyncio.sleep(0.02)
    return reached


async def _until_done(track: Track, ids: list[str], within: float, progress) -> bool:
    deadline = time.monotonic() + within
    said = time.monotonic()
    while pending := track.pending(ids):
        if time.monotonic() > deadline:
            return False
        if time.monotonic() - said > 30:
            progress(f"   {len(pending)} still in flight")
            said = time.monotonic()
        await asyncio.sleep(0.2)
    return True


def table(result: Result) -> list[str]:
    lines = [
        "| # | fault | injected at | what happened | in flight | recovered | duplicated "
        "| SMTP window | lost | delivered after healing |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for index, row in enumerate(result.rows):
        mine = result.figures(result.attributed(index))
        flight = result.figures(sorted(row.in_flight))
        settled = f"{row.settled_after:.1f} s" if row.settled_after is not None else "no"
        lines.append(
            f"| {index + 1} | {row.fault.name} | {row.moment} | {row.fault.detail} "
            f"| {len(row.in_flight)} | {flight['delivered'] + flight['failed']} "
            f"| {mine['duplicated']} | {mine['smtp_window']} | {mine['lost']} | {settled} |"
        )
    return lines


def summary(result: Result) -> str:
    t = result.totals()
    return (
        f"chaos: faults={len(result.rows)} invoices={result.invoices} retail={result.retail} "
        f"lost={t['lost']} duplicated={t['duplicated']} gaps={t['gaps']} failed={t['failed']} "
        f"smtp_window={t['smtp_window']} lag={t['lag']} stuck_batches={t['stuck_batches']} "
        f"seconds={result.seconds:.0f}"
    )


def report(result: Result) -> list[str]:
    t = result.totals()
    series = ", ".join(
        f"{len(seqs)} numbers {min(seqs)}..{max(seqs)}" for seqs in result.audit.series.values()
    )
    lines = [
        "",
        *table(result),
        "",
        "In flight: invoices requested but not yet mailed when the fault struck (its part and",
        "the shoppers' requests under way). Recovered: of those, delivered or failed with a",
        "reason. Duplicated, SMTP window and lost count the invoices exposed to the fault (its",
        "part and the requests made while it lasted).",
        "",
        f"- invoices: {result.invoices} utility, {result.retail} retail; delivered "
        f"{t['delivered']}, failed with a reason {t['failed']}, lost {t['lost']}",
        f"- numbers: {t['duplicated']} duplicated (numbers, PDFs, e-mails outside the SMTP "
        f"window); one number on two invoices: {result.audit.numbers_reused}",
        f"- retail series: {series or 'none'}; gaps {t['gaps']}",
        f"- e-mails repeated in the SMTP window: {t['smtp_window']}",
        f"- batch parts complete: {len(result.audit.batches) - t['stuck_batches']} of "
        f"{len(result.audit.batches)}",
        f"- consumer lag at the end: {result.audit.lag}",
    ]
    if result.retail_errors:
        lines.append(f"- shoppers' requests that could not be made: {len(result.retail_errors)}")
        lines += [f"  - {e}" for e in result.retail_errors[:5]]
    return lines


async def _until_signalled(work):
    """Run `work`; Ctrl-C or SIGTERM cancel it, so its clean-up starts what a fault stopped."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    return await task


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", "-n", type=int, default=2000)
    parser.add_argument("--retail-rate", type=float, default=1.0, help="shoppers per second")
    parser.add_argument("--short", action="store_true", help="short outages (make test's run)")
    parser.add_argument("--only", nargs="*", default=[], help="faults whose name contains these")
    parser.add_argument("--repeat", type=int, default=1, help="run the plan this many times")
    parser.add_argument("--seed", type=int, default=6)
    return parser.parse_args()


def main() -> int:
    args = arguments()
    options = Options(
        invoices=args.invoices,
        retail_rate=args.retail_rate,
        durations=faults.SHORT if args.short else faults.FULL,
        only=tuple(args.only),
        repeat=args.repeat,
        seed=args.seed,
    )
    stack = LocalStack(say)
    say("== local stack and services")
    stack.up(timeout=600)
    try:
        if not faults.stack_owned():
            say(
                "the stack or a service was not started by this checkout's launchers; not injecting"
            )
            return 2
        result = asyncio.run(_until_signalled(chaos(options)))
    except asyncio.CancelledError:
        say("interrupted: every stopped part was started again; nothing counted")
        return 130
    finally:
        stack.down()
    lines = report(result)
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = REPORTS / f"chaos-{datetime.now():%Y%m%d-%H%M%S}.md"
    path.write_text(
        "\n".join([f"# make chaos, {datetime.now():%Y-%m-%d %H:%M}", *lines, "", summary(result)])
        + "\n"
    )
    for line in lines:
        say(line)
    say(f"report: {path}")
    say(summary(result))
    t = result.totals()
    return 0 if t["lost"] == t["duplicated"] == t["gaps"] == t["lag"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
