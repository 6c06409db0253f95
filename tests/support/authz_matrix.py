"""The authorization matrix: every read and write endpoint of the gateway (billing API, POS
API, customer links, operator pages, the shopper's portal, the chain's portal, the account
entry points) crossed with the callers, and what each call must give. Each row is (actor,
method, path, exact status, and where it matters the redirect, the content type, what the
body must and must not show); its values are templates over the world that
tests/e2e/conftest.py builds (`{inv_a}`: shopper A's invoice id, ...)."""

from __future__ import annotations

from dataclasses import dataclass

LOGIN = "<login>"  # expected redirect: /account/login?next=<the path>
PDF = "application/pdf"
XML = "application/xml"
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
    # GET /api/v1/invoices/{id} and its FA(3) XML and UPO: the owner only; another tenant,
    # and a chain's invoice, are told they do not exist. The utility's tenant has no KSeF
    # connection: its invoice is outside KSeF, so it has an FA(3) XML but no UPO.
    rows += [
        Row(
            "utility",
            "GET",
            "/api/v1/invoices/{inv_u}",
            200,
            contains=("{no_u}", '"status":"outside"', "/api/v1/invoices/{inv_u}/fa3.xml"),
        ),
        Row("utility", "GET", "/api/v1/invoices/{inv_u}/fa3.xml", 200, content_type=XML),
        Row(
            "utility",
            "GET",
            "/api/v1/invoices/{inv_u}/upo.xml",
            404,
            contains=("outside KSeF",),
        ),
        Row("utility", "GET", "/api/v1/invoices/{inv_a}", 404, note="a chain's invoice"),
        Row("utility", "GET", "/api/v1/invoices/{inv_a}/fa3.xml", 404, note="a chain's invoice"),
    ]
    for path in (
        "/api/v1/invoices/{inv_u}",
        "/api/v1/invoices/{inv_u}/fa3.xml",
        "/api/v1/invoices/{inv_u}/upo.xml",
    ):
        rows.append(Row("utility2", "GET", path, 404, contains=("no invoice",), absent=("{no_u}",)))
        for actor in ("anonymous", "wrongkey", "posX", "shopperA", "chainX", "operatorU"):
            rows.append(Row(actor, "GET", path, 401, absent=("{no_u}",)))
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


# --- KSeF: the connection page of both portals, an invoice's FA(3) XML and UPO -------------
# (appended on its own so that the rows above stay as they are)

XML = "application/xml"
KSEF_FORM = {"environment": "test", "context_nip": "5261040829", "start_date": "2026-02-01"}
KSEF_REFUSED = "NIP musi mieć 10 cyfr"  # ks_err_nip: the form is checked, nothing is saved


def _ksef_rows() -> list[Row]:
    operator_outsiders = ("anonymous", "wrongkey", "utility", "shopperA", "chainX")
    chain_outsiders = ("anonymous", "wrongkey", "utility", "operatorU")
    rows = [
        Row("operatorU", "GET", "/operator/ksef", 200, contains=('name="context_nip"',)),
        Row("operatorU2", "GET", "/operator/ksef", 200, contains=('name="context_nip"',)),
        Row("operatorU-loggedout", "GET", "/operator/ksef", 303, location="/operator"),
        *(Row(a, "GET", "/operator/ksef", 303, location="/operator") for a in operator_outsiders),
        Row(
            "operatorU",
            "POST",
            "/operator/ksef",
            422,
            form=KSEF_FORM,
            csrf=True,
            contains=(KSEF_REFUSED,),
        ),
        Row("operatorU", "POST", "/operator/ksef", 422, form=KSEF_FORM, note="no form token"),
        Row(
            "operatorU",
            "POST",
            "/operator/ksef",
            403,
            form={"action": "disconnect", "csrf": "forged"},
            note="forged form token",
        ),
        Row(
            "anonymous",
            "POST",
            "/operator/ksef",
            303,
            location="/operator",
            form={"action": "disconnect"},
            csrf=True,
        ),
        Row(
            "chainX",
            "POST",
            "/operator/ksef",
            303,
            location="/operator",
            form={"action": "disconnect", "csrf": "{fake_token}"},
            note="a chain user",
        ),
        # An invoice's FA(3) XML (every issued invoice has one) and UPO (none: the world's
        # tenants are not connected to KSeF), the tenant's own only.
        Row("operatorU", "GET", "/operator/invoices/{inv_u}/fa3.xml", 200, content_type=XML),
        Row("operatorU", "GET", "/operator/invoices/{inv_u}/upo.xml", 404, contains=("UPO",)),
        Row("operatorU2", "GET", "/operator/invoices/{inv_u}/fa3.xml", 404),
        Row("operatorU2", "GET", "/operator/invoices/{inv_u}/upo.xml", 404),
        Row(
            "operatorU",
            "GET",
            "/operator/invoices/{inv_a}/fa3.xml",
            404,
            note="a chain's invoice",
        ),
        Row(
            "operatorU-loggedout",
            "GET",
            "/operator/invoices/{inv_u}/fa3.xml",
            303,
            location="/operator",
        ),
        # The chain's page.
        Row("chainX", "GET", "/chain/ksef", 200, contains=('name="context_nip"',)),
        Row("chainY", "GET", "/chain/ksef", 200, contains=('name="context_nip"',)),
        Row("shopperA", "GET", "/chain/ksef", 403, contains=(FORBIDDEN,)),
        *(Row(a, "GET", "/chain/ksef", 303, location=LOGIN) for a in chain_outsiders),
        Row(
            "chainX",
            "POST",
            "/chain/ksef",
            422,
            form=KSEF_FORM,
            csrf=True,
            contains=(KSEF_REFUSED,),
        ),
        Row(
            "chainX",
            "POST",
            "/chain/ksef",
            403,
            form=KSEF_FORM,
            contains=(CSRF_REFUSED,),
            note="no form token",
        ),
        Row(
            "shopperA",
            "POST",
            "/chain/ksef",
            403,
            form={"action": "disconnect"},
            csrf=True,
            contains=(FORBIDDEN,),
        ),
        Row(
            "anonymous",
            "POST",
            "/chain/ksef",
            303,
            location=LOGIN,
            form={"action": "disconnect"},
            csrf=True,
        ),
        # The chain's invoices' FA(3) XML and UPO.
        Row("chainX", "GET", "/chain/invoices/{inv_a}/fa3.xml", 200, content_type=XML),
        Row("chainX", "GET", "/chain/invoices/{inv_a}/upo.xml", 404, contains=("UPO",)),
        Row("chainY", "GET", "/chain/invoices/{inv_a}/fa3.xml", 404, absent=("<?xml",)),
        Row("chainX", "GET", "/chain/invoices/{inv_b}/fa3.xml", 404, absent=("<?xml",)),
        Row("chainX", "GET", "/chain/invoices/{inv_u}/fa3.xml", 404, note="a utility's invoice"),
        Row("shopperA", "GET", "/chain/invoices/{inv_a}/fa3.xml", 403),
        Row("shopperA", "GET", "/chain/invoices/{inv_a}/upo.xml", 403),
    ]
    for path in ("/operator/invoices/{inv_u}/fa3.xml", "/operator/invoices/{inv_u}/upo.xml"):
        rows += [Row(a, "GET", path, 303, location="/operator") for a in operator_outsiders]
    for path in ("/chain/invoices/{inv_a}/fa3.xml", "/chain/invoices/{inv_a}/upo.xml"):
        rows += [Row(a, "GET", path, 303, location=LOGIN) for a in chain_outsiders]
    return rows


MATRIX += _ksef_rows()
