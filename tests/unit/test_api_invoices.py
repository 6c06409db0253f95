"""The billing API's invoices with fakes (read-tracker's deliveries in the MongoDB fake, an
object store in memory): one invoice's stages and KSeF status, its FA(3) XML and UPO, each
tenant's own only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from einvoice import events
from einvoice.bus import TransientError
from einvoice.readmodels import tracking
from einvoice.tenants import TenantDirectory, hash_api_key
from einvoice_tools import demo
from gateway.api import batches, invoices
from gateway.deps import get_state
from tests.support.mongo import FakeClient

KEY, OTHER_KEY = "billing-key", "other-billing-key"
T = datetime(2025, 2, 1, 9, 30, tzinfo=UTC)
KSEF_NUMBER = "5260250274-20250131-0123456789AB-7C"
FA3 = b'<?xml version="1.0" encoding="UTF-8"?>\n<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">\xc5\xbc</Faktura>\n'
UPO = b'<?xml version="1.0" encoding="UTF-8"?><Potwierdzenie>UPO</Potwierdzenie>'


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def minutes(n: float) -> datetime:
    return T + timedelta(minutes=n)


@dataclass
class MemoryStore:
    """ObjectStore.get over a dict; a missing key raises as obstore does."""

    objects: dict[str, bytes] = field(default_factory=dict)
    fail: Exception | None = None
    gets: list[str] = field(default_factory=list)

    async def get(self, key: str) -> bytes:
        self.gets.append(key)
        if self.fail:
            raise self.fail
        if key not in self.objects:
            raise FileNotFoundError(key)
        return self.objects[key]


def directory() -> tuple[TenantDirectory, str, str]:
    tenants = TenantDirectory("unused:9092")
    one = demo.demo_tenant(hash_api_key(KEY))
    other = one.model_copy(
        update={"tenant_id": "other-utility", "api_key_sha256": [hash_api_key(OTHER_KEY)]}
    )
    for config in (one, other):
        env = events.envelope(
            events.TENANT_CONFIG, config, tenant_id=config.tenant_id, correlation_id="t"
        )
        tenants.apply(config.tenant_id, env.model_dump_json().encode())
    return tenants, one.tenant_id, other.tenant_id


@dataclass
class World:
    api: httpx.AsyncClient
    mongo: FakeClient
    store: MemoryStore
    tenant: str
    other: str

    def delivery(self, invoice_id: str, tenant: str | None = None, **fields: Any) -> None:
        tenant = tenant or self.tenant
        doc = {
            "_id": tracking.delivery_id(tenant, invoice_id),
            "tenant_id": tenant,
            "invoice_id": invoice_id,
            "batch_id": "b-1",
            "batch_ids": ["b-1"],
            "number": f"FV/2025/01/{invoice_id}",
        } | fields
        tracking.tracker_db(self.mongo)[tracking.DELIVERIES].docs[doc["_id"]] = doc

    def registered(self, invoice_id: str = "inv-1", tenant: str | None = None) -> None:
        tenant = tenant or self.tenant
        fa3_key, upo_key = (f"{tenant}/2025/01/{invoice_id}.{k}.xml" for k in ("fa3", "upo"))
        self.store.objects |= {fa3_key: FA3, upo_key: UPO}
        self.delivery(
            invoice_id,
            tenant,
            requested_at=minutes(0),
            issued_at=minutes(1),
            ksef_registered_at=minutes(3),
            rendered_at=minutes(4),
            mailed_at=minutes(5),
            fa3_key=fa3_key,
            fa3_sha256=sha(FA3),
            ksef_status="registered",
            ksef_number=KSEF_NUMBER,
            ksef_acquired_at=minutes(2.5).replace(tzinfo=None),  # as MongoDB hands it back
            ksef_mode="online",
            ksef_session="20250201-SO-2FDE8A1C0C-31A46AEA8C-5A",
            ksef_verification_url="https://ksef-test.mf.gov.pl/client-app/invoice/x",
            s3_key=f"{tenant}/2025/01/{invoice_id}.pdf",
            upo_key=upo_key,
            upo_sha256=sha(UPO),
        )


@pytest.fixture
async def world() -> World:
    tenants, tenant, other = directory()
    mongo, store = FakeClient(), MemoryStore()
    app = FastAPI()
    app.include_router(invoices.router)
    app.include_router(batches.router)
    state = SimpleNamespace(mongo=mongo, store=store, tenants=tenants)
    app.dependency_overrides[get_state] = lambda: state
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        yield World(client, mongo, store, tenant, other)


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- the invoice --------------------------------------------------------------------------


async def test_a_registered_invoice_with_its_stages_ksef_and_documents(world) -> None:
    world.registered()
    response = await world.api.get("/api/v1/invoices/inv-1", headers=auth())
    assert response.status_code == 200
    assert response.json() == {
        "invoice_id": "inv-1",
        "batch_id": "b-1",
        "number": "FV/2025/01/inv-1",
        "stage": "mailed",
        "stages": [
            {"stage": "requested", "at": "2025-02-01T09:30:00Z"},
            {"stage": "issued", "at": "2025-02-01T09:31:00Z"},
            {"stage": "registered", "at": "2025-02-01T09:33:00Z"},
            {"stage": "rendered", "at": "2025-02-01T09:34:00Z"},
            {"stage": "mailed", "at": "2025-02-01T09:35:00Z"},
        ],
        "failed_stage": None,
        "failure_reasons": [],
        "failed_at": None,
        "ksef": {
            "status": "registered",
            "number": KSEF_NUMBER,
            "acquired_at": "2025-02-01T09:32:30Z",
            "mode": "online",
            "session": "20250201-SO-2FDE8A1C0C-31A46AEA8C-5A",
            "verification_url": "https://ksef-test.mf.gov.pl/client-app/invoice/x",
            "rejection_code": None,
        },
        "pdf_key": f"{world.tenant}/2025/01/inv-1.pdf",
        "fa3_sha256": sha(FA3),
        "upo_sha256": sha(UPO),
        "fa3_url": "/api/v1/invoices/inv-1/fa3.xml",
        "upo_url": "/api/v1/invoices/inv-1/upo.xml",
    }


async def test_a_waiting_invoice_has_no_upo_link_yet(world) -> None:
    world.delivery(
        "inv-2",
        issued_at=minutes(1),
        ksef_status="waiting",
        fa3_key=f"{world.tenant}/2025/01/inv-2.fa3.xml",
    )
    body = (await world.api.get("/api/v1/invoices/inv-2", headers=auth())).json()
    assert (body["stage"], body["ksef"]["status"], body["ksef"]["number"]) == (
        "issued",
        "waiting",
        None,
    )
    assert body["pdf_key"] is None
    assert body["fa3_url"] == "/api/v1/invoices/inv-2/fa3.xml" and body["upo_url"] is None


async def test_a_ksef_refusal_shows_its_code_and_reasons(world) -> None:
    world.delivery(
        "inv-3",
        issued_at=minutes(1),
        ksef_status="rejected",
        ksef_rejection_code=450,
        failed_at=minutes(2),
        failed_stage="ksef",
        failure_reasons=["Błąd weryfikacji semantyki dokumentu faktury"],
    )
    body = (await world.api.get("/api/v1/invoices/inv-3", headers=auth())).json()
    assert body["stage"] == "failed" and body["ksef"]["status"] == "rejected"
    assert (body["failed_stage"], body["failure_reasons"], body["ksef"]["rejection_code"]) == (
        "ksef",
        ["Błąd weryfikacji semantyki dokumentu faktury"],
        450,
    )
    assert body["failed_at"] == "2025-02-01T09:32:00Z"


async def test_a_dead_lettered_invoice_shows_the_topic_and_reason(world) -> None:
    world.delivery(
        "inv-4",
        issued_at=minutes(1),
        dead_letter_at=minutes(2),
        dead_letter_topic="invoice.registered.dlq",
        dead_letter_reason="render failed",
    )
    body = (await world.api.get("/api/v1/invoices/inv-4", headers=auth())).json()
    assert (body["stage"], body["failed_stage"], body["failure_reasons"]) == (
        "failed",
        "invoice.registered.dlq",
        ["render failed"],
    )


async def test_an_invoice_outside_ksef(world) -> None:
    world.delivery("inv-5", issued_at=minutes(1), ksef_status="outside")
    body = (await world.api.get("/api/v1/invoices/inv-5", headers=auth())).json()
    assert (body["ksef"]["status"], body["ksef"]["number"], body["upo_url"]) == (
        "outside",
        None,
        None,
    )


# --- the documents ------------------------------------------------------------------------


async def test_the_fa3_xml_is_the_stored_bytes(world) -> None:
    world.registered()
    response = await world.api.get("/api/v1/invoices/inv-1/fa3.xml", headers=auth())
    assert response.status_code == 200
    assert response.content == FA3
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["etag"] == f'"{sha(FA3)}"'
    assert 'filename="FV_2025_01_inv-1.fa3.xml"' in response.headers["content-disposition"]
    assert world.store.gets == [f"{world.tenant}/2025/01/inv-1.fa3.xml"]


async def test_the_upo_is_the_stored_bytes(world) -> None:
    world.registered()
    response = await world.api.get("/api/v1/invoices/inv-1/upo.xml", headers=auth())
    assert response.status_code == 200 and response.content == UPO
    assert response.headers["content-type"] == "application/xml"


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("waiting", "not registered in KSeF yet"),
        (None, "not registered in KSeF yet"),
        ("outside", "is outside KSeF"),
        ("rejected", "was rejected by KSeF"),
        ("registered", "its UPO is not stored yet"),
    ],
)
async def test_no_upo_is_a_404_with_the_reason(world, status, why) -> None:
    world.delivery("inv-6", issued_at=minutes(1), **({"ksef_status": status} if status else {}))
    response = await world.api.get("/api/v1/invoices/inv-6/upo.xml", headers=auth())
    assert response.status_code == 404 and why in response.json()["detail"]
    assert world.store.gets == []


async def test_an_invoice_without_fa3_is_a_404_with_the_reason(world) -> None:
    world.delivery("inv-7", requested_at=minutes(0))
    response = await world.api.get("/api/v1/invoices/inv-7/fa3.xml", headers=auth())
    assert response.status_code == 404 and "has no FA(3) XML" in response.json()["detail"]


async def test_a_document_missing_from_storage_is_a_404(world) -> None:
    world.registered()
    world.store.objects.clear()
    response = await world.api.get("/api/v1/invoices/inv-1/fa3.xml", headers=auth())
    assert response.status_code == 404 and "not in object storage" in response.json()["detail"]


async def test_storage_down_is_a_503_to_retry(world) -> None:
    world.registered()
    world.store.fail = TransientError("object storage: connection refused")
    response = await world.api.get("/api/v1/invoices/inv-1/upo.xml", headers=auth())
    assert response.status_code == 503 and response.headers["retry-after"] == "5"


async def test_bytes_that_do_not_match_their_sha256_are_never_served(world) -> None:
    world.registered()
    world.store.objects[f"{world.tenant}/2025/01/inv-1.fa3.xml"] = FA3 + b" "
    response = await world.api.get("/api/v1/invoices/inv-1/fa3.xml", headers=auth())
    assert response.status_code == 500 and "does not match" in response.json()["detail"]
    assert FA3 not in response.content


# --- who may read -------------------------------------------------------------------------

PATHS = (
    "/api/v1/invoices/inv-1",
    "/api/v1/invoices/inv-1/fa3.xml",
    "/api/v1/invoices/inv-1/upo.xml",
)


@pytest.mark.parametrize("path", PATHS)
async def test_another_tenants_invoice_is_unknown(world, path) -> None:
    world.registered()
    response = await world.api.get(path, headers=auth(OTHER_KEY))
    assert response.status_code == 404
    assert response.json() == {"detail": "no invoice 'inv-1'"}
    assert KSEF_NUMBER not in response.text and world.store.gets == []


@pytest.mark.parametrize("path", PATHS)
async def test_an_unknown_invoice_is_a_404(world, path) -> None:
    response = await world.api.get(path, headers=auth())
    assert response.status_code == 404 and response.json() == {"detail": "no invoice 'inv-1'"}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}], ids=["none", "wrong"])
async def test_without_a_known_key_nothing(world, path, headers) -> None:
    world.registered()
    response = await world.api.get(path, headers=headers)
    assert response.status_code == 401 and KSEF_NUMBER not in response.text


async def test_a_key_in_another_tenants_space_is_never_read(world) -> None:
    # A record pointing outside its tenant's keys (never written so) is refused, not served.
    world.registered()
    world.delivery(
        "inv-8",
        fa3_key=f"{world.other}/2025/01/inv-1.fa3.xml",
        fa3_sha256=sha(FA3),
    )
    response = await world.api.get("/api/v1/invoices/inv-8/fa3.xml", headers=auth())
    assert response.status_code == 404 and world.store.gets == []


# --- the batch ----------------------------------------------------------------------------


async def test_the_batch_counts_ksef_and_its_rows_carry_the_ksef_number(world) -> None:
    key = tracking.batch_key(world.tenant, "b-1")
    tracking.tracker_db(world.mongo)[tracking.BATCHES].docs[key] = {
        "_id": key,
        "tenant_id": world.tenant,
        "batch_id": "b-1",
        "size": 2,
        "started_at": T,
    }
    world.registered()
    world.delivery("inv-2", issued_at=minutes(1), ksef_status="outside")
    response = await world.api.get("/api/v1/batches/b-1?details=true", headers=auth())
    assert response.status_code == 200
    body = response.json()
    assert body["ksef"] == {"waiting": 0, "registered": 1, "rejected": 0, "outside": 1}
    rows = {r["invoice_id"]: r for r in body["invoices"]}
    assert rows["inv-1"]["ksef_number"] == KSEF_NUMBER
    assert rows["inv-2"]["ksef_status"] == "outside"
