"""KSeF clients, access tokens and open online sessions, per tenant context, in one replica.

A context is (tenant, environment, NIP). Its KSeF token comes from the tenant's settings
(sealed on `tenant.config`, opened here only to authenticate); the access token it buys is
kept until shortly before it expires, and an online session is reused until shortly before
its `validUntil`, so a shopper's invoice costs one request, not an authentication and a
session of its own. A replica authenticates once per context at a time (a lock), however
many invoices wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from einvoice import events
from ksef_api import KsefApi, OnlineSession

MARGIN = timedelta(minutes=2)  # a token or session this close to its end is not used


class NotConnected(Exception):
    """The tenant has no usable KSeF connection for the invoice's target (removed, or moved
    to another environment or NIP since the invoice was issued): it waits for one."""


class Tenants(Protocol):
    def get(self, tenant_id: str) -> events.TenantConfig | None: ...


@dataclass(frozen=True)
class Context:
    tenant_id: str
    environment: events.KsefEnvironment
    nip: str

    @property
    def limits_key(self) -> str:
        """KSeF counts its limits per context (NIP) and environment."""
        return f"{self.environment}/{self.nip}"


@dataclass
class _Access:
    token: str
    until: datetime
    ksef_token: str  # the KSeF token it was bought with (a new one in the settings: buy again)


def _parse(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Connections:
    tenants: Tenants
    unseal: Callable[[str], str]
    url_of: Callable[[str], str]  # environment -> KSeF API base URL
    timeout: float = 30.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _apis: dict[str, KsefApi] = field(default_factory=dict)
    _access: dict[Context, _Access] = field(default_factory=dict)
    _sessions: dict[Context, OnlineSession] = field(default_factory=dict)
    _locks: dict[Context, asyncio.Lock] = field(default_factory=dict)

    def api(self, environment: str) -> KsefApi:
        url = self.url_of(environment)
        if url not in self._apis:
            self._apis[url] = KsefApi(url, timeout=self.timeout)
        return self._apis[url]

    def _ksef_token(self, context: Context) -> str:
        tenant = self.tenants.get(context.tenant_id)
        settings = tenant.ksef if tenant else None
        if settings is None:
            raise NotConnected("the tenant has no KSeF connection")
        if (settings.environment, settings.context_nip) != (context.environment, context.nip):
            raise NotConnected(
                f"the tenant's KSeF connection is now {settings.environment}/"
                f"{settings.context_nip}, the invoice was issued for {context.limits_key}"
            )
        return self.unseal(settings.token_sealed)

    async def access_token(self, context: Context) -> str:
        ksef_token = self._ksef_token(context)
        async with self._locks.setdefault(context, asyncio.Lock()):
            known = self._access.get(context)
            if known and known.ksef_token == ksef_token and known.until - MARGIN > self.clock():
                return known.token
            tokens = await self.api(context.environment).authenticate(context.nip, ksef_token)
            self._access[context] = _Access(
                tokens.access_token, _parse(tokens.access_valid_until), ksef_token
            )
            self._sessions.pop(context, None)  # opened under the old token
            return tokens.access_token

    async def online_session(self, context: Context, access_token: str) -> OnlineSession:
        async with self._locks.setdefault(context, asyncio.Lock()):
            session = self._sessions.get(context)
            if session and _parse(session.valid_until) - MARGIN > self.clock():
                return session
            session = await self.api(context.environment).open_online_session(access_token)
            self._sessions[context] = session
            return session

    def forget(self, context: Context) -> None:
        """Drop the context's access token and session (KSeF refused them)."""
        self._access.pop(context, None)
        self._sessions.pop(context, None)

    async def close(self) -> None:
        for api in self._apis.values():
            await api.aclose()
