"""Scanning a receipt's QR code with the camera: Chromium plays a video of the code as its
camera (--use-file-for-fake-video-capture), the page decodes it and opens the receipt."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from PIL import Image

from einvoice_tools.receiptqr import qr_png
from tests.support import GATEWAY
from tests.support.browser import PHONE, chromium, register_and_sign_in, screenshot
from tests.support.builders import LINES
from tests.support.retail import pushed_receipt

pytestmark = [pytest.mark.e2e]


def qr_video(code: str, path: Path, size: tuple[int, int] = (640, 480), frames: int = 10) -> Path:
    """A Y4M (YUV 4:2:0) video showing the code's QR in the middle of a grey frame."""
    qr = Image.open(io.BytesIO(qr_png(code, scale=8))).convert("RGB")
    frame = Image.new("RGB", size, (200, 200, 200))
    frame.paste(qr, ((size[0] - qr.width) // 2, (size[1] - qr.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (size[0] // 2, size[1] // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path


async def test_the_camera_reads_the_receipts_qr_code(chain, tmp_path) -> None:
    receipt = await pushed_receipt(chain, LINES)
    video = qr_video(receipt["code"], tmp_path / "qr.y4m")
    async with chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ) as browser:
        context = await browser.new_context(viewport=PHONE, locale="pl-PL")
        await context.grant_permissions(["camera"], origin=GATEWAY)
        page = await context.new_page()
        await register_and_sign_in(
            page, f"skan@{uuid.uuid4().hex[:8]}.shopper.test", "Zażółć-gęślą-jaźń-42"
        )
        await page.goto(f"{GATEWAY}/me/receipts/add")
        await page.click("#scan")
        await page.wait_for_selector("text=Wybierz pozycje do faktury", timeout=30_000)
        await screenshot(page, "shop-after-scan-phone")
        assert f"/me/receipts/{chain.chain_id}/{receipt['receipt_id']}" in page.url
        assert await page.locator("text=Ser gouda").count() == 1
        await context.close()
