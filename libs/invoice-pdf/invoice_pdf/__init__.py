"""Draws an invoice as a PDF: the invoice's view, amounts in words, the drawn layout
(ReportLab) and a tenant's HTML layout (xhtml2pdf), with the packaged fonts, and the KSeF
mark of an invoice registered in KSeF (`invoice_pdf.ksef`: the QR code of KOD I with the
KSeF number under it). pdf-renderer and the chain portal's preview both use it."""
