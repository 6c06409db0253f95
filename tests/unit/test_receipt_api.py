"""The gateway's POS API with fakes: who may push which receipts, and what reaches Kafka."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from einvoice import events
from einvoice.tenants import TenantDirectory, hash_api_key
from einvoice_tools import demo
from gateway.api import receipts as pos
from gateway.deps import get_state

CHAIN_KEY, STORE_KEY, BILLING_KEY = "chain-key", "store-key", "billing-key"
LIMIT = 256 * 1024


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future:
        self.sent.append((topic, value, key))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def directory() -> TenantDirectory:
    tenants = TenantDirectory("unused:9092")
    chain = demo.demo_chain(hash_api_key(CHAIN_KEY), hash_api_key(STORE_KEY))
    utility = demo.demo_tenant(hash_api_key(BILLING_KEY)).model_copy(
        update={"pos_keys": [events.PosKey(sha256=hash_api_key("utility-pos-key"))]}
    )
    for config in (chain, utility):
        env = events.envelope(
            events.TENANT_CONFIG, config, tenant_id=config.tenant_id, correlation_id="t"
        )
        tenants.apply(config.tenant_id, env.model_dump_json().encode())
    return tenants


@pytest.fixture
def producer() -> FakeProducer:
    return FakeProducer()


@pytest.fixture
async def api(producer: FakeProducer) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(pos.router)
    state = SimpleNamespace(
        settings=SimpleNamespace(max_body_bytes=LIMIT),
        producer=producer,
        tenants=directory(),
    )
    app.dependency_overrides[get_state] = lambda: state
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        yield client


def receipt(seed: int = 1, **overrides: Any) -> dict[str, Any]:
    return demo.demo_receipt(random.Random(seed), lines=4) | overrides


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_receipt_is_accepted_and_published_keyed_by_its_id(api, producer) -> None:
    response = await api.post("/api/v1/receipts", json=receipt(), headers=auth(CHAIN_KEY))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 1
    accepted = body["receipts"][0]
    [(topic, value, key)] = producer.sent
    env = events.Envelope.model_validate_json(value)
    assert topic == events.RECEIPT_SCANNED
    assert key.decode() == accepted["receipt_id"] == env.payload["receipt_id"]
    assert env.tenant_id == demo.DEMO_CHAIN
    assert env.correlation_id == accepted["receipt_id"]
    assert accepted["code"] == env.payload["code"]


async def test_a_list_of_receipts_is_accepted_whole(api, producer) -> None:
    body = {"receipts": [receipt(1), receipt(2, store_id="S002")]}
    response = await api.post("/api/v1/receipts", json=body, headers=auth(CHAIN_KEY))
    assert response.status_code == 202, response.text
    assert [r["index"] for r in response.json()["receipts"]] == [0, 1]
    assert len(producer.sent) == 2


async def test_pushing_the_same_receipt_twice_gives_the_same_id(api, producer) -> None:
    same = receipt()
    ids = []
    for _ in range(2):
        response = await api.post("/api/v1/receipts", json=same, headers=auth(STORE_KEY))
        ids.append(response.json()["receipts"][0]["receipt_id"])
    assert ids[0] == ids[1]
    assert producer.sent[0][2] == producer.sent[1][2]


@pytest.mark.parametrize(
    "headers", [{}, auth("unknown"), auth(BILLING_KEY), {"Authorization": "x"}]
)
async def test_unknown_keys_are_refused(api, producer, headers) -> None:
    response = await api.post("/api/v1/receipts", json=receipt(), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert producer.sent == []


async def test_a_key_of_a_tenant_that_is_no_chain_is_forbidden(api, producer) -> None:
    response = await api.post("/api/v1/receipts", json=receipt(), headers=auth("utility-pos-key"))
    assert response.status_code == 403
    assert producer.sent == []


async def test_a_store_key_pushes_only_its_own_store(api, producer) -> None:
    body = {"receipts": [receipt(1), receipt(2, store_id="S002")]}
    response = await api.post("/api/v1/receipts", json=body, headers=auth(STORE_KEY))
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "bound to store 'S001'" in detail["message"]
    assert detail["receipts"] == [{"index": 1, "store_id": "S002"}]
    assert producer.sent == []


async def test_schema_errors_are_listed_per_receipt_and_field(api, producer) -> None:
    bad = receipt(2)
    bad["lines"][0]["vat_rate"] = "F"
    del bad["totals"]
    body = {"receipts": [receipt(1), bad]}
    response = await api.post("/api/v1/receipts", json=body, headers=auth(CHAIN_KEY))
    assert response.status_code == 422
    [problem] = response.json()["detail"]["receipts"]
    assert problem["index"] == 1 and problem["number"] == bad["number"]
    assert [e.split(":")[0] for e in problem["errors"]] == ["lines.0.vat_rate", "totals"]
    assert producer.sent == []


async def test_two_receipts_of_a_request_cannot_share_a_code(api, producer) -> None:
    body = {
        "receipts": [receipt(1, code="AAAA-BBBB-CCCC-DDDD"), receipt(2, code="aaaabbbbccccdddd")]
    }
    response = await api.post("/api/v1/receipts", json=body, headers=auth(CHAIN_KEY))
    assert response.status_code == 422
    [problem] = response.json()["detail"]["receipts"]
    assert problem["errors"] == ["code: repeats the code of receipt at index 0"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "expected one receipt"),
        ({"receipts": []}, "non-empty list"),
        ({"receipts": [{}] * 501}, "at most 500"),
        ({"receipts": [{}], "extra": 1}, "only 'receipts'"),
    ],
)
async def test_malformed_bodies_are_refused_with_a_reason(api, body, reason) -> None:
    response = await api.post("/api/v1/receipts", json=body, headers=auth(CHAIN_KEY))
    assert response.status_code == 422
    assert reason in response.json()["detail"]["message"]


async def test_a_body_that_is_not_json_is_a_400(api) -> None:
    response = await api.post("/api/v1/receipts", content=b"{nope", headers=auth(CHAIN_KEY))
    assert response.status_code == 400


async def test_a_body_over_the_limit_is_a_413(api) -> None:
    big = json.dumps({"receipts": [receipt()] * 400}).encode()
    assert len(big) > LIMIT
    response = await api.post("/api/v1/receipts", content=big, headers=auth(CHAIN_KEY))
    assert response.status_code == 413
