"""TenantDirectory.update: edits of different settings through one replica never undo
each other, and the replica sees its own write at once."""

from __future__ import annotations

import asyncio

from einvoice import events
from einvoice.tenants import TenantDirectory, publish_tenant
from tests.support.builders import TENANT, tenant_config


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        await asyncio.sleep(0)  # let concurrent edits interleave if they can
        self.sent.append((topic, value, key))


async def directory_with_tenant(producer: FakeProducer) -> TenantDirectory:
    directory = TenantDirectory("unused:9092")
    directory.apply(TENANT, await publish_tenant(producer, tenant_config()))
    return directory


async def test_concurrent_edits_of_different_settings_all_survive() -> None:
    producer = FakeProducer()
    directory = await directory_with_tenant(producer)
    template = events.EmailTemplate(version=3, subject="S", html="<p>H</p>", text="T")
    mailbox = events.Mailbox(host="smtp.example.pl", per_minute=30)
    await asyncio.gather(
        directory.update(producer, TENANT, email_template=template),
        directory.update(producer, TENANT, mailbox=mailbox),
        directory.update(producer, TENANT, reply_to="bok@example.pl"),
    )
    latest = directory.get(TENANT)
    assert latest.email_template == template and latest.mailbox == mailbox
    assert latest.reply_to == "bok@example.pl"
    last = events.Envelope.model_validate_json(producer.sent[-1][1])
    assert events.TenantConfig.model_validate(last.payload) == latest, "what was published"


async def test_an_edit_is_validated_like_any_tenant_record() -> None:
    producer = FakeProducer()
    directory = await directory_with_tenant(producer)
    try:
        await directory.update(producer, TENANT, link_ttl_days=0)
    except ValueError as exc:
        assert "link_ttl_days" in str(exc)
    else:
        raise AssertionError("an invalid edit was published")
    assert len(producer.sent) == 1
