"""Texts of the KSeF pages (the connection page of the operator panel and the chain portal, the
KSeF column of the invoice lists): (Polish, English) by key, part of `gateway.web.texts`."""

KSEF: dict[str, tuple[str, str]] = {
    "ks_nav": ("KSeF", "KSeF"),
    "ks_title": ("Połączenie z KSeF", "KSeF connection"),
    "ks_intro": (
        "Faktury dla firm (nabywca z NIP) wystawione od wybranego dnia trafiają do Krajowego "
        "Systemu e-Faktur. Platforma łączy się z KSeF tokenem wygenerowanym w Aplikacji "
        "Podatnika KSeF dla poniższego NIP.",
        "Business invoices (a buyer with a NIP) issued from the chosen day on go to the "
        "National e-Invoice System (KSeF). The platform connects to KSeF with a token generated "
        "in the KSeF taxpayer application for the NIP below.",
    ),
    "ks_state": ("Stan:", "State:"),
    "ks_not_connected": (
        "brak połączenia — żadna faktura nie trafia do KSeF.",
        "not connected — no invoice goes to KSeF.",
    ),
    "ks_connected": (
        "połączono: środowisko {environment}, NIP {nip}, faktury wystawione od {start}.",
        "connected: environment {environment}, NIP {nip}, invoices issued from {start}.",
    ),
    "ks_access": ("Dostęp do KSeF", "Access to KSeF"),
    "ks_environment": ("Środowisko KSeF", "KSeF environment"),
    "ks_env_test": ("testowe (dane fikcyjne)", "test (made-up data)"),
    "ks_env_demo": ("przedprodukcyjne (demo)", "pre-production (demo)"),
    "ks_env_production": ("produkcyjne", "production"),
    "ks_env_note": (
        "Faktury wysłane do środowiska produkcyjnego są prawnie wiążące.",
        "Invoices sent to the production environment are legally binding.",
    ),
    "ks_nip": ("NIP kontekstu (podatnik w KSeF)", "Context NIP (the taxpayer in KSeF)"),
    "ks_nip_hint": (
        "10 cyfr; zwykle NIP sprzedawcy z faktur.",
        "10 digits; usually the seller's NIP on the invoices.",
    ),
    "ks_token": ("Token KSeF", "KSeF token"),
    "ks_token_kept": (
        "zapisany — puste pole zostawia obecny",
        "stored — leave empty to keep it",
    ),
    "ks_token_stored": ("Token jest zapisany.", "A token is stored."),
    "ks_token_none": ("Nie zapisano tokenu.", "No token is stored."),
    "ks_token_note": (
        "Token jest szyfrowany przed zapisem i nigdy nie jest pokazywany. Zmiana środowiska "
        "lub NIP wymaga nowego tokenu.",
        "The token is encrypted before it is stored and never shown. A new environment or NIP "
        "needs a new token.",
    ),
    "ks_start": ("Wysyłaj faktury wystawione od dnia", "Send invoices issued from"),
    "ks_start_hint": (
        "Data wystawienia według czasu polskiego; wcześniejsze faktury nie trafią do KSeF.",
        "The issue date in Polish time; earlier invoices do not go to KSeF.",
    ),
    "ks_consumers": ("Faktury dla konsumentów (bez NIP)", "Invoices to consumers (no NIP)"),
    "ks_consumers_outside": ("poza KSeF (domyślnie)", "outside KSeF (the default)"),
    "ks_consumers_ksef": ("również do KSeF", "to KSeF as well"),
    "ks_save": ("Zapisz", "Save"),
    "ks_test": ("Sprawdź połączenie", "Test the connection"),
    "ks_disconnect": ("Odłącz KSeF", "Disconnect KSeF"),
    "ks_saved": (
        "Zapisano. Nowe faktury użyją tych ustawień za kilka sekund.",
        "Saved. New invoices use these settings within seconds.",
    ),
    "ks_disconnected": (
        "Odłączono KSeF: nowe faktury nie trafią do KSeF, a zapisany token został usunięty. "
        "Faktury już przyjęte przez KSeF pozostają w KSeF.",
        "KSeF disconnected: new invoices do not go to KSeF and the stored token was deleted. "
        "Invoices KSeF already took stay in KSeF.",
    ),
    "ks_refused": ("Nie zapisano:", "Not saved:"),
    "ks_err_environment": ("Wybierz środowisko KSeF.", "Choose a KSeF environment."),
    "ks_err_nip": (
        "NIP musi mieć 10 cyfr z poprawną cyfrą kontrolną (podano: {value}).",
        "A NIP has 10 digits with a valid check digit (given: {value}).",
    ),
    "ks_err_date": (
        "Podaj datę w postaci RRRR-MM-DD (podano: {value}).",
        "Enter a date as YYYY-MM-DD (given: {value}).",
    ),
    "ks_err_consumers": (
        "Wybierz, czy faktury dla konsumentów trafiają do KSeF.",
        "Choose whether invoices to consumers go to KSeF.",
    ),
    "ks_err_token_required": ("Wpisz token KSeF.", "Enter the KSeF token."),
    "ks_err_token_changed": (
        "Zapisany token należy do innego środowiska lub NIP: wpisz token dla nowych ustawień.",
        "The stored token belongs to another environment or NIP: enter the token for the new "
        "settings.",
    ),
    "ks_err_token_format": (
        "Token KSeF ma najwyżej 1000 znaków, bez spacji i znaków sterujących.",
        "A KSeF token has at most 1000 characters, with no spaces or control characters.",
    ),
    "ks_err_sealing": (
        "Platforma nie ma klucza do zabezpieczania sekretów; skontaktuj się z administratorem.",
        "The platform has no key to seal secrets with; contact the administrator.",
    ),
    "ks_err_unsealable": (
        "Zapisanego tokenu nie da się odczytać (zmieniono klucz platformy); wpisz token ponownie.",
        "The stored token cannot be read (the platform's key changed); enter the token again.",
    ),
    # "Test the connection": what KSeF said, in words.
    "ks_test_ok": (
        "Połączenie działa: KSeF przyjął token w kontekście NIP {nip} (środowisko {environment}).",
        "The connection works: KSeF accepted the token in the context of NIP {nip} (environment "
        "{environment}).",
    ),
    "ks_test_not_saved": (
        "Sprawdzono nowy token, ale go nie zapisano: wpisz go ponownie i kliknij „Zapisz”.",
        "The new token was tested, not saved: enter it again and press “Save”.",
    ),
    "ks_test_failed": ("Połączenie nie działa:", "The connection does not work:"),
    "ks_test_no_token": (
        "nie ma tokenu do sprawdzenia — wpisz token KSeF.",
        "there is no token to test — enter the KSeF token.",
    ),
    "ks_test_rejected": (
        "KSeF odrzucił token (kod {code}): {reason}",
        "KSeF rejected the token (code {code}): {reason}",
    ),
    "ks_test_rejected_450": (
        "KSeF nie przyjął tokenu: token jest błędny, unieważniony albo wydany dla innego NIP "
        "lub środowiska (kod 450: {reason}).",
        "KSeF did not accept the token: it is wrong, revoked, or was issued for another NIP or "
        "environment (code 450: {reason}).",
    ),
    "ks_test_rejected_415": (
        "token nie daje uprawnień w kontekście tego NIP (kod 415: {reason}).",
        "the token grants no permissions in the context of this NIP (code 415: {reason}).",
    ),
    "ks_test_error": (
        "KSeF odpowiedział błędem (HTTP {status}): {reason}",
        "KSeF answered with an error (HTTP {status}): {reason}",
    ),
    "ks_test_busy": (
        "KSeF chwilowo nie przyjmuje zapytań (HTTP {status}); spróbuj ponownie za {seconds} s.",
        "KSeF does not take requests right now (HTTP {status}); try again in {seconds} s.",
    ),
    "ks_test_timeout": (
        "KSeF nie odpowiedział w ciągu {seconds} s.",
        "KSeF did not answer within {seconds} s.",
    ),
    "ks_test_unreachable": (
        "nie udało się połączyć z KSeF ({host}).",
        "could not reach KSeF ({host}).",
    ),
    "ks_test_unexpected": (
        "KSeF odpowiedział w nieoczekiwany sposób; spróbuj ponownie później.",
        "KSeF gave an unexpected answer; try again later.",
    ),
    # An invoice's KSeF state in the lists.
    "ks_column": ("KSeF", "KSeF"),
    "ks_status_registered": ("w KSeF", "in KSeF"),
    "ks_status_waiting": ("czeka na KSeF", "waiting for KSeF"),
    "ks_status_rejected": ("odrzucona przez KSeF", "rejected by KSeF"),
    "ks_status_outside": ("poza KSeF", "outside KSeF"),
    "ks_filter": ("Status KSeF", "KSeF status"),
    "ks_filter_any": ("każdy", "any"),
    "ks_number": ("Numer KSeF", "KSeF number"),
    "ks_code": ("kod {code}", "code {code}"),
    "ks_acquired": ("przyjęta przez KSeF", "taken by KSeF"),
    "ks_fa3": ("XML FA(3)", "FA(3) XML"),
    "ks_upo": ("UPO", "UPO"),
    "ks_counts": ("KSeF w tej paczce:", "KSeF in this batch:"),
    "ks_no_fa3": (
        "Ta faktura nie ma (jeszcze) pliku XML FA(3).",
        "This invoice has no FA(3) XML (yet).",
    ),
    "ks_store_unavailable": (
        "Magazyn plików jest chwilowo niedostępny; spróbuj ponownie za chwilę.",
        "File storage is unavailable for a moment; try again shortly.",
    ),
    "ks_doc_damaged": (
        "Zapisany plik nie zgadza się ze swoją sumą kontrolną (SHA-256); zgłoś to "
        "administratorowi platformy.",
        "The stored file does not match its checksum (SHA-256); tell the platform's administrator.",
    ),
    "ks_no_upo": (
        "Ta faktura nie ma (jeszcze) UPO: KSeF jej nie przyjął albo nie trafia do KSeF.",
        "This invoice has no UPO (yet): KSeF has not taken it, or it does not go to KSeF.",
    ),
}
