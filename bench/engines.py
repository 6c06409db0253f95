"""The PDF engines bench/renderers.py compares, each as a factory of `render(invoice) -> PDF`.

A factory does the one-off work a long-running renderer process would do once (register
fonts, compile a template, build a compiler); `render` does what every invoice costs.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import drawn
from invoice_view import invoice_view

from einvoice.events import InvoiceIssued
from invoice_pdf.render import FONTS_DIR, render_invoice_html, render_invoice_pdf
from invoice_pdf import render as service

Render = Callable[[InvoiceIssued], bytes]
TYPST_TEMPLATE = Path(__file__).resolve().parent / "typst" / "invoice.typ"


@dataclass(frozen=True)
class Engine:
    name: str
    how: str  # how it renders, one line
    template: str  # what a chain could edit, and how it would preview it
    make: Callable[[], Render]
    rl_accel: bool = False  # ReportLab's C accelerator (the rl-accel package) loaded
    page_count: bool = True  # prints "Strona X z Y" (False: "Strona X" only)


# --- xhtml2pdf ------------------------------------------------------------------------------

_DEFAULT_CSS: dict[str, Any] = {}


@contextlib.contextmanager
def default_css_parsed_once() -> Iterator[None]:
    """xhtml2pdf parses its built-in user-agent stylesheet (~400 lines) for every document;
    parse it once. The document's own <style> still has to be parsed per document: its
    @font-face and @page rules act on the document's context while they are parsed."""
    from xhtml2pdf import context, parser

    original = context.pisaContext._parseCSSSource

    def parse(self: Any, text: str, source_name: str) -> Any:
        if source_name != parser.DEFAULT_CSS_SOURCE:
            return original(self, text, source_name)
        if text not in _DEFAULT_CSS:
            _DEFAULT_CSS[text] = original(self, text, source_name)
        return _DEFAULT_CSS[text]

    context.pisaContext._parseCSSSource = parse
    try:
        yield
    finally:
        context.pisaContext._parseCSSSource = original


def _pisa(html: str) -> bytes:
    from xhtml2pdf import pisa

    out = io.BytesIO()
    status = pisa.CreatePDF(
        html,
        dest=out,
        encoding="utf-8",
        link_callback=service._link_callback,
        resource_policy=service._resource_policy(),
        raise_exception=True,
    )
    assert not status.err
    return out.getvalue()


def make_xhtml2pdf() -> Render:
    return render_invoice_pdf


def make_xhtml2pdf_reused() -> Render:
    # Already reused by the service: the jinja Environment and compiled template
    # (functools.cache), the DejaVu TTFs (ReportLab keeps registered fonts per process).
    def render(invoice: InvoiceIssued) -> bytes:
        with default_css_parsed_once():
            return _pisa(render_invoice_html(invoice))

    return render


def make_xhtml2pdf_one_pass() -> Render:
    # "Strona X z <pdf:pagecount/>" makes xhtml2pdf lay the document out twice (multiBuild).
    def render(invoice: InvoiceIssued) -> bytes:
        html = render_invoice_html(invoice).replace(" z <pdf:pagecount/>", "")
        with default_css_parsed_once():
            return _pisa(html)

    return render


# --- WeasyPrint -----------------------------------------------------------------------------

# The template's footer is an xhtml2pdf @frame with <pdf:pagenumber/>; WeasyPrint does the
# same with a running element in the page's bottom margin and CSS page counters.
_WEASY_CSS = """
#page-footer { position: running(footer); }
@page { @bottom-center { content: element(footer); vertical-align: top; padding-top: 2mm; } }
.page-of::after { content: "Strona " counter(page) " z " counter(pages); }
</style>"""


def weasyprint_html(invoice: InvoiceIssued, branding: dict[str, Any] | None = None) -> str:
    html = render_invoice_html(invoice, branding=branding)
    html = html.replace("Strona <pdf:pagenumber/> z <pdf:pagecount/>", '<span class="page-of"/>')
    return html.replace("</style>", _WEASY_CSS, 1)


