"""The pages' Jinja2 environment (autoescaped) and `render`, which adds the texts and the
security headers.

Each audience keeps its templates in its own `templates/` folder; a template is named by
its audience, e.g. `operator/home.html` is `operator/templates/home.html` and
`accounts/login.html` is `shop/accounts/templates/login.html`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, PrefixLoader, select_autoescape
from starlette.responses import Response

from gateway.web.texts import language, texts

_GATEWAY = Path(__file__).parent.parent
# A template name's first part -> the folder (in the gateway package) whose `templates/` holds it.
_FOLDERS = {
    "web": "web",
    "links": "links",
    "operator": "operator",
    "shop": "shop",
    "accounts": "shop/accounts",
    "chain": "chain",
    "ksef": "ksef",
}
_loader = PrefixLoader(
    {name: FileSystemLoader(_GATEWAY / f / "templates") for name, f in _FOLDERS.items()}
)
templates = Jinja2Templates(env=Environment(loader=_loader, autoescape=select_autoescape()))


def pln(value: object) -> str:
    """`1234.5` -> `1 234,50` (no-break space between thousands)."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    whole, _, cents = f"{amount:,.2f}".partition(".")
    return whole.replace(",", "\u00a0") + "," + cents


WARSAW = ZoneInfo("Europe/Warsaw")


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored (UTC) time as the operator's clock shows it: Polish time."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(WARSAW).strftime(fmt)


templates.env.filters["pln"] = pln
templates.env.filters["local"] = local


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    lang = language(request)
    context |= {"t": texts(request), "lang": lang, "other": "en" if lang == "pl" else "pl"}
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; media-src 'self' blob: mediastream:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
