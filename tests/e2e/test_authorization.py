"""Who may read and write what, through the running gateway: an authorization matrix over
every read and write endpoint (billing API, POS API, customer links, operator pages, the
shopper's portal, the chain's portal, the account entry points).

The world (module-scoped): chains X and Y, one user each; shoppers A and B (verified,
signed in through /account/login, one cookie jar each); A claimed a receipt of X and has an
invoice for it, B one of Y; the utility `tenant` has a delivered (and once downloaded)
invoice with its link from maildev; a second utility tenant; operator sessions of both
utilities. Each matrix row is (actor, method, path, exact status, and where it matters the
redirect, the content type, what the body must and must not show); one test per row.

The other party's invoice and receipt numbers are made distinct (chain Y numbers its
invoices in its own series, receipts get unique numbers), so "does not show" is meaningful.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from einvoice import demo, events
from einvoice.bus import make_producer
from einvoice.demo import demo_invoices
from einvoice.mongo import mongo_client, service_db
from einvoice.receipts import find_receipt_by_code, receipt_id_for
from einvoice.settings import Settings
from einvoice.tenants import hash_api_key, publish_tenant
from gateway.accounts.admin import create_account
from gateway.accounts.store import RATE_LIMITS
from tests.conftest import Chain, Tenant, push, register_chain, register_tenant
from tests.e2e.test_retail_flow import delivery
from tests.support import GATEWAY, eventually, local_settings, mails_to

pytestmark = [pytest.mark.e2e]

PASSWORD = "macierz uprawnień 2024"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"http://127\.0\.0\.1:8000/i/([A-Za-z0-9_-]{43,})")
Y_STORE = "S900"  # chain Y's store-bound key speaks for this store; X's for S001
Y_SERIES = "FVY/{year}/{month:02d}/{seq:06d}"  # so that X's and Y's numbers never coincide
RENDERED = {"rendered", "mailed", "opened"}

LOGIN = "<login>"  # expected redirect: /account/login?next=<the path>
PDF = "application/pdf"
FORBIDDEN = "Ta strona jest przeznaczona dla innego rodzaju konta."  # acc_forbidden
CSRF_REFUSED = "Formularz wygasł."  # acc_csrf
NOT_FOUND = "Nie znaleziono paragonu"  # shop_not_found
SAVED = "Zapisano. Zmiany obowiązują od następnej faktury."  # chain_saved
LINK_INVALID = 'class="error"'


# --- the matrix -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One request and what must come back. `path`, `form` values and the markers are
    templates over the world's values (`{inv_a}`: A's invoice id, ...)."""

    actor: str
    method: str
    path: str
    status: int
    location: str | None = None  # exact Location (LOGIN: the login form with next=path)
    content_type: str | None = None  # prefix of Content-Type
    contains: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    form: dict[str, str] | None = None  # sent form-encoded
    body: str | None = None  # a JSON body from BODIES
    csrf: bool = False  # add the actor's form token to `form`
    fresh: bool = False  # a newly signed-in client of this actor (the row changes its state)
    then: str | None = None  # a follow-up check from THEN
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.actor}-{self.method}-{self.path}" + (f"[{self.note}]" if self.note else "")


# Actors: who sends the request.
SHOPPERS = ("shopperA", "shopperB")
CHAIN_USERS = ("chainX", "chainY")
OPERATORS = ("operatorU", "operatorU2")
SESSION_ACTORS = (
    *SHOPPERS,
    *CHAIN_USERS,
    *OPERATORS,
    "shopperA-loggedout",  # A's cookie from before signing out
    "operatorU-loggedout",  # an operator's cookie from before signing out
    "operatorU3-keyrevoked",  # signed in with a key its tenant has since replaced
)
KEY_ACTORS = {  # a bearer header, no cookies
    "wrongkey": "wrong",
    "utility": "{utility_key}",
    "utility2": "{utility2_key}",
    "posX": "{pos_x}",
    "posXstore": "{pos_x_store}",
    "posY": "{pos_y}",
}
ACTORS = (*SESSION_ACTORS, "anonymous", *KEY_ACTORS)

REQUEST_FORM = {  # a valid invoice request for line 0 of the receipt
    "pick_0": "1",
    "qty_0": "{qty_a}",
    "kind": "person",
    "name": "Intruz Testowy",
    "street": "ul. Obca 1",
    "postal_code": "00-001",
    "city": "Warszawa",
}
BRANDING_X = {"primary_color": "#1a2b3c", "accent_color": "#f1f2f3", "invoice_template": ""}
BRANDING_Y = {"primary_color": "#0c0b0a", "accent_color": "#f4f5f6", "invoice_template": ""}


