"""The KSeF connection page of the operator panel and of the chain portal without a gateway
(dependencies replaced, the tenant directory a fake that records what is published): the
form's checks (NIP checksum, date, environment), the token sealed and never shown again,
kept while the environment and the NIP stay, "test the connection" against a real KSeF
simulator (started here on a free port), disconnecting, the form token, both languages."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.middleware.sessions import SessionMiddleware

from einvoice import events
from einvoice.sealing import Sealer
from gateway.chain import routes as chain_routes
from gateway.config import GatewaySettings
from gateway.deps import get_state
from gateway.ksef import connection
from gateway.operator import auth as operator_auth
from gateway.operator import routes as operator_routes
from gateway.shop.accounts import deps as account_deps
from gateway.shop.accounts.store import Account
from gateway.web import auth as web_auth
from gateway.web.auth import page_error
from gateway.web.sessions import Session
from gateway.web.texts import TEXTS
from ksef_api import AuthenticationFailed, KsefError, RetryableError
from tests.support import CSRF_FIELD
from tests.support.clock import T0
from tests.support.ksef import Simulator, free_port, start_simulator

SECRET = "unit-test-secret-unit-test-secret"
NIP = "5261040828"  # a valid NIP (checksum)
OTHER_NIP = "1234563218"
ADDRESS = events.Address(street="ul. Testowa 1", postal_code="00-001", city="Warszawa")
UTILITY = events.TenantConfig(tenant_id="wodociagi", name="Wodociągi", kind="utility")
CHAIN = events.TenantConfig(
    tenant_id="chain-x",
    name="Sieć X",
    kind="retail",
    seller=events.Party(name="Sieć X sp. z o.o.", nip="526-104-08-28", address=ADDRESS),
)
ACCOUNT = Account("acc-x", "kasa@x.pl", "chain", "chain-x", True)
SIGNED = web_auth.SignedIn(
    ACCOUNT, Session("hash", "acc-x", "csrf-token-of-the-session-0123456789abcd", T0 + timedelta(1))
)


class Tenants:
    """The tenant directory's `update`, recording each published change."""

    def __init__(self, tenant: events.TenantConfig) -> None:
        self.tenant = tenant
        self.published: list[dict[str, Any]] = []

    async def update(self, producer: object, tenant_id: str, **changes: Any) -> Any:
        assert tenant_id == self.tenant.tenant_id
        self.tenant = events.TenantConfig.model_validate(self.tenant.model_dump() | changes)
        self.published.append(changes)
        return self.tenant


class Limiter:
    """The shared rate limiter: `allowed` hits, then refusals."""

    def __init__(self, allowed: int = 100) -> None:
        self.allowed = allowed
        self.hits: list[tuple[str, str, int, int]] = []

    async def hit(self, purpose: str, subject: str, limit: int, window_seconds: int) -> bool:
        self.hits.append((purpose, subject, limit, window_seconds))
        self.allowed -= 1
        return self.allowed >= 0

    def retry_after(self, window_seconds: int) -> int:
        return 300


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory):
    started = start_simulator(tmp_path_factory.mktemp("ksef-sim"))
    yield started
    started.stop()


def ksef_token(simulator: Simulator, nip: str = NIP) -> str:
    answer = httpx.post(f"{simulator.base_url}/_sim/tokens", json={"nip": nip}, timeout=10)
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


def settings(sim_url: str = "http://127.0.0.1:9/v2", **more: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "session_secret": SECRET,
        "sealing_keys": Sealer.new_key(),
        "ksef_test_url": sim_url,
        # nothing listens there: "could not reach KSeF"
        "ksef_demo_url": f"http://127.0.0.1:{free_port()}/v2",
        "ksef_production_url": "http://127.0.0.1:9/v2",
    }
    return GatewaySettings(**(values | more))


