"""The webhook dispatcher's HTTP: httpx, no redirects, and no private targets unless allowed.

Without `allow_private` the host is resolved before every attempt and any loopback,
private, link-local or otherwise non-global address is refused (SSRF). The connection then
resolves the name again, so production should also route read-tracker's outbound HTTP
through an egress proxy or firewall (docs/webhooks.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

import httpx


class TargetRefused(Exception):
    """A URL the platform does not post to (another scheme, a private address)."""


@dataclass
class HttpPoster:
    """POSTs with httpx; never follows redirects; without `allow_private`, refuses hosts that
    resolve to loopback, private, link-local or otherwise non-global addresses (SSRF)."""

    client: httpx.AsyncClient
    allow_private: bool = False

    @classmethod
    def create(cls, timeout: float, allow_private: bool) -> HttpPoster:
        client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)
        return cls(client, allow_private)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise TargetRefused("only http(s) URLs are posted to")
        if not self.allow_private:
            await refuse_private(
                parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
            )
        response = await self.client.post(parsed, content=body, headers=headers)
        return response.status_code

    async def close(self) -> None:
        await self.client.aclose()


async def refuse_private(host: str, port: int) -> None:
    """Raise TargetRefused unless every address `host` resolves to is a global one."""
    try:
        addresses = {ipaddress.ip_address(host.strip("[]"))}
    except ValueError:
        loop = asyncio.get_running_loop()
        found = await loop.getaddrinfo(host, port)
        # getaddrinfo gives (host, port[, flow, scope]) for the IP families: the host is a str.
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found}
    for address in addresses:
        if not address.is_global:
            raise TargetRefused(f"{host} resolves to a non-public address ({address})")