def _api_rows() -> list[Row]:
    rows: list[Row] = []
    # POST /api/v1/batches: an empty batch is refused (422) only once the key is accepted.
    for actor in ("anonymous", "wrongkey", "posX", "shopperA", "chainX", "operatorU"):
        rows.append(Row(actor, "POST", "/api/v1/batches", 401, body="empty_batch"))
    for actor in ("utility", "utility2"):
        rows.append(
            Row(
                actor,
                "POST",
                "/api/v1/batches",
                422,
                body="empty_batch",
                contains=("the batch has no invoices",),
            )
        )
    # GET /api/v1/batches/{id}: the owner only; another tenant is told it does not exist.
    rows += [
        Row("utility", "GET", "/api/v1/batches/{batch_u}", 200, contains=('"complete":true',)),
        Row("utility", "GET", "/api/v1/batches/{batch_u}?details=true", 200, contains=("{no_u}",)),
        Row("utility2", "GET", "/api/v1/batches/{batch_u}", 404, absent=("{no_u}",)),
        Row("utility2", "GET", "/api/v1/batches/{batch_u}?details=true", 404, absent=("{no_u}",)),
    ]
    for actor in ("anonymous", "wrongkey", "posX", "shopperA", "chainX", "operatorU"):
        rows.append(Row(actor, "GET", "/api/v1/batches/{batch_u}", 401, absent=("{no_u}",)))
    # GET /api/v1/confirmations: each tenant's opens only.
    rows += [
        Row(
            "utility", "GET", "/api/v1/confirmations?batch_id={batch_u}", 200, contains=("{inv_u}",)
        ),
        Row(
            "utility2",
            "GET",
            "/api/v1/confirmations?batch_id={batch_u}",
            200,
            contains=('{{"confirmations":[]}}',),
        ),
        Row(
            "utility2",
            "GET",
            "/api/v1/confirmations?invoice_id={inv_u}",
            200,
            contains=('{{"confirmations":[]}}',),
        ),
        Row("utility2", "GET", "/api/v1/confirmations", 200, absent=("{inv_u}",)),
    ]
    for actor in ("anonymous", "wrongkey", "posX", "shopperA", "operatorU"):
        rows.append(Row(actor, "GET", "/api/v1/confirmations", 401, absent=("{inv_u}",)))
    # POST /api/v1/receipts: POS keys only; a store-bound key for its store only; the chain
    # always comes from the key (a receipt can never be pushed into another chain).
    for actor in ("anonymous", "wrongkey", "utility", "shopperA", "chainX"):
        rows.append(Row(actor, "POST", "/api/v1/receipts", 401, body="receipt_s001"))
    rows += [
        Row("posX", "POST", "/api/v1/receipts", 422, body="nothing", note="empty receipt"),
        Row(
            "posX",
            "POST",
            "/api/v1/receipts",
            202,
            body="receipt_y_store",
            contains=("{pushed_rid}",),
            note="chain-wide key, Y's store id: X's receipt",
        ),
        Row(
            "posXstore",
            "POST",
            "/api/v1/receipts",
            403,
            body="receipt_y_store",
            contains=("bound to store",),
            note="S001 key, Y's store",
        ),
        Row(
            "posXstore",
            "POST",
            "/api/v1/receipts",
            403,
            body="receipts_mixed",
            note="S001 key, batch with one foreign store",
        ),
        Row(
            "posXstore",
            "POST",
            "/api/v1/receipts",
            202,
            body="receipt_s001",
            contains=("{pushed_rid}",),
            note="S001 key, own store",
        ),
        Row(
            "posY",
            "POST",
            "/api/v1/receipts",
            422,
            body="receipt_naming_x",
            contains=("tenant_id",),
            note="a receipt naming chain X",
        ),
    ]
    return rows


def _link_rows() -> list[Row]:
    rows = [
        Row(actor, "GET", "/i/{token}", 200, contains=("{no_u}", "/i/{token}/download"))
        for actor in ("anonymous", "wrongkey", "shopperB", "chainY", "operatorU2")
    ]
    rows += [
        Row("anonymous", "HEAD", "/i/{token}", 200),
        Row(
            "anonymous", "GET", "/i/{fake_token}", 404, contains=(LINK_INVALID,), absent=("{no_u}",)
        ),
        Row("anonymous", "HEAD", "/i/{fake_token}", 404),
        Row("anonymous", "POST", "/i/{token}/download", 200, content_type=PDF),
        Row("anonymous", "POST", "/i/{fake_token}/download", 404, absent=("{no_u}",)),
    ]
    return rows


def _operator_rows() -> list[Row]:
    login_page = ('name="api_key"',)
    rows = [
        Row(actor, "GET", "/operator", 200, contains=login_page, absent=("{batch_u}",))
        for actor in ("anonymous", "wrongkey", "utility", "shopperA", "chainX")
    ]
    rows += [
        Row("operatorU", "GET", "/operator", 200, contains=("{batch_u}",)),
        Row("operatorU2", "GET", "/operator", 200, absent=("{batch_u}",)),
        Row("operatorU", "GET", "/operator/batches/{batch_u}", 200, contains=("{no_u}",)),
        Row("operatorU2", "GET", "/operator/batches/{batch_u}", 404, absent=("{no_u}",)),
        Row(
            "operatorU",
            "GET",
            "/operator/confirmations?batch_id={batch_u}",
            200,
            contains=("{no_u}",),
        ),
        Row(
            "operatorU2",
            "GET",
            "/operator/confirmations?batch_id={batch_u}",
            200,
            absent=("{no_u}",),
        ),
        Row("operatorU2", "GET", "/operator/confirmations", 200, absent=("{no_u}",)),
        Row("operatorU", "GET", "/operator/invoices/{inv_u}/pdf", 200, content_type=PDF),
        Row("operatorU2", "GET", "/operator/invoices/{inv_u}/pdf", 404),
        Row("operatorU", "GET", "/operator/invoices/{inv_a}/pdf", 404, note="a chain's invoice"),
    ]
    for path in (
        "/operator/batches/{batch_u}",
        "/operator/confirmations",
        "/operator/invoices/{inv_u}/pdf",
    ):
        for actor in ("anonymous", "wrongkey", "utility", "shopperA", "chainX"):
            rows.append(Row(actor, "GET", path, 303, location="/operator", absent=("{no_u}",)))
    # Signing in: the API key only (not a POS key, not a wrong one), with the form token.
    rows += [
        Row(
            "anonymous",
            "POST",
            "/operator/login",
            401,
            form={"api_key": "wrong"},
            csrf=True,
            note="wrong key",
        ),
        Row(
            "anonymous",
            "POST",
            "/operator/login",
            401,
            form={"api_key": "{pos_x}"},
            csrf=True,
            note="a POS key",
        ),
        Row(
            "anonymous",
            "POST",
            "/operator/login",
            422,
            form={"api_key": "{utility_key}"},
            note="no form token",
        ),
        Row(
            "anonymous",
            "POST",
            "/operator/login",
            403,
            form={"api_key": "{utility_key}", "csrf": "forged"},
            note="forged form token",
        ),
        Row(
            "anonymous",
            "POST",
            "/operator/login",
            303,
            location="/operator",
            form={"api_key": "{utility_key}"},
            csrf=True,
            note="the API key",
        ),
        Row(
            "operatorU",
            "POST",
            "/operator/logout",
            403,
            form={"csrf": "forged"},
            fresh=True,
            then="operator_still_signed_in",
            note="forged form token",
        ),
        Row(
            "operatorU",
            "POST",
            "/operator/logout",
            303,
            location="/operator",
            form={},
            csrf=True,
            fresh=True,
        ),
        # A signed-out operator's old cookie must not open the pages any more (the shoppers'
        # sessions end on the server: see the shopperA-loggedout rows).
        Row(
            "operatorU-loggedout",
            "GET",
            "/operator/confirmations?batch_id={batch_u}",
            303,
            location="/operator",
            absent=("{no_u}",),
            note="old cookie replayed",
        ),
        Row(
            "operatorU-loggedout",
            "GET",
            "/operator/invoices/{inv_u}/pdf",
            303,
            location="/operator",
            note="old cookie replayed",
        ),
        # The tenant replaced the API key the session was opened with (a leaked key is
        # rotated): the session must end with it.
        Row(
            "operatorU3-keyrevoked",
            "GET",
            "/operator",
            200,
            contains=('name="api_key"',),
            absent=("{batch_u3}",),
        ),
        Row(
            "operatorU3-keyrevoked",
            "GET",
            "/operator/batches/{batch_u3}",
            303,
            location="/operator",
        ),
    ]
    return rows