def make_weasyprint() -> Render:
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    class FontsOnly(URLFetcher):
        """Inline data: (the logo) and files inside the fonts folder; nothing else."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            inside = parsed.scheme == "file" and Path(
                unquote(parsed.path)
            ).resolve().is_relative_to(FONTS_DIR)
            if parsed.scheme != "data" and not inside:
                raise ValueError(f"blocked resource {url[:80]!r}")
            return super().fetch(url, headers)

    fonts = FontConfiguration()  # reused: fontconfig set up once per process
    fetcher = FontsOnly(allowed_protocols=("file", "data"))
    base = FONTS_DIR.as_uri() + "/"

    def render(invoice: InvoiceIssued) -> bytes:
        document = HTML(string=weasyprint_html(invoice), base_url=base, url_fetcher=fetcher)
        return document.write_pdf(font_config=fonts)

    return render


# --- typst ----------------------------------------------------------------------------------


@functools.cache
def typst_fonts(folder: Path = FONTS_DIR) -> Any:
    """DejaVu Sans only: no system fonts, none of typst's embedded ones."""
    import typst

    return typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(folder)]
    )


@functools.cache
def typst_root() -> str:
    """The compile root: the only folder a template can read (the chain's logo goes here)."""
    return tempfile.mkdtemp(prefix="typst-root-")


def typst_inputs(invoice: InvoiceIssued, **view: Any) -> dict[str, str]:
    return {"invoice": json.dumps(invoice_view(invoice, **view), ensure_ascii=False)}


def typst_timestamp(invoice: InvoiceIssued) -> int:
    """The PDF's creation date from the issue date: the same invoice, the same bytes."""
    return int(datetime.combine(invoice.issue_date, time(), UTC).timestamp())


def make_typst_fresh() -> Render:
    """What a naive integration does: typst.compile per invoice (fonts searched every time)."""
    import typst

    source = TYPST_TEMPLATE.read_bytes()

    def render(invoice: InvoiceIssued) -> bytes:
        return typst.compile(
            source,
            root=typst_root(),
            font_paths=[str(FONTS_DIR)],
            ignore_system_fonts=True,
            sys_inputs=typst_inputs(invoice),
            timestamp=typst_timestamp(invoice),
        )

    return render


def make_typst_warm(pdf_tags: bool = True, fonts: Callable[[], Path] | None = None) -> Render:
    """One Compiler per process, fonts loaded once; typst's memoization (comemo) reuses the
    layout of whatever did not change since the last invoice."""
    import typst

    folder = fonts() if fonts else FONTS_DIR
    compiler = typst.Compiler(root=typst_root(), font_paths=typst_fonts(folder))
    source = TYPST_TEMPLATE.read_bytes()

    def render(invoice: InvoiceIssued) -> bytes:
        return compiler.compile(
            input=source,
            sys_inputs=typst_inputs(invoice),
            timestamp=typst_timestamp(invoice),
            pdf_tags=pdf_tags,
        )

    return render


# --- drawn by code --------------------------------------------------------------------------


def make_reportlab(fonts: Path = FONTS_DIR) -> Render:
    names = drawn.reportlab_fonts(fonts)
    return lambda invoice: drawn.reportlab_pdf(invoice_view(invoice), names)


# --- fonts without TrueType hinting ---------------------------------------------------------


@functools.cache
def dehinted_fonts() -> Path:
    """DejaVu Sans (regular, bold) without TrueType hinting (instructions, fpgm, prep, cvt)
    and cut to the scripts an invoice here prints: Latin-1, Latin Extended-A, punctuation,
    currency, letterlike symbols, arrows. PDF viewers do not use TrueType hinting; the
    instructions are most of each embedded glyph's bytes."""
    from fontTools import subset, ttLib

    logging.getLogger("fontTools").setLevel(logging.ERROR)

    folder = Path(tempfile.mkdtemp(prefix="fonts-dehinted-"))
    codepoints = [
        *range(0x20, 0x7F),
        *range(0xA0, 0x250),
        *range(0x2000, 0x2070),
        *range(0x20A0, 0x20C1),
        *range(0x2100, 0x2200),
        0x2212,
        0x25CF,
    ]
    for path in sorted(FONTS_DIR.glob("*.ttf")):
        options = subset.Options()
        options.hinting = False
        options.drop_tables += ["FFTM"]  # FontForge's timestamps
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.glyph_names = True
        font = ttLib.TTFont(path)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(font)
        for record in font["name"].names:  # a name of its own: ReportLab keys faces by it
            if record.nameID in (4, 6):
                record.string = record.toUnicode().replace("DejaVu", "DejaVuDehinted")
        font.save(folder / path.name)
    return folder