def app_for(tenants: Tenants, gateway_settings: GatewaySettings) -> FastAPI:
    app = FastAPI(exception_handlers={web_auth.PageError: page_error})
    app.add_middleware(SessionMiddleware, secret_key=SECRET, session_cookie="einvoice_session")
    app.include_router(operator_routes.router)
    app.include_router(chain_routes.router)
    state = SimpleNamespace(
        settings=gateway_settings, producer=None, tenants=tenants, rate_limiter=Limiter()
    )
    app.dependency_overrides |= {
        get_state: lambda: state,
        operator_auth.operator_tenant: lambda: tenants.tenant,
        account_deps.chain_user: lambda: account_deps.ChainUser(ACCOUNT, tenants.tenant),
        account_deps.signed_in: lambda: SIGNED,
        account_deps.optional_signed_in: lambda: None,
    }
    return app


class Portal:
    """One portal's KSeF page: where it is and how its forms carry the form token."""

    def __init__(self, kind: str, tenant: events.TenantConfig, sim_url: str, **more: Any):
        self.kind = kind
        self.path = "/operator/ksef" if kind == "operator" else "/chain/ksef"
        self.tenants = Tenants(tenant)
        self.settings = settings(sim_url, **more)
        self.app = app_for(self.tenants, self.settings)
        if kind == "chain":
            self.app.dependency_overrides[account_deps.optional_signed_in] = lambda: SIGNED
        self.client = TestClient(self.app)

    def get(self, query: str = "") -> httpx.Response:
        return self.client.get(self.path + query)

    def csrf(self) -> str:
        if self.kind == "chain":
            return SIGNED.csrf
        return CSRF_FIELD.search(self.get().text).group(1)

    def post(self, query: str = "", **form: str) -> httpx.Response:
        data = {"csrf": self.csrf()} | form
        return self.client.post(self.path + query, data=data, follow_redirects=False)

    @property
    def ksef(self) -> events.KsefSettings | None:
        return self.tenants.tenant.ksef

    def unseal(self, sealed: str) -> str:
        return Sealer.from_settings(self.settings).unseal(sealed)


def form(**values: str) -> dict[str, str]:
    return {
        "environment": "test",
        "context_nip": NIP,
        "start_date": "2026-02-01",
        "consumers": "outside",
        "token": "",
        "action": "save",
    } | values


@pytest.fixture(params=["operator", "chain"])
def portal(request, simulator) -> Portal:
    tenant = UTILITY if request.param == "operator" else CHAIN
    return Portal(request.param, tenant, f"{simulator.base_url}/v2")


def problems(page: httpx.Response) -> list[str]:
    block = re.search(r'id="ksef-problems">(.*?)</div>', page.text, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1)) if block else []


def outcome(page: httpx.Response) -> str:
    found = re.search(r'id="ksef-test"[^>]*>(.*?)</p>', page.text, re.S)
    assert found, page.text
    return found.group(1)


# --- the form -------------------------------------------------------------------------------


def test_a_new_connection_starts_empty(portal: Portal) -> None:
    page = portal.get()
    assert page.status_code == 200
    assert "Połączenie z KSeF" in page.text and "brak połączenia" in page.text
    assert 'name="csrf"' in page.text and 'value="disconnect"' not in page.text
    assert re.search(r'<option value="test"\s+selected>', page.text)
    expected_nip = NIP if portal.kind == "chain" else ""
    assert (
        re.search(r'<input id="context_nip" [^>]*value="([^"]*)"', page.text).group(1)
        == expected_nip
    )
    assert 'name="consumers" value="outside" checked' in page.text
    assert f'value="{connection.warsaw_today().isoformat()}"' in page.text
    assert "Nie zapisano tokenu." in page.text
    assert page.headers["cache-control"] == "no-store"


def test_saving_seals_the_token_and_never_shows_it(portal: Portal) -> None:
    saved = portal.post(**form(token="20260201-EC-ABC|nip-5261040828|secret-part"))
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{portal.path}?saved=saved"
    ksef = portal.ksef
    assert ksef is not None and ksef.context_nip == NIP and ksef.environment == "test"
    assert ksef.start_date == date(2026, 2, 1) and ksef.consumers == "outside"
    assert "secret-part" not in ksef.token_sealed
    assert portal.unseal(ksef.token_sealed) == "20260201-EC-ABC|nip-5261040828|secret-part"
    page = portal.get("?saved=saved")
    assert "Zapisano." in page.text and "połączono: środowisko testowe (dane fikcyjne)" in page.text
    assert (
        "Token jest zapisany." in page.text and "zapisany — puste pole zostawia obecny" in page.text
    )
    assert "secret-part" not in page.text and ksef.token_sealed not in page.text
    assert 'value="disconnect"' in page.text