def _account_rows() -> list[Row]:
    return [
        Row("shopperA", "GET", "/account", 303, location="/me"),
        Row("chainX", "GET", "/account", 303, location="/chain"),
        Row("anonymous", "GET", "/account", 303, location="/account/login"),
        Row("shopperA", "GET", "/account/login?next=//evil.test", 303, location="/me"),
        Row(
            "shopperA-loggedout",
            "GET",
            "/me",
            303,
            location=LOGIN,
            absent=("{inv_a}",),
            note="old cookie replayed",
        ),
        Row(
            "shopperA-loggedout",
            "GET",
            "/me/invoices/{inv_a}/pdf",
            303,
            location=LOGIN,
            note="old cookie replayed",
        ),
        Row("anonymous", "GET", "/healthz", 200, contains=('"ok"',)),
        Row("anonymous", "GET", "/metrics", 200, absent=("{x}", "{utility_key}")),
    ]


def _shop_rows() -> list[Row]:
    outsiders = ("anonymous", "wrongkey", "utility", "operatorU")
    rows = [
        Row(
            "shopperA",
            "GET",
            "/me",
            200,
            contains=("{inv_a}", "{no_a}", "{rcpt_a8}"),
            absent=("{inv_b}", "{no_b}", "{rcpt_b8}", "{rno_b}"),
        ),
        Row(
            "shopperB",
            "GET",
            "/me",
            200,
            contains=("{inv_b}", "{no_b}", "{rcpt_b8}"),
            absent=("{inv_a}", "{no_a}", "{rcpt_a8}", "{rno_a}"),
        ),
        Row("chainX", "GET", "/me", 403, contains=(FORBIDDEN,), absent=("{inv_a}",)),
        Row("chainY", "GET", "/me", 403, contains=(FORBIDDEN,)),
        *(Row(a, "GET", "/me", 303, location=LOGIN) for a in outsiders),
        # Adding a receipt by its code.
        Row("shopperA", "GET", "/me/receipts/add", 200, contains=('name="code"',)),
        Row("chainX", "GET", "/me/receipts/add", 403, contains=(FORBIDDEN,)),
        Row("anonymous", "GET", "/me/receipts/add", 303, location=LOGIN),
        Row(
            "shopperA",
            "POST",
            "/me/receipts/add",
            303,
            location="/me/receipts/{x}/{rcpt_a}",
            form={"code": "{code_a}"},
            csrf=True,
            note="own code again",
        ),
        Row(
            "shopperA",
            "POST",
            "/me/receipts/add",
            404,
            form={"code": "{fake_code}"},
            csrf=True,
            contains=(NOT_FOUND,),
            note="made-up code",
        ),
        Row(
            "shopperB",
            "POST",
            "/me/receipts/add",
            409,
            form={"code": "{code_a}"},
            csrf=True,
            contains=("Ten paragon został już dodany do innego konta.",),
            absent=("{rcpt_a}", "{rno_a}", "{x}"),
            note="A's code",
        ),
        Row(
            "shopperB",
            "POST",
            "/me/receipts/add",
            403,
            form={"code": "{code_a}"},
            contains=(CSRF_REFUSED,),
            note="no form token",
        ),
        Row(
            "chainX",
            "POST",
            "/me/receipts/add",
            403,
            form={"code": "{code_a}"},
            csrf=True,
            contains=(FORBIDDEN,),
        ),
        Row(
            "anonymous",
            "POST",
            "/me/receipts/add",
            303,
            location=LOGIN,
            form={"code": "{code_a}"},
            csrf=True,
        ),
        Row(
            "anonymous",
            "POST",
            "/me/receipts/add",
            403,
            form={"code": "{code_a}"},
            note="no form token",
        ),
        # A's receipt: only A sees it and asks for invoices on it.
        Row("shopperA", "GET", "/me/receipts/{x}/{rcpt_a}", 200, contains=("{rno_a}",)),
        Row(
            "shopperB",
            "GET",
            "/me/receipts/{x}/{rcpt_a}",
            404,
            contains=(NOT_FOUND,),
            absent=("{rno_a}",),
        ),
        Row("shopperB", "GET", "/me/receipts/{y}/{rcpt_a}", 404, absent=("{rno_a}",)),
        Row("shopperA", "GET", "/me/receipts/{y}/{rcpt_b}", 404, absent=("{rno_b}",)),
        Row("shopperA", "GET", "/me/receipts/{y}/{rcpt_a}", 404, note="wrong chain in the URL"),
        Row("chainX", "GET", "/me/receipts/{x}/{rcpt_a}", 403, absent=("{rno_a}",)),
        Row("chainY", "GET", "/me/receipts/{x}/{rcpt_a}", 403, absent=("{rno_a}",)),
        Row("anonymous", "GET", "/me/receipts/{x}/{rcpt_a}", 303, location=LOGIN),
        Row("wrongkey", "GET", "/me/receipts/{x}/{rcpt_a}", 303, location=LOGIN),
        Row(
            "shopperB",
            "POST",
            "/me/receipts/{x}/{rcpt_a}",
            404,
            form=REQUEST_FORM,
            csrf=True,
            absent=("{rno_a}",),
            then="no_invoice_for_b",
        ),
        Row(
            "shopperA",
            "POST",
            "/me/receipts/{x}/{rcpt_a}",
            422,
            form={"kind": "person"},
            csrf=True,
            contains=("{rno_a}",),
            note="nothing picked",
        ),
        Row(
            "shopperA",
            "POST",
            "/me/receipts/{x}/{rcpt_a}",
            403,
            form=REQUEST_FORM,
            contains=(CSRF_REFUSED,),
            note="no form token",
        ),
        Row(
            "chainX",
            "POST",
            "/me/receipts/{x}/{rcpt_a}",
            403,
            form=REQUEST_FORM,
            csrf=True,
            contains=(FORBIDDEN,),
        ),
        Row(
            "anonymous",
            "POST",
            "/me/receipts/{x}/{rcpt_a}",
            303,
            location=LOGIN,
            form=REQUEST_FORM,
            csrf=True,
        ),
        Row(
            "anonymous",
            "POST",
            "/me/receipts/{x}/{rcpt_a}",
            403,
            form=REQUEST_FORM,
            note="no form token",
        ),
        # A's invoice page and PDF. Somebody else's invoice id is not found.
        Row("shopperA", "GET", "/me/invoices/{inv_a}", 200, contains=("{no_a}", 'id="download"')),
        Row("shopperB", "GET", "/me/invoices/{inv_a}", 404, absent=("{no_a}", 'id="download"')),
        Row("shopperA", "GET", "/me/invoices/{inv_b}", 404, absent=("{no_b}", 'id="download"')),
        Row("shopperA", "GET", "/me/invoices/{inv_u}", 404, absent=("{no_u}", 'id="download"')),
        Row("chainX", "GET", "/me/invoices/{inv_a}", 403, absent=("{no_a}",)),
        Row("chainY", "GET", "/me/invoices/{inv_a}", 403, absent=("{no_a}",)),
        Row("anonymous", "GET", "/me/invoices/{inv_a}", 303, location=LOGIN),
        Row("shopperA", "GET", "/me/invoices/{inv_a}/pdf", 200, content_type=PDF),
        Row("shopperB", "GET", "/me/invoices/{inv_a}/pdf", 404, content_type="text/plain"),
        Row("shopperA", "GET", "/me/invoices/{inv_b}/pdf", 404, content_type="text/plain"),
        Row("shopperA", "GET", "/me/invoices/{inv_u}/pdf", 404, content_type="text/plain"),
        Row("chainX", "GET", "/me/invoices/{inv_a}/pdf", 403),
        Row("chainY", "GET", "/me/invoices/{inv_a}/pdf", 403),
        *(Row(a, "GET", "/me/invoices/{inv_a}/pdf", 303, location=LOGIN) for a in outsiders),
    ]
    return rows


