"""The envelope every event travels in, the base of every payload, and the id rules."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from einvoice.events.topics import BULK, Lane

SCHEMA_VERSION = 1

MAX_EVENT_BYTES = 256 * 1024

# Ids that become parts of object keys (tenant, invoice): letters, digits and . _ : @ -, not
# starting with a dot and never "..". An id outside this is refused, not cleaned up.
_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._:@-]{0,127}")


def unsafe_id(value: object) -> str | None:
    """Why `value` cannot be an id used in a storage key, or None if it can."""
    if not isinstance(value, str) or not _SAFE_ID.fullmatch(value) or ".." in value:
        return "must be 1-128 letters, digits or . _ : @ - (no '..', not starting with '.')"
    return None


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Amount = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
VatRate = Literal["23", "8", "5", "0", "zw", "np"]


class EventModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=EventModel)


class Envelope(EventModel):
    """The wrapper every event travels in. The Kafka key is the invoice (or receipt) id."""

    event_id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    schema_version: int = Field(ge=1)
    occurred_at: datetime
    tenant_id: ShortText
    correlation_id: ShortText = Field(description="The batch id or the receipt id.")
    causation_id: str | None = Field(default=None, description="The event that caused this one.")
    lane: Lane = Field(
        default="bulk",
        description="`interactive`: somebody waits for this work (a shopper, an operator).",
    )
    payload: dict[str, Any]


def new_event_id() -> str:
    return str(uuid.uuid4())


def derived_event_id(cause_event_id: str, event_type: str, discriminator: str = "") -> str:
    """A stable id for an event caused by another: a redelivered cause yields the same id."""
    name = f"{cause_event_id}/{event_type}/{discriminator}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def envelope(
    event_type: str,
    payload: EventModel,
    *,
    tenant_id: str,
    correlation_id: str,
    cause: Envelope | None = None,
    event_id: str | None = None,
    discriminator: str = "",
    lane: Lane | None = None,
) -> Envelope:
    """Wrap a payload; an event caused by another gets a deterministic id, its causation and
    its lane (`discriminator` tells apart several events of one type from the same cause)."""
    if event_id is None:
        event_id = (
            derived_event_id(cause.event_id, event_type, discriminator) if cause else new_event_id()
        )
    return Envelope(
        event_id=event_id,
        type=event_type,
        schema_version=SCHEMA_VERSION,
        occurred_at=datetime.now(UTC),
        tenant_id=tenant_id,
        correlation_id=correlation_id,
        causation_id=cause.event_id if cause else None,
        lane=lane or (cause.lane if cause else BULK),
        payload=payload.model_dump(mode="json"),
    )


def parse_payload(event: Envelope, model: type[M]) -> M:
    return model.model_validate(event.payload)
