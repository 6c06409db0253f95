"""Submitting one context's invoices to KSeF, the way KSeF wants it for their number:
an online session for a shopper's invoice or a few, a batch session (one encrypted ZIP) for
a utility's many (`docs/sesja-interaktywna.md`, `docs/sesja-wsadowa.md`), then each
invoice's status, its UPO stored beside its FA(3) XML, and the outcome recorded on the job.

Each job's session and reference are recorded as soon as KSeF has the invoice, so a replica
that takes the job over (this one died) asks KSeF about it instead of sending it again. The
one window left, between KSeF taking the invoice and that record, is closed by KSeF itself:
it refuses a second invoice with the same seller NIP, type and number with code 440 and the
first one's KSeF number, which is recorded as the outcome ("already registered").
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar, cast

from lxml import etree

from einvoice import events
from einvoice.log import get_logger
from einvoice.outbox import DONE, FAILED
from einvoice.storage import Objects, invoice_key
from ksef_api import InvoiceStatus, KsefApi, KsefError, RetryableError
from ksef_connector.connections import Connections, Context
from ksef_connector.jobs import SubmissionJob, SubmissionOutcome, issued_event

log = get_logger(__name__)
T = TypeVar("T")

UPO_NS = "{http://upo.schematy.mf.gov.pl/KSeF/v4-3}"
# KSeF's answers about a session that is gone or a token it no longer takes: sending again
# in a new session (after authenticating again) is the remedy, not failing the invoices.
SESSION_GONE = (401, 403, 404, 410)


class Store(Objects, Protocol):
    """The invoice objects' store (`einvoice.storage.Objects`), read as well: the FA(3) XML."""

    async def get(self, key: str) -> bytes: ...


Finished = tuple[SubmissionJob, str, SubmissionOutcome]  # (job, DONE or FAILED, outcome)
Record = Callable[[Sequence[tuple[SubmissionJob, SubmissionOutcome]]], Awaitable[None]]


@dataclass
class Submitted:
    """What became of a group: settled jobs, and jobs KSeF would not take yet (429)."""

    finished: list[Finished] = field(default_factory=list)
    throttled: list[SubmissionJob] = field(default_factory=list)
    retry_after: float = 0.0

    def throttle(self, job: SubmissionJob, retry_after: float) -> None:
        self.throttled.append(job)
        self.retry_after = max(self.retry_after, retry_after)

    def __iadd__(self, other: Submitted) -> Submitted:
        self.finished += other.finished
        self.throttled += other.throttled
        self.retry_after = max(self.retry_after, other.retry_after)
        return self


class StaleXml(Exception):
    """The stored FA(3) file is not the one issued (its SHA-256 differs)."""


