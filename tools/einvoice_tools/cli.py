"""`einvoice`: the command line for billing operators and for running the platform.

einvoice publish-batch FILE        publish a JSON or CSV batch and follow its progress
einvoice batch-status BATCH_ID     show a batch's progress by stage
einvoice create-topics             create the platform's Kafka topics
einvoice seed-demo                 register the demo utility tenant
einvoice seed-demo-chain           register the demo retail chain and its POS keys
einvoice till push                 act as a till: push a grocery receipt, print its code
einvoice demo-batch -n 20 FILE     write a demo batch (JSON or CSV by the file's suffix)
einvoice dlq list [TOPIC...]       dead letters with their reasons (every DLQ topic by default)
einvoice dlq replay TOPIC --ref.. send selected dead letters back once the cause is fixed
einvoice schemas                   write docs/events.md from the event schemas
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from einvoice import events
from einvoice_tools import demo
from einvoice_tools.csvbatch import CsvError, parse_csv, to_csv

DEFAULT_GATEWAY = "http://127.0.0.1:8000"
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def fail(text: str, code: int = 1) -> int:
    sys.stderr.write(f"error: {text}\n")
    return code


def load_batch(path: Path) -> list[dict[str, Any]]:
    text = path.read_text("utf-8-sig")
    if path.suffix.lower() == ".csv":
        return parse_csv(text)
    data = json.loads(text)
    invoices = data.get("invoices") if isinstance(data, dict) else data
    if not isinstance(invoices, list):
        raise ValueError("expected a JSON list of invoices or an object with 'invoices'")
    return invoices


def cmd_publish_batch(args: argparse.Namespace) -> int:
    if not args.api_key:
        return fail("an API key is needed: --api-key or EINVOICE_API_KEY")
    try:
        invoices = load_batch(Path(args.file))
    except (OSError, ValueError, CsvError) as exc:
        return fail(f"cannot read {args.file}: {exc}")
    body: dict[str, Any] = {"invoices": invoices}
    if args.batch_id:
        body["batch_id"] = args.batch_id
    with httpx.Client(
        base_url=args.gateway, timeout=120, headers={"Authorization": f"Bearer {args.api_key}"}
    ) as client:
        try:
            response = client.post("/api/v1/batches", json=body)
        except httpx.HTTPError as exc:
            return fail(f"gateway {args.gateway} unreachable: {exc}")
        if response.status_code != 202:
            return fail(
                f"batch refused ({response.status_code}):\n"
                + json.dumps(response.json(), indent=2, ensure_ascii=False)
            )
        accepted = response.json()
        say(f"batch {accepted['batch_id']}: {accepted['invoices']} invoices accepted")
        if args.no_wait:
            return 0
        return follow_batch(client, accepted["batch_id"], accepted["invoices"], args.timeout)


def follow_batch(client: httpx.Client, batch_id: str, expected: int, timeout: float) -> int:
    """Show progress until every invoice is mailed or failed (or the timeout): a bar on a
    terminal, a line per change otherwise (logs, CI)."""
    deadline = time.monotonic() + timeout
    summary: dict[str, Any] | None = None
    interactive = sys.stdout.isatty()
    shown = None
    with tqdm(
        total=expected, unit="inv", desc="delivered", file=sys.stdout, disable=not interactive
    ) as bar:
        while time.monotonic() < deadline:
            response = client.get(f"/api/v1/batches/{batch_id}")
            if response.status_code == 200:
                summary = response.json()
                stages = " ".join(f"{k}={v}" for k, v in summary["counts"].items())
                held = (summary.get("mail_waiting") or {}).get("for_mailbox_limit")
                if held:
                    stages += f" waiting-for-mailbox-limit={held}"
                if waiting := (summary.get("ksef") or {}).get("waiting"):
                    stages += f" waiting-for-ksef={waiting}"
                bar.n = summary["done"]
                bar.set_postfix_str(stages)
                if not interactive and stages != shown:
                    say(f"{summary['done']}/{summary['expected']} done: {stages}")
                    shown = stages
                if summary["complete"]:
                    break
            # The status reads every invoice of the batch: ask less often for big ones.
            time.sleep(min(10.0, max(0.5, expected / 10_000)))
    if summary is None:
        return fail("no progress seen before the timeout")
    print_summary(summary)
    if not summary["complete"]:
        return fail(
            f"batch not complete after {timeout:.0f}s; see einvoice batch-status {batch_id}", code=2
        )
    return 0


def print_summary(summary: dict[str, Any]) -> None:
    counts = summary["counts"]
    say("  ".join(f"{stage}: {n}" for stage, n in counts.items()))
    if ksef := summary.get("ksef"):
        say("KSeF  " + "  ".join(f"{status}: {n}" for status, n in ksef.items()))
    for failure in summary.get("failures", []):
        reasons = "; ".join(failure.get("reasons") or [])
        say(f"  FAILED {failure.get('number')} at {failure.get('stage')}: {reasons}")
    waiting = summary.get("mail_waiting") or {}
    if waiting.get("for_mailbox_limit"):
        say(
            f"  {waiting['for_mailbox_limit']} e-mails wait for the mailbox's sending limit; "
            f"next slot at {waiting['for_mailbox_limit_next_at']}"
        )
    if waiting.get("for_retry"):
        say(
            f"  {waiting['for_retry']} e-mails wait for a retry after a temporary SMTP error; "
            f"next attempt at {waiting['for_retry_next_at']}"
        )


def cmd_batch_status(args: argparse.Namespace) -> int:
    with httpx.Client(
        base_url=args.gateway, timeout=30, headers={"Authorization": f"Bearer {args.api_key}"}
    ) as client:
        response = client.get(f"/api/v1/batches/{args.batch_id}")
    if response.status_code != 200:
        return fail(f"{response.status_code}: {response.text}")
    print_summary(response.json())
    return 0


def cmd_create_topics(args: argparse.Namespace) -> int:
    from einvoice.kafka_admin import ensure_topics

    created = asyncio.run(ensure_topics(args.bootstrap, args.replication))
    say(f"topics created: {', '.join(created) if created else 'none (all exist)'}")
    return 0


def _demo_ksef(simulator: str | None, nip: str) -> Any:
    """A demo tenant's KSeF connection: a token the local KSeF simulator issues for the NIP
    (its `/_sim/tokens`, not part of KSeF), sealed like any tenant's token. None without a
    simulator."""
    if not simulator:
        return None
    import httpx

    from einvoice.sealing import Sealer
    from einvoice.settings import Settings

    root = simulator.rstrip("/").removesuffix("/v2")
    response = httpx.post(f"{root}/_sim/tokens", json={"nip": nip}, timeout=10)
    response.raise_for_status()
    sealed = Sealer.from_settings(Settings()).seal(response.json()["token"])
    return demo.demo_ksef(nip, sealed)


def _local_simulator() -> str | None:
    """The KSeF test environment's URL when it is a local simulator (deploy/local/local.env)."""
    url = os.environ.get("EINVOICE_KSEF_TEST_URL", "")
    return url if url.startswith(("http://127.0.0.1:", "http://localhost:")) else None


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from einvoice.bus import make_producer
    from einvoice.tenants import hash_api_key, publish_tenant

    ksef = _demo_ksef(args.ksef_simulator, str(demo.DEMO_SELLER["nip"]))
    config = demo.demo_tenant(hash_api_key(args.api_key), ksef)

    async def seed() -> None:
        producer = make_producer(args.bootstrap, "einvoice-cli")
        await producer.start()
        try:
            await publish_tenant(producer, config)
        finally:
            await producer.stop()

    asyncio.run(seed())
    say(f"demo tenant {demo.DEMO_TENANT!r} registered")
    if ksef:
        say(f"  connected to KSeF (test: {args.ksef_simulator}), NIP {ksef.context_nip}")
    return 0


