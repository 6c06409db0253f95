"""NIPs: normalised to their 10 digits, or the reason they are not NIPs."""

from __future__ import annotations

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.pl import nip as stdnum_nip

from einvoice.events import Party


def normalize_nip(value: str) -> str:
    """The 10 digits of a NIP given with an optional "PL" prefix, dashes or spaces.

    Raises `stdnum.exceptions.ValidationError` when it is not a valid NIP.
    """
    return stdnum_nip.validate(value)


def check_nip(field: str, value: str, reasons: list[str]) -> str | None:
    """Validate a NIP; return its 10 digits, or None after appending the reason."""
    try:
        return normalize_nip(value)
    except InvalidChecksum:
        reasons.append(f"{field} {value!r} fails the NIP checksum")
    except ValidationError:
        reasons.append(
            f"{field} {value!r} is not a NIP: expected 10 digits, optionally with a 'PL' "
            "prefix, dashes or spaces"
        )
    return None


def with_nip(party: Party, nip: str | None) -> Party:
    return party if nip is None else party.model_copy(update={"nip": nip})
