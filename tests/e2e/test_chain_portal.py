"""The retail chain's portal through the running services: two chains X and Y, a user for
each, invoices for both (tills push receipts, shoppers' requests go through receipt-ingest,
invoice-builder, pdf-renderer, mailer). X's user sees every invoice of X and nothing of Y
(list, CSV, PDF), the filters work, the CSV is Excel's, and X's own invoice layout (a
template, colours, a logo) is validated in the sandbox, previewed, saved, and used for X's
next invoice only."""

from __future__ import annotations

import io
import random
import re
import struct
import uuid
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from einvoice import events
from einvoice.readmodels import tracking
from einvoice_tools import demo
from tests.support import CSRF_FIELD, GATEWAY, eventually, shopper_request
from tests.support.browser import PHONE, chromium, screenshot
from tests.support.parties import Chain, ChainUser, known_chain, push
from tests.support.retail import delivery, send

pytestmark = [pytest.mark.e2e]

ROW_ID = re.compile(r'data-invoice="([^"]+)"')
DONE = {"mailed", "opened", "failed"}


class Portal:
    """A chain user's browser session over httpx: cookies, and the form token of the last
    page (every POST carries it, as the pages' forms do)."""

    def __init__(self, user: ChainUser) -> None:
        self.user = user
        self.http = httpx.AsyncClient(base_url=GATEWAY, timeout=60)
        self.csrf = ""

    async def get(self, path: str, **params: str) -> httpx.Response:
        response = await self.http.get(path, params=params)
        if found := CSRF_FIELD.search(response.text if "html" in _type(response) else ""):
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
        response = await self.http.post(path, data={"csrf": self.csrf, **data}, **kwargs)
        if found := CSRF_FIELD.search(response.text if "html" in _type(response) else ""):
            self.csrf = found.group(1)
        return response

    async def sign_in(self) -> None:
        await self.get("/account/login")
        response = await self.post(
            "/account/login", {"email": self.user.email, "password": self.user.password}
        )
        assert response.status_code == 303 and response.headers["location"] == "/chain"

        async def ready() -> bool:
            return (await self.get("/chain")).status_code == 200

        await eventually(ready, timeout=30, what="the gateway to know the chain")

    async def ids(self, **filters: str) -> set[str]:
        response = await self.get("/chain", **filters)
        assert response.status_code == 200, response.text
        return set(ROW_ID.findall(response.text))

    async def close(self) -> None:
        await self.http.aclose()


def _type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "")


