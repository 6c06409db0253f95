"""Draws an invoice as a PDF: the invoice's view, amounts in words, the drawn layout
(ReportLab) and a tenant's HTML layout (xhtml2pdf), with the packaged fonts. pdf-renderer
and the chain portal's preview both use it."""
