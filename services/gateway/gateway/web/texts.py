"""The one catalogue of page texts, Polish (the default) and English.

Each audience keeps its texts beside its pages (`links/texts.py`, `operator/texts.py`,
`shop/texts.py`, `shop/accounts/texts.py`, `chain/texts.py`, and `ksef/texts.py` for the
KSeF pages both the operator panel and the chain portal show) as `key: (Polish, English)`;
this module joins them, with the texts several audiences share, into one dictionary per
language. A key may be defined once only, so no part can silently replace another's text.
"""

from __future__ import annotations

from fastapi import Request

from gateway.chain.texts import CHAIN
from gateway.ksef.texts import KSEF
from gateway.links.texts import LINKS
from gateway.operator.texts import OPERATOR
from gateway.shop.accounts.texts import ACCOUNTS
from gateway.shop.texts import SHOP

# Shown on the pages of more than one audience (a key's prefix names where it began).
SHARED: dict[str, tuple[str, str]] = {
    "other_lang": ("English", "Polski"),
    "logout": ("Wyloguj", "Log out"),
    "buyer": ("Nabywca", "Buyer"),
    "number": ("Numer", "Number"),
    "stage_requested": ("przyjęta", "requested"),
    "stage_issued": ("wystawiona", "issued"),
    "stage_rendered": ("PDF gotowy", "PDF ready"),
    "stage_mailed": ("wysłana", "mailed"),
    "stage_opened": ("otwarta", "opened"),
    "stage_failed": ("błąd", "failed"),
    "acc_signed_in_as": ("Zalogowano jako", "Signed in as"),
    "acc_no_invoices": ("Nie ma jeszcze żadnych faktur.", "No invoices yet."),
    "acc_limited_title": ("Zbyt wiele prób", "Too many attempts"),
    "acc_limited": (
        "Zbyt wiele prób w krótkim czasie. Spróbuj ponownie za {minutes} min.",
        "Too many attempts in a short time. Try again in {minutes} min.",
    ),
    "acc_forbidden_title": ("Brak dostępu", "No access"),
    "acc_forbidden": (
        "Ta strona jest przeznaczona dla innego rodzaju konta.",
        "This page is meant for a different kind of account.",
    ),
    "acc_sign_in_required": ("Zaloguj się, aby zobaczyć tę stronę.", "Log in to see this page."),
    "acc_csrf": (
        "Formularz wygasł. Wróć, odśwież stronę i spróbuj ponownie.",
        "The form has expired. Go back, reload the page and try again.",
    ),
    "shop_download": ("Pobierz PDF", "Download the PDF"),
    "shop_errors": ("Popraw formularz:", "Please correct the form:"),
    "shop_nip": ("NIP", "NIP (tax id)"),
    "shop_status": ("Status", "Status"),
    "shop_store": ("Sklep", "Store"),
    "chain_total": ("Kwota brutto", "Gross total"),
    "chain_line": ("wiersz {n}", "line {n}"),
    "chain_err_syntax": ("Błąd składni szablonu", "Template syntax error"),
    "chain_err_sandbox": (
        "Szablon używa czegoś, czego piaskownica zabrania",
        "The template uses something the sandbox forbids",
    ),
    "chain_err_render": (
        "Błąd przy wypełnianiu szablonu przykładową fakturą",
        "Error filling the template with a sample invoice",
    ),
}


def _catalogue(*parts: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for part in parts:
        if twice := merged.keys() & part.keys():
            raise ValueError(f"page texts defined twice: {sorted(twice)}")
        merged |= part
    return {
        "pl": {key: pl for key, (pl, _) in merged.items()},
        "en": {key: en for key, (_, en) in merged.items()},
    }


TEXTS = _catalogue(SHARED, LINKS, OPERATOR, ACCOUNTS, SHOP, CHAIN, KSEF)


def language(request: Request) -> str:
    """`?lang=` wins, then the Accept-Language header; Polish by default."""
    chosen = request.query_params.get("lang")
    if chosen in TEXTS:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "pl"


def texts(request: Request) -> dict[str, str]:
    return TEXTS[language(request)]
