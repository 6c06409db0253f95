"""The mailer's view of the e-mail templates: composing lives in `einvoice.emailtemplates`,
shared with the gateway's template editor so that what it checks is what the mailer sends."""

from __future__ import annotations

from einvoice.emailtemplates import (
    NBSP,
    Composed,
    build_message,
    compose,
    default_template,
    format_pln,
)

__all__ = ["NBSP", "Composed", "build_message", "compose", "default_template", "format_pln"]
