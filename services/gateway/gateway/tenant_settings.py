"""What the pages that change a tenant's settings share: the size every published
`TenantConfig` must stay under, and the sealer for the secrets it carries."""

from __future__ import annotations

from einvoice.sealing import Sealer, SealingError
from gateway.config import GatewaySettings

# The producer's max_request_size is 1 MiB; keep the whole tenant record well below it.
CONFIG_MAX_BYTES = 900_000


def secret_sealer(settings: GatewaySettings) -> Sealer | None:
    """The sealer for mailbox passwords and webhook secrets; None without a sealing key."""
    try:
        return Sealer.from_settings(settings)
    except SealingError:
        return None
