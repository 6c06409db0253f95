"""NIPs: normalised to their 10 digits, or the reason they are not NIPs."""

from __future__ import annotations

import re

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.pl import nip as stdnum_nip

from einvoice.events import Party

# FA(3)'s `TNrNIP` pattern: the first three digits are a tax office's code, which never
# starts with 0 nor has 0 as both its second and third digit, whatever the checksum says.
_TAX_OFFICE = re.compile(r"[1-9]((\d[1-9])|([1-9]\d))\d{7}")


def normalize_nip(value: str) -> str:
    """The 10 digits of a NIP given with an optional "PL" prefix, dashes or spaces.

    Raises `stdnum.exceptions.ValidationError` when it is not a valid NIP.
    """
    return stdnum_nip.validate(value)


def check_nip(field: str, value: str, reasons: list[str]) -> str | None:
    """Validate a NIP; return its 10 digits, or None after appending the reason."""
    try:
        nip = normalize_nip(value)
    except InvalidChecksum:
        reasons.append(f"{field} {value!r} fails the NIP checksum")
    except ValidationError:
        reasons.append(
            f"{field} {value!r} is not a NIP: expected 10 digits, optionally with a 'PL' "
            "prefix, dashes or spaces"
        )
    else:
        if _TAX_OFFICE.fullmatch(nip):
            return nip
        reasons.append(
            f"{field} {value!r} is not a NIP: its first three digits are no tax office's code"
        )
    return None


def with_nip(party: Party, nip: str | None) -> Party:
    return party if nip is None else party.model_copy(update={"nip": nip})
