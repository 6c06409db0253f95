"""FA(3), the structured invoice KSeF accepts: its official schema, offline validation, and
the mapping of an issued invoice to FA(3) XML."""

from fa3.build import build
from fa3.validation import NAMESPACE, validate
from fa3.values import Fa3Error

__all__ = ["NAMESPACE", "Fa3Error", "build", "validate"]
