"""Page texts in Polish (default) and English."""

from __future__ import annotations

from fastapi import Request

TEXTS: dict[str, dict[str, str]] = {
    "pl": {
        "invoice": "Faktura",
        "from": "Wystawca",
        "amount": "Kwota do zapłaty",
        "due": "Termin płatności",
        "download": "Pobierz fakturę (PDF)",
        "download_hint": "Plik PDF zostanie pobrany po kliknięciu przycisku.",
        "link_invalid": "Ten link jest nieprawidłowy, wygasł lub został unieważniony.",
        "link_invalid_hint": "Skontaktuj się z wystawcą faktury, aby otrzymać nowy link.",
        "operator": "Panel operatora",
        "api_key": "Klucz API",
        "login": "Zaloguj",
        "logout": "Wyloguj",
        "bad_key": "Nieznany klucz API.",
        "batches": "Paczki faktur",
        "batch": "Paczka",
        "confirmations": "Potwierdzenia odbioru",
        "when": "Kiedy",
        "ip": "Adres IP",
        "host": "Host",
        "agent": "Przeglądarka",
        "number": "Numer",
        "stage": "Etap",
        "buyer": "Nabywca",
        "reasons": "Przyczyny",
        "none": "Brak danych.",
        "other_lang": "English",
        "stage_requested": "przyjęta",
        "stage_issued": "wystawiona",
        "stage_rendered": "PDF gotowy",
        "stage_mailed": "wysłana",
        "stage_opened": "otwarta",
        "stage_failed": "błąd",
    },
    "en": {
        "invoice": "Invoice",
        "from": "Issued by",
        "amount": "Amount due",
        "due": "Due date",
        "download": "Download the invoice (PDF)",
        "download_hint": "The PDF file downloads when you press the button.",
        "link_invalid": "This link is invalid, expired or revoked.",
        "link_invalid_hint": "Please contact the issuer of the invoice for a new link.",
        "operator": "Operator panel",
        "api_key": "API key",
        "login": "Log in",
        "logout": "Log out",
        "bad_key": "Unknown API key.",
        "batches": "Invoice batches",
        "batch": "Batch",
        "confirmations": "Receipt confirmations",
        "when": "When",
        "ip": "IP address",
        "host": "Host",
        "agent": "User agent",
        "number": "Number",
        "stage": "Stage",
        "buyer": "Buyer",
        "reasons": "Reasons",
        "none": "Nothing yet.",
        "other_lang": "Polski",
        "stage_requested": "requested",
        "stage_issued": "issued",
        "stage_rendered": "PDF ready",
        "stage_mailed": "mailed",
        "stage_opened": "opened",
        "stage_failed": "failed",
    },
}


def language(request: Request) -> str:
    """`?lang=` wins, then the Accept-Language header; Polish by default."""
    chosen = request.query_params.get("lang")
    if chosen in TEXTS:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "pl"


def texts(request: Request) -> dict[str, str]:
    return TEXTS[language(request)]
