"""SMTP settings and sending, shared by the mailer (invoices) and the gateway (account mail)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email.message import Message
from typing import Literal

import aiosmtplib
from pydantic import SecretStr

from einvoice.settings import Settings

TlsMode = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand a message over: the platform's server or a tenant's mailbox."""

    host: str
    port: int
    tls: TlsMode = "none"
    user: str | None = None
    password: str | None = None
    timeout: float = 20.0

    @property
    def mailbox_id(self) -> str:
        """Names the mailbox whose sending limits apply (not the password)."""
        spec = f"{self.host.lower()}:{self.port}:{(self.user or '').lower()}"
        return hashlib.sha256(spec.encode()).hexdigest()[:24]


class SmtpSettings(Settings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_tls: TlsMode = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = 20.0
    mail_from: str = "einvoice <faktury@einvoice.local>"

    def smtp_server(self) -> SmtpServer:
        return SmtpServer(
            host=self.smtp_host,
            port=self.smtp_port,
            tls=self.smtp_tls,
            user=self.smtp_user,
            password=self.smtp_password.get_secret_value() if self.smtp_password else None,
            timeout=self.smtp_timeout,
        )


async def send_message(server: SmtpServer, message: Message) -> None:
    """One message over one connection; aiosmtplib's errors pass through to the caller."""
    await aiosmtplib.send(
        message,
        hostname=server.host,
        port=server.port,
        timeout=server.timeout,
        use_tls=server.tls == "tls",
        start_tls=server.tls == "starttls",
        username=server.user,
        password=server.password,
    )


def _client(server: SmtpServer) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        timeout=server.timeout,
        use_tls=server.tls == "tls",
        start_tls=server.tls == "starttls",
        username=server.user,
        password=server.password,
    )


@dataclass
class SmtpPool:
    """Keeps connections open per server and sends many messages over each, as bulk mailers
    do: a new connection (TCP, EHLO, TLS, login) costs both sides far more than a message.

    A connection that failed in any way is closed, not reused. A message that fails on a
    connection taken from the pool because the server had dropped it meanwhile is tried
    once more on a new connection (nothing was accepted: the failure came before DATA)."""

    per_server: int = 8
    idle_seconds: float = 30.0
    _idle: dict[SmtpServer, list[tuple[aiosmtplib.SMTP, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _slots: dict[SmtpServer, asyncio.Semaphore] = field(default_factory=dict)

    async def send(self, server: SmtpServer, message: Message) -> None:
        slots = self._slots.setdefault(server, asyncio.Semaphore(self.per_server))
        async with slots:
            client, reused = await self._take(server)
            try:
                await client.send_message(message)
            except aiosmtplib.SMTPServerDisconnected:
                self._discard(client)
                if not reused:
                    raise
                client = _client(server)
                await client.connect()
                try:
                    await client.send_message(message)
                except BaseException:
                    self._discard(client)
                    raise
            except BaseException:
                self._discard(client)
                raise
            self._idle[server].append((client, time.monotonic()))

    async def _take(self, server: SmtpServer) -> tuple[aiosmtplib.SMTP, bool]:
        idle = self._idle[server]
        now = time.monotonic()
        for client, since in [c for c in idle if now - c[1] >= self.idle_seconds]:
            idle.remove((client, since))  # unused for too long: the server may have hung up
            self._discard(client)
        while idle:
            client, _ = idle.pop()  # the most recently used first
            if client.is_connected:
                return client, True
            self._discard(client)
        client = _client(server)
        await client.connect()
        return client, False

    def _discard(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected:
            client.close()

    async def close(self) -> None:
        for clients in self._idle.values():
            for client, _ in clients:
                if client.is_connected:
                    try:
                        await client.quit()
                    except aiosmtplib.SMTPException:
                        client.close()
        self._idle.clear()
