"""Texts of the account pages and e-mails: (Polish, English) by key, part of
`gateway.web.texts`."""

ACCOUNTS: dict[str, tuple[str, str]] = {
    "acc_register_title": ("Załóż konto", "Create an account"),
    "acc_register_intro": (
        "Z kontem wystawisz fakturę do paragonu i będziesz mieć wszystkie faktury w jednym "
        "miejscu.",
        "With an account you can turn a receipt into an invoice and keep all your invoices in one "
        "place.",
    ),
    "acc_email": ("Adres e-mail", "E-mail address"),
    "acc_password": ("Hasło", "Password"),
    "acc_new_password": ("Nowe hasło", "New password"),
    "acc_password_hint": (
        "Co najmniej 10 znaków. Nie używaj popularnych haseł.",
        "At least 10 characters. Avoid common passwords.",
    ),
    "acc_register_button": ("Załóż konto", "Create account"),
    "acc_have_account": ("Masz już konto? Zaloguj się", "Already have an account? Log in"),
    "acc_login_title": ("Logowanie", "Log in"),
    "acc_login_button": ("Zaloguj się", "Log in"),
    "acc_no_account": ("Nie masz konta? Załóż je", "No account yet? Create one"),
    "acc_forgot": ("Nie pamiętasz hasła?", "Forgot your password?"),
    "acc_bad_login": ("Nieprawidłowy adres e-mail lub hasło.", "Wrong e-mail address or password."),
    "acc_unverified": (
        "To konto nie jest jeszcze potwierdzone. Kliknij link z wiadomości, którą wysłaliśmy po "
        "rejestracji.",
        "This account is not confirmed yet. Follow the link in the e-mail we sent when you "
        "registered.",
    ),
    "acc_resend_link": ("Wyślij link potwierdzający ponownie", "Send the confirmation link again"),
    "acc_bad_email": ("Podaj poprawny adres e-mail.", "Enter a valid e-mail address."),
    "acc_pw_short": (
        "Hasło musi mieć co najmniej 10 znaków.",
        "The password must be at least 10 characters long.",
    ),
    "acc_pw_long": (
        "Hasło może mieć najwyżej 1024 znaki.",
        "The password must be at most 1024 characters long.",
    ),
    "acc_pw_common": (
        "To hasło jest zbyt popularne i łatwe do odgadnięcia. Wybierz inne.",
        "This password is too common and easy to guess. Choose another one.",
    ),
    "acc_pw_email": (
        "Hasło nie może być Twoim adresem e-mail.",
        "The password must not be your e-mail address.",
    ),
    "acc_check_inbox_title": ("Sprawdź skrzynkę", "Check your inbox"),
    "acc_check_inbox": (
        "Wysłaliśmy wiadomość na podany adres. Kliknij link w wiadomości, aby potwierdzić konto "
        "(link jest ważny 24 godziny).",
        "We sent a message to the address you gave. Follow the link in it to confirm your account "
        "(the link is valid for 24 hours).",
    ),
    "acc_verify_title": ("Potwierdź konto", "Confirm your account"),
    "acc_verify_intro": (
        "Naciśnij przycisk, aby potwierdzić adres e-mail i aktywować konto.",
        "Press the button to confirm your e-mail address and activate the account.",
    ),
    "acc_verify_button": ("Potwierdzam", "Confirm"),
    "acc_verified_now": (
        "Konto zostało potwierdzone. Możesz się zalogować.",
        "Your account is confirmed. You can log in now.",
    ),
    "acc_link_invalid_title": ("Nieważny link", "Invalid link"),
    "acc_link_invalid": (
        "Ten link jest nieprawidłowy, wygasł albo został już użyty.",
        "This link is invalid, expired or already used.",
    ),
    "acc_resend_title": ("Link potwierdzający", "Confirmation link"),
    "acc_resend_intro": (
        "Podaj adres e-mail konta. Wyślemy nowy link potwierdzający.",
        "Enter your account's e-mail address and we will send a new confirmation link.",
    ),
    "acc_resend_button": ("Wyślij link", "Send the link"),
    "acc_resend_sent": (
        "Jeśli pod tym adresem jest niepotwierdzone konto, wysłaliśmy na nie nowy link "
        "potwierdzający.",
        "If an unconfirmed account uses this address, we sent it a new confirmation link.",
    ),
    "acc_reset_title": ("Nie pamiętasz hasła?", "Forgot your password?"),
    "acc_reset_intro": (
        "Podaj adres e-mail konta. Wyślemy link do ustawienia nowego hasła (ważny 1 godzinę).",
        "Enter your account's e-mail address and we will send a link to set a new password (valid "
        "for 1 hour).",
    ),
    "acc_reset_button": ("Wyślij link", "Send the link"),
    "acc_reset_sent": (
        "Jeśli istnieje konto z tym adresem, wysłaliśmy na nie link do ustawienia nowego hasła. "
        "Link jest ważny 1 godzinę.",
        "If an account uses this address, we sent it a link to set a new password. The link is "
        "valid for 1 hour.",
    ),
    "acc_reset_again": ("Poproś o nowy link", "Ask for a new link"),
    "acc_new_password_title": ("Ustaw nowe hasło", "Set a new password"),
    "acc_new_password_button": ("Zapisz nowe hasło", "Save the new password"),
    "acc_password_changed": (
        "Hasło zostało zmienione. Zaloguj się nowym hasłem.",
        "Your password has been changed. Log in with the new one.",
    ),
    "acc_chain_invoices": ("Faktury sieci", "Chain invoices"),
    "acc_go_login": ("Przejdź do logowania", "Go to the login page"),
    "acc_mail_verify_subject": ("Potwierdź konto w einvoice", "Confirm your einvoice account"),
    "acc_mail_verify_body": (
        "Dzień dobry,\n\n"
        "aby potwierdzić konto, otwórz link i naciśnij przycisk „Potwierdzam”:\n\n"
        "{verify}\n\n"
        "Link jest ważny 24 godziny. Jeśli to nie Ty zakładałeś konto, zignoruj tę wiadomość.\n",
        "Hello,\n\n"
        'to confirm your account, open the link and press the "Confirm" button:\n\n'
        "{verify}\n\n"
        "The link is valid for 24 hours. If you did not create an account, ignore this message.\n",
    ),
    "acc_mail_reset_subject": (
        "Nowe hasło do konta einvoice",
        "A new password for your einvoice account",
    ),
    "acc_mail_reset_body": (
        "Dzień dobry,\n\n"
        "nowe hasło ustawisz pod tym linkiem (ważnym 1 godzinę, jednorazowym):\n\n"
        "{reset}\n\n"
        "Jeśli to nie Ty prosiłeś o zmianę hasła, zignoruj tę wiadomość; hasło się nie zmieni.\n",
        "Hello,\n\n"
        "set a new password with this link (valid for 1 hour, single use):\n\n"
        "{reset}\n\n"
        "If you did not ask to change your password, ignore this message; the password stays as "
        "it is.\n",
    ),
    "acc_mail_exists_subject": (
        "Masz już konto w einvoice",
        "You already have an einvoice account",
    ),
    "acc_mail_exists_body": (
        "Dzień dobry,\n\n"
        "ktoś (być może Ty) próbował założyć konto na ten adres, ale konto już istnieje.\n\n"
        "Zaloguj się: {login}\n"
        "Nie pamiętasz hasła? Ustaw nowe: {reset_request}\n\n"
        "Jeśli to nie Ty, zignoruj tę wiadomość.\n",
        "Hello,\n\n"
        "someone (maybe you) tried to create an account with this address, but the account exists "
        "already.\n\n"
        "Log in: {login}\n"
        "Forgot your password? Set a new one: {reset_request}\n\n"
        "If it was not you, ignore this message.\n",
    ),
}