def _chain_rows() -> list[Row]:
    outsiders = ("anonymous", "wrongkey", "utility", "operatorU")
    rows = [
        Row(
            "chainX",
            "GET",
            "/chain",
            200,
            contains=("{inv_a}", "{no_a}"),
            absent=("{inv_b}", "{no_b}", "{inv_u}"),
        ),
        Row(
            "chainY",
            "GET",
            "/chain",
            200,
            contains=("{inv_b}", "{no_b}"),
            absent=("{inv_a}", "{no_a}", "{inv_u}"),
        ),
        Row(
            "chainX",
            "GET",
            "/chain?tenant_id={y}&chain={y}&chain_id={y}",
            200,
            contains=("{inv_a}",),
            absent=("{inv_b}", "{no_b}"),
            note="naming chain Y in the query",
        ),
        Row("shopperA", "GET", "/chain", 403, contains=(FORBIDDEN,), absent=("{no_a}",)),
        Row("shopperB", "GET", "/chain", 403, contains=(FORBIDDEN,)),
        *(Row(a, "GET", "/chain", 303, location=LOGIN) for a in outsiders),
        # The CSV export.
        Row(
            "chainX",
            "GET",
            "/chain/invoices.csv",
            200,
            content_type="text/csv",
            contains=("{inv_a}", "{no_a}"),
            absent=("{inv_b}", "{no_b}"),
        ),
        Row(
            "chainY",
            "GET",
            "/chain/invoices.csv",
            200,
            content_type="text/csv",
            contains=("{inv_b}", "{no_b}"),
            absent=("{inv_a}", "{no_a}"),
        ),
        Row("shopperA", "GET", "/chain/invoices.csv", 403, absent=("{no_a}",)),
        Row("shopperB", "GET", "/chain/invoices.csv", 403, absent=("{no_a}",)),
        *(Row(a, "GET", "/chain/invoices.csv", 303, location=LOGIN) for a in outsiders),
        # An invoice's PDF.
        Row("chainX", "GET", "/chain/invoices/{inv_a}/pdf", 200, content_type=PDF),
        Row("chainY", "GET", "/chain/invoices/{inv_a}/pdf", 404, content_type="text/plain"),
        Row("chainX", "GET", "/chain/invoices/{inv_b}/pdf", 404, content_type="text/plain"),
        Row("chainX", "GET", "/chain/invoices/{inv_u}/pdf", 404, note="a utility's invoice"),
        Row("shopperA", "GET", "/chain/invoices/{inv_a}/pdf", 403),
        Row("shopperB", "GET", "/chain/invoices/{inv_a}/pdf", 403),
        *(Row(a, "GET", "/chain/invoices/{inv_a}/pdf", 303, location=LOGIN) for a in outsiders),
        # The layout.
        Row("chainX", "GET", "/chain/branding", 200, contains=('name="primary_color"',)),
        Row("chainY", "GET", "/chain/branding", 200, contains=('name="primary_color"',)),
        Row("shopperA", "GET", "/chain/branding", 403, contains=(FORBIDDEN,)),
        Row("anonymous", "GET", "/chain/branding", 303, location=LOGIN),
        Row("utility", "GET", "/chain/branding", 303, location=LOGIN),
        Row(
            "chainX",
            "POST",
            "/chain/branding",
            200,
            form=BRANDING_X,
            csrf=True,
            contains=(SAVED,),
        ),
        Row(
            "chainY",
            "POST",
            "/chain/branding",
            200,
            form=BRANDING_Y | {"tenant_id": "{x}", "chain_id": "{x}"},
            csrf=True,
            contains=(SAVED,),
            then="y_branding_is_ys_only",
            note="naming chain X in the form",
        ),
        Row(
            "chainX",
            "POST",
            "/chain/branding",
            403,
            form=BRANDING_X,
            contains=(CSRF_REFUSED,),
            note="no form token",
        ),
        Row(
            "chainY",
            "POST",
            "/chain/branding",
            403,
            form=BRANDING_Y,
            csrf=True,
            fresh=True,
            contains=(CSRF_REFUSED,),
            note="X's form token",
        ),
        Row(
            "shopperA",
            "POST",
            "/chain/branding",
            403,
            form=BRANDING_X,
            csrf=True,
            contains=(FORBIDDEN,),
        ),
        Row(
            "anonymous",
            "POST",
            "/chain/branding",
            303,
            location=LOGIN,
            form=BRANDING_X,
            csrf=True,
        ),
        Row(
            "anonymous",
            "POST",
            "/chain/branding",
            403,
            form=BRANDING_X,
            contains=(CSRF_REFUSED,),
            note="no form token",
        ),
        Row(
            "chainX",
            "POST",
            "/chain/branding/preview",
            200,
            form=BRANDING_X,
            csrf=True,
            content_type=PDF,
        ),
        Row(
            "chainX",
            "POST",
            "/chain/branding/preview",
            403,
            form=BRANDING_X,
            contains=(CSRF_REFUSED,),
            note="no form token",
        ),
        Row(
            "chainX",
            "POST",
            "/chain/branding/preview",
            422,
            form=BRANDING_X
            | {"invoice_template": "{{{{ ''.__class__.__mro__[1].__subclasses__() }}}}"},
            csrf=True,
            contains=("piaskownica",),
            note="a template reaching for Python internals",
        ),
        Row(
            "shopperA",
            "POST",
            "/chain/branding/preview",
            403,
            form=BRANDING_X,
            csrf=True,
            contains=(FORBIDDEN,),
        ),
        Row(
            "anonymous",
            "POST",
            "/chain/branding/preview",
            303,
            location=LOGIN,
            form=BRANDING_X,
            csrf=True,
        ),
        Row(
            "anonymous",
            "POST",
            "/chain/branding/preview",
            403,
            form=BRANDING_X,
            note="no form token",
        ),
    ]
    return rows