def pdf_text(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(" ".join(p.extract_text() for p in pages).split())


def png() -> bytes:
    """A small valid PNG (4x4, RGB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xc0\x10\x30" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


NO_FILE = {"logo": ("", b"", "application/octet-stream")}  # what a browser sends


async def pushed(chain: Chain, store: str, buyer_nip: str | None = None) -> dict[str, Any]:
    body = demo.demo_receipt(
        random.Random(uuid.uuid4().int),
        lines=3,
        store_id=store,
        issued_at=datetime.now(UTC),
        buyer_nip=buyer_nip,
    )
    response = await push(chain.chain_key, body)
    assert response.status_code == 202, response.text
    return body | response.json()["receipts"][0]


def whole_first_line(receipt: dict[str, Any]) -> list[tuple[int, str]]:
    """Line 0 in its full quantity (it may be weighed: 0.535 kg)."""
    return [(0, receipt["lines"][0]["quantity"])]


def company_request(
    chain_id: str, receipt: dict[str, Any], nip: str, email: str, name: str
) -> events.Envelope:
    request = events.RetailInvoiceRequested(
        invoice_id=str(uuid.uuid4()),
        receipt_id=receipt["receipt_id"],
        shopper_id=f"shopper-{email}",
        shopper_email=email,
        buyer_kind="company",
        buyer={
            "name": name,
            "nip": nip,
            "email": email,
            "address": {"street": "ul. Kupiecka 7", "postal_code": "00-950", "city": "Warszawa"},
        },
        picks=[{"line": i, "quantity": q} for i, q in whole_first_line(receipt)],
    )
    return events.envelope(
        events.RETAIL_REQUESTED, request, tenant_id=chain_id, correlation_id=receipt["receipt_id"]
    )


def renamed(envelope: events.Envelope, name: str) -> events.Envelope:
    """A shopper's request with another buyer name (e.g. one a spreadsheet would run)."""
    payload = dict(envelope.payload) | {"buyer": dict(envelope.payload["buyer"]) | {"name": name}}
    return envelope.model_copy(update={"payload": payload})


async def settled(stack: dict[str, str], chain_id: str, ids: list[str]) -> dict[str, dict]:
    async def all_done() -> dict[str, dict] | None:
        found = {i: await delivery(stack, chain_id, i, DONE) for i in ids}
        return found if all(found.values()) else None

    return await eventually(all_done, timeout=120, interval=1, what="the invoices to settle")


@pytest.fixture(scope="module")
async def world(services: bool, stack: dict[str, str], chain_user) -> dict[str, Any]:
    """Chain X: invoice A (store S001, a private buyer whose name starts with `=`), B (store
    S002, a company with a NIP), F (refused: more than the receipt has); chain Y: one
    invoice. All settled (mailed or failed) before the tests look."""
    x, y = await known_chain(stack["kafka_bootstrap"]), await known_chain(stack["kafka_bootstrap"])
    domain = f"{uuid.uuid4().hex[:8]}.shoppers.test"
    nip = demo.valid_nip(random.Random(uuid.uuid4().int))
    ra = await pushed(x, "S001")
    rb = await pushed(x, "S002", buyer_nip=nip)
    ry = await pushed(y, "S001")
    a = renamed(
        shopper_request(x.chain_id, ra["receipt_id"], f"a@{domain}", whole_first_line(ra)),
        '=HYPERLINK("http://evil.test","Józefina")',
    )
    b = company_request(x.chain_id, rb, nip, f"b@{domain}", "Hurtownia Testowa SA")
    f = shopper_request(x.chain_id, ra["receipt_id"], f"f@{domain}", [(1, "999")])
    yq = shopper_request(y.chain_id, ry["receipt_id"], f"y@{domain}", whole_first_line(ry))
    await send(stack["kafka_bootstrap"], [a, b, f, yq])
    ids = {k: e.payload["invoice_id"] for k, e in {"a": a, "b": b, "f": f, "y": yq}.items()}
    found = await settled(stack, x.chain_id, [ids["a"], ids["b"], ids["f"]])
    found |= await settled(stack, y.chain_id, [ids["y"]])
    stages = {k: tracking.stage_of(found[i]) for k, i in ids.items()}
    assert stages == {"a": "mailed", "b": "mailed", "f": "failed", "y": "mailed"}, found
    return {
        "x": x,
        "y": y,
        "ux": await chain_user(x.chain_id),
        "uy": await chain_user(y.chain_id),
        "ids": ids,
        "docs": {k: found[i] for k, i in ids.items()},
        "nip": nip,
        "domain": domain,
    }


@pytest.fixture
async def portal_x(world) -> Portal:
    portal = Portal(world["ux"])
    await portal.sign_in()
    yield portal
    await portal.close()


@pytest.fixture
async def portal_y(world) -> Portal:
    portal = Portal(world["uy"])
    await portal.sign_in()
    yield portal
    await portal.close()


async def test_signed_out_visitors_go_to_the_login(world) -> None:
    async with httpx.AsyncClient(base_url=GATEWAY) as anonymous:
        for path in ("/chain", "/chain/invoices.csv", f"/chain/invoices/{world['ids']['a']}/pdf"):
            response = await anonymous.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/account/login?next=")


async def test_each_chain_sees_its_own_invoices_only(world, portal_x, portal_y) -> None:
    ids = world["ids"]
    mine = {ids["a"], ids["b"], ids["f"]}
    seen_x = await portal_x.ids()
    assert mine <= seen_x and ids["y"] not in seen_x
    # The tenant comes from the account: a query naming the other chain changes nothing.
    assert await portal_x.ids(tenant_id=world["y"].chain_id, chain=world["y"].chain_id) == seen_x
    seen_y = await portal_y.ids()
    assert ids["y"] in seen_y and not (mine & seen_y)

    page = await portal_x.get("/chain")
    assert world["docs"]["b"]["number"] in page.text and "Hurtownia Testowa SA" in page.text
    assert f'href="/chain/invoices/{ids["a"]}/pdf"' in page.text
    assert f"/chain/invoices/{ids['f']}/pdf" not in page.text, "a refused invoice has no PDF"
    assert 'class="pill failed"' in page.text and "wysłana" in page.text
    assert "Eksport CSV" in page.text
    english = await portal_x.get("/chain", lang="en")
    assert "Export CSV" in english.text and "mailed" in english.text

    own = await portal_x.get(f"/chain/invoices/{ids['a']}/pdf")
    assert own.status_code == 200 and _type(own) == "application/pdf"
    assert world["docs"]["a"]["number"] in pdf_text(own.content)
    assert (await portal_x.get(f"/chain/invoices/{ids['y']}/pdf")).status_code == 404
    assert (await portal_y.get(f"/chain/invoices/{ids['a']}/pdf")).status_code == 404
    assert (await portal_x.get(f"/chain/invoices/{ids['f']}/pdf")).status_code == 404
    assert (await portal_x.get("/chain/invoices/no-such-invoice/pdf")).status_code == 404

    csv_x = (await portal_x.get("/chain/invoices.csv")).content.decode("utf-8-sig")
    assert ids["a"] in csv_x and ids["y"] not in csv_x
    csv_y = (await portal_y.get("/chain/invoices.csv")).content.decode("utf-8-sig")
    assert ids["y"] in csv_y and not any(i in csv_y for i in mine)


async def test_filters(world, portal_x) -> None:
    ids, docs = world["ids"], world["docs"]
    a, b, f = ids["a"], ids["b"], ids["f"]
    assert await portal_x.ids(store="S002") == {b}
    # A refused invoice was never issued: it has no store, number or date, only a status.
    assert await portal_x.ids(store="S001") == {a}
    assert await portal_x.ids(nip=world["nip"]) == {b}
    dashed = f"{world['nip'][:3]}-{world['nip'][3:6]}-{world['nip'][6:8]}-{world['nip'][8:]}"
    assert await portal_x.ids(nip=dashed) == {b}
    assert await portal_x.ids(status="failed") == {f}
    assert await portal_x.ids(status="mailed") == {a, b}
    assert await portal_x.ids(status="rendered") == set()
    issued = date.fromisoformat(docs["a"]["issue_date"])
    day = timedelta(days=1)
    assert await portal_x.ids(**{"from": issued.isoformat(), "to": issued.isoformat()}) == {a, b}
    assert await portal_x.ids(**{"from": (issued + day).isoformat()}) == set()
    assert await portal_x.ids(to=(issued - day).isoformat()) == set()
    assert await portal_x.ids(store="S002", status="failed", nip="") == set()
    page = await portal_x.get("/chain", store="S002", status="mailed")
    assert 'href="/chain/invoices.csv?store=S002&amp;status=mailed"' in page.text
    assert '<option value="S002" selected>' in page.text


async def test_the_csv_export(world, portal_x) -> None:
    ids, docs = world["ids"], world["docs"]
    response = await portal_x.get("/chain/invoices.csv", to=docs["a"]["issue_date"])
    assert response.status_code == 200
    assert _type(response) == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="faktury-chain-[0-9a-f]{10}-\d{4}-\d{2}-\d{2}\.csv"',
        response.headers["content-disposition"],
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = response.content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == (
        "numer;data wystawienia;sklep;nabywca;NIP;brutto;status;invoice_id;status KSeF;numer KSeF"
    )
    # The last three cells: the invoice id, its KSeF state and number (the chain has no KSeF).
    rows = {line.rsplit(";", 3)[1]: line for line in lines[1:] if line}
    assert set(rows) == {ids["a"], ids["b"]}
    gross = docs["a"]["total_gross"]
    expected_gross = f"{float(gross):.2f}".replace(".", ",")
    # The buyer's name would be a formula: it gets a leading apostrophe (and CSV quoting).
    assert rows[ids["a"]] == (
        f"{docs['a']['number']};{docs['a']['issue_date']};S001;"
        f'"\'=HYPERLINK(""http://evil.test"",""Józefina"")";;{expected_gross};mailed;{ids["a"]};'
        "outside;"
    )
    assert f";{world['nip']};" in rows[ids["b"]] and "Hurtownia Testowa SA" in rows[ids["b"]]
    failed = (await portal_x.get("/chain/invoices.csv", status="failed")).content
    assert failed.decode("utf-8-sig").split("\r\n")[1:] == [
        f";;;Józefina Żółkiewska;;;failed;{ids['f']};;",
        "",
    ]
    by_nip = (await portal_x.get("/chain/invoices.csv", nip=world["nip"])).content
    nip_rows = [line for line in by_nip.decode("utf-8-sig").split("\r\n")[1:] if line]
    assert len(nip_rows) == 1 and f";{world['nip']};" in nip_rows[0]


async def test_the_portal_on_a_phone(world) -> None:
    user = world["ux"]
    async with chromium() as browser:
        context = await browser.new_context(viewport=PHONE, locale="pl-PL")
        page = await context.new_page()
        await page.goto(f"{GATEWAY}/account/login")
        await page.fill("#email", user.email)
        await page.fill("#password", user.password)
        await page.click("button[type=submit]")
        await page.wait_for_url(re.compile(r".*/chain$"))
        await page.wait_for_selector("table.invoices")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "no sideways scrolling on a phone"
        await screenshot(page, "chain-portal-phone")
        await page.goto(f"{GATEWAY}/chain/branding")
        await screenshot(page, "chain-branding-phone")
        await context.close()


TEMPLATE = """<html>
<head><meta charset="utf-8"/>
<style>
{{ font_css }}
body { font-family: {{ font_family }}; font-size: 10pt; }
h1 { color: {{ brand.primary }}; background-color: {{ brand.accent }}; }
</style></head>
<body>
{% if brand.logo %}<img src="{{ brand.logo }}" style="height: 10mm;"/>{% endif %}
<h1>MARKER</h1>
<p>Faktura VAT nr {{ invoice.number }}</p>
{% if invoice.receipt %}<p>FP: faktura do paragonu nr {{ invoice.receipt.number }}</p>{% endif %}
<p>Nabywca: {{ invoice.buyer.name }}</p>
<table>{% for line in invoice.lines %}
<tr><td>{{ line.name }}</td><td>{{ line.gross|money }}</td></tr>{% endfor %}
</table>
<p>Do zapłaty: {{ invoice.totals.gross|money }} {{ invoice.currency }}</p>
</body>
</html>
"""


async def test_the_chains_own_layout(world, stack, portal_x, portal_y) -> None:
    form = await portal_x.get("/chain/branding")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    colours = {"primary_color": "#1f3a5f", "accent_color": "#e8eef5"}

    broken = "<html>\n<body>\n<p>{{ invoice.number</p>\n</body>\n</html>"
    refused = await portal_x.post(
        "/chain/branding", colours | {"invoice_template": broken}, files=NO_FILE
    )
    assert refused.status_code == 422
    assert "Błąd składni szablonu (wiersz 3)" in refused.text, refused.text[-2000:]
    assert "Zapisano" not in refused.text

    hostile = await portal_x.post(
        "/chain/branding",
        colours | {"invoice_template": "<p>{{ ''.__class__ }}</p>"},
        files=NO_FILE,
    )
    assert hostile.status_code == 422
    assert "piaskownica zabrania (wiersz 1)" in hostile.text
    assert "__class__" in hostile.text and "unsafe" in hostile.text

    not_png = await portal_x.post(
        "/chain/branding",
        colours,
        files={"logo": ("logo.png", b"GIF89a" + b"\x00" * 64, "image/png")},
    )
    assert not_png.status_code == 422 and "Logo musi być plikiem PNG." in not_png.text
    too_big = png() + b"\x00" * (256 * 1024)
    oversize = await portal_x.post(
        "/chain/branding", colours, files={"logo": ("logo.png", too_big, "image/png")}
    )
    assert oversize.status_code == 422 and "najwyżej 256 kB" in oversize.text
    assert (
        await portal_x.http.post("/chain/branding", data=colours, files=NO_FILE)
    ).status_code == 403, "no form token, no change"

    marker = f"UKLAD-SIECI-X-{uuid.uuid4().hex[:8].upper()}"
    template = TEMPLATE.replace("MARKER", marker)
    layout = {"primary_color": "#b00b1e", "accent_color": "#fff1e0", "invoice_template": template}
    logo = {"logo": ("logo.png", png(), "image/png")}

    preview = await portal_x.post("/chain/branding/preview", layout, files=logo)
    assert preview.status_code == 200 and _type(preview) == "application/pdf"
    assert preview.headers["content-disposition"].startswith("inline")
    assert marker in pdf_text(preview.content)
    assert marker not in (await portal_x.get("/chain/branding")).text, "a preview saves nothing"

    saved = await portal_x.post("/chain/branding", layout, files=logo)
    assert saved.status_code == 200, saved.text[-2000:]
    assert "Zapisano" in saved.text

    async def published() -> bool:
        page = (await portal_x.get("/chain/branding")).text
        return marker in page and 'value="#b00b1e"' in page and "data:image/png;base64," in page

    await eventually(published, timeout=30, what="the gateway to see the new layout")
    assert marker not in (await portal_y.get("/chain/branding")).text

    # The next invoices: X's in the new layout, Y's unchanged.
    domain = world["domain"]
    rx, ry = await pushed(world["x"], "S001"), await pushed(world["y"], "S001")
    cx = shopper_request(
        world["x"].chain_id, rx["receipt_id"], f"cx@{domain}", whole_first_line(rx)
    )
    cy = shopper_request(
        world["y"].chain_id, ry["receipt_id"], f"cy@{domain}", whole_first_line(ry)
    )
    await send(stack["kafka_bootstrap"], [cx, cy])
    x_id, y_id = cx.payload["invoice_id"], cy.payload["invoice_id"]
    await settled(stack, world["x"].chain_id, [x_id])
    await settled(stack, world["y"].chain_id, [y_id])

    pdf_x = await portal_x.get(f"/chain/invoices/{x_id}/pdf")
    assert pdf_x.status_code == 200
    text_x = pdf_text(pdf_x.content)
    assert marker in text_x and "FP: faktura do paragonu nr" in text_x
    pdf_y = await portal_y.get(f"/chain/invoices/{y_id}/pdf")
    assert pdf_y.status_code == 200
    text_y = pdf_text(pdf_y.content)
    assert marker not in text_y and "Słownie" in text_y, "Y keeps the default layout"
    earlier = await portal_x.get(f"/chain/invoices/{world['ids']['a']}/pdf")
    assert marker not in pdf_text(earlier.content), "issued PDFs never change"
