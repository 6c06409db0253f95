"""The retail chain's portal under /chain: its customers' invoices and its invoice layout."""