MATRIX: list[Row] = [
    *_api_rows(),
    *_link_rows(),
    *_operator_rows(),
    *_account_rows(),
    *_shop_rows(),
    *_chain_rows(),
]


# --- the world ------------------------------------------------------------------------------


@dataclass
class Actor:
    client: httpx.AsyncClient
    csrf: str = ""  # the account session's form token (shoppers, chain users)
    operator_csrf: str = ""  # the operator session's form token


@dataclass
class World:
    values: dict[str, str]
    actors: dict[str, Actor]
    users: dict[str, tuple[str, str]]  # account actors: (e-mail, password)
    stack: dict[str, str]
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def fmt(self, template: str) -> str:
        return template.format(**self.values)


def _client(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=GATEWAY, timeout=60, **kwargs)


async def _token(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    found = CSRF.search(response.text)
    assert found, f"no form token on {path} ({response.status_code})"
    return found.group(1)


async def sign_in(email: str, password: str, landing: str) -> Actor:
    """A browser's sign-in through the login form (its anonymous form token first)."""
    client = _client()
    token = await _token(client, "/account/login")
    response = await client.post(
        "/account/login", data={"email": email, "password": password, "csrf": token}
    )
    assert response.status_code == 303 and response.headers["location"] == landing, response.text

    async def ready() -> str | None:
        page = await client.get("/me/receipts/add" if landing == "/me" else "/chain/branding")
        found = CSRF.search(page.text) if page.status_code == 200 else None
        return found.group(1) if found else None

    csrf = await eventually(ready, timeout=30, what=f"{email}'s portal")
    return Actor(client, csrf=csrf)


async def operator_sign_in(api_key: str) -> Actor:
    client = _client()
    token = await _token(client, "/operator")
    response = await client.post("/operator/login", data={"api_key": api_key, "csrf": token})
    assert response.status_code == 303, response.text
    return Actor(client, operator_csrf=await _token(client, "/operator"))


async def new_shopper(email: str) -> None:
    from pymongo import AsyncMongoClient

    mongo = AsyncMongoClient(local_settings()["mongo_url"], tz_aware=True)
    try:
        await create_account(service_db(mongo, "gateway"), email, PASSWORD)
    finally:
        await mongo.close()


async def reset_receipt_code_budget_of_this_ip(stack: dict[str, str]) -> None:
    """The receipt-code budget per client IP (30 tries in 10 minutes) is shared by every test
    on 127.0.0.1; start this module with a clean one so that its few tries never meet it
    (test_shop_rules checks that limit)."""
    client = mongo_client(Settings(**stack))
    try:
        await service_db(client, "gateway")[RATE_LIMITS].delete_many({"purpose": "receipt-code-ip"})
    finally:
        await client.close()


async def known_chain(chain: Chain) -> Chain:
    async def known() -> bool:
        return (await push(chain.chain_key, {})).status_code == 422

    await eventually(known, timeout=30, what="the gateway to learn the chain")
    return chain


async def own_series(bootstrap: str, chain: Chain, store: str, name: str, series: str) -> None:
    """`register_chain`'s chain again, under `name`, numbering in `series`."""
    config = events.TenantConfig(
        tenant_id=chain.chain_id,
        name=name,
        kind="retail",
        seller=events.Party.model_validate(demo.DEMO_CHAIN_SELLER),
        pos_keys=[
            events.PosKey(sha256=hash_api_key(chain.chain_key)),
            events.PosKey(sha256=hash_api_key(chain.store_key), store_id=store),
        ],
        accounting_email=f"ksiegowosc@{chain.chain_id}.test",
        invoice_series=series,
    )
    producer = make_producer(bootstrap, "tests")
    await producer.start()
    try:
        await publish_tenant(producer, config)
    finally:
        await producer.stop()


async def known_tenant(tenant: Tenant) -> Tenant:
    async def known() -> bool:
        async with _client(headers=tenant.auth) as client:
            return (await client.get("/api/v1/batches/none")).status_code == 404

    await eventually(known, timeout=30, what="the gateway to learn the tenant")
    return tenant


async def revoked_operator(bootstrap: str) -> tuple[Actor, str]:
    """An operator signed in with a utility's API key, after the utility replaced that key
    (and the gateway refuses it on the API); the tenant's batch id for the rows."""
    old = await known_tenant(await register_tenant(bootstrap, "Trzecie Wodociągi Testowe"))
    async with _client(headers=old.auth) as api:
        invoices = demo_invoices(1, seed=3, email_domain=f"{old.tenant_id}.authz.test")
        accepted = await api.post("/api/v1/batches", json={"invoices": invoices})
        assert accepted.status_code == 202, accepted.text
        batch_id = accepted.json()["batch_id"]

        async def recorded() -> bool:
            return (await api.get(f"/api/v1/batches/{batch_id}")).status_code == 200

        await eventually(recorded, timeout=60, what="the third utility's batch")
    actor = await operator_sign_in(old.api_key)
    assert batch_id in (await actor.client.get("/operator")).text
    config = events.TenantConfig(
        tenant_id=old.tenant_id,
        name="Trzecie Wodociągi Testowe",
        kind="utility",
        api_key_sha256=[hash_api_key(secrets.token_urlsafe(24))],
    )
    producer = make_producer(bootstrap, "tests")
    await producer.start()
    try:
        await publish_tenant(producer, config)
    finally:
        await producer.stop()

    async def refused() -> bool:
        async with _client(headers=old.auth) as api:
            return (await api.get(f"/api/v1/batches/{batch_id}")).status_code == 401

    await eventually(refused, timeout=30, what="the gateway to refuse the replaced key")
    return actor, batch_id


async def push_receipt(chain: Chain, number: str) -> dict[str, Any]:
    body = demo.demo_receipt(
        random.Random(uuid.uuid4().int), lines=3, number=number, issued_at=datetime.now(UTC)
    )
    response = await push(chain.chain_key, body)
    assert response.status_code == 202, response.text
    return body | response.json()["receipts"][0]


async def shopper_gets_an_invoice(
    stack: dict[str, str], shopper: Actor, chain: Chain, receipt: dict[str, Any]
) -> tuple[str, str]:
    """The shopper claims the receipt by its code and asks for an invoice for line 0 in
    the portal; returns the invoice's id and number once its PDF is ready."""
    client = mongo_client(Settings(**stack))
    try:

        async def ingested() -> dict | None:
            return await find_receipt_by_code(client, chain.chain_id, receipt["code"])

        await eventually(ingested, timeout=60, what="receipt-ingest to store the receipt")
    finally:
        await client.close()
    http = shopper.client
    claimed = await http.post(
        "/me/receipts/add", data={"code": receipt["code"], "csrf": shopper.csrf}
    )
    page = f"/me/receipts/{chain.chain_id}/{receipt['receipt_id']}"
    assert claimed.status_code == 303 and claimed.headers["location"] == page, claimed.text
    form = {k: v.format(qty_a=receipt["lines"][0]["quantity"]) for k, v in REQUEST_FORM.items()}
    asked = await http.post(page, data=form | {"name": "Kupujący Testowy", "csrf": shopper.csrf})
    assert asked.status_code == 303, asked.text[-2000:]
    invoice_id = asked.headers["location"].rsplit("/", 1)[1]

    async def downloadable() -> bool:
        shown = await http.get(f"/me/invoices/{invoice_id}")
        return shown.status_code == 200 and 'id="download"' in shown.text

    await eventually(downloadable, timeout=120, interval=1, what="the shopper's invoice PDF")
    found = await delivery(stack, chain.chain_id, invoice_id, RENDERED)
    assert found and found.get("number"), found
    return invoice_id, found["number"]


async def delivered_utility_invoice(tenant: Tenant, domain: str, run: str) -> dict[str, str]:
    """One invoice of the utility, mailed to `domain` (not the tenant's own test domain, whose
    mail test_billing_flow counts) in a series of its own; downloaded once through its link."""
    invoices = demo_invoices(1, seed=5, email_domain=domain, series=f"AUTHZ/{run}")
    async with _client(headers=tenant.auth) as api:
        accepted = await api.post("/api/v1/batches", json={"invoices": invoices})
        assert accepted.status_code == 202, accepted.text
        batch_id = accepted.json()["batch_id"]

        async def complete() -> bool:
            status = await api.get(f"/api/v1/batches/{batch_id}")
            return status.status_code == 200 and status.json()["complete"]

        await eventually(complete, timeout=180, interval=1, what="the utility batch")

        async def link() -> str | None:
            for mail in await mails_to(domain):
                if found := LINK.search(mail.get("text") or ""):
                    return found.group(1)
            return None

        token = await eventually(link, timeout=60, what="the invoice e-mail")
        details = (await api.get(f"/api/v1/batches/{batch_id}", params={"details": "true"})).json()
        (row,) = details["invoices"]
        async with _client() as customer:
            # As a person's browser: the landing page first, then the button.
            browser = {
                "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
                "Accept-Language": "pl-PL",
                "Sec-Fetch-User": "?1",
            }
            await customer.get(f"/i/{token}", headers=browser)
            downloaded = await customer.post(f"/i/{token}/download", headers=browser)
            assert downloaded.status_code == 200

        async def confirmed() -> bool:
            found = await api.get("/api/v1/confirmations", params={"batch_id": batch_id})
            return bool(found.json()["confirmations"])

        await eventually(confirmed, timeout=60, what="the download's confirmation")
    return {"batch_u": batch_id, "inv_u": row["invoice_id"], "no_u": row["number"], "token": token}


async def signed_out_copy(actor: Actor, cookie: str, logout: Callable[[], Awaitable[Any]]) -> Actor:
    """A client holding `actor`'s session cookie as it was before signing out."""
    value = actor.client.cookies.get(cookie)
    assert value, f"no {cookie} cookie"
    response = await logout()
    assert response.status_code == 303, response.text
    return Actor(_client(cookies={cookie: value}))


@pytest.fixture(scope="module")
async def world(services: bool, stack: dict[str, str], tenant: Tenant, chain_user) -> World:
    bootstrap = stack["kafka_bootstrap"]
    run = uuid.uuid4().hex[:8]
    await reset_receipt_code_budget_of_this_ip(stack)
    x, y, utility2 = await asyncio.gather(
        register_chain(bootstrap, f"ksiegowosc@x-{run}.authz.test"),
        register_chain(bootstrap, f"ksiegowosc@y-{run}.authz.test", store=Y_STORE),
        register_tenant(bootstrap, "Druga Gazownia Testowa"),
    )
    await own_series(bootstrap, y, Y_STORE, f"Sieć Y {run}", Y_SERIES)
    await asyncio.gather(known_chain(x), known_chain(y), known_tenant(utility2))
    ux, uy = await chain_user(x.chain_id), await chain_user(y.chain_id)
    email_a, email_b = f"a@{run}.shoppers.authz.test", f"b@{run}.shoppers.authz.test"
    await asyncio.gather(new_shopper(email_a), new_shopper(email_b))
    users = {
        "shopperA": (email_a, PASSWORD),
        "shopperB": (email_b, PASSWORD),
        "chainX": (ux.email, ux.password),
        "chainY": (uy.email, uy.password),
    }
    actors = dict(
        zip(
            users,
            await asyncio.gather(
                sign_in(email_a, PASSWORD, "/me"),
                sign_in(email_b, PASSWORD, "/me"),
                sign_in(ux.email, ux.password, "/chain"),
                sign_in(uy.email, uy.password, "/chain"),
            ),
            strict=True,
        )
    )

    async def y_renamed() -> bool:
        return f"Sieć Y {run}" in (await actors["chainY"].client.get("/chain")).text

    await eventually(y_renamed, timeout=30, what="chain Y's own series to be known")

    ra, rb = await asyncio.gather(push_receipt(x, f"PA-{run}"), push_receipt(y, f"PB-{run}"))
    (inv_a, no_a), (inv_b, no_b), utility = await asyncio.gather(
        shopper_gets_an_invoice(stack, actors["shopperA"], x, ra),
        shopper_gets_an_invoice(stack, actors["shopperB"], y, rb),
        delivered_utility_invoice(tenant, f"u-{run}.authz.test", run),
    )
    assert no_a != no_b and no_b.startswith("FVY/"), (no_a, no_b)

    actors["operatorU"] = await operator_sign_in(tenant.api_key)
    actors["operatorU2"] = await operator_sign_in(utility2.api_key)
    gone = await operator_sign_in(tenant.api_key)
    actors["operatorU-loggedout"] = await signed_out_copy(
        gone,
        "einvoice_session",
        lambda: gone.client.post("/operator/logout", data={"csrf": gone.operator_csrf}),
    )
    actors["operatorU3-keyrevoked"], batch_u3 = await revoked_operator(bootstrap)
    again = await sign_in(email_a, PASSWORD, "/me")
    actors["shopperA-loggedout"] = await signed_out_copy(
        again,
        "einvoice_account",
        lambda: again.client.post("/account/logout", data={"csrf": again.csrf}),
    )
    values = {
        "x": x.chain_id,
        "y": y.chain_id,
        "pos_x": x.chain_key,
        "pos_x_store": x.store_key,
        "pos_y": y.chain_key,
        "utility_key": tenant.api_key,
        "utility2_key": utility2.api_key,
        "code_a": ra["code"],
        "rcpt_a": ra["receipt_id"],
        "rcpt_a8": ra["receipt_id"][:8],
        "rno_a": ra["number"],
        "qty_a": ra["lines"][0]["quantity"],
        "rcpt_b": rb["receipt_id"],
        "rcpt_b8": rb["receipt_id"][:8],
        "rno_b": rb["number"],
        "inv_a": inv_a,
        "no_a": no_a,
        "inv_b": inv_b,
        "no_b": no_b,
        "fake_token": secrets.token_urlsafe(32),
        "fake_code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ",
        "batch_u3": batch_u3,
    } | utility
    created = World(values, actors, users, stack)
    created.clients = [a.client for a in actors.values()] + [gone.client, again.client]
    yield created
    for client in created.clients:
        await client.aclose()


# --- request bodies and follow-up checks ----------------------------------------------------


def _receipt(world: World, chain_id: str, store: str) -> dict[str, Any]:
    body = demo.demo_receipt(
        random.Random(uuid.uuid4().int), lines=2, store_id=store, issued_at=datetime.now(UTC)
    )
    world.values["pushed_rid"] = receipt_id_for(
        chain_id, store, body["till_id"], body["number"], datetime.fromisoformat(body["issued_at"])
    )
    return body


BODIES: dict[str, Callable[[World], Any]] = {
    "empty_batch": lambda w: {"invoices": []},
    "nothing": lambda w: {},
    "receipt_s001": lambda w: _receipt(w, w.values["x"], "S001"),
    "receipt_y_store": lambda w: _receipt(w, w.values["x"], Y_STORE),
    "receipts_mixed": lambda w: {
        "receipts": [_receipt(w, w.values["x"], "S001"), _receipt(w, w.values["x"], Y_STORE)]
    },
    "receipt_naming_x": lambda w: (
        _receipt(w, w.values["y"], Y_STORE) | {"tenant_id": w.values["x"]}
    ),
}


async def operator_still_signed_in(world: World, actor: Actor) -> None:
    page = await actor.client.get("/operator")
    assert world.fmt("{batch_u}") in page.text, "a refused sign-out leaves the session"


async def no_invoice_for_b(world: World, actor: Actor) -> None:
    page = await actor.client.get("/me")
    ids = set(re.findall(r'href="/me/invoices/([^"?]+)', page.text))
    assert ids == {world.values["inv_b"]}, ids


async def y_branding_is_ys_only(world: World, actor: Actor) -> None:
    colour = f'value="{BRANDING_Y["primary_color"]}"'

    async def published() -> bool:
        return colour in (await actor.client.get("/chain/branding")).text

    await eventually(published, timeout=30, what="chain Y's new layout")
    x_page = await world.actors["chainX"].client.get("/chain/branding")
    assert x_page.status_code == 200 and colour not in x_page.text, "Y changed X's layout"


THEN: dict[str, Callable[[World, Actor], Awaitable[None]]] = {
    "operator_still_signed_in": operator_still_signed_in,
    "no_invoice_for_b": no_invoice_for_b,
    "y_branding_is_ys_only": y_branding_is_ys_only,
}


# --- running a row --------------------------------------------------------------------------


async def actor_for(world: World, row: Row) -> tuple[Actor, bool]:
    """The client to send `row` with, and whether it is this row's own (to close after)."""
    if row.actor in KEY_ACTORS or row.actor == "anonymous":
        headers = {}
        if row.actor in KEY_ACTORS:
            headers["Authorization"] = f"Bearer {world.fmt(KEY_ACTORS[row.actor])}"
        actor = Actor(_client(headers=headers))
        if row.csrf:  # a visitor's form token: the login page's (anonymous cookie) or operator's
            page = "/operator" if row.path.startswith("/operator") else "/account/login"
            token = await _token(actor.client, page)
            actor.csrf = actor.operator_csrf = token
        return actor, True
    if row.fresh and row.actor in OPERATORS:
        key = "{utility_key}" if row.actor == "operatorU" else "{utility2_key}"
        return await operator_sign_in(world.fmt(key)), True
    if row.fresh and row.actor in world.users:
        email, password = world.users[row.actor]
        landing = "/me" if row.actor in SHOPPERS else "/chain"
        actor = await sign_in(email, password, landing)
        if row.note == "X's form token":  # this session, another user's token
            actor.csrf = world.actors["chainX"].csrf
        return actor, True
    return world.actors[row.actor], False


def expected_location(world: World, row: Row) -> str:
    if row.location == LOGIN:
        path = world.fmt(row.path).split("?", 1)[0]
        return f"/account/login?{urlencode({'next': path})}"
    return world.fmt(row.location or "")


@pytest.mark.parametrize("row", MATRIX, ids=[row.id for row in MATRIX])
async def test_access(world: World, row: Row) -> None:
    actor, own = await actor_for(world, row)
    try:
        kwargs: dict[str, Any] = {}
        if row.body is not None:
            kwargs["json"] = BODIES[row.body](world)
        if row.form is not None:
            data = {k: world.fmt(v) for k, v in row.form.items()}
            if row.csrf:
                operator = row.path.startswith("/operator")
                data["csrf"] = actor.operator_csrf if operator else actor.csrf
                assert data["csrf"], f"{row.actor} has no form token for {row.path}"
            kwargs["data"] = data
        path = world.fmt(row.path)
        response = await actor.client.request(row.method, path, **kwargs)
        text = response.text
        where = f"{row.actor} {row.method} {path}"
        assert response.status_code == row.status, (
            f"{where}: {response.status_code}, expected {row.status}; "
            f"location={response.headers.get('location')!r}; body: {text[:600]!r}"
        )
        if row.location is not None:
            assert response.headers.get("location") == expected_location(world, row), where
        if row.content_type is not None:
            assert response.headers.get("content-type", "").startswith(row.content_type), where
        for marker in row.contains:
            assert world.fmt(marker) in text, f"{where}: {world.fmt(marker)!r} not in the body"
        for marker in row.absent:
            assert world.fmt(marker) not in text, f"{where}: shows {world.fmt(marker)!r}"
        if row.then:
            await THEN[row.then](world, actor)
    finally:
        if own:
            await actor.client.aclose()


def test_the_matrix_size(capsys: pytest.CaptureFixture[str]) -> None:
    ids = [row.id for row in MATRIX]
    assert len(ids) == len(set(ids)), "every row has its own id"
    assert {row.actor for row in MATRIX} == set(ACTORS), "every actor is in the matrix"
    assert all(row.then is None or row.then in THEN for row in MATRIX)
    assert all(row.body is None or row.body in BODIES for row in MATRIX)
    assert len(MATRIX) >= 150
    with capsys.disabled():
        print(f"\nauthorization matrix: {len(MATRIX)} rows, {len(ACTORS)} actors")
