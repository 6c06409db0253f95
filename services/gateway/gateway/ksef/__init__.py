"""KSeF for the people: a tenant's KSeF connection page (shared by the operator panel and the
chain portal, `connection.py` and `page.py`) and an invoice's KSeF state, number and
documents in the invoice lists (`invoices.py`)."""
