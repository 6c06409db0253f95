"""Debian's chromium driven by Playwright (never a browser Playwright downloads itself)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from tests.support import GATEWAY, ROOT, eventually, mails_to

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
SCREENS = ROOT / ".run" / "screens"


@asynccontextmanager
async def chromium(*extra_flags: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*FLAGS, *extra_flags]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot(page: Page, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


VERIFY_LINK = re.compile(r"http://127\.0\.0\.1:8000/account/verify/[A-Za-z0-9_-]+")


async def register_and_sign_in(page: Page, email: str, password: str) -> None:
    """Register, confirm the e-mail through the link maildev caught, and sign in."""
    await page.goto(f"{GATEWAY}/account/register")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    domain = email.split("@", 1)[1]

    async def verification_link() -> str | None:
        for mail in await mails_to(domain):
            found = VERIFY_LINK.search(mail.get("text") or "")
            if found:
                return found.group(0)
        return None

    link = await eventually(verification_link, timeout=30, what="the verification e-mail")
    await page.goto(link)
    await page.click("button[type=submit]")
    await page.goto(f"{GATEWAY}/account/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r".*/me.*"))