def cmd_seed_demo_chain(args: argparse.Namespace) -> int:
    from einvoice.bus import make_producer
    from einvoice.tenants import hash_api_key, publish_tenant

    ksef = _demo_ksef(args.ksef_simulator, str(demo.DEMO_CHAIN_SELLER["nip"]))
    config = demo.demo_chain(hash_api_key(args.pos_key), hash_api_key(args.store_pos_key), ksef)

    async def seed() -> None:
        producer = make_producer(args.bootstrap, "einvoice-cli")
        await producer.start()
        try:
            await publish_tenant(producer, config)
        finally:
            await producer.stop()

    asyncio.run(seed())
    say(f"demo chain {demo.DEMO_CHAIN!r} registered")
    say(f"  chain-wide POS key: {args.pos_key}")
    say(f"  POS key of store {demo.DEMO_STORE}: {args.store_pos_key}")
    if ksef:
        say(f"  connected to KSeF (test: {args.ksef_simulator}), NIP {ksef.context_nip}")
    return 0


def cmd_till_push(args: argparse.Namespace) -> int:
    from einvoice.receipts import format_code, receipt_event
    from einvoice_tools.receiptqr import qr_png

    if not args.pos_key:
        return fail("a POS key is needed: --pos-key or EINVOICE_POS_KEY")
    rng = random.Random(args.seed)
    try:
        receipt = demo.demo_receipt(
            rng, lines=args.lines, store_id=args.store, till_id=args.till, buyer_nip=args.nip
        )
    except ValueError as exc:
        return fail(str(exc))
    # The same checks as the gateway's, before anything leaves the till.
    env, errors = receipt_event(args.chain, receipt)
    if env is None:
        return fail("the receipt is invalid:\n  " + "\n  ".join(errors))
    try:
        response = httpx.post(
            f"{args.gateway}/api/v1/receipts",
            json=receipt,
            headers={"Authorization": f"Bearer {args.pos_key}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        return fail(f"gateway {args.gateway} unreachable: {exc}")
    if response.status_code != 202:
        return fail(f"receipt refused ({response.status_code}): {response.text}")
    accepted = response.json()["receipts"][0]
    if accepted["receipt_id"] != env.payload["receipt_id"]:
        say(f"note: the key belongs to another chain than {args.chain!r}")
    say(
        f"receipt {receipt['number']} (store {receipt['store_id']}, till {receipt['till_id']}):"
        f" {len(receipt['lines'])} lines, {receipt['total_gross']} PLN"
    )
    for line in receipt["lines"]:
        say(
            f"  {line['name']:<36} {line['quantity']:>6} {line['unit']:<5}"
            f" x {line['unit_gross']:>6} = {line['gross']:>7} {line['vat_rate']}"
        )
    say(f"receipt id: {accepted['receipt_id']}")
    say(f"code: {format_code(accepted['code'])}")
    if args.qr:
        Path(args.qr).write_bytes(qr_png(accepted["code"]))
        say(f"QR code written to {args.qr}")
    return 0


def cmd_demo_batch(args: argparse.Namespace) -> int:
    invoices = demo.demo_invoices(args.count, seed=args.seed, series=args.series)
    out = Path(args.file)
    if out.suffix.lower() == ".csv":
        out.write_text(to_csv(invoices), "utf-8")
    else:
        out.write_text(json.dumps({"invoices": invoices}, ensure_ascii=False, indent=1), "utf-8")
    say(f"wrote {len(invoices)} demo invoices to {out}")
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from einvoice_tools import dlq

    def dlq_name(topic: str) -> str:
        return topic if topic.endswith(".dlq") else events.dlq_topic(topic)

    if args.action == "list":
        topics = [dlq_name(t) for t in args.topics] or dlq.dlq_topics()
        letters = asyncio.run(dlq.dead_letters(args.bootstrap, topics, args.limit))
        marks = asyncio.run(dlq.replayed(args.bootstrap)) if letters else {}
        if args.reason:
            letters = [d for d in letters if args.reason.lower() in d.reason.lower()]
        if args.json:
            for d in letters:
                say(json.dumps(d.record | {"ref": d.ref, "replayed": marks.get(d.ref)}))
            return 0
        for d in letters:
            replayed = f"  replayed {marks[d.ref]['at'][:19]}" if d.ref in marks else ""
            say(
                f"{d.ref}  {str(d.record.get('failed_at', ''))[:19]}  "
                f"{d.record.get('service', '?')}  key={d.key}{replayed}"
            )
            say(f"    {d.reason}")
        say(f"{len(letters)} dead letter(s) in {len(topics)} topic(s)")
        return 0
    if len(args.topics) != 1:
        say("replay takes exactly one topic")
        return 2
    selection = dlq.Selection(
        refs=set(args.ref), keys=set(args.key), reason=args.reason, everything=args.all
    )
    if not selection:
        say("say what to replay: --ref PARTITION:OFFSET, --key KEY, --reason TEXT or --all")
        return 2
    topic = dlq_name(args.topics[0])
    result = asyncio.run(
        dlq.replay(
            args.bootstrap,
            topic,
            selection,
            again=args.again,
            dry_run=args.dry_run,
            progress=lambda d: say(f"replayed {d.ref} -> {d.record['topic']} (key {d.key})"),
        )
    )
    for letter, why in result.skipped:
        say(f"skipped {letter.ref}: {why}")
    if args.dry_run:
        for letter in result.replayed:
            say(f"would replay {letter.ref} -> {letter.record['topic']}: {letter.reason}")
    verb = "would replay" if args.dry_run else "replayed"
    say(f"{verb} {len(result.replayed)}, skipped {len(result.skipped)} from {topic}")
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from einvoice_tools.schemadoc import events_markdown

    Path(args.output).write_text(events_markdown(), "utf-8")
    say(f"wrote {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="einvoice", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gateway = os.environ.get("EINVOICE_GATEWAY", DEFAULT_GATEWAY)
    api_key = os.environ.get("EINVOICE_API_KEY")
    bootstrap = os.environ.get("EINVOICE_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP)

    p = sub.add_parser("publish-batch", help="publish a JSON or CSV batch")
    p.add_argument("file")
    p.add_argument("--gateway", default=gateway)
    p.add_argument("--api-key", default=api_key)
    p.add_argument("--batch-id")
    p.add_argument("--no-wait", action="store_true", help="return once accepted")
    p.add_argument("--timeout", type=float, default=600)
    p.set_defaults(run=cmd_publish_batch)

    p = sub.add_parser("batch-status", help="show a batch's progress")
    p.add_argument("batch_id")
    p.add_argument("--gateway", default=gateway)
    p.add_argument("--api-key", default=api_key)
    p.set_defaults(run=cmd_batch_status)

    p = sub.add_parser("create-topics", help="create the Kafka topics")
    p.add_argument("--bootstrap", default=bootstrap)
    p.add_argument("--replication", type=int, default=1, help="3 on a production cluster")
    p.set_defaults(run=cmd_create_topics)

    p = sub.add_parser("seed-demo", help="register the demo utility tenant")
    p.add_argument("--bootstrap", default=bootstrap)
    p.add_argument("--api-key", default=os.environ.get("EINVOICE_DEMO_API_KEY", demo.DEMO_API_KEY))
    _add_ksef_option(p)
    p.set_defaults(run=cmd_seed_demo)

    _add_retail_commands(sub, gateway, bootstrap)

    p = sub.add_parser("demo-batch", help="write a demo batch file")
    p.add_argument("file")
    p.add_argument("-n", "--count", type=int, default=20)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--series", help="invoice number prefix (default WOD/<year>/<month>)")
    p.set_defaults(run=cmd_demo_batch)

    p = sub.add_parser("dlq", help="list dead letters with their reasons, or replay some")
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("topics", nargs="*", help="e.g. invoice.requested (or its .dlq name)")
    p.add_argument("--limit", type=int, default=1000, help="list: at most this many per topic")
    p.add_argument("--reason", help="only dead letters whose reason contains this text")
    p.add_argument("--json", action="store_true", help="list: one JSON object per line")
    p.add_argument(
        "--ref", action="append", default=[], help="replay: PARTITION:OFFSET (repeatable)"
    )
    p.add_argument("--key", action="append", default=[], help="replay: the record key")
    p.add_argument("--all", action="store_true", help="replay: every dead letter of the topic")
    p.add_argument("--again", action="store_true", help="replay: also those replayed before")
    p.add_argument("--dry-run", action="store_true", help="replay: show what would be sent")
    p.add_argument("--bootstrap", default=bootstrap)
    p.set_defaults(run=cmd_dlq)

    p = sub.add_parser("schemas", help="write docs/events.md")
    p.add_argument("--output", default="docs/events.md")
    p.set_defaults(run=cmd_schemas)
    return parser


def _add_ksef_option(p: Any) -> None:
    p.add_argument(
        "--ksef-simulator",
        default=_local_simulator(),
        help="connect the tenant to this local KSeF simulator (default: EINVOICE_KSEF_TEST_URL "
        "when it is on loopback; '' for none)",
    )


def _add_retail_commands(sub: Any, gateway: str, bootstrap: str) -> None:
    p = sub.add_parser("seed-demo-chain", help="register the demo retail chain")
    p.add_argument("--bootstrap", default=bootstrap)
    p.add_argument("--pos-key", default=demo.DEMO_CHAIN_POS_KEY, help="the chain-wide POS key")
    p.add_argument(
        "--store-pos-key",
        default=demo.DEMO_STORE_POS_KEY,
        help=f"the POS key bound to store {demo.DEMO_STORE}",
    )
    _add_ksef_option(p)
    p.set_defaults(run=cmd_seed_demo_chain)

    till = sub.add_parser("till", help="simulate a till (POS)")
    till_sub = till.add_subparsers(dest="till_command", required=True)
    p = till_sub.add_parser("push", help="push a realistic grocery receipt to the gateway")
    p.add_argument("--gateway", default=gateway)
    p.add_argument("--chain", default=demo.DEMO_CHAIN, help="the chain the POS key belongs to")
    p.add_argument("--store", default=demo.DEMO_STORE)
    p.add_argument("--till", default="K01")
    p.add_argument("--pos-key", default=os.environ.get("EINVOICE_POS_KEY", demo.DEMO_CHAIN_POS_KEY))
    p.add_argument("--lines", type=int, default=6, help="number of receipt lines (1-500)")
    p.add_argument("--nip", help="the buyer's NIP, printed on the receipt")
    p.add_argument("--qr", metavar="FILE.png", help="write the receipt code's QR code here")
    p.add_argument("--seed", type=int, help="repeatable lines (the code is always random)")
    p.set_defaults(run=cmd_till_push)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
