"""Demo data: a utility tenant and realistic water-and-sewage invoices, a retail chain and
its grocery receipts (also used by tests)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stdnum.pl import nip as nip_checksum

from einvoice import events, receipts

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
        # FA(3)'s NIP pattern: the tax office's code never has "00" after its first digit
        if nip_checksum.is_valid(candidate) and candidate[1:3] != "00":
            return candidate


# The day KSeF became mandatory for everyone (large taxpayers: 1 February 2026).
KSEF_START = date(2026, 4, 1)


def demo_ksef(nip: str, token_sealed: str) -> events.KsefSettings:
    """A demo tenant's connection to KSeF's test environment (locally: the simulator)."""
    return events.KsefSettings(
        environment="test", context_nip=nip, token_sealed=token_sealed, start_date=KSEF_START
    )


def demo_tenant(
    api_key_sha256: str, ksef: events.KsefSettings | None = None
) -> events.TenantConfig:
    return events.TenantConfig(
        tenant_id=DEMO_TENANT,
        name=DEMO_SELLER["name"],
        kind="utility",
        api_key_sha256=[api_key_sha256],
        mail_from="Zdrój — e-faktury <efaktury@zdroj.local>",
        reply_to="bok@zdroj.local",
        ksef=ksef,
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


# --- retail: a grocery chain and its tills ------------------------------------------------

DEMO_CHAIN = "demo-zielony-koszyk"
# Local demo only; `einvoice seed-demo-chain --pos-key/--store-pos-key` sets others.
DEMO_CHAIN_POS_KEY = "demo-koszyk-pos-key"  # chain-wide: any store's till
DEMO_STORE = "S001"
DEMO_STORE_POS_KEY = "demo-koszyk-s001-pos-key"  # bound to DEMO_STORE
DEMO_CHAIN_SELLER = {
    "name": "Sieć Sklepów „Zielony Koszyk” Sp. z o.o.",
    "nip": "7272445205",
    "address": {"street": "ul. Piotrkowska 104", "postal_code": "90-926", "city": "Łódź"},
    "email": "kontakt@zielonykoszyk.local",
}

# (name, unit, unit gross, PTU letter): A 23%, B 8%, C 5%.
_GROCERIES = [
    ("Chleb żytni razowy 500 g", "szt.", "6.49", "C"),
    ("Masło ekstra 82% 200 g", "szt.", "8.99", "C"),
    ("Mleko świeże 3,2% 1 l", "szt.", "3.79", "C"),
    ("Jabłka Szampion", "kg", "4.99", "C"),
    ("Ser żółty Gouda", "kg", "34.90", "C"),
    ("Szynka wędzona z beczki", "kg", "49.90", "C"),
    ("Pomidory malinowe", "kg", "12.99", "C"),
    ("Ziemniaki młode", "kg", "3.49", "C"),
    ("Jaja z wolnego wybiegu M 10 szt.", "opak.", "13.99", "C"),
    ("Pączek z różą", "szt.", "2.79", "C"),
    ("Woda mineralna niegazowana 1,5 l", "szt.", "2.19", "B"),
    ("Kanapka z kurczakiem i sałatą", "szt.", "11.99", "B"),
    ("Tulipany, pęczek 10 szt.", "szt.", "24.99", "B"),
    ("Kawa ziarnista 1 kg", "szt.", "69.99", "A"),
    ("Płyn do naczyń cytrynowy 900 ml", "szt.", "7.49", "A"),
    ("Papier toaletowy 8 rolek", "opak.", "15.99", "A"),
    ("Piwo jasne pełne 0,5 l", "szt.", "3.99", "A"),
    ("Torba wielorazowa", "szt.", "1.99", "A"),
]
_PAYMENT_METHODS = ["karta", "gotówka", "BLIK"]


def _warsaw_now() -> datetime:
    try:
        zone: Any = ZoneInfo("Europe/Warsaw")
    except ZoneInfoNotFoundError:  # no tz database: UTC is as good for a demo
        zone = UTC
    return datetime.now(zone).replace(microsecond=0)


def demo_chain(
    chain_pos_key_sha256: str,
    store_pos_key_sha256: str,
    ksef: events.KsefSettings | None = None,
) -> events.TenantConfig:
    """The demo grocery chain, with a chain-wide POS key and one bound to `DEMO_STORE`."""
    return events.TenantConfig(
        tenant_id=DEMO_CHAIN,
        name=DEMO_CHAIN_SELLER["name"],
        kind="retail",
        seller=events.Party.model_validate(DEMO_CHAIN_SELLER),
        pos_keys=[
            events.PosKey(sha256=chain_pos_key_sha256),
            events.PosKey(sha256=store_pos_key_sha256, store_id=DEMO_STORE),
        ],
        mail_from="Zielony Koszyk — e-faktury <efaktury@zielonykoszyk.local>",
        reply_to="bok@zielonykoszyk.local",
        accounting_email="ksiegowosc@zielonykoszyk.local",
        invoice_series="FV/{year}/{month:02d}/{seq:06d}",
        branding=events.Branding(primary_color="#2e7d32", accent_color="#e8f5e9"),
        ksef=ksef,
    )


def demo_receipt(
    rng: random.Random,
    *,
    lines: int = 6,
    store_id: str = DEMO_STORE,
    till_id: str = "K01",
    number: str | None = None,
    issued_at: datetime | None = None,
    buyer_nip: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """A grocery receipt as a till pushes it (`POST /api/v1/receipts`): mixed VAT rates by
    PTU letter, weighed goods (e.g. 0.535 kg), gross per line rounded half up, totals per
    rate. With three lines or more, every rate A, B and C appears."""
    if not 1 <= lines <= 500:
        raise ValueError("a receipt has 1 to 500 lines")
    picks = [rng.choice([g for g in _GROCERIES if g[3] == letter]) for letter in "ABC"][:lines]
    picks += [rng.choice(_GROCERIES) for _ in range(lines - len(picks))]
    rng.shuffle(picks)
    out_lines: list[dict[str, str]] = []
    by_letter: dict[str, Decimal] = {}
    for name, unit, price, letter in picks:
        if unit == "kg":
            quantity = Decimal(rng.randint(150, 2500)) / 1000  # the scale's grams
        else:
            quantity = Decimal(rng.choice([1, 1, 1, 2, 2, 3, 4, 6]))
        gross = (quantity * Decimal(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        by_letter[letter] = by_letter.get(letter, Decimal(0)) + gross
        out_lines.append(
            {
                "name": name,
                "quantity": format(quantity.normalize(), "f"),
                "unit": unit,
                "unit_gross": price,
                "vat_rate": letter,
                "gross": str(gross),
            }
        )
    receipt: dict[str, Any] = {
        "store_id": store_id,
        "till_id": till_id,
        "number": number or f"{rng.randint(1, 99999):06d}",
        "issued_at": (issued_at or _warsaw_now()).isoformat(),
        "lines": out_lines,
        "totals": [
            {"vat_rate": letter, "gross": str(by_letter[letter])} for letter in sorted(by_letter)
        ],
        "total_gross": str(sum(by_letter.values(), start=Decimal(0))),
        "payment_method": rng.choice(_PAYMENT_METHODS),
        "code": code or receipts.new_receipt_code(),
    }
    if buyer_nip:
        receipt["buyer_nip"] = buyer_nip
    return receipt