@dataclass
class Submitter:
    connections: Connections
    store: Store
    record: Record  # writes the sessions' references onto the jobs
    poll: float = 0.25
    max_wait: float = 600.0
    online_concurrency: int = 8

    async def online(self, context: Context, jobs: list[SubmissionJob]) -> Submitted:
        """Send the jobs' invoices in the context's online session (sent before: asked about
        where they went), and wait for each one's outcome. Invoices KSeF would not take now
        (429) come back as `throttled`; those it took are recorded and settled first."""
        api = self.connections.api(context.environment)
        token = await self.connections.access_token(context)
        fresh = [job for job in jobs if "invoice_reference" not in job]
        sent = [job for job in jobs if "invoice_reference" in job]
        done = Submitted()
        if fresh:
            session = await self.connections.online_session(context, token)
            limit = asyncio.Semaphore(self.online_concurrency)

            async def send(job: SubmissionJob) -> tuple[SubmissionJob, SubmissionOutcome] | None:
                try:
                    xml = await self._xml(job)
                except StaleXml as exc:
                    done.finished.append((job, FAILED, {"code": 0, "reasons": [str(exc)]}))
                    return None
                async with limit:
                    try:
                        reference = await api.send_invoice(token, session, xml)
                    except RetryableError as exc:
                        done.throttle(job, exc.retry_after)
                        return None
                    except KsefError as exc:
                        if exc.http_status in SESSION_GONE or exc.http_status >= 500:
                            raise
                        # KSeF refused this invoice alone (its size, hash, encryption).
                        reasons = [str(exc)]
                        done.finished.append(
                            (job, FAILED, {"code": exc.http_status, "reasons": reasons})
                        )
                        return None
                return job, {
                    "mode": "online",
                    "session_reference": session.reference_number,
                    "invoice_reference": reference,
                }

            results = await asyncio.gather(*(send(job) for job in fresh), return_exceptions=True)
            accepted = [result for result in results if isinstance(result, tuple)]
            await self.record(accepted)  # before anything else can fail
            for error in results:
                if isinstance(error, BaseException):
                    if isinstance(error, KsefError) and error.http_status in SESSION_GONE:
                        self.connections.forget(context)
                    raise error
            sent += [cast(SubmissionJob, {**job, **refs}) for job, refs in accepted]
        statuses = await asyncio.gather(
            *(
                self._patiently(
                    partial(
                        api.settled_invoice,
                        token,
                        job["session_reference"],
                        job["invoice_reference"],
                        poll_interval=self.poll,
                        max_wait=self.max_wait,
                    )
                )
                for job in sent
            )
        )
        for job, status in zip(sent, statuses, strict=True):
            done.finished.append(await self.settle(api, token, job, status))
        return done

    async def batch(self, context: Context, jobs: list[SubmissionJob]) -> Submitted:
        """Send the jobs' invoices as one batch session (a ZIP in encrypted parts), wait for
        KSeF to process it, and settle every invoice from the session's list; the session's
        UPO is stored once, page by page, and each invoice points at its page (one download
        per page instead of one per invoice: KSeF limits requests per context)."""
        api = self.connections.api(context.environment)
        token = await self.connections.access_token(context)
        done = Submitted()
        sent = [job for job in jobs if "session_reference" in job]
        fresh = [job for job in jobs if "session_reference" not in job]
        if fresh:
            xmls = await asyncio.gather(*(self._xml(job) for job in fresh), return_exceptions=True)
            files, packed = [], []
            for job, xml in zip(fresh, xmls, strict=True):
                if isinstance(xml, StaleXml):
                    done.finished.append((job, FAILED, {"code": 0, "reasons": [str(xml)]}))
                elif isinstance(xml, BaseException):
                    raise xml
                else:
                    files.append((file_name(job), xml))
                    packed.append(job)
            if packed:
                try:
                    reference, _ = await api.send_batch(token, files)
                except RetryableError as exc:
                    for job in packed:
                        done.throttle(job, exc.retry_after)
                    return done
                except KsefError as exc:
                    if exc.http_status in SESSION_GONE:
                        self.connections.forget(context)
                    raise
                refs: SubmissionOutcome = {"mode": "batch", "session_reference": reference}
                await self.record([(job, refs) for job in packed])
                sent += [cast(SubmissionJob, {**job, **refs}) for job in packed]
        by_session: dict[str, list[SubmissionJob]] = {}
        for job in sent:
            by_session.setdefault(job["session_reference"], []).append(job)
        for reference, waiting in by_session.items():
            done.finished += await self._settle_batch(api, token, reference, waiting)
        return done

    async def _settle_batch(
        self, api: KsefApi, token: str, reference: str, jobs: list[SubmissionJob]
    ) -> list[Finished]:
        state = await self._patiently(
            partial(
                api.settled_session,
                token,
                reference,
                poll_interval=self.poll,
                max_wait=self.max_wait,
            )
        )
        listed = await self._patiently(partial(api.session_invoices, token, reference))
        statuses = {status.invoice_file_name: status for status in listed}
        pages = await self._store_session_upo(api, token, reference, jobs[0], state)
        finished: list[Finished] = []
        for job in jobs:
            status = statuses.get(file_name(job))
            if status is None:  # the whole package failed (its decryption, say)
                session = state["status"]
                reasons = [session.get("description", ""), *(session.get("details") or [])]
                outcome: SubmissionOutcome = {
                    "code": session["code"],
                    "reasons": [r for r in reasons if r] or ["not in the KSeF session"],
                }
                finished.append((job, FAILED, outcome))
                continue
            page = pages.get(status.ksef_number or "")
            finished.append(await self.settle(api, token, job, status, upo=page))
        registered = sum(end == DONE for _, end, _ in finished)
        log.info(
            "KSeF batch session settled",
            session=reference,
            code=state["status"]["code"],
            invoices=len(jobs),
            registered=registered,
            rejected=len(jobs) - registered,
        )
        return finished

    async def _store_session_upo(
        self,
        api: KsefApi,
        token: str,
        reference: str,
        job: SubmissionJob,
        state: dict[str, Any],
    ) -> dict[str, dict[str, Any]]:
        """The session's UPO pages, stored under the tenant; KSeF number -> its page."""
        pages: dict[str, dict[str, Any]] = {}
        for index, page in enumerate((state.get("upo") or {}).get("pages") or [], start=1):
            upo = await self._patiently(
                partial(api.session_upo, token, reference, page["referenceNumber"])
            )
            key = f"{job['tenant_id']}/ksef/upo/{reference}-{index}.xml"
            stored = await self._put_upo(key, upo, job)
            for number in ksef_numbers(upo):
                pages[number] = stored
        return pages

    async def settle(
        self,
        api: KsefApi,
        token: str,
        job: SubmissionJob,
        status: InvoiceStatus,
        *,
        upo: dict[str, Any] | None = None,
    ) -> Finished:
        """The job's outcome from its invoice's settled status, with the UPO stored (`upo`:
        the stored session UPO page that already lists it)."""
        refs: SubmissionOutcome = {
            "session_reference": job["session_reference"],
            "invoice_reference": status.reference_number,
        }
        if status.registered and status.ksef_number and status.acquisition_date:
            if upo is None:
                own = await self._patiently(
                    partial(
                        api.invoice_upo, token, job["session_reference"], status.reference_number
                    )
                )
                upo = await self._store_upo(job, own)
            registered: SubmissionOutcome = {
                "ksef_number": status.ksef_number,
                "acquired_at": datetime.fromisoformat(status.acquisition_date),
                "upo": upo,
            }
            return job, DONE, refs | registered
        if status.already_registered and status.original_ksef_number:
            number = status.original_ksef_number
            original = status.original_session_reference_number or job["session_reference"]
            first = await self._patiently(
                partial(api.invoice_upo_by_ksef_number, token, original, number)
            )
            log.info("already registered in KSeF", invoice_id=job["invoice_id"], ksef=number)
            registered = {
                "session_reference": original,
                "ksef_number": number,
                "acquired_at": acquired_at(first, number),
                "upo": await self._store_upo(job, first),
            }
            return job, DONE, refs | registered
        reasons = [status.description, *status.details]
        return job, FAILED, refs | {"code": status.code, "reasons": [r for r in reasons if r]}

    async def _patiently(self, ask: Callable[[], Awaitable[T]]) -> T:
        """A question about what KSeF already has (a status, a list, a UPO), asked again
        after KSeF's `Retry-After` when it answers 429, for up to `max_wait` seconds: the
        invoices are in KSeF, and giving the group up would only ask all of it again later
        (under a steady share of 429s, never getting through)."""
        deadline = time.monotonic() + self.max_wait
        while True:
            try:
                return await ask()
            except RetryableError as exc:
                if exc.http_status != 429 or time.monotonic() + exc.retry_after > deadline:
                    raise
                log.info("KSeF asks to wait before asking again", seconds=exc.retry_after)
                await asyncio.sleep(exc.retry_after)

    async def _xml(self, job: SubmissionJob) -> bytes:
        xml = await self.store.get(job["fa3"]["s3_key"])
        if hashlib.sha256(xml).hexdigest() != job["fa3"]["sha256"]:
            raise StaleXml("the stored FA(3) XML is not the one issued (SHA-256 differs)")
        return xml

    async def _store_upo(self, job: SubmissionJob, upo: bytes) -> dict[str, Any]:
        """One invoice's own UPO, beside its FA(3) XML."""
        invoice = events.InvoiceIssued.model_validate(issued_event(job).payload)
        return await self._put_upo(invoice_key(job["tenant_id"], invoice, "upo.xml"), upo, job)

    async def _put_upo(self, key: str, upo: bytes, job: SubmissionJob) -> dict[str, Any]:
        sha256 = hashlib.sha256(upo).hexdigest()
        metadata = {"sha256": sha256, "invoice-id": job["invoice_id"]}
        await self.store.put(key, upo, "application/xml", metadata)
        stored = events.Fa3Document(
            s3_bucket=self.store.bucket, s3_key=key, sha256=sha256, size_bytes=len(upo)
        )
        return stored.model_dump(mode="json")


def file_name(job: SubmissionJob) -> str:
    """The invoice's file in a batch package (KSeF reports it back by this name)."""
    return f"{job['invoice_id']}.xml"


def _upo_root(upo: bytes) -> Any:
    return etree.fromstring(upo, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def ksef_numbers(upo: bytes) -> list[str]:
    """The KSeF numbers a UPO (page) confirms."""
    return [
        number
        for document in _upo_root(upo).iter(f"{UPO_NS}Dokument")
        if (number := document.findtext(f"{UPO_NS}NumerKSeFDokumentu"))
    ]


def acquired_at(upo: bytes, ksef_number: str) -> datetime:
    """When KSeF gave the invoice its number, from its UPO (`DataNadaniaNumeruKSeF`)."""
    root = _upo_root(upo)
    for document in root.iter(f"{UPO_NS}Dokument"):
        if document.findtext(f"{UPO_NS}NumerKSeFDokumentu") == ksef_number:
            moment = document.findtext(f"{UPO_NS}DataNadaniaNumeruKSeF")
            if moment:
                return datetime.fromisoformat(moment)
    return datetime.now(UTC)  # a UPO without the date: when einvoice learnt of it
