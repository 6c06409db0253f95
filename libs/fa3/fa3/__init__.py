"""FA(3), the structured invoice KSeF accepts: its official schema and offline validation."""

from fa3.validation import NAMESPACE, validate

__all__ = ["NAMESPACE", "validate"]