def make_fpdf2() -> Render:
    return lambda invoice: drawn.fpdf2_pdf(invoice_view(invoice))


# --- PyMuPDF (MuPDF's Story: its own HTML/CSS subset) ---------------------------------------


def make_pymupdf_story() -> Render:
    import pymupdf

    archive = pymupdf.Archive(str(FONTS_DIR))
    page = pymupdf.paper_rect("a4")
    body = page + (13 * drawn.MM, 14 * drawn.MM, -13 * drawn.MM, -16 * drawn.MM)

    def render(invoice: InvoiceIssued) -> bytes:
        html = render_invoice_html(invoice).replace("<!DOCTYPE html>", "")
        html = re.sub(r'src: url\("[^"]*/([\w-]+\.ttf)"\)', r"src: url(\1)", html)
        html = re.sub(r"@page \{.*?\n\}\n", "", html, flags=re.S)  # xhtml2pdf-only syntax
        story = pymupdf.Story(html=html, archive=archive)
        out = io.BytesIO()
        writer = pymupdf.DocumentWriter(out, "compress")
        more = True
        while more:
            device = writer.begin_page(page)
            more, _ = story.place(body)
            story.draw(device)
            writer.end_page()
        writer.close()
        return out.getvalue()

    return render


HTML_TEMPLATE = "Jinja2 HTML (sandboxed), preview = render"
TYPST_TEMPLATE_STORY = "typst markup (sandboxed language), preview = compile"
CODE = "none: Python code; a chain could only set options (colours, logo, texts)"

ENGINES = [
    Engine("xhtml2pdf", "the service today: render_invoice_pdf", HTML_TEMPLATE, make_xhtml2pdf),
    Engine(
        "xhtml2pdf reused",
        "+ built-in CSS parsed once (template, fonts already reused)",
        HTML_TEMPLATE,
        make_xhtml2pdf_reused,
    ),
    Engine(
        "xhtml2pdf 1 pass",
        "+ no page count (one layout pass instead of two)",
        HTML_TEMPLATE,
        make_xhtml2pdf_one_pass,
        page_count=False,
    ),
    Engine(
        "weasyprint",
        "same HTML, footer as a running element; fonts config reused",
        HTML_TEMPLATE,
        make_weasyprint,
    ),
    Engine(
        "typst fresh",
        "typst.compile per invoice (bench/typst/invoice.typ)",
        TYPST_TEMPLATE_STORY,
        make_typst_fresh,
    ),
    Engine(
        "typst warm",
        "one typst.Compiler per process, fonts loaded once",
        TYPST_TEMPLATE_STORY,
        make_typst_warm,
    ),
    Engine(
        "typst warm untagged",
        "as warm, pdf_tags=False (no accessibility tags)",
        TYPST_TEMPLATE_STORY,
        functools.partial(make_typst_warm, pdf_tags=False),
    ),
    Engine(
        "typst warm dehinted",
        "as warm, fonts without TrueType hinting",
        TYPST_TEMPLATE_STORY,
        functools.partial(make_typst_warm, fonts=dehinted_fonts),
    ),
    Engine("reportlab", "canvas, TTFs registered once (bench/drawn.py)", CODE, make_reportlab),
    Engine(
        "xhtml2pdf + rl_accel",
        "the service today with ReportLab's C accelerator installed",
        HTML_TEMPLATE,
        make_xhtml2pdf,
        rl_accel=True,
    ),
    Engine(
        "xhtml2pdf 1p + rl_accel",
        "1 pass, built-in CSS parsed once, C accelerator",
        HTML_TEMPLATE,
        make_xhtml2pdf_one_pass,
        rl_accel=True,
        page_count=False,
    ),
    Engine(
        "reportlab + rl_accel",
        "canvas, TTFs registered once, C accelerator",
        CODE,
        make_reportlab,
        rl_accel=True,
    ),
    Engine(
        "reportlab + rl_accel dehinted",
        "as above, fonts without TrueType hinting",
        CODE,
        lambda: make_reportlab(dehinted_fonts()),
        rl_accel=True,
    ),
    Engine("fpdf2", "fpdf2 table API, TTFs added per document", CODE, make_fpdf2),
    Engine(
        "pymupdf story",
        "MuPDF Story on the same HTML (its HTML/CSS subset)",
        "HTML, but a different CSS dialect",
        make_pymupdf_story,
    ),
]
BY_NAME = {engine.name: engine for engine in ENGINES}
