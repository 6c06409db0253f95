#!/usr/bin/env python3
# A command-line benchmark: it prints its table.
# ruff: noqa: T201, S311
"""Micro-benchmark of a MongoDB-wire server with the platform's own access patterns.

    .venv/bin/python bench/mongo_servers.py --url mongodb://127.0.0.1:27018 --label ferretdb-sqlite
    .venv/bin/python bench/mongo_servers.py \\
        --url mongodb://127.0.0.1:27022 --label secantusdb \\
        --url mongodb://127.0.0.1:27019 --label ferretdb-pg --cpu-ports 27019,5433

Each pattern is what a service does (PyMongo async, one AsyncMongoClient per server, as
`einvoice.mongo.mongo_client` makes it):

    insert_one        invoice-builder's save_once: a ~1.7 kB invoice, partial unique index
    find_one_id       every adapter's get(): find_one by _id
    upsert_set        read-tracker's projection: update_one $set/$setOnInsert/$addToSet,
                      upsert=True (1 insert : 3 updates, as an invoice's stages arrive)
    counter_inc       gateway's rate limiter: find_one_and_update $inc + $setOnInsert,
                      upsert=True, return_document=AFTER, on 50 shared keys (TTL index)
    cas_update        the outbox's claim/finish and the receipts' reservations: update_one
                      with a version compare-and-set filter, $set + $inc
    bulk_upsert_100   bulk_write of 100 UpdateOne upserts (counted as one operation)
    find_sort_limit   the read models' listings: find by tenant, sort on an indexed
                      date, limit 20

Every pattern runs for --seconds with 1 client and with 8 concurrent clients (asyncio
tasks sharing the client's pool), --repeats times; rounds are interleaved across the servers
given, so the ratios between servers come from the same minutes of a noisy machine. The
server's CPU is read from /proc/<pid>/stat (utime+stime, and cutime+cstime of reaped
children) of every process listening on the URL's port and on --cpu-ports (e.g. the
PostgreSQL behind FerretDB), with all their descendants. Medians are printed; every run is
written to bench/results/mongo-<label>.json (after every round). An operation that does not
answer within --op-timeout marks its pattern as hung on that server and is not run again.

--compat runs the feature checks instead (or as well, with --compat --bench): the
indexes, updates and queries the services use, each one named after the code that needs it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")
UTC = dt.UTC

# --------------------------------------------------------------------------------------------
# The server's CPU, from /proc
# --------------------------------------------------------------------------------------------


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def listening_pids(port: int) -> set[int]:
    """Processes holding a listening socket on `port` (needs to see their /proc/<pid>/fd)."""
    wanted = {f"socket:[{i}]" for i in _listening_inodes(port)}
    found = set()
    if not wanted:
        return found
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    found.add(int(proc.name))
                    break
        except OSError:
            continue
    return found


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def with_descendants(roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            fields = _stat(int(proc.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(proc.name))
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return seen


def cpu_seconds(pids: set[int]) -> float:
    """utime+stime+cutime+cstime of `pids` (cutime holds reaped children, e.g. PostgreSQL
    backends that ended): the difference of two readings is the CPU spent in between."""
    ticks = 0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            ticks += sum(int(x) for x in fields[11:15])  # stat fields 14..17
    return ticks / CLK_TCK


@dataclass
class Target:
    label: str
    url: str
    cpu_ports: list[int]
    roots: set[int] = field(default_factory=set)

    def find_processes(self) -> None:
        ports = [urlparse(self.url).port or 27017, *self.cpu_ports]
        for port in ports:
            self.roots |= listening_pids(port)
        if not self.roots:
            print(f"!! {self.label}: no process found listening on {ports}; server CPU unknown")

    def server_cpu(self) -> float | None:
        if not self.roots:
            return None
        return cpu_seconds(with_descendants(self.roots))

    def describe(self) -> dict[str, Any]:
        procs = {}
        for pid in sorted(self.roots):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            except OSError:
                cmd = "?"
            procs[pid] = cmd
        return {"label": self.label, "url": self.url, "cpu_ports": self.cpu_ports, "pids": procs}


# --------------------------------------------------------------------------------------------
# The documents and the access patterns
# --------------------------------------------------------------------------------------------


def invoice_doc(tenant: str, n: int) -> dict[str, Any]:
    """An invoice-builder record of the size the local stack stores (~1.7 kB of BSON)."""
    invoice_id = str(uuid.uuid4())
    lines = [
        {
            "position": i + 1,
            "name": f"Dostawa wody i odprowadzanie ścieków, pozycja {i + 1}",
            "quantity": "12.5",
            "unit": "m3",
            "unit_price": "11.20",
            "net": "140.00",
            "vat_rate": "8",
            "vat": "11.20",
            "gross": "151.20",
        }
        for i in range(4)
    ]
    party = {
        "name": "Wodociągi Miejskie Sp. z o.o.",
        "nip": "7272445205",
        "email": "faktury@wodociagi.example",
        "address": {
            "street": "ul. Piotrkowska 104",
            "postal_code": "90-926",
            "city": "Łódź",
            "country": "PL",
        },
    }
    number = f"WOD/2026/11/{n:08d}-{invoice_id[:8]}"
    return {
        "_id": f"{tenant}/{invoice_id}",
        "tenant_id": tenant,
        "invoice_id": invoice_id,
        "batch_id": str(uuid.uuid4()),
        "request_event_id": str(uuid.uuid4()),
        "status": "issued",
        "number": number,
        "decided_at": dt.datetime.now(UTC),
        "invoice": {
            "invoice_id": invoice_id,
            "number": number,
            "issue_date": "2026-11-22",
            "sale_date": "2026-11-22",
            "currency": "PLN",
            "seller": party,
            "buyer": party | {"name": "Józefina Żółkiewska", "email": f"k{n}@example.pl"},
            "lines": lines,
            "vat_summary": [{"vat_rate": "8", "net": "560.00", "vat": "44.80", "gross": "604.80"}],
            "totals": {"net": "560.00", "vat": "44.80", "gross": "604.80"},
            "payment": {"method": "transfer", "due_date": "2026-12-06", "bank_account": None},
            "recipients": [f"k{n}@example.pl"],
        },
    }


Op = Callable[[int, int], Awaitable[int]]  # (client index, op number) -> documents touched


class Patterns:
    """The access patterns against one database; setup() loads what they read."""

    names = (
        "insert_one",
        "find_one_id",
        "upsert_set",
        "counter_inc",
        "cas_update",
        "bulk_upsert_100",
        "find_sort_limit",
    )

    def __init__(self, db: Any, notes: list[str]):
        self.db = db
        self.notes = notes
        self.run_id = uuid.uuid4().hex[:6]
        self.preloaded_ids: list[str] = []
        self.cas_versions: dict[str, int] = {}
        self.cas_ids: list[list[str]] = []
        self.cas_lost = 0
        self.counter = 0

    async def setup(self, max_clients: int) -> None:
        db = self.db
        try:
            await db.invoices.create_index(
                [("tenant_id", ASCENDING), ("number", ASCENDING)],
                unique=True,
                partialFilterExpression={"status": "issued"},
                name="issued_number_unique",
            )
        except Exception as exc:  # noqa: BLE001 - a server without partial indexes still runs
            self.notes.append(f"insert_one: partial unique index refused ({exc}); plain unique")
            await db.invoices.create_index(
                [("tenant_id", ASCENDING), ("number", ASCENDING)], unique=True
            )
        docs = [invoice_doc("bench-pre", n) for n in range(2000)]
        for i in range(0, len(docs), 500):
            await db.invoices.insert_many(docs[i : i + 500], ordered=False)
        self.preloaded_ids = [d["_id"] for d in docs]

        await db.deliveries.create_index([("tenant_id", ASCENDING), ("batch_ids", ASCENDING)])
        try:
            await db.rate_limits.create_index("expires_at", expireAfterSeconds=0)
        except Exception as exc:  # noqa: BLE001
            self.notes.append(f"counter_inc: TTL index refused ({exc})")

        await db.jobs.create_index([("state", ASCENDING), ("due_at", ASCENDING)])
        now = dt.datetime.now(UTC)
        self.cas_ids = []
        jobs = []
        for c in range(max_clients):
            ids = [f"job-{c}-{k}" for k in range(50)]
            self.cas_ids.append(ids)
            for job_id in ids:
                jobs.append(
                    {
                        "_id": job_id,
                        "state": "queued",
                        "priority": 1,
                        "due_at": now,
                        "created_at": now,
                        "attempts": 0,
                        "v": 0,
                        "recipient": "klient@example.pl",
                        "invoice_id": str(uuid.uuid4()),
                    }
                )
                self.cas_versions[job_id] = 0
        await db.jobs.insert_many(jobs)

        await db.batches.create_index([("tenant_id", ASCENDING), ("started_at", ASCENDING)])
        base = dt.datetime(2026, 1, 1, tzinfo=UTC)
        batches = [
            {
                "_id": f"t{t}/b{b}",
                "tenant_id": f"t{t}",
                "batch_id": f"b{b}",
                "size": 1000,
                "started_at": base + dt.timedelta(hours=b * 20 + t),
            }
            for t in range(20)
            for b in range(250)
        ]
        for i in range(0, len(batches), 1000):
            await db.batches.insert_many(batches[i : i + 1000])

    def op(self, name: str) -> Op:
        return getattr(self, f"_{name}")

    async def _insert_one(self, client: int, n: int) -> int:
        self.counter += 1
        await self.db.invoices.insert_one(invoice_doc(f"bench-{client}", self.counter))
        return 1

    async def _find_one_id(self, client: int, n: int) -> int:
        doc = await self.db.invoices.find_one({"_id": random.choice(self.preloaded_ids)})
        assert doc is not None
        return 1

    async def _upsert_set(self, client: int, n: int) -> int:
        invoice = f"inv-{self.run_id}-{client}-{n // 4}"
        now = dt.datetime.now(UTC)
        stage = ("issued_at", "rendered_at", "mailed_at", "opened_at")[n % 4]
        await self.db.deliveries.update_one(
            {"_id": f"bench/{invoice}"},
            {
                "$set": {stage: now, "stage": stage, "recipient": "klient@example.pl"},
                "$setOnInsert": {
                    "tenant_id": "bench",
                    "invoice_id": invoice,
                    "batch_id": "b1",
                    "requested_at": now,
                },
                "$addToSet": {"batch_ids": "b1"},
            },
            upsert=True,
        )
        return 1

    async def _counter_inc(self, client: int, n: int) -> int:
        key = f"signin:60:{self.run_id}:{random.randrange(50)}"
        ends = dt.datetime.now(UTC) + dt.timedelta(minutes=2)
        update = {"$inc": {"count": 1}, "$setOnInsert": {"purpose": "signin", "expires_at": ends}}
        for _ in range(3):  # as gateway.accounts.ratelimit: a lost insert race is retried
            try:
                await self.db.rate_limits.find_one_and_update(
                    {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
                )
                return 1
            except DuplicateKeyError:
                continue
        return 1

    async def _cas_update(self, client: int, n: int) -> int:
        job_id = self.cas_ids[client][n % len(self.cas_ids[client])]
        v = self.cas_versions[job_id]
        now = dt.datetime.now(UTC)
        result = await self.db.jobs.update_one(
            {"_id": job_id, "v": v, "state": "queued"},
            {
                "$set": {"owner": f"bench-{client}", "lease_until": now, "due_at": now},
                "$inc": {"v": 1},
            },
        )
        if result.matched_count == 1:
            self.cas_versions[job_id] = v + 1
        else:
            self.cas_lost += 1
        return 1

    async def _bulk_upsert_100(self, client: int, n: int) -> int:
        now = dt.datetime.now(UTC)
        base = (n // 2) * 100  # every block of 100 ids is inserted once, then updated once
        requests = [
            UpdateOne(
                {"_id": f"bulk-{self.run_id}-{client}-{base + k}"},
                {
                    "$set": {"stage": "mailed", "mailed_at": now},
                    "$setOnInsert": {"tenant_id": "bench", "requested_at": now},
                },
                upsert=True,
            )
            for k in range(100)
        ]
        await self.db.bulk.bulk_write(requests, ordered=False)
        return 100

    async def _find_sort_limit(self, client: int, n: int) -> int:
        cursor = (
            self.db.batches.find({"tenant_id": f"t{random.randrange(20)}"})
            .sort("started_at", DESCENDING)
            .limit(20)
        )
        rows = await cursor.to_list(None)
        assert len(rows) == 20, len(rows)
        return 20


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    pattern: str
    clients: int
    round: int
    ops: int
    docs: int
    seconds: float
    server_cpu_s: float | None
    client_cpu_s: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds

    @property
    def server_ms_per_op(self) -> float | None:
        if self.server_cpu_s is None or not self.ops:
            return None
        return 1000 * self.server_cpu_s / self.ops

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {
            "ops_per_s": round(self.ops_per_s, 1),
            "server_cpu_ms_per_op": (
                round(self.server_ms_per_op, 4) if self.server_ms_per_op is not None else None
            ),
            "client_cpu_ms_per_op": round(1000 * self.client_cpu_s / max(self.ops, 1), 4),
        }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Hung(Exception):
    """An operation did not answer within --op-timeout: the pattern is not run again."""


async def measure(
    target: Target,
    patterns: Patterns,
    name: str,
    clients: int,
    seconds: float,
    rnd: int,
    op_timeout: float,
) -> Run:
    op = patterns.op(name)
    counters = [0] * clients

    async def worker(
        c: int, deadline: float, latencies: list[float] | None
    ) -> tuple[int, int, int]:
        ops = docs = errors = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                docs += await asyncio.wait_for(op(c, counters[c]), op_timeout)
            except TimeoutError as exc:
                raise Hung(f"{name} x{clients}: no answer in {op_timeout:.0f}s") from exc
            except Exception:  # noqa: BLE001 - counted, the first one printed
                errors += 1
                if errors == 1:
                    print(f"!! {target.label} {name}: {traceback.format_exc(limit=1)}")
                if errors > 50:
                    break
            counters[c] += 1
            ops += 1
            if latencies is not None:
                latencies.append(time.perf_counter() - started)
        return ops, docs, errors

    async def all_of(deadline: float, latencies: list[float] | None) -> list[tuple[int, int, int]]:
        tasks = [asyncio.create_task(worker(c, deadline, latencies)) for c in range(clients)]
        try:
            return await asyncio.gather(*tasks)
        except Hung:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    # Warm up: opens the pool's connections and the server's caches.
    await all_of(time.perf_counter() + 0.5, None)

    latencies: list[float] = []
    cpu0, own0, t0 = target.server_cpu(), _own_cpu(), time.perf_counter()
    results = await all_of(t0 + seconds, latencies)
    elapsed = time.perf_counter() - t0
    cpu1, own1 = target.server_cpu(), _own_cpu()
    latencies.sort()
    ops = sum(r[0] for r in results)
    return Run(
        label=target.label,
        pattern=name,
        clients=clients,
        round=rnd,
        ops=ops,
        docs=sum(r[1] for r in results),
        seconds=elapsed,
        server_cpu_s=(cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None,
        client_cpu_s=own1 - own0,
        p50_ms=1000 * latencies[len(latencies) // 2] if latencies else 0.0,
        p99_ms=1000 * latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        errors=sum(r[2] for r in results),
    )


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    rows = []
    keys = sorted({(r.label, r.pattern, r.clients) for r in runs}, key=lambda k: k)
    for label, pattern, clients in keys:
        group = [r for r in runs if (r.label, r.pattern, r.clients) == (label, pattern, clients)]
        rows.append(
            {
                "label": label,
                "pattern": pattern,
                "clients": clients,
                "runs": len(group),
                "ops_per_s": _median([r.ops_per_s for r in group]),
                "docs_per_s": _median([r.docs / r.seconds for r in group]),
                "server_cpu_ms_per_op": _median([r.server_ms_per_op for r in group]),
                "client_cpu_ms_per_op": _median([1000 * r.client_cpu_s / r.ops for r in group]),
                "p50_ms": _median([r.p50_ms for r in group]),
                "p99_ms": _median([r.p99_ms for r in group]),
                "errors": sum(r.errors for r in group),
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]], labels: list[str], counts: list[int]) -> None:
    def fmt(v: float | None, spec: str) -> str:
        return format(v, spec) if v is not None else "-"

    print()
    header = f"{'pattern':<16} {'clients':>7}"
    for label in labels:
        header += f" | {label[:22]:>22} {'':>9}"
    print(header)
    sub = f"{'':<16} {'':>7}"
    for _ in labels:
        sub += f" | {'ops/s':>10} {'srv ms/op':>10} {'p50 ms':>9}"
    print(sub)
    by_key = {(r["label"], r["pattern"], r["clients"]): r for r in rows}
    for pattern in Patterns.names:
        for clients in counts:
            line = f"{pattern:<16} {clients:>7}"
            for label in labels:
                r = by_key.get((label, pattern, clients))
                if r is None:
                    line += f" | {'':>10} {'':>10} {'':>9}"
                    continue
                line += (
                    f" | {fmt(r['ops_per_s'], '10.0f')} {fmt(r['server_cpu_ms_per_op'], '10.3f')}"
                    f" {fmt(r['p50_ms'], '9.2f')}"
                )
                if r["errors"]:
                    line += f" ({r['errors']} errors)"
            print(line)
    if len(labels) > 1:
        base = labels[0]
        print(f"\nserver CPU per op relative to {base} (same run; >1 = costlier):")
        for label in labels[1:]:
            ratios = []
            for pattern in Patterns.names:
                for clients in counts:
                    a = by_key.get((base, pattern, clients))
                    b = by_key.get((label, pattern, clients))
                    if a and b and a["server_cpu_ms_per_op"] and b["server_cpu_ms_per_op"]:
                        ratios.append(b["server_cpu_ms_per_op"] / a["server_cpu_ms_per_op"])
            if ratios:
                geo = statistics.geometric_mean(ratios)
                print(f"  {label}: geometric mean {geo:.3f} over {len(ratios)} pattern x clients")


def machine() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


async def server_info(client: AsyncMongoClient) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        build = await client.admin.command("buildInfo")
        info["version"] = build.get("version")
        info["ferretdb"] = build.get("ferretdbVersion") or build.get("ferretdb")
    except Exception as exc:  # noqa: BLE001
        info["buildInfo_error"] = str(exc)
    try:
        hello = await client.admin.command("hello")
        info["setName"] = hello.get("setName")
        info["maxWireVersion"] = hello.get("maxWireVersion")
    except Exception as exc:  # noqa: BLE001
        info["hello_error"] = str(exc)
    return info


async def bench(targets: list[Target], args: argparse.Namespace) -> None:
    counts = [int(c) for c in args.clients.split(",")]
    names = args.patterns.split(",") if args.patterns else list(Patterns.names)
    state = []
    for t in targets:
        t.find_processes()
        client = AsyncMongoClient(
            t.url, tz_aware=True, serverSelectionTimeoutMS=10_000, maxPoolSize=max(counts) + 2
        )
        db = client[f"bench_mongo_{uuid.uuid4().hex[:8]}"]
        notes: list[str] = []
        patterns = Patterns(db, notes)
        started = time.perf_counter()
        await patterns.setup(max(counts))
        print(f".. {t.label}: loaded in {time.perf_counter() - started:.1f}s  {t.describe()}")
        state.append((t, client, db, patterns, notes, await server_info(client)))

    runs: list[Run] = []
    hung: dict[tuple[str, str], str] = {}
    for rnd in range(args.repeats):
        for name in names:
            for clients in counts:
                for t, _, _, patterns, notes, _ in state:
                    if (t.label, name) in hung:
                        continue
                    try:
                        run = await measure(
                            t, patterns, name, clients, args.seconds, rnd, args.op_timeout
                        )
                    except Hung as exc:
                        hung[(t.label, name)] = str(exc)
                        notes.append(f"HUNG: {exc}; not run again")
                        print(f"!! {t.label}: {exc}; skipping {name} from now on", flush=True)
                        continue
                    runs.append(run)
                    ms = run.server_ms_per_op
                    print(
                        f".. round {rnd + 1}/{args.repeats} {t.label:<18} {name:<16} x{clients}:"
                        f" {run.ops_per_s:8.0f} ops/s"
                        f"  server {ms if ms is not None else float('nan'):.3f} CPU-ms/op",
                        flush=True,
                    )

        write_results(state, runs, targets, args, final=False)

    rows = summarize(runs)
    print_table(rows, [t.label for t in targets], counts)
    write_results(state, runs, targets, args, final=True)
    for _, client, db, _, _, _ in state:
        if not args.keep:
            await client.drop_database(db.name)
        await client.close()


def write_results(
    state: list[Any], runs: list[Run], targets: list[Target], args: argparse.Namespace, final: bool
) -> None:
    """bench/results/mongo-<label>.json, after every round (a hung server loses nothing)."""
    rows = summarize(runs)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for t, _, _, patterns, notes, info in state:
        if final and patterns.cas_lost:
            notes.append(f"cas_update: {patterns.cas_lost} compare-and-set updates matched nothing")
        out = RESULTS / f"mongo-{t.label}.json"
        out.write_text(
            json.dumps(
                {
                    "label": t.label,
                    "target": t.describe(),
                    "server": info,
                    "machine": machine(),
                    "when": dt.datetime.now(UTC).isoformat(timespec="seconds"),
                    "args": {k: v for k, v in vars(args).items() if k not in ("url", "label")},
                    "compared_with": [x.label for x in targets if x is not t],
                    "notes": notes,
                    "summary": [r for r in rows if r["label"] == t.label],
                    "runs": [r.as_dict() for r in runs if r.label == t.label],
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
        if final:
            print(f".. wrote {out.relative_to(ROOT)}" + (f"  notes: {notes}" if notes else ""))


# --------------------------------------------------------------------------------------------
# Compatibility: what the services ask of the server
# --------------------------------------------------------------------------------------------

Check = Callable[[Any], Awaitable[str | None]]
CHECKS: list[tuple[str, str, Check]] = []


def check(name: str, where: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS.append((name, where, fn))
        return fn

    return register


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


@check("unique index refuses a duplicate", "gateway accounts (email), email_templates")
async def _unique(db: Any) -> None:
    await db.accounts.create_index("email", unique=True)
    await db.accounts.insert_one({"_id": "a1", "email": "x@example.pl"})
    try:
        await db.accounts.insert_one({"_id": "a2", "email": "x@example.pl"})
    except DuplicateKeyError:
        return
    raise AssertionError("second insert with the same email was accepted")


@check("partial unique index (status: issued)", "invoice-builder issued_number_unique")
async def _partial_issued(db: Any) -> None:
    await db.invoices.create_index(
        [("tenant_id", ASCENDING), ("number", ASCENDING)],
        unique=True,
        partialFilterExpression={"status": "issued"},
        name="issued_number_unique",
    )
    await db.invoices.insert_one(
        {"_id": "t/1", "tenant_id": "t", "number": "FV/1", "status": "issued"}
    )
    await db.invoices.insert_one(
        {"_id": "t/2", "tenant_id": "t", "number": "FV/1", "status": "rejected"}
    )  # outside the filter: allowed
    try:
        await db.invoices.insert_one(
            {"_id": "t/3", "tenant_id": "t", "number": "FV/1", "status": "issued"}
        )
    except DuplicateKeyError:
        pass
    else:
        raise AssertionError("two issued invoices with one number were accepted")
    info = await db.invoices.index_information()
    expect(
        "partialFilterExpression" in info.get("issued_number_unique", {}),
        f"listIndexes does not show the partial filter: {info.get('issued_number_unique')}",
    )


@check("partial unique index on 3 keys (status + kind)", "invoice-builder retail_series_seq_unique")
async def _partial_retail(db: Any) -> None:
    await db.retail.create_index(
        [("tenant_id", ASCENDING), ("series", ASCENDING), ("seq", ASCENDING)],
        unique=True,
        partialFilterExpression={"status": "issued", "kind": "retail"},
        name="retail_series_seq_unique",
    )
    base = {"tenant_id": "c", "series": "FV", "seq": 1}
    await db.retail.insert_one(base | {"_id": 1, "status": "issued", "kind": "retail"})
    await db.retail.insert_one(base | {"_id": 2, "status": "rejected", "kind": "retail"})
    try:
        await db.retail.insert_one(base | {"_id": 3, "status": "issued", "kind": "retail"})
    except DuplicateKeyError:
        return
    raise AssertionError("two issued retail invoices with one seq were accepted")


@check("partial unique index with $exists", "receipt-ingest code_unique_per_chain")
async def _partial_exists(db: Any) -> None:
    await db.receipts.create_index(
        [("tenant_id", ASCENDING), ("code", ASCENDING)],
        unique=True,
        partialFilterExpression={"code": {"$exists": True}},
        name="code_unique_per_chain",
    )
    await db.receipts.insert_many([{"_id": 1, "tenant_id": "c"}, {"_id": 2, "tenant_id": "c"}])
    await db.receipts.insert_one({"_id": 3, "tenant_id": "c", "code": "ABC"})
    try:
        await db.receipts.insert_one({"_id": 4, "tenant_id": "c", "code": "ABC"})
    except DuplicateKeyError:
        return
    raise AssertionError("two receipts with one code were accepted")


@check("TTL index (expireAfterSeconds=0) is created", "gateway sessions, tokens, rate limits")
async def _ttl_create(db: Any) -> None:
    await db.sessions.create_index("expires_at", expireAfterSeconds=0)
    info = await db.sessions.index_information()
    ttl = [v for v in info.values() if "expireAfterSeconds" in v]
    expect(bool(ttl), f"no index shows expireAfterSeconds: {info}")


@check("TTL index removes expired documents (<= --ttl-wait s)", "gateway sessions, tokens")
async def _ttl_expiry(db: Any) -> str | None:
    if not ARGS.ttl_wait:
        return "skipped (--ttl-wait 0)"
    await db.ttl.create_index("expires_at", expireAfterSeconds=0)
    past = dt.datetime.now(UTC) - dt.timedelta(minutes=5)
    await db.ttl.insert_one({"_id": "old", "expires_at": past})
    deadline = time.monotonic() + ARGS.ttl_wait
    while time.monotonic() < deadline:
        if await db.ttl.count_documents({}) == 0:
            return None
        await asyncio.sleep(2)
    raise AssertionError(f"an expired document is still there after {ARGS.ttl_wait}s")


@check("upsert $set/$setOnInsert/$addToSet", "read-tracker MongoDeliveries.update")
async def _upsert_mix(db: Any) -> None:
    for batch, stage in (("b1", "issued"), ("b2", "mailed"), ("b2", "opened")):
        await db.deliveries.update_one(
            {"_id": "t/i1"},
            {
                "$set": {"stage": stage},
                "$setOnInsert": {"batch_id": batch, "invoice_id": "i1"},
                "$addToSet": {"batch_ids": batch},
            },
            upsert=True,
        )
    doc = await db.deliveries.find_one({"_id": "t/i1"})
    expect(
        doc
        == {
            "_id": "t/i1",
            "stage": "opened",
            "batch_id": "b1",
            "invoice_id": "i1",
            "batch_ids": ["b1", "b2"],
        },
        f"got {doc}",
    )
    found = await db.deliveries.find({"batch_ids": "b2"}).to_list(None)
    expect(len(found) == 1, "query on an array field (batch_ids) found nothing")


@check("find_one_and_update $inc upsert, return AFTER", "gateway RateLimiter.hit")
async def _counter(db: Any) -> None:
    update = {"$inc": {"count": 1}, "$setOnInsert": {"purpose": "p"}}
    first = await db.rl.find_one_and_update(
        {"_id": "k"}, update, upsert=True, return_document=ReturnDocument.AFTER
    )
    expect(first is not None and first["count"] == 1, f"first call returned {first}")
    second = await db.rl.find_one_and_update(
        {"_id": "k"}, update, upsert=True, return_document=ReturnDocument.AFTER
    )
    expect(second is not None and second["count"] == 2, f"second call returned {second}")
    r = await db.rl.update_one({"_id": "k", "count": {"$gt": 0}}, {"$inc": {"count": -1}})
    expect(r.modified_count == 1, "refund ($inc -1 with $gt filter) changed nothing")


@check("20 concurrent $inc upserts on one new key", "gateway RateLimiter.hit (two replicas)")
async def _counter_race(db: Any) -> None:
    update = {"$inc": {"count": 1}}
    nones = dups = 0

    async def hit() -> None:
        nonlocal nones, dups
        for _ in range(3):
            try:
                doc = await db.race.find_one_and_update(
                    {"_id": "k"}, update, upsert=True, return_document=ReturnDocument.AFTER
                )
            except DuplicateKeyError:
                dups += 1
                continue
            nones += doc is None
            return

    await asyncio.gather(*(hit() for _ in range(20)))
    final = await db.race.find_one({"_id": "k"})
    expect(final is not None and final["count"] == 20, f"count {final}, {dups} duplicate errors")
    expect(nones == 0, f"{nones} calls answered without the document")
    return f"{dups} DuplicateKeyError retried" if dups else None


@check("compare-and-set update_one (version filter)", "outbox claim/finish, reservations")
async def _cas(db: Any) -> None:
    await db.jobs.insert_one({"_id": "j", "v": 0, "state": "queued", "log": []})
    r = await db.jobs.update_one(
        {"_id": "j", "v": 0, "state": "queued"},
        {"$set": {"state": "working"}, "$inc": {"v": 1}, "$push": {"log": {"at": 1}}},
    )
    expect(r.matched_count == 1 and r.modified_count == 1, f"first CAS: {r.raw_result}")
    r = await db.jobs.update_one({"_id": "j", "v": 0}, {"$set": {"state": "x"}, "$inc": {"v": 1}})
    expect(r.matched_count == 0, f"stale CAS matched: {r.raw_result}")
    doc = await db.jobs.find_one({"_id": "j"})
    expect(doc["v"] == 1 and doc["log"] == [{"at": 1}], f"got {doc}")


@check("20 concurrent compare-and-set updates: exactly one wins", "outbox claim, reservations")
async def _cas_race(db: Any) -> None:
    await db.claim.insert_one({"_id": "j", "v": 0, "state": "queued"})

    async def claim(i: int) -> int:
        r = await db.claim.update_one(
            {"_id": "j", "v": 0, "state": "queued"},
            {"$set": {"state": "working", "owner": i}, "$inc": {"v": 1}},
        )
        return r.matched_count

    wins = sum(await asyncio.gather(*(claim(i) for i in range(20))))
    doc = await db.claim.find_one({"_id": "j"})
    expect(wins == 1 and doc["v"] == 1, f"{wins} replicas claimed one job; stored {doc}")


@check("20 concurrent $inc on an existing document", "outbox, counters")
async def _inc_race(db: Any) -> None:
    await db.inc.insert_one({"_id": "n", "count": 0})
    await asyncio.gather(
        *(db.inc.update_one({"_id": "n"}, {"$inc": {"count": 1}}) for _ in range(20))
    )
    doc = await db.inc.find_one({"_id": "n"})
    expect(doc["count"] == 20, f"lost increments: count {doc['count']} after 20")


@check("update_many with $in, $set + $inc; matched counts", "outbox setup/defer/mark_published")
async def _update_many(db: Any) -> None:
    await db.um.insert_many([{"_id": i, "state": "queued", "v": 0} for i in range(5)])
    r = await db.um.update_many(
        {"_id": {"$in": [0, 1, 2]}, "state": "queued"},
        {"$set": {"state": "working"}, "$inc": {"v": 1}},
    )
    expect(r.matched_count == 3 and r.modified_count == 3, f"update_many: {r.raw_result}")


@check("queries: $lte/$lt/$gt, $ne (missing field), $exists, $or", "outbox.due, readmodels")
async def _queries(db: Any) -> None:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    await db.q.insert_many(
        [
            {"_id": 1, "t": "a", "at": now - dt.timedelta(1), "counted": False, "mailed_at": now},
            {"_id": 2, "t": "a", "at": now, "mailed_at": now},
            {"_id": 3, "t": "a", "at": now + dt.timedelta(1), "counted": True},
            {"_id": 4, "t": "b", "at": now},
        ]
    )

    async def ids(query: dict[str, Any]) -> list[int]:
        return sorted(d["_id"] for d in await db.q.find(query).to_list(None))

    expect(await ids({"t": "a", "at": {"$lte": now}}) == [1, 2], "$lte")
    expect(await ids({"at": {"$lt": now}}) == [1], "$lt")
    expect(await ids({"t": "a", "counted": {"$ne": False}}) == [2, 3], "$ne with missing field")
    expect(await ids({"mailed_at": {"$exists": True}}) == [1, 2], "$exists")
    query = {
        "t": "a",
        "mailed_at": {"$exists": True},
        "$or": [{"mailed_at": {"$gt": now}}, {"mailed_at": now, "_id": {"$gt": 1}}],
    }
    expect(await ids(query) == [2], "$or keyset page")
    expect(await ids({"_id": {"$in": [1, 4, 9]}}) == [1, 4], "$in")


@check("sort on two keys + limit; find_one with sort; projection", "readmodels, outbox, builder")
async def _sorts(db: Any) -> None:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    await db.s.insert_many(
        [{"_id": i, "p": i % 2, "due": now + dt.timedelta(seconds=-i), "seq": i} for i in range(6)]
    )
    rows = await db.s.find({}).sort([("p", ASCENDING), ("due", ASCENDING)]).limit(4).to_list(None)
    expect([r["_id"] for r in rows] == [4, 2, 0, 5], f"two-key sort: {[r['_id'] for r in rows]}")
    last = await db.s.find_one({}, {"seq": 1}, sort=[("seq", DESCENDING)])
    expect(last == {"_id": 5, "seq": 5}, f"find_one sort/projection: {last}")


@check("count_documents with a filter", "readmodels outbox_waiting")
async def _count(db: Any) -> None:
    await db.c.insert_many([{"_id": i, "s": "queued" if i < 3 else "done"} for i in range(5)])
    n = await db.c.count_documents({"s": "queued"})
    expect(n == 3, f"count_documents: {n}")


@check("find_one_and_delete and delete_many counts", "gateway tokens.consume, sessions")
async def _deletes(db: Any) -> None:
    await db.tok.insert_many([{"_id": i, "a": "x"} for i in range(3)])
    gone = await db.tok.find_one_and_delete({"_id": 0, "a": "x"})
    expect(gone == {"_id": 0, "a": "x"}, f"find_one_and_delete: {gone}")
    r = await db.tok.delete_many({"a": "x"})
    expect(r.deleted_count == 2, f"delete_many: {r.raw_result}")


@check("bulk_write of upserts reports upserted/modified", "bench pattern, batch projections")
async def _bulk(db: Any) -> None:
    reqs = [UpdateOne({"_id": i}, {"$set": {"x": 1}}, upsert=True) for i in range(10)]
    r = await db.bw.bulk_write(reqs, ordered=False)
    expect(r.upserted_count == 10, f"first bulk: {r.bulk_api_result}")
    r = await db.bw.bulk_write(
        [UpdateOne({"_id": i}, {"$set": {"x": 2}}, upsert=True) for i in range(10)]
    )
    expect(r.modified_count == 10 and r.upserted_count == 0, f"second: {r.bulk_api_result}")


@check("tz-aware datetimes round-trip (ms)", "every adapter (tz_aware=True)")
async def _dates(db: Any) -> None:
    at = dt.datetime(2026, 11, 22, 10, 1, 2, 345000, tzinfo=UTC)
    await db.d.insert_one({"_id": 1, "at": at})
    doc = await db.d.find_one({"_id": 1, "at": at})
    expect(doc is not None and doc["at"] == at, f"got {doc}")


@check("concurrent retail numbering (find max seq, insert, retry)", "MongoInvoices.issue_numbered")
async def _numbering(db: Any) -> None:
    coll = db.numbers
    await coll.create_index(
        [("tenant_id", ASCENDING), ("series", ASCENDING), ("seq", ASCENDING)],
        unique=True,
        partialFilterExpression={"status": "issued", "kind": "retail"},
    )

    async def issue(i: int) -> None:
        for _ in range(60):
            last = await coll.find_one(
                {"tenant_id": "c", "series": "FV", "status": "issued", "kind": "retail"},
                {"seq": 1},
                sort=[("seq", DESCENDING)],
            )
            seq = (last["seq"] if last else 0) + 1
            try:
                await coll.insert_one(
                    {
                        "_id": i,
                        "tenant_id": "c",
                        "series": "FV",
                        "seq": seq,
                        "status": "issued",
                        "kind": "retail",
                    }
                )
                return
            except DuplicateKeyError:
                continue
        raise AssertionError("no number after 60 tries")

    await asyncio.gather(*(issue(i) for i in range(20)))
    seqs = sorted(d["seq"] for d in await coll.find({}).to_list(None))
    expect(seqs == list(range(1, 21)), f"numbers not unique and gapless: {seqs}")


@check("drop_database removes the database", "tests' fixtures")
async def _drop(db: Any) -> None:
    client = db.client
    other = client[db.name + "_d"]
    await other.x.insert_one({"_id": 1})
    await client.drop_database(other.name)
    names = await client.list_database_names()
    expect(other.name not in names, "dropped database still listed")


@check("hello advertises a replica set (change streams, transactions)", "not used by services")
async def _hello(db: Any) -> str | None:
    try:
        hello = await db.client.admin.command("hello")
    except Exception:  # noqa: BLE001 - older servers know only the legacy name
        hello = await db.client.admin.command("isMaster")
        hello["note"] = "no `hello` command, answers isMaster"
    return f"setName={hello.get('setName')!r}, maxWireVersion={hello.get('maxWireVersion')}" + (
        f", {hello['note']}" if "note" in hello else ""
    )


async def compat(target: Target) -> list[dict[str, Any]]:
    client = AsyncMongoClient(target.url, tz_aware=True, serverSelectionTimeoutMS=10_000)
    results = []
    try:
        for name, where, fn in CHECKS:
            db = client[f"compat_{uuid.uuid4().hex[:8]}"]
            try:
                note = await fn(db)
                ok, detail = True, note or ""
            except Exception as exc:  # noqa: BLE001 - each failure is a finding
                ok, detail = False, f"{type(exc).__name__}: {str(exc)[:300]}"
            finally:
                try:
                    await client.drop_database(db.name)
                except Exception:  # noqa: BLE001, S110
                    pass
            results.append({"check": name, "where": where, "ok": ok, "detail": detail})
            print(f"{'ok  ' if ok else 'FAIL'} {name:<62} {detail}", flush=True)
    finally:
        await client.close()
    return results


# --------------------------------------------------------------------------------------------


ARGS: argparse.Namespace


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", action="append", required=True, help="server URL (repeatable)")
    p.add_argument("--label", action="append", help="name for each --url (in order)")
    p.add_argument(
        "--cpu-ports",
        action="append",
        help="for each --url in order: more ports whose listeners count as the server "
        "(e.g. 5433 for FerretDB's PostgreSQL); '' for none",
    )
    p.add_argument("--seconds", type=float, default=3.0, help="measured time per run (3)")
    p.add_argument("--repeats", type=int, default=3, help="rounds (3); medians are reported")
    p.add_argument("--clients", default="1,8", help="concurrent clients, comma-separated (1,8)")
    p.add_argument("--patterns", default="", help="subset, comma-separated (all)")
    p.add_argument("--compat", action="store_true", help="run the compatibility checks")
    p.add_argument("--bench", action="store_true", help="with --compat: benchmark as well")
    p.add_argument("--ttl-wait", type=float, default=0, help="seconds to wait for TTL expiry")
    p.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    p.add_argument(
        "--op-timeout", type=float, default=20.0, help="seconds before an op counts as hung (20)"
    )
    args = p.parse_args(argv)
    labels = args.label or []
    if len(labels) < len(args.url):
        labels += [urlparse(u).netloc.replace(":", "-") for u in args.url[len(labels) :]]
    args.label = labels
    ports = args.cpu_ports or []
    ports += [""] * (len(args.url) - len(ports))
    args.cpu_ports = [[int(x) for x in s.split(",") if x] for s in ports]
    return args


async def main_async(args: argparse.Namespace) -> int:
    targets = [
        Target(label, url, ports)
        for label, url, ports in zip(args.label, args.url, args.cpu_ports, strict=True)
    ]
    failed = 0
    if args.compat:
        for t in targets:
            print(f"\n== compatibility: {t.label} ({t.url})")
            results = await compat(t)
            failed += sum(not r["ok"] for r in results)
            RESULTS.mkdir(parents=True, exist_ok=True)
            out = RESULTS / f"mongo-{t.label}-compat.json"
            out.write_text(json.dumps({"target": t.describe(), "checks": results}, indent=2) + "\n")
            print(
                f".. {sum(r['ok'] for r in results)} passed, "
                f"{sum(not r['ok'] for r in results)} failed; wrote {out.relative_to(ROOT)}"
            )
    if not args.compat or args.bench:
        print(f".. machine: {machine()}")
        await bench(targets, args)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    global ARGS  # noqa: PLW0603 - the checks read --ttl-wait
    ARGS = parse_args(sys.argv[1:] if argv is None else argv)
    return asyncio.run(main_async(ARGS))


if __name__ == "__main__":
    sys.exit(main())