def test_an_empty_token_keeps_the_stored_one_while_environment_and_nip_stay(
    portal: Portal,
) -> None:
    assert portal.post(**form(token="first-token")).status_code == 303
    sealed = portal.ksef.token_sealed
    again = portal.post(
        **form(start_date="2026-04-01", consumers="ksef", context_nip="526 104 08 28")
    )
    assert again.status_code == 303
    assert portal.ksef.token_sealed == sealed
    assert portal.ksef.start_date == date(2026, 4, 1) and portal.ksef.consumers == "ksef"


@pytest.mark.parametrize(
    "change", [{"environment": "demo"}, {"context_nip": OTHER_NIP}], ids=["environment", "nip"]
)
def test_a_new_environment_or_nip_needs_a_new_token(portal: Portal, change) -> None:
    assert portal.post(**form(token="first-token")).status_code == 303
    before = portal.ksef
    refused = portal.post(**form(**change))
    assert refused.status_code == 422
    assert problems(refused) == [
        "Zapisany token należy do innego środowiska lub NIP: wpisz token dla nowych ustawień."
    ]
    assert portal.ksef == before, "nothing published"
    assert "Nie zapisano tokenu." in refused.text, "the stored token does not apply to the form"
    assert portal.post(**form(token="second-token", **change)).status_code == 303
    assert portal.unseal(portal.ksef.token_sealed) == "second-token"
    assert portal.ksef.model_dump(include={"environment", "context_nip"}) != before.model_dump(
        include={"environment", "context_nip"}
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"context_nip": "5261040829"},
            "NIP musi mieć 10 cyfr z poprawną cyfrą kontrolną (podano: 5261040829).",
        ),
        (
            {"context_nip": "12345"},
            "NIP musi mieć 10 cyfr z poprawną cyfrą kontrolną (podano: 12345).",
        ),
        ({"context_nip": ""}, "NIP musi mieć 10 cyfr z poprawną cyfrą kontrolną (podano: —)."),
        ({"start_date": "1.02.2026"}, "Podaj datę w postaci RRRR-MM-DD (podano: 1.02.2026)."),
        ({"environment": "staging"}, "Wybierz środowisko KSeF."),
        ({"consumers": "all"}, "Wybierz, czy faktury dla konsumentów trafiają do KSeF."),
        (
            {"token": "two words"},
            "Token KSeF ma najwyżej 1000 znaków, bez spacji i znaków sterujących.",
        ),
        (
            {"token": "x" * 1001},
            "Token KSeF ma najwyżej 1000 znaków, bez spacji i znaków sterujących.",
        ),
        ({}, "Wpisz token KSeF."),
    ],
    ids=[
        "checksum",
        "short",
        "empty",
        "date",
        "environment",
        "consumers",
        "space",
        "long",
        "no-token",
    ],
)
def test_the_form_refuses(portal: Portal, values, expected) -> None:
    refused = portal.post(**form(**values))
    assert refused.status_code == 422
    assert problems(refused) == [expected]
    assert portal.tenants.published == []


def test_what_was_typed_is_shown_again_escaped_but_never_the_token(portal: Portal) -> None:
    refused = portal.post(**form(context_nip="<b>1</b>", token="typed-secret"))
    assert refused.status_code == 422
    assert "&lt;b&gt;1&lt;/b&gt;" in refused.text and "<b>1</b>" not in refused.text
    assert "typed-secret" not in refused.text


def test_without_a_sealing_key_no_token_is_stored(simulator) -> None:
    portal = Portal("operator", UTILITY, f"{simulator.base_url}/v2", sealing_keys=None)
    refused = portal.post(**form(token="a-token"))
    assert refused.status_code == 422
    assert problems(refused) == [TEXTS["pl"]["ks_err_sealing"]]
    assert portal.tenants.published == []


