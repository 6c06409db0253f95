"""A tenant's KSeF connection page, one implementation for the operator panel (utilities) and
the chain portal (chains): the environment, the context NIP, the KSeF token, the day from
which invoices go to KSeF and whether consumers' invoices go too; "test the connection"
and "disconnect".

The token is sealed (`einvoice.sealing`) before the tenant's settings are published and is
never shown again: an empty token field keeps the stored one, as long as the environment and
the NIP stay the same (a token belongs to one context in one environment; changing either
needs a new token). "Test the connection" really authenticates with KSeF
(`ksef_api.KsefApi.authenticate` against `settings.ksef_url(environment)`) with what the
form says, within `TEST_SECONDS`, and tells the result in words: never a stack trace. A
tenant has `TEST_BUDGET` tests per window (KSeF limits authentications per address, and
the platform's address is every tenant's).

Each portal's route module (`operator/ksef.py`, `chain/ksef.py`) signs the person in, checks
the form token and renders its own frame around `ksef/connection.html`; everything else is
here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from einvoice import events
from einvoice.events.billing import KsefEnvironment
from einvoice.log import get_logger
from einvoice.receipts import normalise_nip
from einvoice.sealing import Sealer, SealingError
from gateway.config import GatewaySettings
from gateway.web.pages import WARSAW
from ksef_api import AuthenticationFailed, KsefApi, KsefError, RetryableError

log = get_logger(__name__)

ENVIRONMENTS: tuple[KsefEnvironment, ...] = get_args(KsefEnvironment)
Consumers = Literal["outside", "ksef"]
CONSUMERS: tuple[Consumers, ...] = get_args(Consumers)
# The whole test (challenge, keys, the token, the operation's status, redeeming it).
TEST_SECONDS = 20
# Tests per tenant and window: every test is an authentication with KSeF, whose limits count
# the platform's address, which every tenant's connector shares.
TEST_BUDGET = (20, 600)
TOKEN_MAX_CHARS = 1000
# What KSeF requires of a context NIP, beyond the checksum (KsefSettings.context_nip).
_KSEF_NIP = re.compile(r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}$")
_TOKEN_BAD = re.compile(r"[\s\x00-\x1f\x7f]")
Texts = Mapping[str, str]


def warsaw_today() -> date:
    return datetime.now(WARSAW).date()


def default_nip(tenant: events.TenantConfig) -> str:
    """A chain's own NIP (the seller of its invoices) to start with; empty otherwise."""
    nip = tenant.seller.nip if tenant.seller else None
    return (normalise_nip(nip) or nip or "") if nip else ""


def context_nip(value: str) -> str | None:
    """The ten digits of a NIP KSeF takes as a context (dashes, spaces, a `PL` prefix
    allowed), or None."""
    nip = normalise_nip(value[:32]) if value.strip() else None
    return nip if nip and _KSEF_NIP.match(nip) else None


def _stored_applies(current: events.KsefSettings | None, environment: str, nip: str) -> bool:
    return current is not None and (current.environment, current.context_nip) == (
        environment,
        nip,
    )


def form_values(tenant: events.TenantConfig) -> dict[str, Any]:
    """What the form shows for the tenant's saved connection (or a new one's defaults)."""
    ksef = tenant.ksef
    if ksef is None:
        return {
            "environment": "test",
            "context_nip": default_nip(tenant),
            "start_date": warsaw_today().isoformat(),
            "consumers": "outside",
            "has_token": False,
        }
    return {
        "environment": ksef.environment,
        "context_nip": ksef.context_nip,
        "start_date": ksef.start_date.isoformat(),
        "consumers": ksef.consumers,
        "has_token": True,
    }


@dataclass
class Submitted:
    """The form as sent: the values to show again (never the token), what they parse to,
    and the problems found (texts in the page's language)."""

    values: dict[str, Any]
    environment: KsefEnvironment | None = None
    nip: str | None = None
    start_date: date | None = None
    consumers: Consumers | None = None
    token: str | None = None  # a new token typed in; None: keep the stored one
    problems: list[str] = field(default_factory=list)


def read_form(form: Mapping[str, str], current: events.KsefSettings | None, t: Texts) -> Submitted:
    environment = form.get("environment", "").strip()
    nip_text = form.get("context_nip", "").strip()[:64]
    start_text = form.get("start_date", "").strip()[:32]
    consumers = form.get("consumers", "").strip()
    token = form.get("token", "").strip()
    nip = context_nip(nip_text)
    submitted = Submitted(
        values={
            "environment": environment,
            "context_nip": nip or nip_text,
            "start_date": start_text,
            "consumers": consumers,
            "has_token": _stored_applies(current, environment, nip or nip_text),
        }
    )
    problems = submitted.problems
    for each in ENVIRONMENTS:
        if environment == each:
            submitted.environment = each
    if submitted.environment is None:
        problems.append(t["ks_err_environment"])
    if nip is None:
        problems.append(t["ks_err_nip"].format(value=nip_text or "—"))
    submitted.nip = nip
    try:
        submitted.start_date = date.fromisoformat(start_text)
    except ValueError:
        problems.append(t["ks_err_date"].format(value=start_text or "—"))
    for choice in CONSUMERS:
        if consumers == choice:
            submitted.consumers = choice
    if submitted.consumers is None:
        problems.append(t["ks_err_consumers"])
    if token:
        if len(token) > TOKEN_MAX_CHARS or _TOKEN_BAD.search(token):
            problems.append(t["ks_err_token_format"])
        else:
            submitted.token = token
    return submitted


