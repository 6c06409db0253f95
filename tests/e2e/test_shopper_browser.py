"""A shopper in a real browser (phone-sized): register and verify through the e-mail, claim a
receipt a simulated till pushed, pick 2 of its 5 lines with a reduced quantity on one,
request the invoice, download the PDF and check its lines, VAT and totals."""

from __future__ import annotations

import io
import uuid

import pytest
from pypdf import PdfReader

from tests.support import GATEWAY, eventually
from tests.support.browser import PHONE, chromium, register_and_sign_in, screenshot
from tests.support.builders import LINES
from tests.support.retail import pushed_receipt

pytestmark = [pytest.mark.e2e]


async def test_a_shopper_turns_a_receipt_into_an_invoice_in_the_browser(chain) -> None:
    receipt = await pushed_receipt(chain, LINES)
    email = f"ola@{uuid.uuid4().hex[:8]}.shopper.test"
    async with chromium() as browser:
        context = await browser.new_context(viewport=PHONE, locale="pl-PL", accept_downloads=True)
        page = await context.new_page()
        await register_and_sign_in(page, email, "Zażółć-gęślą-jaźń-42")

        await page.click("text=Dodaj paragon")
        await page.fill("#code", receipt["code"].lower().replace("-", " "))
        await page.click("#code-form button[type=submit]")
        await page.wait_for_selector("text=Wybierz pozycje do faktury")

        # Line 2 (ser, 0.535 kg) whole, line 4 (płyn, 3 szt.) reduced to 2.
        await page.check("input[name=pick_1]")
        await page.check("input[name=pick_3]")
        await page.fill("input[name=qty_3]", "2")
        await page.fill("#name", "Józefina Żółkiewska")
        await page.fill("#street", "ul. Ogrodowa 3")
        await page.fill("#postal_code", "60-101")
        await page.fill("#city", "Poznań")
        await screenshot(page, "shop-pick-lines-phone")
        await page.click("#pick-form button[type=submit]")

        await page.wait_for_url("**/me/invoices/*")

        async def downloadable() -> bool:
            await page.reload()
            return await page.locator("#download").count() == 1

        await eventually(downloadable, timeout=90, interval=1, what="the PDF to be ready")
        await screenshot(page, "shop-invoice-phone")
        async with page.expect_download() as download_info:
            await page.click("#download")
        download = await download_info.value
        pdf = await download.path()
        content = pdf.read_bytes()
        await context.close()

    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages).split()
    )
    assert "Józefina Żółkiewska" in text
    assert f"FP: faktura do paragonu nr {receipt['number']}" in text
    assert "Ser gouda" in text and "Płyn do naczyń" in text
    assert "Chleb żytni" not in text and "Kawa ziarnista" not in text and "Jabłka" not in text
    # 5%: 21.35 gross -> VAT 1.02, net 20.33; 23%: 2 x 6.49 = 12.98 -> VAT 2.43, net 10.55.
    assert "Do zapłaty: 34,33 PLN" in text
    for amount in ("20,33", "1,02", "10,55", "2,43", "12,98", "21,35"):
        assert amount in text, amount


async def test_another_shopper_cannot_claim_the_same_receipt(chain) -> None:
    receipt = await pushed_receipt(chain, LINES)
    async with chromium() as browser:
        for n, expected in (
            (1, "Wybierz pozycje do faktury"),
            (2, "Ten paragon został już dodany do innego konta."),
        ):
            context = await browser.new_context(viewport=PHONE, locale="pl-PL")
            page = await context.new_page()
            await register_and_sign_in(
                page, f"s{n}@{uuid.uuid4().hex[:8]}.shopper.test", "Zażółć-gęślą-jaźń-42"
            )
            await page.goto(f"{GATEWAY}/me/receipts/add")
            await page.fill("#code", receipt["code"])
            await page.click("#code-form button[type=submit]")
            await page.wait_for_selector(f"text={expected}")
            await context.close()
