"""Texts of the chain portal: (Polish, English) by key, part of `gateway.web.texts`."""

CHAIN: dict[str, tuple[str, str]] = {
    "chain_invoices": ("Faktury klientów", "Customers' invoices"),
    "chain_from": ("Od", "From"),
    "chain_to": ("Do", "To"),
    "chain_any": ("wszystkie", "all"),
    "chain_filter": ("Filtruj", "Filter"),
    "chain_export": ("Eksport CSV", "Export CSV"),
    "chain_date": ("Data wystawienia", "Issue date"),
    "chain_branding": ("Wygląd faktury", "Invoice layout"),
    "chain_primary": ("Kolor główny", "Main colour"),
    "chain_accent": ("Kolor tła wyróżnień", "Highlight colour"),
    "chain_logo": ("Logo (PNG, do 256 kB)", "Logo (PNG, up to 256 kB)"),
    "chain_template": ("Szablon HTML faktury (Jinja2)", "Invoice HTML template (Jinja2)"),
    "chain_template_hint": (
        "Pusty szablon oznacza układ domyślny. Dostępne zmienne: invoice, title, sale_date, "
        "price_label, amount_in_words, brand, font_css; dla faktur w KSeF: ksef_number, "
        "ksef_url, ksef_qr (kod QR jako obraz), ksef_mark (kod z numerem KSeF; dodawany na "
        "górze, jeśli szablon nie używa ksef_qr ani ksef_mark); filtry: money, qty, "
        "unit_price, vat_rate, date, bank_account.",
        "An empty template means the default layout. Variables: invoice, title, sale_date, "
        "price_label, amount_in_words, brand, font_css; for invoices in KSeF: ksef_number, "
        "ksef_url, ksef_qr (the QR code as an image), ksef_mark (the code with the KSeF "
        "number; added at the top if the template uses neither ksef_qr nor ksef_mark); "
        "filters: money, qty, unit_price, vat_rate, date, bank_account.",
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
    "chain_no_match": ("Żadna faktura nie pasuje do filtrów.", "No invoice matches the filters."),
    "chain_store_any": ("wszystkie sklepy", "every store"),
    "chain_logo_current": ("Obecne logo", "Current logo"),
    "chain_logo_remove": ("Usuń logo", "Remove the logo"),
    "chain_preview_hint": (
        "Podgląd otwiera przykładową fakturę z wpisanymi ustawieniami, bez zapisywania.",
        "The preview opens a sample invoice with these settings, without saving them.",
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
    "chain_err_logo_png": ("Logo musi być plikiem PNG.", "The logo must be a PNG file."),
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
