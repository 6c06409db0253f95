"""Is an open a person, or a link scanner? Microsoft Safe Links, Barracuda, Mimecast,
Proofpoint and the like fetch every link of a message seconds after it arrives; an open they
cause must not confirm an invoice nobody read. Pure: the open, when its mail was sent, and
the known ranges in; the reasons to doubt it out (empty: a real open). The tenant's own
operators opening a customer's link are recorded the same way and never count."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from einvoice import events

# Agents of mail-security scanners and of scripts (a person's browser never says these).
_SCANNER_AGENTS = re.compile(
    r"safelinks|barracuda|mimecast|proofpoint|ppop|symantec|messagelabs|fireeye|trendmicro"
    r"|forcepoint|sophos|cisco|ironport|zscaler|checkpoint|urldefense|linkscanner"
    r"|bot\b|crawler|spider|preview|python-requests|python-httpx|aiohttp|curl/|wget/"
    r"|go-http-client|java/|okhttp|headlesschrome|phantomjs",
    re.IGNORECASE,
)


@cache
def datacentre_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Ranges of the mail-security services and clouds scanners run from (bundled list)."""
    text = (resources.files("read_tracker") / "datacentre_ranges.txt").read_text("utf-8")
    nets = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            nets.append(ipaddress.ip_network(line, strict=False))
    return tuple(nets)


def in_datacentre(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in datacentre_networks())


def scanner_flags(
    opened: events.InvoiceOpened, mailed_at: datetime | None, *, window_seconds: int
) -> list[str]:
    """The reasons an open looks automated; an open with none counts as a confirmation."""
    flags = []
    if opened.user_agent is None or _SCANNER_AGENTS.search(opened.user_agent):
        flags.append("scanner_agent")
    soon = mailed_at is not None and opened.opened_at - mailed_at < timedelta(
        seconds=window_seconds
    )
    if soon and in_datacentre(opened.ip):
        flags.append("datacentre_right_after_sending")
    if not opened.browser_signals:
        flags.append("no_browser_behaviour")
    if opened.operator_view:
        flags.append("operator_view")
    return flags
