"""Page machinery shared by the operator, shop and chain pages: templates, texts, sign-in,
CSRF, static files."""
