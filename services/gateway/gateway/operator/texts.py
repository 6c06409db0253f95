"""Texts of the operator panel: (Polish, English) by key, part of `gateway.web.texts`."""

OPERATOR: dict[str, tuple[str, str]] = {
    "operator": ("Panel operatora", "Operator panel"),
    "api_key": ("Klucz API", "API key"),
    "login": ("Zaloguj", "Log in"),
    "bad_key": ("Nieznany klucz API.", "Unknown API key."),
    "batches": ("Paczki faktur", "Invoice batches"),
    "batch": ("Paczka", "Batch"),
    "confirmations": ("Potwierdzenia odbioru", "Receipt confirmations"),
    "nav_email": ("Treść e-maila", "E-mail text"),
    "nav_mailbox": ("Skrzynka nadawcza", "Sending mailbox"),
    "nav_webhook": ("Webhook", "Webhook"),
    # The webhook page (operator/webhook.py).
    "wh_title": ("Webhook", "Webhook"),
    "wh_intro": (
        "Adres, pod który platforma wysyła (POST, JSON, podpis HMAC-SHA256) potwierdzenia odbioru "
        "faktur i informacje o e-mailach, których nie udało się doręczyć.",
        "The address the platform POSTs receipt confirmations and undeliverable e-mails to (JSON, "
        "signed with HMAC-SHA256).",
    ),
    "wh_url": ("Adres URL (http:// lub https://)", "URL (http:// or https://)"),
    "wh_events": ("Zdarzenia", "Events"),
    "wh_event_invoice_confirmed": (
        "klient otworzył fakturę (potwierdzenie odbioru)",
        "a customer opened the invoice (receipt confirmation)",
    ),
    "wh_event_mail_failed": (
        "e-maila z fakturą nie udało się doręczyć",
        "the invoice's e-mail could not be delivered",
    ),
    "wh_save": ("Zapisz", "Save"),
    "wh_saved": ("Zapisano.", "Saved."),
    "wh_removed": ("Webhook usunięty.", "Webhook removed."),
    "wh_first_save": (
        "Przy pierwszym zapisie powstanie sekret do podpisu.",
        "The first save creates the signing secret.",
    ),
    "wh_secret_set": ("Sekret do podpisu jest ustawiony.", "The signing secret is set."),
    "wh_new_secret": ("Wygeneruj nowy sekret", "Generate a new secret"),
    "wh_remove": ("Usuń webhook", "Remove the webhook"),
    "wh_secret_once": (
        "Sekret do podpisu — skopiuj go teraz, nie zostanie pokazany ponownie:",
        "Signing secret — copy it now, it will not be shown again:",
    ),
    "wh_secret_hint": (
        "Poprzedni sekret (jeśli był) przestał obowiązywać. Sprawdzaj nim nagłówek "
        "X-Einvoice-Signature.",
        "The previous secret (if any) no longer works. Check the X-Einvoice-Signature header with "
        "this one.",
    ),
    "wh_err_url": (
        "Podaj pełny adres http:// lub https:// (do 2000 znaków, bez spacji).",
        "Enter a full http:// or https:// address (up to 2000 characters, no spaces).",
    ),
    "wh_err_events": ("Wybierz co najmniej jedno zdarzenie.", "Choose at least one event."),
    "wh_err_none": ("Najpierw zapisz adres webhooka.", "Save the webhook's address first."),
    "wh_err_sealing": (
        "Platforma nie ma klucza do zabezpieczania sekretów; skontaktuj się z administratorem.",
        "The platform has no key to seal secrets with; contact the administrator.",
    ),
    "wh_log": ("Dziennik doręczeń", "Delivery log"),
    "wh_log_hint": (
        "Ostatnie 100 doręczeń; to samo przez API:",
        "The last 100 deliveries; the same through the API:",
    ),
    "wh_event": ("Zdarzenie", "Event"),
    "wh_state": ("Stan", "State"),
    "wh_attempts": ("Próby", "Attempts"),
    "wh_last": ("Ostatnia odpowiedź", "Last answer"),
    "wh_next": ("Następna próba", "Next attempt"),
    "wh_state_queued": ("czeka", "waiting"),
    "wh_state_working": ("wysyłanie", "sending"),
    "wh_state_done": ("doręczony", "delivered"),
    "wh_state_failed": ("nieudany", "failed"),
    # The sending mailbox (operator/mailbox.py).
    "mb_intro": (
        "E-maile z fakturami mogą wychodzić z Państwa własnej skrzynki. Bez niej wysyła skrzynka "
        "platformy.",
        "Invoice e-mails can leave from your own mailbox. Without one, the platform's mailbox "
        "sends them.",
    ),
    "mb_in_use": ("Teraz wysyła:", "Sending now:"),
    "mb_platform": ("skrzynka platformy", "the platform's mailbox"),
    "mb_host": ("Serwer SMTP", "SMTP server"),
    "mb_port": ("Port", "Port"),
    "mb_tls": ("Szyfrowanie", "Encryption"),
    "mb_tls_starttls": ("STARTTLS (zwykle port 587)", "STARTTLS (usually port 587)"),
    "mb_tls_tls": ("TLS od początku (zwykle port 465)", "TLS from the start (usually port 465)"),
    "mb_tls_none": ("bez szyfrowania (tylko sieć wewnętrzna)", "none (internal network only)"),
    "mb_user": ("Użytkownik", "User"),
    "mb_password": ("Hasło", "Password"),
    "mb_password_kept": (
        "zapisane — puste pole zostawia obecne",
        "stored — leave empty to keep it",
    ),
    "mb_password_note": (
        "Hasło jest szyfrowane przed zapisem i nigdy nie jest pokazywane.",
        "The password is encrypted before it is stored and never shown.",
    ),
    "mb_addresses": ("Adresy", "Addresses"),
    "mb_limits": ("Limity wysyłki skrzynki", "The mailbox's sending limits"),
    "mb_limits_note": (
        "Limity dostawcy poczty, np. Microsoft 365: 30 na minutę i 10 000 na dobę. Puste pole: "
        "bez limitu. E-maile ponad limit czekają na wolne miejsce, nie przepadają.",
        "Your mail provider's limits, e.g. Microsoft 365: 30 a minute and 10,000 a day. Empty: no "
        "limit. E-mails over a limit wait for a free slot; none is lost.",
    ),
    "mb_per_minute": ("na minutę", "per minute"),
    "mb_per_hour": ("na godzinę", "per hour"),
    "mb_per_day": ("na dobę", "per day"),
    "mb_save": ("Zapisz", "Save"),
    "mb_test": ("Sprawdź połączenie", "Test the connection"),
    "mb_remove": ("Wysyłaj ze skrzynki platformy", "Send from the platform's mailbox"),
    "mb_saved": (
        "Zapisano. Nowe e-maile wyjdą z tej skrzynki za kilka sekund.",
        "Saved. New e-mails leave from this mailbox within seconds.",
    ),
    "mb_removed": (
        "E-maile będą wysyłane ze skrzynki platformy.",
        "E-mails will be sent from the platform's mailbox.",
    ),
    "mb_refused": ("Nie zapisano:", "Not saved:"),
    "mb_test_ok": (
        "Połączenie działa: serwer przyjął logowanie (nic nie wysłano).",
        "The connection works: the server accepted the login (nothing was sent).",
    ),
    "mb_test_failed": ("Połączenie nie działa:", "The connection does not work:"),
    "mail_waiting_limit": (
        "{n} e-maili czeka na wolne miejsce w limicie skrzynki nadawczej; następne wysłanie o "
        "{at}.",
        "{n} e-mails are waiting for a free slot within the sending mailbox's limits; the next "
        "goes out at {at}.",
    ),
    "mail_waiting_retry": (
        "{n} e-maili czeka na ponowną próbę po chwilowym błędzie serwera poczty; następna próba o "
        "{at}.",
        "{n} e-mails are waiting to be retried after a temporary mail server error; next attempt "
        "at {at}.",
    ),
    # Batches and confirmations (operator/batches.py, operator/confirmations.py).
    "when": ("Kiedy", "When"),
    "ip": ("Adres IP", "IP address"),
    "host": ("Host", "Host"),
    "agent": ("Przeglądarka", "User agent"),
    "stage": ("Etap", "Stage"),
    "reasons": ("Przyczyny", "Reasons"),
    "none": ("Brak danych.", "Nothing yet."),
    "counted": ("Potwierdza odbiór", "Confirms receipt"),
    "resend": ("Wyślij ponownie", "Send again"),
    "scanner": ("skaner linków", "link scanner"),
    "operator_view": ("operator (nie liczy się)", "operator (not counted)"),
    "yes": ("tak", "yes"),
    "failed_invoices": ("Faktury z błędem", "Failed invoices"),
    "failed_at": ("na etapie", "at stage"),
    "failed_stage_issue": ("wystawianie faktury", "issuing"),
    "failed_stage_mail": ("wysyłka e-maila", "sending the e-mail"),
    "failed_stage_ksef": ("rejestracja w KSeF", "registration in KSeF"),
    "all_failures": ("Wszystkie faktury z błędem ({n})", "All failed invoices ({n})"),
    "rows_shown": (
        "Pokazano {shown} z {total} faktur. Zawęź listę według etapu:",
        "Showing {shown} of {total} invoices. Narrow the list by stage:",
    ),
    "all_stages": ("wszystkie", "all"),
    # The e-mail template editor (operator/email_editor.py).
    "em_title": ("Treść e-maila z fakturą", "The invoice e-mail"),
    "em_intro": (
        "Tak wygląda wiadomość, którą klienci dostają z linkiem do faktury. Zmienne wstawiasz "
        "jako {{ nazwa }}; działa też {% if due_date %}…{% endif %}. Zapis tworzy nową wersję; "
        "szablon z błędami nie zostanie zapisany.",
        "This is the message customers get with the link to their invoice. Insert variables as {{ "
        "name }}; {% if due_date %}…{% endif %} works too. Saving makes a new version; a template "
        "with errors is not saved.",
    ),
    "em_subject": ("Temat", "Subject"),
    "em_html": ("Treść HTML", "HTML body"),
    "em_text": ("Treść tekstowa", "Plain-text body"),
    "em_save": ("Zapisz jako nową wersję", "Save as a new version"),
    "em_saved": (
        "Zapisano wersję {version}. Nowe e-maile użyją jej za kilka sekund.",
        "Version {version} saved. New e-mails use it within seconds.",
    ),
    "em_refused": ("Nie zapisano: szablon ma błędy.", "Not saved: the template has errors."),
    "em_viewing": (
        "Oglądasz wersję {version}. Zapisanie przywróci ją jako nową wersję.",
        "You are viewing version {version}. Saving restores it as a new version.",
    ),
    "em_viewing_default": (
        "Oglądasz szablon domyślny. Zapisanie przywróci go jako nową wersję.",
        "You are viewing the default template. Saving restores it as a new version.",
    ),
    "em_load_default": ("Wczytaj szablon domyślny", "Load the default template"),
    "em_preview": ("Podgląd na przykładowej fakturze", "Preview with a sample invoice"),
    "em_preview_hint": (
        "Podgląd odświeża się w trakcie pisania.",
        "The preview updates as you type.",
    ),
    "em_preview_failed": ("Podglądu nie da się pokazać:", "The preview cannot be shown:"),
    "em_variables": ("Zmienne", "Variables"),
    "em_variable": ("Zmienna", "Variable"),
    "em_description": ("Opis", "Description"),
    "em_sample": ("Przykład", "Sample"),
    "em_history": ("Historia wersji", "Version history"),
    "em_version": ("Wersja", "Version"),
    "em_saved_at": ("Zapisano (UTC)", "Saved (UTC)"),
    "em_in_use": ("w użyciu", "in use"),
    "em_default_in_use": (
        "W użyciu jest szablon domyślny (wersja 0).",
        "The default template (version 0) is in use.",
    ),
    "em_no_history": ("Nie zapisano jeszcze żadnej wersji.", "No version saved yet."),
    "em_view": ("Pokaż", "View"),
    "em_restore": ("Przywróć", "Restore"),
    "em_err_undefined": ("Nieznana zmienna", "Unknown variable"),
    "em_err_invalid": ("Niepoprawna wartość", "Invalid value"),
}