def test_disconnect_drops_the_connection_and_its_token(portal: Portal) -> None:
    assert portal.post(**form(token="first-token")).status_code == 303
    gone = portal.post(action="disconnect")
    assert (
        gone.status_code == 303 and gone.headers["location"] == f"{portal.path}?saved=disconnected"
    )
    assert portal.ksef is None and portal.tenants.published[-1] == {"ksef": None}
    page = portal.get("?saved=disconnected")
    assert "Odłączono KSeF" in page.text and "brak połączenia" in page.text


def test_an_unknown_action_changes_nothing(portal: Portal) -> None:
    assert portal.post(**form(action="delete-everything", token="t")).status_code == 422
    assert portal.tenants.published == []


def test_posts_need_the_form_token(portal: Portal) -> None:
    without = portal.client.post(portal.path, data=form(token="t"), follow_redirects=False)
    forged = portal.client.post(
        portal.path, data=form(token="t") | {"csrf": "forged"}, follow_redirects=False
    )
    # The operator door refuses a form without the field like any incomplete form (422).
    assert without.status_code == (422 if portal.kind == "operator" else 403)
    assert forged.status_code == 403
    assert portal.tenants.published == []


def test_english_and_the_language_survives_the_redirect(portal: Portal) -> None:
    page = portal.get("?lang=en")
    assert "KSeF connection" in page.text and "not connected" in page.text
    assert f'action="{portal.path}?lang=en"' in page.text
    saved = portal.post("?lang=en", **form(token="t"))
    assert saved.headers["location"] == f"{portal.path}?saved=saved&lang=en"
    refused = portal.post("?lang=en", **form(context_nip="1"))
    assert "A NIP has 10 digits with a valid check digit (given: 1)." in refused.text


# --- "test the connection" --------------------------------------------------------------------


def test_a_good_token_authenticates_with_ksef_and_nothing_is_saved(
    portal: Portal, simulator
) -> None:
    token = ksef_token(simulator)
    tested = portal.post(**form(token=token, action="test"))
    assert tested.status_code == 200
    text = outcome(tested)
    assert text.startswith(
        f"Połączenie działa: KSeF przyjął token w kontekście NIP {NIP} (środowisko testowe "
        "(dane fikcyjne))."
    )
    assert "wpisz go ponownie" in text
    assert 'class="result ok"' in tested.text
    assert token not in tested.text and portal.tenants.published == []


def test_the_stored_token_is_tested_when_the_field_is_empty(portal: Portal, simulator) -> None:
    assert portal.post(**form(token=ksef_token(simulator))).status_code == 303
    tested = portal.post(**form(action="test"))
    text = outcome(tested)
    assert text.startswith("Połączenie działa") and "wpisz go ponownie" not in text


def test_a_wrong_token_is_ksefs_refusal_in_words(portal: Portal, simulator) -> None:
    tested = portal.post(
        **form(token="20260101-EC-0000000000-0000000000-00|nip-x|00", action="test")
    )
    assert tested.status_code == 200 and 'class="result bad"' in tested.text
    text = outcome(tested)
    assert text.startswith("Połączenie nie działa: KSeF nie przyjął tokenu")
    assert "kod 450" in text and "Traceback" not in tested.text


def test_a_token_of_another_nip_is_refused(portal: Portal, simulator) -> None:
    tested = portal.post(**form(token=ksef_token(simulator, OTHER_NIP), action="test"))
    assert outcome(tested).startswith("Połączenie nie działa:")


def test_a_changed_nip_without_a_token_has_nothing_to_test(portal: Portal, simulator) -> None:
    assert portal.post(**form(token=ksef_token(simulator))).status_code == 303
    tested = portal.post(**form(context_nip=OTHER_NIP, action="test"))
    assert outcome(tested) == (
        "Połączenie nie działa: nie ma tokenu do sprawdzenia — wpisz token KSeF."
    )


def test_an_unreachable_ksef_is_said_in_words(portal: Portal) -> None:
    tested = portal.post(**form(environment="demo", token="t", action="test"))
    text = outcome(tested)
    assert text.startswith("Połączenie nie działa: nie udało się połączyć z KSeF (127.0.0.1:")


