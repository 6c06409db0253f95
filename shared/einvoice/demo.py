"""Demo data: a utility tenant and realistic water-and-sewage invoices (also used by tests)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stdnum.pl import nip as nip_checksum

from einvoice import events

DEMO_TENANT = "demo-wodociagi"
# Local demo only; `einvoice seed-demo --api-key` or EINVOICE_DEMO_API_KEY sets another.
DEMO_API_KEY = "demo-zdroj-local-key"
DEMO_SELLER = {
    "name": "Przedsiębiorstwo Wodociągów i Kanalizacji „Zdrój” Sp. z o.o.",
    "nip": "5260250274",
    "address": {"street": "ul. Gdańska 12", "postal_code": "90-001", "city": "Łódź"},
}
_FIRST = ["Józef", "Zofia", "Łukasz", "Małgorzata", "Grzegorz", "Jadwiga", "Paweł", "Żaneta"]
_LAST = ["Żółć", "Ślęzak", "Wąsowski", "Kaczmarczyk", "Gęś", "Michałowska", "Dąbrowski", "Źrebiec"]
_STREETS = ["ul. Słoneczna", "ul. Żeromskiego", "al. Kościuszki", "ul. Łąkowa", "ul. Ćwiklińskiej"]


def valid_nip(rng: random.Random) -> str:
    while True:
        candidate = f"{rng.randint(100, 999)}{rng.randint(0, 9999999):07d}"
        if nip_checksum.is_valid(candidate):
            return candidate


def demo_tenant(api_key_sha256: str) -> events.TenantConfig:
    return events.TenantConfig(
        tenant_id=DEMO_TENANT,
        name=DEMO_SELLER["name"],
        kind="utility",
        api_key_sha256=[api_key_sha256],
        mail_from="Zdrój — e-faktury <efaktury@zdroj.local>",
        reply_to="bok@zdroj.local",
    )


def demo_invoice(
    index: int, rng: random.Random, period: date, email_domain: str, series: str
) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    company = index % 4 == 0
    buyer: dict[str, Any] = {
        "name": f"{last} i Wspólnicy Sp. j." if company else f"{first} {last}",
        "address": {
            "street": f"{rng.choice(_STREETS)} {rng.randint(1, 120)}",
            "postal_code": f"9{rng.randint(0, 9)}-{rng.randint(100, 999)}",
            "city": "Łódź",
        },
        "email": f"klient{index:05d}@{email_domain}",
    }
    if company:
        buyer["nip"] = valid_nip(rng)
    water = Decimal(rng.randint(20, 180)) / 10
    issue = period + timedelta(days=1)
    return {
        "number": f"{series}/{index:06d}",
        "issue_date": issue.isoformat(),
        "sale_date": period.isoformat(),
        "price_basis": "net",
        "seller": DEMO_SELLER,
        "buyer": buyer,
        "lines": [
            {
                "name": "Dostawa wody",
                "quantity": str(water),
                "unit": "m³",
                "unit_price": "5.87",
                "vat_rate": "8",
            },
            {
                "name": "Odprowadzanie ścieków",
                "quantity": str(water),
                "unit": "m³",
                "unit_price": "8.12",
                "vat_rate": "8",
            },
            {
                "name": "Opłata abonamentowa",
                "quantity": "1",
                "unit": "mies.",
                "unit_price": "12.50",
                "vat_rate": "8",
            },
            {
                "name": "Wymiana wodomierza (usługa dodatkowa)",
                "quantity": "1",
                "unit": "usł.",
                "unit_price": "40.00",
                "vat_rate": "23",
            }
            if index % 5 == 0
            else None,
        ],
        "payment": {
            "method": "przelew",
            "due_date": (issue + timedelta(days=14)).isoformat(),
            "bank_account": "PL61 1090 1014 0000 0712 1981 2874",
        },
    }


def demo_invoices(
    count: int,
    *,
    seed: int = 7,
    email_domain: str = "example.pl",
    period: date | None = None,
    series: str | None = None,
) -> list[dict[str, Any]]:
    """`count` invoices for last month's water, numbered `<series>/000001`... (by default
    `WOD/<year>/<month>`)."""
    rng = random.Random(seed)
    period = period or date.today().replace(day=1) - timedelta(days=1)
    series = series or f"WOD/{period:%Y/%m}"
    invoices = [demo_invoice(i + 1, rng, period, email_domain, series) for i in range(count)]
    for invoice in invoices:
        invoice["lines"] = [line for line in invoice["lines"] if line]
    return invoices
