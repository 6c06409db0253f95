"""Kafka administration: create the platform's topics with explicit partition counts (idempotent),
and list a topic's partitions."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from einvoice import events


async def ensure_topics(bootstrap: str, replication: int = 1) -> list[str]:
    """Create every missing topic; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="einvoice-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = []
        for name, partitions in events.TOPIC_PARTITIONS.items():
            if name in existing:
                continue
            configs = {"cleanup.policy": "compact"} if name in events.COMPACTED_TOPICS else {}
            wanted.append(NewTopic(name, partitions, replication, topic_configs=configs))
        if wanted:
            await admin.create_topics(wanted)
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions, fetching metadata first; a missing topic is an error."""
    # consumer.topics() fetches the cluster's metadata but keeps only the names; the client's
    # own fetch returns the whole cluster view, partitions included.
    cluster = await consumer._client.fetch_all_metadata()
    found = cluster.partitions_for_topic(topic)
    if not found:
        raise RuntimeError(f"topic {topic} does not exist (run `einvoice create-topics`)")
    return [TopicPartition(topic, p) for p in sorted(found)]