def settings_from(
    submitted: Submitted, current: events.KsefSettings | None, sealer: Sealer | None, t: Texts
) -> tuple[events.KsefSettings | None, list[str]]:
    """The connection to publish, or why not (a new token sealed, or the stored one kept
    while the environment and the NIP stay the same)."""
    if submitted.problems:
        return None, submitted.problems
    assert submitted.environment and submitted.nip and submitted.start_date
    assert submitted.consumers
    if submitted.token is not None:
        if sealer is None:
            return None, [t["ks_err_sealing"]]
        sealed = sealer.seal(submitted.token)
    elif current is not None and _stored_applies(current, submitted.environment, submitted.nip):
        sealed = current.token_sealed
    elif current is not None:
        return None, [t["ks_err_token_changed"]]
    else:
        return None, [t["ks_err_token_required"]]
    try:
        settings = events.KsefSettings(
            environment=submitted.environment,
            context_nip=submitted.nip,
            token_sealed=sealed,
            start_date=submitted.start_date,
            consumers=submitted.consumers,
        )
    except ValidationError as exc:  # only what read_form already checks; kept short
        return None, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return settings, []


# --- "test the connection" -------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str


ApiFactory = Callable[[str], KsefApi]


def _api(base_url: str) -> KsefApi:
    return KsefApi(base_url, timeout=10)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _test_token(
    submitted: Submitted, current: events.KsefSettings | None, sealer: Sealer | None, t: Texts
) -> str | Outcome:
    """The token to test with: the one typed in, or the stored one while it still applies."""
    if submitted.token is not None:
        return submitted.token
    assert submitted.environment and submitted.nip
    if current is None or not _stored_applies(current, submitted.environment, submitted.nip):
        return Outcome(False, f"{t['ks_test_failed']} {t['ks_test_no_token']}")
    if sealer is None:
        return Outcome(False, f"{t['ks_test_failed']} {t['ks_err_sealing']}")
    try:
        return sealer.unseal(current.token_sealed)
    except SealingError:
        return Outcome(False, f"{t['ks_test_failed']} {t['ks_err_unsealable']}")


async def try_connection(
    settings: GatewaySettings,
    submitted: Submitted,
    current: events.KsefSettings | None,
    sealer: Sealer | None,
    t: Texts,
    *,
    api: ApiFactory | None = None,
    seconds: float = TEST_SECONDS,
) -> Outcome:
    """Authenticate with KSeF as the connector will (nothing is sent, nothing saved)."""
    assert not submitted.problems and submitted.environment and submitted.nip
    token = _test_token(submitted, current, sealer, t)
    if isinstance(token, Outcome):
        return token
    environment, nip = submitted.environment, submitted.nip
    base_url = settings.ksef_url(environment)
    failed = t["ks_test_failed"]
    client = (api or _api)(base_url)
    try:
        async with asyncio.timeout(seconds):
            await client.authenticate(nip, token, poll_interval=0.2, max_wait=seconds)
    except AuthenticationFailed as exc:
        key = f"ks_test_rejected_{exc.code}"
        template = t[key] if key in t else t["ks_test_rejected"]
        reason = _short(exc.description) or "—"
        return Outcome(False, f"{failed} {template.format(code=exc.code, reason=reason)}")
    except RetryableError as exc:
        seconds_left = max(1, round(exc.retry_after))
        text = t["ks_test_busy"].format(status=exc.http_status, seconds=seconds_left)
        return Outcome(False, f"{failed} {text}")
    except KsefError as exc:
        reason = _short(exc.message) or "—"
        text = t["ks_test_error"].format(status=exc.http_status, reason=reason)
        return Outcome(False, f"{failed} {text}")
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(
            False, f"{failed} {t['ks_test_timeout'].format(seconds=max(1, round(seconds)))}"
        )
    except (httpx.TransportError, OSError):
        host = urlsplit(base_url).netloc or base_url
        return Outcome(False, f"{failed} {t['ks_test_unreachable'].format(host=host)}")
    except Exception:  # an answer that is not KSeF's API (a proxy's page, a changed API)
        log.exception("KSeF connection test failed unexpectedly", environment=environment)
        return Outcome(False, f"{failed} {t['ks_test_unexpected']}")
    finally:
        await client.aclose()
    text = t["ks_test_ok"].format(environment=t[f"ks_env_{environment}"], nip=nip)
    if submitted.token is not None:
        text = f"{text} {t['ks_test_not_saved']}"
    return Outcome(True, text)
