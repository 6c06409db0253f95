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
        "nav_email": "Treść e-maila",
        "nav_mailbox": "Skrzynka nadawcza",
        "nav_webhook": "Webhook",
        # Webhook (gateway.webhook_pages).
        "wh_title": "Webhook",
        "wh_intro": (
            "Adres, pod który platforma wysyła (POST, JSON, podpis HMAC-SHA256) potwierdzenia "
            "odbioru faktur i informacje o e-mailach, których nie udało się doręczyć."
        ),
        "wh_url": "Adres URL (http:// lub https://)",
        "wh_events": "Zdarzenia",
        "wh_event_invoice_confirmed": "klient otworzył fakturę (potwierdzenie odbioru)",
        "wh_event_mail_failed": "e-maila z fakturą nie udało się doręczyć",
        "wh_save": "Zapisz",
        "wh_saved": "Zapisano.",
        "wh_removed": "Webhook usunięty.",
        "wh_first_save": "Przy pierwszym zapisie powstanie sekret do podpisu.",
        "wh_secret_set": "Sekret do podpisu jest ustawiony.",
        "wh_new_secret": "Wygeneruj nowy sekret",
        "wh_remove": "Usuń webhook",
        "wh_secret_once": "Sekret do podpisu — skopiuj go teraz, nie zostanie pokazany ponownie:",
        "wh_secret_hint": (
            "Poprzedni sekret (jeśli był) przestał obowiązywać. Sprawdzaj nim nagłówek "
            "X-Einvoice-Signature."
        ),
        "wh_err_url": "Podaj pełny adres http:// lub https:// (do 2000 znaków, bez spacji).",
        "wh_err_events": "Wybierz co najmniej jedno zdarzenie.",
        "wh_err_none": "Najpierw zapisz adres webhooka.",
        "wh_err_sealing": (
            "Platforma nie ma klucza do zabezpieczania sekretów; skontaktuj się z administratorem."
        ),
        "wh_log": "Dziennik doręczeń",
        "wh_log_hint": "Ostatnie 100 doręczeń; to samo przez API:",
        "wh_event": "Zdarzenie",
        "wh_state": "Stan",
        "wh_attempts": "Próby",
        "wh_last": "Ostatnia odpowiedź",
        "wh_next": "Następna próba",
        "wh_state_queued": "czeka",
        "wh_state_working": "wysyłanie",
        "wh_state_done": "doręczony",
        "wh_state_failed": "nieudany",
        # The operator's sending mailbox (gateway.mailbox).
        "mb_intro": (
            "E-maile z fakturami mogą wychodzić z Państwa własnej skrzynki. Bez niej wysyła "
            "skrzynka platformy."
        ),
        "mb_in_use": "Teraz wysyła:",
        "mb_platform": "skrzynka platformy",
        "mb_host": "Serwer SMTP",
        "mb_port": "Port",
        "mb_tls": "Szyfrowanie",
        "mb_tls_starttls": "STARTTLS (zwykle port 587)",
        "mb_tls_tls": "TLS od początku (zwykle port 465)",
        "mb_tls_none": "bez szyfrowania (tylko sieć wewnętrzna)",
        "mb_user": "Użytkownik",
        "mb_password": "Hasło",
        "mb_password_kept": "zapisane — puste pole zostawia obecne",
        "mb_password_note": "Hasło jest szyfrowane przed zapisem i nigdy nie jest pokazywane.",
        "mb_addresses": "Adresy",
        "mb_limits": "Limity wysyłki skrzynki",
        "mb_limits_note": (
            "Limity dostawcy poczty, np. Microsoft 365: 30 na minutę i 10 000 na dobę. Puste pole: "
            "bez limitu. E-maile ponad limit czekają na wolne miejsce, nie przepadają."
        ),
        "mb_per_minute": "na minutę",
        "mb_per_hour": "na godzinę",
        "mb_per_day": "na dobę",
        "mb_save": "Zapisz",
        "mb_test": "Sprawdź połączenie",
        "mb_remove": "Wysyłaj ze skrzynki platformy",
        "mb_saved": "Zapisano. Nowe e-maile wyjdą z tej skrzynki za kilka sekund.",
        "mb_removed": "E-maile będą wysyłane ze skrzynki platformy.",
        "mb_refused": "Nie zapisano:",
        "mb_test_ok": "Połączenie działa: serwer przyjął logowanie (nic nie wysłano).",
        "mb_test_failed": "Połączenie nie działa:",
        "mail_waiting_limit": (
            "{n} e-maili czeka na wolne miejsce w limicie skrzynki "
            "nadawczej; następne wysłanie o {at}."
        ),
        "mail_waiting_retry": (
            "{n} e-maili czeka na ponowną próbę po chwilowym "
            "błędzie serwera poczty; następna próba o {at}."
        ),
        "when": "Kiedy",
        "ip": "Adres IP",
        "host": "Host",
        "agent": "Przeglądarka",
        "number": "Numer",
        "stage": "Etap",
        "buyer": "Nabywca",
        "reasons": "Przyczyny",
        "none": "Brak danych.",
        "counted": "Potwierdza odbiór",
        "resend": "Wyślij ponownie",
        "scanner": "skaner linków",
        "operator_view": "operator (nie liczy się)",
        "yes": "tak",
        "other_lang": "English",
        "stage_requested": "przyjęta",
        "stage_issued": "wystawiona",
        "stage_rendered": "PDF gotowy",
        "stage_mailed": "wysłana",
        "stage_opened": "otwarta",
        "stage_failed": "błąd",
        "failed_invoices": "Faktury z błędem",
        "failed_at": "na etapie",
        "failed_stage_issue": "wystawianie faktury",
        "failed_stage_mail": "wysyłka e-maila",
        "all_failures": "Wszystkie faktury z błędem ({n})",
        "rows_shown": "Pokazano {shown} z {total} faktur. Zawęź listę według etapu:",
        "all_stages": "wszystkie",
        # Shopper and chain-user accounts (gateway.accounts).
        "acc_register_title": "Załóż konto",
        "acc_register_intro": (
            "Z kontem wystawisz fakturę do paragonu i będziesz mieć wszystkie faktury w jednym "
            "miejscu."
        ),
        "acc_email": "Adres e-mail",
        "acc_password": "Hasło",
        "acc_new_password": "Nowe hasło",
        "acc_password_hint": "Co najmniej 10 znaków. Nie używaj popularnych haseł.",
        "acc_register_button": "Załóż konto",
        "acc_have_account": "Masz już konto? Zaloguj się",
        "acc_login_title": "Logowanie",
        "acc_login_button": "Zaloguj się",
        "acc_no_account": "Nie masz konta? Załóż je",
        "acc_forgot": "Nie pamiętasz hasła?",
        "acc_bad_login": "Nieprawidłowy adres e-mail lub hasło.",
        "acc_unverified": (
            "To konto nie jest jeszcze potwierdzone. Kliknij link z wiadomości, którą wysłaliśmy "
            "po rejestracji."
        ),
        "acc_resend_link": "Wyślij link potwierdzający ponownie",
        "acc_bad_email": "Podaj poprawny adres e-mail.",
        "acc_pw_short": "Hasło musi mieć co najmniej 10 znaków.",
        "acc_pw_long": "Hasło może mieć najwyżej 1024 znaki.",
        "acc_pw_common": "To hasło jest zbyt popularne i łatwe do odgadnięcia. Wybierz inne.",
        "acc_pw_email": "Hasło nie może być Twoim adresem e-mail.",
        "acc_check_inbox_title": "Sprawdź skrzynkę",
        "acc_check_inbox": (
            "Wysłaliśmy wiadomość na podany adres. Kliknij link w wiadomości, aby potwierdzić "
            "konto (link jest ważny 24 godziny)."
        ),
        "acc_verify_title": "Potwierdź konto",
        "acc_verify_intro": "Naciśnij przycisk, aby potwierdzić adres e-mail i aktywować konto.",
        "acc_verify_button": "Potwierdzam",
        "acc_verified_now": "Konto zostało potwierdzone. Możesz się zalogować.",
        "acc_link_invalid_title": "Nieważny link",
        "acc_link_invalid": "Ten link jest nieprawidłowy, wygasł albo został już użyty.",
        "acc_resend_title": "Link potwierdzający",
        "acc_resend_intro": "Podaj adres e-mail konta. Wyślemy nowy link potwierdzający.",
        "acc_resend_button": "Wyślij link",
        "acc_resend_sent": (
            "Jeśli pod tym adresem jest niepotwierdzone konto, wysłaliśmy na nie nowy link "
            "potwierdzający."
        ),
        "acc_reset_title": "Nie pamiętasz hasła?",
        "acc_reset_intro": (
            "Podaj adres e-mail konta. Wyślemy link do ustawienia nowego hasła (ważny 1 godzinę)."
        ),
        "acc_reset_button": "Wyślij link",
        "acc_reset_sent": (
            "Jeśli istnieje konto z tym adresem, wysłaliśmy na nie link do ustawienia nowego "
            "hasła. Link jest ważny 1 godzinę."
        ),
        "acc_reset_again": "Poproś o nowy link",
        "acc_new_password_title": "Ustaw nowe hasło",
        "acc_new_password_button": "Zapisz nowe hasło",
        "acc_password_changed": "Hasło zostało zmienione. Zaloguj się nowym hasłem.",
        "acc_limited_title": "Zbyt wiele prób",
        "acc_limited": "Zbyt wiele prób w krótkim czasie. Spróbuj ponownie za {minutes} min.",
        "acc_forbidden_title": "Brak dostępu",
        "acc_forbidden": "Ta strona jest przeznaczona dla innego rodzaju konta.",
        "acc_sign_in_required": "Zaloguj się, aby zobaczyć tę stronę.",
        "acc_csrf": "Formularz wygasł. Wróć, odśwież stronę i spróbuj ponownie.",
        "acc_my_invoices": "Moje faktury",
        "acc_chain_invoices": "Faktury sieci",
        "acc_signed_in_as": "Zalogowano jako",
        "acc_no_invoices": "Nie ma jeszcze żadnych faktur.",
        "acc_go_login": "Przejdź do logowania",
        "acc_mail_verify_subject": "Potwierdź konto w einvoice",
        "acc_mail_verify_body": (
            "Dzień dobry,\n"
            "\n"
            "aby potwierdzić konto, otwórz link i naciśnij przycisk „Potwierdzam”:\n"
            "\n"
            "{verify}\n"
            "\n"
            "Link jest ważny 24 godziny. Jeśli to nie Ty zakładałeś konto, zignoruj tę wiadomość.\n"
        ),
        "acc_mail_reset_subject": "Nowe hasło do konta einvoice",
        "acc_mail_reset_body": (
            "Dzień dobry,\n"
            "\n"
            "nowe hasło ustawisz pod tym linkiem (ważnym 1 godzinę, jednorazowym):\n"
            "\n"
            "{reset}\n"
            "\n"
            "Jeśli to nie Ty prosiłeś o zmianę hasła, zignoruj tę wiadomość; hasło się nie "
            "zmieni.\n"
        ),
        "acc_mail_exists_subject": "Masz już konto w einvoice",
        "acc_mail_exists_body": (
            "Dzień dobry,\n"
            "\n"
            "ktoś (być może Ty) próbował założyć konto na ten adres, ale konto już istnieje.\n"
            "\n"
            "Zaloguj się: {login}\n"
            "Nie pamiętasz hasła? Ustaw nowe: {reset_request}\n"
            "\n"
            "Jeśli to nie Ty, zignoruj tę wiadomość.\n"
        ),
        # The operator's e-mail template editor (gateway.email_templates).
        "em_title": "Treść e-maila z fakturą",
        "em_intro": (
            "Tak wygląda wiadomość, którą klienci dostają z linkiem do faktury. Zmienne wstawiasz "
            "jako {{ nazwa }}; działa też {% if due_date %}…{% endif %}. Zapis tworzy nową wersję; "
            "szablon z błędami nie zostanie zapisany."
        ),
        "em_subject": "Temat",
        "em_html": "Treść HTML",
        "em_text": "Treść tekstowa",
        "em_save": "Zapisz jako nową wersję",
        "em_saved": "Zapisano wersję {version}. Nowe e-maile użyją jej za kilka sekund.",
        "em_refused": "Nie zapisano: szablon ma błędy.",
        "em_viewing": "Oglądasz wersję {version}. Zapisanie przywróci ją jako nową wersję.",
        "em_viewing_default": "Oglądasz szablon domyślny. Zapisanie przywróci go jako nową wersję.",
        "em_load_default": "Wczytaj szablon domyślny",
        "em_preview": "Podgląd na przykładowej fakturze",
        "em_preview_hint": "Podgląd odświeża się w trakcie pisania.",
        "em_preview_failed": "Podglądu nie da się pokazać:",
        "em_variables": "Zmienne",
        "em_variable": "Zmienna",
        "em_description": "Opis",
        "em_sample": "Przykład",
        "em_history": "Historia wersji",
        "em_version": "Wersja",
        "em_saved_at": "Zapisano (UTC)",
        "em_in_use": "w użyciu",
        "em_default_in_use": "W użyciu jest szablon domyślny (wersja 0).",
        "em_no_history": "Nie zapisano jeszcze żadnej wersji.",
        "em_view": "Pokaż",
        "em_restore": "Przywróć",
        "em_err_undefined": "Nieznana zmienna",
        "em_err_invalid": "Niepoprawna wartość",
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
        "nav_email": "E-mail text",
        "nav_mailbox": "Sending mailbox",
        "nav_webhook": "Webhook",
        # Webhook (gateway.webhook_pages).
        "wh_title": "Webhook",
        "wh_intro": (
            "The address the platform POSTs receipt confirmations and undeliverable e-mails to "
            "(JSON, signed with HMAC-SHA256)."
        ),
        "wh_url": "URL (http:// or https://)",
        "wh_events": "Events",
        "wh_event_invoice_confirmed": "a customer opened the invoice (receipt confirmation)",
        "wh_event_mail_failed": "the invoice's e-mail could not be delivered",
        "wh_save": "Save",
        "wh_saved": "Saved.",
        "wh_removed": "Webhook removed.",
        "wh_first_save": "The first save creates the signing secret.",
        "wh_secret_set": "The signing secret is set.",
        "wh_new_secret": "Generate a new secret",
        "wh_remove": "Remove the webhook",
        "wh_secret_once": "Signing secret — copy it now, it will not be shown again:",
        "wh_secret_hint": (
            "The previous secret (if any) no longer works. Check the X-Einvoice-Signature "
            "header with this one."
        ),
        "wh_err_url": (
            "Enter a full http:// or https:// address (up to 2000 characters, no spaces)."
        ),
        "wh_err_events": "Choose at least one event.",
        "wh_err_none": "Save the webhook's address first.",
        "wh_err_sealing": (
            "The platform has no key to seal secrets with; contact the administrator."
        ),
        "wh_log": "Delivery log",
        "wh_log_hint": "The last 100 deliveries; the same through the API:",
        "wh_event": "Event",
        "wh_state": "State",
        "wh_attempts": "Attempts",
        "wh_last": "Last answer",
        "wh_next": "Next attempt",
        "wh_state_queued": "waiting",
        "wh_state_working": "sending",
        "wh_state_done": "delivered",
        "wh_state_failed": "failed",
        # The operator's sending mailbox (gateway.mailbox).
        "mb_intro": (
            "Invoice e-mails can leave from your own mailbox. Without one, the platform's "
            "mailbox sends them."
        ),
        "mb_in_use": "Sending now:",
        "mb_platform": "the platform's mailbox",
        "mb_host": "SMTP server",
        "mb_port": "Port",
        "mb_tls": "Encryption",
        "mb_tls_starttls": "STARTTLS (usually port 587)",
        "mb_tls_tls": "TLS from the start (usually port 465)",
        "mb_tls_none": "none (internal network only)",
        "mb_user": "User",
        "mb_password": "Password",
        "mb_password_kept": "stored — leave empty to keep it",
        "mb_password_note": "The password is encrypted before it is stored and never shown.",
        "mb_addresses": "Addresses",
        "mb_limits": "The mailbox's sending limits",
        "mb_limits_note": (
            "Your mail provider's limits, e.g. Microsoft 365: 30 a minute and 10,000 a day. Empty: "
            "no limit. E-mails over a limit wait for a free slot; none is lost."
        ),
        "mb_per_minute": "per minute",
        "mb_per_hour": "per hour",
        "mb_per_day": "per day",
        "mb_save": "Save",
        "mb_test": "Test the connection",
        "mb_remove": "Send from the platform's mailbox",
        "mb_saved": "Saved. New e-mails leave from this mailbox within seconds.",
        "mb_removed": "E-mails will be sent from the platform's mailbox.",
        "mb_refused": "Not saved:",
        "mb_test_ok": "The connection works: the server accepted the login (nothing was sent).",
        "mb_test_failed": "The connection does not work:",
        "mail_waiting_limit": (
            "{n} e-mails are waiting for a free slot within the sending "
            "mailbox's limits; the next goes out at {at}."
        ),
        "mail_waiting_retry": (
            "{n} e-mails are waiting to be retried after a temporary "
            "mail server error; next attempt at {at}."
        ),
        "when": "When",
        "ip": "IP address",
        "host": "Host",
        "agent": "User agent",
        "number": "Number",
        "stage": "Stage",
        "buyer": "Buyer",
        "reasons": "Reasons",
        "none": "Nothing yet.",
        "counted": "Confirms receipt",
        "resend": "Send again",
        "scanner": "link scanner",
        "operator_view": "operator (not counted)",
        "yes": "yes",
        "other_lang": "Polski",
        "stage_requested": "requested",
        "stage_issued": "issued",
        "stage_rendered": "PDF ready",
        "stage_mailed": "mailed",
        "stage_opened": "opened",
        "stage_failed": "failed",
        "failed_invoices": "Failed invoices",
        "failed_at": "at stage",
        "failed_stage_issue": "issuing",
        "failed_stage_mail": "sending the e-mail",
        "all_failures": "All failed invoices ({n})",
        "rows_shown": "Showing {shown} of {total} invoices. Narrow the list by stage:",
        "all_stages": "all",
        # Shopper and chain-user accounts (gateway.accounts).
        "acc_register_title": "Create an account",
        "acc_register_intro": (
            "With an account you can turn a receipt into an invoice and keep all your invoices in "
            "one place."
        ),
        "acc_email": "E-mail address",
        "acc_password": "Password",
        "acc_new_password": "New password",
        "acc_password_hint": "At least 10 characters. Avoid common passwords.",
        "acc_register_button": "Create account",
        "acc_have_account": "Already have an account? Log in",
        "acc_login_title": "Log in",
        "acc_login_button": "Log in",
        "acc_no_account": "No account yet? Create one",
        "acc_forgot": "Forgot your password?",
        "acc_bad_login": "Wrong e-mail address or password.",
        "acc_unverified": (
            "This account is not confirmed yet. Follow the link in the e-mail we sent when you "
            "registered."
        ),
        "acc_resend_link": "Send the confirmation link again",
        "acc_bad_email": "Enter a valid e-mail address.",
        "acc_pw_short": "The password must be at least 10 characters long.",
        "acc_pw_long": "The password must be at most 1024 characters long.",
        "acc_pw_common": "This password is too common and easy to guess. Choose another one.",
        "acc_pw_email": "The password must not be your e-mail address.",
        "acc_check_inbox_title": "Check your inbox",
        "acc_check_inbox": (
            "We sent a message to the address you gave. Follow the link in it to confirm your "
            "account (the link is valid for 24 hours)."
        ),
        "acc_verify_title": "Confirm your account",
        "acc_verify_intro": (
            "Press the button to confirm your e-mail address and activate the account."
        ),
        "acc_verify_button": "Confirm",
        "acc_verified_now": "Your account is confirmed. You can log in now.",
        "acc_link_invalid_title": "Invalid link",
        "acc_link_invalid": "This link is invalid, expired or already used.",
        "acc_resend_title": "Confirmation link",
        "acc_resend_intro": (
            "Enter your account's e-mail address and we will send a new confirmation link."
        ),
        "acc_resend_button": "Send the link",
        "acc_resend_sent": (
            "If an unconfirmed account uses this address, we sent it a new confirmation link."
        ),
        "acc_reset_title": "Forgot your password?",
        "acc_reset_intro": (
            "Enter your account's e-mail address and we will send a link to set a new password "
            "(valid for 1 hour)."
        ),
        "acc_reset_button": "Send the link",
        "acc_reset_sent": (
            "If an account uses this address, we sent it a link to set a new password. The link is "
            "valid for 1 hour."
        ),
        "acc_reset_again": "Ask for a new link",
        "acc_new_password_title": "Set a new password",
        "acc_new_password_button": "Save the new password",
        "acc_password_changed": "Your password has been changed. Log in with the new one.",
        "acc_limited_title": "Too many attempts",
        "acc_limited": "Too many attempts in a short time. Try again in {minutes} min.",
        "acc_forbidden_title": "No access",
        "acc_forbidden": "This page is meant for a different kind of account.",
        "acc_sign_in_required": "Log in to see this page.",
        "acc_csrf": "The form has expired. Go back, reload the page and try again.",
        "acc_my_invoices": "My invoices",
        "acc_chain_invoices": "Chain invoices",
        "acc_signed_in_as": "Signed in as",
        "acc_no_invoices": "No invoices yet.",
        "acc_go_login": "Go to the login page",
        "acc_mail_verify_subject": "Confirm your einvoice account",
        "acc_mail_verify_body": (
            "Hello,\n"
            "\n"
            'to confirm your account, open the link and press the "Confirm" button:\n'
            "\n"
            "{verify}\n"
            "\n"
            "The link is valid for 24 hours. If you did not create an account, ignore this "
            "message.\n"
        ),
        "acc_mail_reset_subject": "A new password for your einvoice account",
        "acc_mail_reset_body": (
            "Hello,\n"
            "\n"
            "set a new password with this link (valid for 1 hour, single use):\n"
            "\n"
            "{reset}\n"
            "\n"
            "If you did not ask to change your password, ignore this message; the password stays "
            "as it is.\n"
        ),
        "acc_mail_exists_subject": "You already have an einvoice account",
        "acc_mail_exists_body": (
            "Hello,\n"
            "\n"
            "someone (maybe you) tried to create an account with this address, but the account "
            "exists already.\n"
            "\n"
            "Log in: {login}\n"
            "Forgot your password? Set a new one: {reset_request}\n"
            "\n"
            "If it was not you, ignore this message.\n"
        ),
        # The operator's e-mail template editor (gateway.email_templates).
        "em_title": "The invoice e-mail",
        "em_intro": (
            "This is the message customers get with the link to their invoice. Insert variables "
            "as {{ name }}; {% if due_date %}…{% endif %} works too. Saving makes a new version; "
            "a template with errors is not saved."
        ),
        "em_subject": "Subject",
        "em_html": "HTML body",
        "em_text": "Plain-text body",
        "em_save": "Save as a new version",
        "em_saved": "Version {version} saved. New e-mails use it within seconds.",
        "em_refused": "Not saved: the template has errors.",
        "em_viewing": "You are viewing version {version}. Saving restores it as a new version.",
        "em_viewing_default": (
            "You are viewing the default template. Saving restores it as a new version."
        ),
        "em_load_default": "Load the default template",
        "em_preview": "Preview with a sample invoice",
        "em_preview_hint": "The preview updates as you type.",
        "em_preview_failed": "The preview cannot be shown:",
        "em_variables": "Variables",
        "em_variable": "Variable",
        "em_description": "Description",
        "em_sample": "Sample",
        "em_history": "Version history",
        "em_version": "Version",
        "em_saved_at": "Saved (UTC)",
        "em_in_use": "in use",
        "em_default_in_use": "The default template (version 0) is in use.",
        "em_no_history": "No version saved yet.",
        "em_view": "View",
        "em_restore": "Restore",
        "em_err_undefined": "Unknown variable",
        "em_err_invalid": "Invalid value",
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
