"""Texts of the shopper's and the chain's retail pages (Polish first, English second)."""

from __future__ import annotations

from gateway.i18n import TEXTS

SHOP = {
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
    "shop_store": ("Sklep", "Store"),
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
    "shop_nip": ("NIP", "NIP (tax id)"),
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
    "shop_status": ("Status", "Status"),
    "shop_download": ("Pobierz PDF", "Download the PDF"),
    "shop_wait": ("Trwa wystawianie faktury…", "Issuing the invoice…"),
    "shop_refused": ("Faktura nie została wystawiona", "The invoice was not issued"),
    "shop_my_receipts": ("Moje paragony", "My receipts"),
    "shop_back": ("Wróć do moich faktur", "Back to my invoices"),
    "shop_errors": ("Popraw formularz:", "Please correct the form:"),
    "shop_err_no_lines": ("wybierz co najmniej jedną pozycję", "pick at least one line"),
    "shop_err_qty": ("pozycja {n}: niepoprawna ilość", "line {n}: invalid quantity"),
    "shop_err_too_much": (
        "pozycja {n}: najwyżej {left}",
        "line {n}: at most {left}",
    ),
    "shop_err_nip": ("NIP jest niepoprawny (suma kontrolna)", "the NIP is invalid (checksum)"),
    "shop_err_required": ("uzupełnij dane nabywcy", "fill in the buyer's details"),
    "chain_invoices": ("Faktury klientów", "Customers' invoices"),
    "chain_from": ("Od", "From"),
    "chain_to": ("Do", "To"),
    "chain_any": ("wszystkie", "all"),
    "chain_filter": ("Filtruj", "Filter"),
    "chain_export": ("Eksport CSV", "Export CSV"),
    "chain_total": ("Kwota brutto", "Gross total"),
    "chain_date": ("Data wystawienia", "Issue date"),
    "chain_branding": ("Wygląd faktury", "Invoice layout"),
    "chain_primary": ("Kolor główny", "Main colour"),
    "chain_accent": ("Kolor tła wyróżnień", "Highlight colour"),
    "chain_logo": ("Logo (PNG, do 256 kB)", "Logo (PNG, up to 256 kB)"),
    "chain_template": ("Szablon HTML faktury (Jinja2)", "Invoice HTML template (Jinja2)"),
    "chain_template_hint": (
        "Pusty szablon oznacza układ domyślny. Dostępne zmienne: invoice, title, sale_date, "
        "price_label, amount_in_words, brand, font_css; filtry: money, qty, unit_price, "
        "vat_rate, date, bank_account.",
        "An empty template means the default layout. Variables: invoice, title, sale_date, "
        "price_label, amount_in_words, brand, font_css; filters: money, qty, unit_price, "
        "vat_rate, date, bank_account.",
    ),
    "chain_preview": ("Podgląd (PDF)", "Preview (PDF)"),
    "chain_save": ("Zapisz", "Save"),
    "chain_saved": (
        "Zapisano. Zmiany obowiązują od następnej faktury.",
        "Saved. The changes apply from the next invoice on.",
    ),
    "chain_template_error": ("Szablon nie działa", "The template does not work"),
    "chain_pdf": ("PDF", "PDF"),
    "chain_count": ("Faktur: {n}", "Invoices: {n}"),
    "chain_truncated": (
        "Pokazano pierwsze {n} faktur. Zawęź filtry albo pobierz eksport CSV.",
        "Showing the first {n} invoices. Narrow the filters or download the CSV export.",
    ),
    "chain_clear": ("Wyczyść filtry", "Clear the filters"),
    "chain_no_match": (
        "Żadna faktura nie pasuje do filtrów.",
        "No invoice matches the filters.",
    ),
    "chain_store_any": ("wszystkie sklepy", "every store"),
    "chain_logo_current": ("Obecne logo", "Current logo"),
    "chain_logo_remove": ("Usuń logo", "Remove the logo"),
    "chain_preview_hint": (
        "Podgląd otwiera przykładową fakturę z wpisanymi ustawieniami, bez zapisywania.",
        "The preview opens a sample invoice with these settings, without saving them.",
    ),
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
    "chain_err_pdf": (
        "Z tego szablonu nie da się zbudować PDF",
        "No PDF can be built from this template",
    ),
    "chain_err_color": (
        "Kolor musi mieć postać #rrggbb (podano: {value}).",
        "A colour must look like #rrggbb (given: {value}).",
    ),
    "chain_err_logo_size": ("Logo może mieć najwyżej 256 kB.", "The logo may be 256 kB at most."),
    "chain_err_logo_png": (
        "Logo musi być plikiem PNG.",
        "The logo must be a PNG file.",
    ),
    "chain_err_template_long": (
        "Szablon może mieć najwyżej {n} znaków.",
        "The template may have {n} characters at most.",
    ),
    "chain_err_too_big": (
        "Logo i szablon razem są za duże. Zmniejsz logo albo skróć szablon.",
        "The logo and the template together are too large. Use a smaller logo or a shorter "
        "template.",
    ),
}

for _key, (_pl, _en) in SHOP.items():
    TEXTS["pl"].setdefault(_key, _pl)
    TEXTS["en"].setdefault(_key, _en)
