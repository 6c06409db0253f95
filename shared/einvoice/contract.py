"""What a service reads and writes on Kafka, declared once beside its handlers.

Every service exports one `ServiceTopics` (in `<package>/topics.py`). The consume loop
refuses to start with handlers for other topics than the declared ones, a unit test checks
the declared `produces` against the events the service's code actually builds, and the topic
table in `docs/events.md` is generated from all of them, so none of the three can drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceTopics:
    service: str
    # Topic -> handler function (its dependencies are bound in the service's __main__).
    handlers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    produces: tuple[str, ...] = ()
    # Compacted topics read whole from the beginning and followed (`tenant.config`).
    follows: tuple[str, ...] = ()
    # Consumed topics whose unreadable records this service moves to `<topic>.dlq` (None:
    # all it consumes). A topic several services consume has one owner of its dead letters.
    dead_letters_for: frozenset[str] | None = None

    @property
    def consumes(self) -> tuple[str, ...]:
        return tuple(self.handlers)

    def check_handlers(self, topics: Mapping[str, object]) -> None:
        """Raise if the handlers a service wires up are not for exactly its declared topics."""
        wired, declared = set(topics), set(self.handlers)
        if wired != declared:
            raise ValueError(
                f"{self.service}: handlers wired for {sorted(wired)} but the service declares "
                f"{sorted(declared)} (einvoice.contract.ServiceTopics)"
            )
