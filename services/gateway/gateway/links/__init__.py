"""The customer's invoice link, /i/{token}: a landing page (never an open) and the explicit
download (an open)."""
