"""Link scanners fetch every URL of a message: the landing page, HEAD, and a scanner's POST
of the download are recorded (for the operator) but confirm nothing; a person's download
does, with IP and host."""

from __future__ import annotations

import re

import httpx
import pytest

from einvoice_tools.demo import demo_invoices
from tests.support import CSRF_FIELD, GATEWAY, eventually, mails_to, operator_session
from tests.support.parties import Tenant

pytestmark = [pytest.mark.e2e]

LINK = re.compile(r"http://127\.0\.0\.1:8000/i/[A-Za-z0-9_-]{43,}")
SAFE_LINKS_IP = "40.92.12.7"  # Microsoft Exchange Online Protection
BROWSER = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130",
    "Accept-Language": "pl-PL,pl;q=0.9",
}


async def _confirmations(tenant: Tenant, batch_id: str, **params: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        response = await client.get(
            "/api/v1/confirmations", params={"batch_id": batch_id, **params}
        )
    return response.json()["confirmations"]


async def test_scanners_are_recorded_but_only_a_person_confirms(tenant: Tenant) -> None:
    domain = f"scan.{tenant.email_domain}"
    invoices = demo_invoices(1, seed=71, email_domain=domain, series="SCAN/2026/11")
    invoices[0]["customer_id"] = "KL-000071"
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        accepted = await client.post("/api/v1/batches", json={"invoices": invoices})
    batch_id = accepted.json()["batch_id"]
    mails = await eventually(lambda: mails_to(domain), timeout=90, what="the e-mail")
    link = LINK.search(mails[0]["text"]).group(0)

    async with httpx.AsyncClient() as scanner:  # no cookies kept between its requests
        assert (await scanner.head(link)).status_code == 200
        assert (await scanner.get(link)).status_code == 200
        agent = {
            "User-Agent": "Mozilla/5.0 (compatible; Barracuda Sentinel; +https://www.barracuda.com)"
        }
        assert (await scanner.post(f"{link}/download", headers=agent)).status_code == 200
        assert (await scanner.post(f"{link}/download")).status_code == 200  # python-httpx

    # Microsoft's Safe Links detonates links in a browser, seconds after delivery, from
    # Exchange Online Protection's network (it arrives through the proxy, X-Forwarded-For).
    async with httpx.AsyncClient(headers=BROWSER) as detonation:
        await detonation.get(link, headers={"X-Forwarded-For": SAFE_LINKS_IP})
        detonated = await detonation.post(
            f"{link}/download",
            headers={"Sec-Fetch-User": "?1", "X-Forwarded-For": SAFE_LINKS_IP},
        )
        assert detonated.status_code == 200

    flagged = await eventually(
        lambda: _at_least(tenant, batch_id, 3, include_flagged="true"),
        timeout=30,
        what="the scanners' opens to be recorded",
    )
    assert all(row["flags"] and row["counted"] is False for row in flagged)
    assert {f for row in flagged for f in row["flags"]} >= {"scanner_agent"}
    [from_safe_links] = [row for row in flagged if row["ip"] == SAFE_LINKS_IP]
    assert from_safe_links["flags"] == ["datacentre_right_after_sending"]
    assert await _confirmations(tenant, batch_id) == [], "scanners confirm nothing"

    async with httpx.AsyncClient(headers=BROWSER) as person:
        await person.get(link)  # the landing page, as the browser shows it
        downloaded = await person.post(f"{link}/download", headers={"Sec-Fetch-User": "?1"})
        assert downloaded.status_code == 200

    [confirmation] = await eventually(
        lambda: _at_least(tenant, batch_id, 1), timeout=30, what="the person's confirmation"
    )
    assert confirmation["counted"] is True and confirmation["flags"] == []
    assert confirmation["ip"] == "127.0.0.1" and confirmation["host"]
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        status = (await client.get(f"/api/v1/batches/{batch_id}")).json()
    assert status["counts"]["opened"] == 1

    # Billing's feed: each confirmed invoice once, with what debt collection needs.
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        feed = (await client.get("/api/v1/confirmations/feed", params={"limit": 1000})).json()
        [item] = [i for i in feed["items"] if i["number"] == invoices[0]["number"]]
        assert item["status"] == "confirmed"
        assert item["customer_id"] == "KL-000071" and item["open_count"] == 1
        assert item["ip"] == "127.0.0.1" and item["host"] and item["first_opened_at"]
        assert item["user_agent"] == BROWSER["User-Agent"]
        later = (
            await client.get("/api/v1/confirmations/feed", params={"since": feed["next"]})
        ).json()
        assert invoices[0]["number"] not in [i["number"] for i in later["items"]]
        assert later["next"] == feed["next"] or later["items"]
        bad = await client.get("/api/v1/confirmations/feed", params={"since": "nonsense"})
        assert bad.status_code == 422
    print(
        f"\nscanner simulation: {len(flagged) + 3} fetches by scanners (HEAD, GET, 2 scanner "
        f"POSTs, a browser from Safe Links' network seconds after sending: landing + download), "
        f"{len(flagged)} opens recorded and flagged, 0 confirmations; 1 person, 1 confirmation"
    )


async def test_the_operators_own_download_never_counts(tenant: Tenant) -> None:
    """An operator who opens a customer's link in the browser they signed in with (to check
    what the customer sees) is recorded, marked, and confirms nothing, also after signing out."""
    domain = f"operator-view.{tenant.email_domain}"
    invoices = demo_invoices(1, seed=73, email_domain=domain, series="OPVIEW/2026/11")
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        accepted = await client.post("/api/v1/batches", json={"invoices": invoices})
    batch_id = accepted.json()["batch_id"]
    mails = await eventually(lambda: mails_to(domain), timeout=90, what="the e-mail")
    link = LINK.search(mails[0]["text"]).group(0)

    async with operator_session(tenant.api_key) as operator:
        csrf = CSRF_FIELD.search((await operator.get("/operator")).text).group(1)
        await operator.post("/operator/logout", data={"csrf": csrf})
        assert (await operator.get(link, headers=BROWSER)).status_code == 200
        downloaded = await operator.post(
            f"{link}/download", headers=BROWSER | {"Sec-Fetch-User": "?1"}
        )
        assert downloaded.status_code == 200
        assert downloaded.content.startswith(b"%PDF")

    [row] = await eventually(
        lambda: _at_least(tenant, batch_id, 1, include_flagged="true"),
        timeout=30,
        what="the operator's open to be recorded",
    )
    assert row["flags"] == ["operator_view"] and row["counted"] is False
    assert await _confirmations(tenant, batch_id) == [], "the operator confirms nothing"

    async with operator_session(tenant.api_key) as operator:
        page = await operator.get("/operator/confirmations", params={"batch_id": batch_id})
        assert "operator (nie liczy się)" in page.text


async def _at_least(tenant: Tenant, batch_id: str, count: int, **params: str) -> list | None:
    rows = await _confirmations(tenant, batch_id, **params)
    return rows if len(rows) >= count else None


async def test_a_resent_email_brings_a_new_link_and_the_old_one_stops(tenant: Tenant) -> None:
    domain = f"resend.{tenant.email_domain}"
    invoices = demo_invoices(1, seed=72, email_domain=domain, series="RESEND/2026/11")
    async with httpx.AsyncClient(base_url=GATEWAY, headers=tenant.auth) as client:
        batch_id = (await client.post("/api/v1/batches", json={"invoices": invoices})).json()[
            "batch_id"
        ]
    first = await eventually(lambda: mails_to(domain), timeout=90, what="the first e-mail")
    old_link = LINK.search(first[0]["text"]).group(0)

    async with operator_session(tenant.api_key) as operator:
        page = await operator.get(f"/operator/batches/{batch_id}")
        invoice_id = re.search(r"/operator/invoices/([^/]+)/resend", page.text).group(1)
        csrf = CSRF_FIELD.search(page.text).group(1)
        resent = await operator.post(f"/operator/invoices/{invoice_id}/resend", data={"csrf": csrf})
        assert resent.status_code == 303

    async def second_mail() -> list | None:
        found = await mails_to(domain)
        return found if len(found) >= 2 else None

    mails = await eventually(second_mail, timeout=60, what="the e-mail sent again")
    links = {LINK.search(m["text"]).group(0) for m in mails}
    [new_link] = links - {old_link}
    async with httpx.AsyncClient(headers=BROWSER) as person:
        gone = await person.get(old_link)
        assert gone.status_code == 404 and "nowy link" in gone.text
        assert (await person.get(new_link)).status_code == 200
        assert (await person.post(f"{old_link}/download")).status_code == 404