def test_a_bad_form_is_not_tested(portal: Portal) -> None:
    refused = portal.post(**form(context_nip="123", token="t", action="test"))
    assert refused.status_code == 422 and 'id="ksef-test"' not in refused.text


def test_the_test_in_english(portal: Portal, simulator) -> None:
    tested = portal.post("?lang=en", **form(token=ksef_token(simulator), action="test"))
    assert outcome(tested).startswith(
        f"The connection works: KSeF accepted the token in the context of NIP {NIP} "
        "(environment test (made-up data))."
    )


def test_tests_have_a_budget_per_tenant(portal: Portal) -> None:
    limiter = portal.app.dependency_overrides[get_state]().rate_limiter
    limiter.allowed = 0
    refused = portal.post(**form(token="t", action="test"))
    assert refused.status_code == 200
    assert outcome(refused) == "Zbyt wiele prób w krótkim czasie. Spróbuj ponownie za 5 min."
    tenant_id = portal.tenants.tenant.tenant_id
    assert limiter.hits == [("ksef-test", tenant_id, *connection.TEST_BUDGET)]


# --- the test's refusals without a simulator --------------------------------------------------


class FakeApi:
    def __init__(self, behaviour: Any) -> None:
        self.behaviour = behaviour
        self.closed = False

    async def authenticate(self, nip: str, token: str, **_: Any) -> None:
        await self.behaviour()

    async def aclose(self) -> None:
        self.closed = True


def submitted(token: str | None = "t") -> connection.Submitted:
    return connection.Submitted(
        values={},
        environment="test",
        nip=NIP,
        start_date=date(2026, 2, 1),
        consumers="outside",
        token=token,
    )


async def run_test(behaviour: Any, seconds: float = 5) -> tuple[connection.Outcome, FakeApi]:
    api = FakeApi(behaviour)
    result = await connection.try_connection(
        settings(),
        submitted(),
        None,
        None,
        TEXTS["pl"],
        api=lambda base_url: api,  # type: ignore[arg-type,return-value]
        seconds=seconds,
    )
    return result, api


async def test_a_slow_ksef_times_out() -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    result, api = await run_test(slow, seconds=0.2)
    assert result == connection.Outcome(
        False, "Połączenie nie działa: KSeF nie odpowiedział w ciągu 1 s."
    )
    assert api.closed


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            RetryableError(429, [], "Too many", retry_after=30),
            "Połączenie nie działa: KSeF chwilowo nie przyjmuje zapytań (HTTP 429); spróbuj "
            "ponownie za 30 s.",
        ),
        (
            KsefError(400, [21405], "Błąd walidacji danych wejściowych.\n  NIP"),
            "Połączenie nie działa: KSeF odpowiedział błędem (HTTP 400): Błąd walidacji danych "
            "wejściowych. NIP",
        ),
        (
            AuthenticationFailed(415, "Brak przypisanych uprawnień."),
            "Połączenie nie działa: token nie daje uprawnień w kontekście tego NIP (kod 415: "
            "Brak przypisanych uprawnień.).",
        ),
        (
            AuthenticationFailed(460, "Token unieważniony."),
            "Połączenie nie działa: KSeF odrzucił token (kod 460): Token unieważniony.",
        ),
        (
            KeyError("referenceNumber"),
            "Połączenie nie działa: KSeF odpowiedział w nieoczekiwany sposób; spróbuj ponownie "
            "później.",
        ),
        (
            httpx.ReadTimeout("slow"),
            "Połączenie nie działa: KSeF nie odpowiedział w ciągu 5 s.",
        ),
    ],
    ids=["429", "400", "415", "other-status", "unexpected", "read-timeout"],
)
async def test_ksefs_answers_in_words(error: Exception, expected: str) -> None:
    async def fail() -> None:
        raise error

    result, api = await run_test(fail)
    assert result == connection.Outcome(False, expected)
    assert api.closed


def test_nip_parsing() -> None:
    assert connection.context_nip("PL 526-104-08-28") == NIP
    assert connection.context_nip("5261040829") is None
    assert connection.context_nip("0000000000") is None, "KSeF refuses a NIP starting with 0"
    assert connection.default_nip(CHAIN) == NIP and connection.default_nip(UTILITY) == ""
