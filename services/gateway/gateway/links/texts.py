"""Texts of the customer's link pages: (Polish, English) by key, part of `gateway.web.texts`."""

LINKS: dict[str, tuple[str, str]] = {
    "invoice": ("Faktura", "Invoice"),
    "from": ("Wystawca", "Issued by"),
    "amount": ("Kwota do zapłaty", "Amount due"),
    "due": ("Termin płatności", "Due date"),
    "link_ksef_number": ("Numer KSeF", "KSeF number"),
    "download": ("Pobierz fakturę (PDF)", "Download the invoice (PDF)"),
    "download_hint": (
        "Plik PDF zostanie pobrany po kliknięciu przycisku.",
        "The PDF file downloads when you press the button.",
    ),
    "link_invalid": (
        "Ten link jest nieprawidłowy, wygasł lub został unieważniony.",
        "This link is invalid, expired or revoked.",
    ),
    "link_invalid_hint": (
        "Skontaktuj się z wystawcą faktury, aby otrzymać nowy link.",
        "Please contact the issuer of the invoice for a new link.",
    ),
}
