"""Texts of the shopper's portal: (Polish, English) by key, part of `gateway.web.texts`."""

SHOP: dict[str, tuple[str, str]] = {
    "acc_my_invoices": ("Moje faktury", "My invoices"),
    "shop_add_receipt": ("Dodaj paragon", "Add a receipt"),
    "shop_code": ("Kod z paragonu", "Receipt code"),
    "shop_code_hint": (
        "Wpisz kod wydrukowany pod kodem QR (np. 7K3M-Q9XD-A2BC-4EFG) albo zeskanuj kod QR.",
        "Type the code printed under the QR code (e.g. 7K3M-Q9XD-A2BC-4EFG) or scan the QR code.",
    ),
    "shop_find": ("Znajdź paragon", "Find the receipt"),
    "shop_scan": ("Skanuj kod QR aparatem", "Scan the QR code with the camera"),
    "shop_scan_stop": ("Zatrzymaj skanowanie", "Stop scanning"),
    "shop_scan_denied": (
        "Brak dostępu do aparatu. Wpisz kod ręcznie.",
        "No access to the camera. Type the code instead.",
    ),
    "shop_not_found": (
        "Nie znaleziono paragonu o tym kodzie. Sprawdź kod i spróbuj ponownie.",
        "No receipt has this code. Check the code and try again.",
    ),
    "shop_claimed_elsewhere": (
        "Ten paragon został już dodany do innego konta.",
        "This receipt has already been added to another account.",
    ),
    "shop_too_many": (
        "Zbyt wiele prób wpisania kodu. Spróbuj ponownie za kilka minut.",
        "Too many code attempts. Try again in a few minutes.",
    ),
    "shop_receipt": ("Paragon", "Receipt"),
    "shop_bought": ("Data zakupu", "Bought on"),
    "shop_pick": ("Wybierz pozycje do faktury", "Pick the lines for the invoice"),
    "shop_line": ("Pozycja", "Line"),
    "shop_qty": ("Ilość", "Quantity"),
    "shop_left": ("do zafakturowania", "left to invoice"),
    "shop_price": ("Cena brutto", "Gross price"),
    "shop_buyer": ("Nabywca", "Buyer"),
    "shop_person": ("Osoba prywatna", "Private person"),
    "shop_company": ("Firma (z NIP)", "Company (with NIP)"),
    "shop_name": ("Imię i nazwisko / nazwa firmy", "Name / company name"),
    "shop_street": ("Ulica i numer", "Street and number"),
    "shop_postal": ("Kod pocztowy", "Postal code"),
    "shop_city": ("Miejscowość", "City"),
    "shop_request": ("Wystaw fakturę", "Issue the invoice"),
    "shop_receipt_nip": (
        "Na paragonie jest NIP {nip}: faktura może być wystawiona tylko na tę firmę.",
        "The receipt shows NIP {nip}: the invoice can only be issued to that company.",
    ),
    "shop_no_nip_company": (
        "Na paragonie nie ma NIP-u, więc zgodnie z prawem (od 2020 r.) faktura może być "
        "wystawiona tylko na osobę prywatną.",
        "The receipt shows no NIP, so by law (since 2020) the invoice can only be issued to a "
        "private person.",
    ),
    "shop_deadline": ("Fakturę można wystawić do", "Invoices can be issued until"),
    "shop_nothing_left": (
        "Wszystkie pozycje tego paragonu są już zafakturowane.",
        "Every line of this receipt has been invoiced already.",
    ),
    "shop_invoice": ("Faktura", "Invoice"),
    "shop_invoice_not_found": ("Nie ma takiej faktury.", "There is no such invoice."),
    "shop_wait": ("Trwa wystawianie faktury…", "Issuing the invoice…"),
    "shop_refused": ("Faktura nie została wystawiona", "The invoice was not issued"),
    "shop_my_receipts": ("Moje paragony", "My receipts"),
    "shop_back": ("Wróć do moich faktur", "Back to my invoices"),
    "shop_err_no_lines": ("wybierz co najmniej jedną pozycję", "pick at least one line"),
    "shop_err_qty": ("pozycja {n}: niepoprawna ilość", "line {n}: invalid quantity"),
    "shop_err_too_much": ("pozycja {n}: najwyżej {left}", "line {n}: at most {left}"),
    "shop_err_nip": ("NIP jest niepoprawny (suma kontrolna)", "the NIP is invalid (checksum)"),
    "shop_err_required": ("uzupełnij dane nabywcy", "fill in the buyer's details"),
}
