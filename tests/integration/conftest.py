"""Fixtures of the integration tests (the real broker, no services)."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from einvoice import events


@pytest.fixture
async def topic(stack: dict[str, str]):
    """A throwaway topic (2 partitions) and its DLQ; the event type equals the topic name."""
    name = f"it-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack["kafka_bootstrap"])
    await admin.start()
    await admin.create_topics([NewTopic(name, 2, 1), NewTopic(events.dlq_topic(name), 1, 1)])
    yield name
    await admin.delete_topics([name, events.dlq_topic(name)])
    await admin.close()


@pytest.fixture(scope="module")
def ksef_sim(tmp_path_factory: pytest.TempPathFactory):
    """The KSeF simulator, started for real (`python -m ksef_sim`) on a free loopback port
    with a fresh data directory, and stopped by its PID afterwards."""
    from tests.support.ksef import start_simulator

    simulator = start_simulator(tmp_path_factory.mktemp("ksef-sim"))
    yield simulator
    simulator.stop()
