"""Which PDF engine renders an invoice cheaply enough for 100 invoices/s on 2 cores (ADR 0008).

For every engine in bench/engines.py, on bench/run.py's realistic utility invoice with 4 and
with 20 lines:

- single-process renders/s and CPU ms per render: medians over --renders renders of
  *different* invoices (other buyers, numbers and amounts: typst memoizes, so repeating one
  invoice would flatter it) after two warm-up renders. The engines take turns, invoice by
  invoice, inside one process, so the machine's noise hits them alike and the ratios hold;
  "setup + first" is the one-off cost (fonts, template, compiler) plus the first render;
- the PDF: size, pages, whether Polish text ("ąćęłńóśźż", "Słownie: ...") is in its text
  layer (pypdf extract_text), and whether its fonts are embedded (and subset);
- renders/s through a process pool of 1 and of 2 workers (spawned: typst's threads do not
  survive a fork) for the --pool engines, rounds alternating between engines;
- a cProfile of the current xhtml2pdf render: where its time goes;
- typst's resident memory over many renders with one Compiler.

ReportLab's C accelerator (the rl-accel package) changes ReportLab's and xhtml2pdf's speed
and cannot be unloaded, so the engines run in two child processes: one without it (as the
service runs today) and one with it, both with "typst warm" as the common reference.

    .cache/tools/bin/uv sync --group bench     # WeasyPrint, typst, fpdf2, PyMuPDF, rl-accel
    .venv/bin/python bench/renderers.py --renders 30 [--pool-renders 200] [--screens DIR]

Prints a table and writes bench/results/renderers.json. The machine is shared and noisy:
quote medians and ratios from one run.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("BENCH_RL_ACCEL") == "0":
    sys.modules["_rl_accel"] = None  # type: ignore[assignment]  # ReportLab's pure Python

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

import pypdf  # noqa: E402
from engines import BY_NAME, ENGINES, Render  # noqa: E402
from invoice_view import issued_sample, issued_variants  # noqa: E402

from einvoice.events import InvoiceIssued  # noqa: E402
from pdf_renderer.render import format_bank_account, format_money  # noqa: E402
from pdf_renderer.words import amount_in_words  # noqa: E402

RESULTS = BENCH / "results" / "renderers.json"
POLISH = "ąćęłńóśźż"
REFERENCE = "typst warm"
DEFAULT_POOL = ("xhtml2pdf", "typst warm", "reportlab + rl_accel", "reportlab + rl_accel dehinted")
BASE14 = {"Helvetica", "Times-Roman", "Courier", "Symbol", "ZapfDingbats"}


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")),
        platform.processor(),
    )
    versions = {}
    for package in (
        "xhtml2pdf",
        "reportlab",
        "rl-accel",
        "weasyprint",
        "typst",
        "fpdf2",
        "pymupdf-lite",
        "pypdf",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def rl_accel_loaded() -> bool:
    from reportlab.lib import rl_accel

    return "fp_str" in rl_accel._c_funcs


# --- what a PDF holds -----------------------------------------------------------------------


def _fonts_of(resources: Any, found: dict[str, dict[str, bool]]) -> None:
    resources = resources.get_object() if resources is not None else {}
    for font in (resources.get("/Font") or {}).values():
        font = font.get_object()
        name = str(font.get("/BaseFont", "?")).lstrip("/")
        descriptor = font.get("/FontDescriptor")
        if descriptor is None and "/DescendantFonts" in font:
            descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        subset = len(name) > 7 and name[6] == "+" and name[:6].isupper()
        found[name] = {"embedded": embedded, "subset": subset}
    for xobject in (resources.get("/XObject") or {}).values():
        xobject = xobject.get_object()
        if "/Resources" in xobject:
            _fonts_of(xobject["/Resources"], found)


def inspect_pdf(pdf: bytes, invoice: InvoiceIssued, page_count: bool = True) -> dict[str, Any]:
    """What a reader gets: search, copy-paste, a screen reader, an accounting import."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.replace("\u00a0", " ").split())
    expected = [
        invoice.number,
        f"NIP: {invoice.seller.nip}",
        invoice.seller.name,
        invoice.buyer.name,
        "Zestawienie VAT",
        f"Do zapłaty: {format_money(invoice.totals.gross)} {invoice.currency}".replace("\xa0", " "),
        f"Słownie: {amount_in_words(invoice.totals.gross, invoice.currency)}",
        format_bank_account(invoice.payment.bank_account),
        f"Strona 1 z {len(reader.pages)}" if page_count else "Strona 1",
    ]
    fonts: dict[str, dict[str, bool]] = {}
    for page in reader.pages:
        _fonts_of(page.get("/Resources"), fonts)
    drawn_with = {name: f for name, f in fonts.items() if name not in BASE14}
    return {
        "size_kb": round(len(pdf) / 1024, 1),
        "pages": len(reader.pages),
        "polish_in_text_layer": all(ch in flat.lower() for ch in POLISH),
        "missing_texts": [s for s in expected if s not in flat],
        "fonts": fonts,
        # ReportLab declares Helvetica (its initial font) on every page; nothing is drawn
        # with it in these documents, and a base-14 font needs no embedding anyway.
        "base14_declared": sorted(set(fonts) & BASE14),
        "fonts_embedded": bool(drawn_with) and all(f["embedded"] for f in drawn_with.values()),
        "fonts_subset": bool(drawn_with) and all(f["subset"] for f in drawn_with.values()),
    }


# --- child: one set of engines, taking turns ------------------------------------------------


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def run_set(names: list[str], renders: int) -> dict[str, Any]:
    """Render every invoice with every engine in turn; medians per engine and size."""
    samples = {lines: issued_sample(lines) for lines in (4, 20)}
    # Each engine gets invoices of its own: typst's memoization cache is process-wide, so an
    # engine rendering an invoice another engine had just rendered would find its layout done.
    variants = {
        (name, lines): issued_variants(lines, renders, skip=k * renders)
        for k, name in enumerate(names)
        for lines in (4, 20)
    }
    renderers: dict[str, Render] = {}
    results: dict[str, Any] = {}
    for name in names:
        start = time.perf_counter()
        renderers[name] = render = BY_NAME[name].make()
        pdf = render(samples[4])
        results[name] = {
            "setup_and_first_ms": ms(time.perf_counter() - start),
            "check_4_lines": inspect_pdf(pdf, samples[4], BY_NAME[name].page_count),
            "check_20_lines": inspect_pdf(
                render(samples[20]), samples[20], BY_NAME[name].page_count
            ),
        }
        for lines in (4, 20):
            render(samples[lines])
    for lines in (4, 20):
        walls: dict[str, list[float]] = {name: [] for name in names}
        cpus: dict[str, list[float]] = {name: [] for name in names}
        for i in range(renders):
            turn = names[i % len(names) :] + names[: i % len(names)]  # no engine always first
            for name in turn:
                invoice = variants[(name, lines)][i]
                wall, cpu = time.perf_counter(), time.process_time()
                renderers[name](invoice)
                cpus[name].append(time.process_time() - cpu)
                walls[name].append(time.perf_counter() - wall)
        for name in names:
            wall_ms = ms(statistics.median(walls[name]))
            results[name][f"{lines}_lines"] = {
                "wall_ms": wall_ms,
                "cpu_ms": ms(statistics.median(cpus[name])),
                "renders_per_s": round(1000 / wall_ms, 1),
            }
    reference = results.get(REFERENCE, {}).get("4_lines", {}).get("cpu_ms")
    for name in names:
        if reference:
            results[name]["cpu_vs_typst_warm"] = round(
                results[name]["4_lines"]["cpu_ms"] / reference, 2
            )
    return results


PROFILE_PARTS = [
    ("jinja2: template -> HTML", "render.py", "render_invoice_html"),
    ("xhtml2pdf: HTML -> flowables (pisaStory)", "document.py", "pisaStory"),
    ("  html5lib parse", "html5parser.py", "parse"),
    ("  <style> + built-in CSS text parse", "context.py", "parseCSS"),
    ("  CSS matching per element (CSSCollect)", "parser.py", "CSSCollect"),
    ("reportlab: layout + draw, 2 passes (multiBuild)", "doctemplate.py", "multiBuild"),
    ("  font loading (TTFont parse)", "ttfonts.py", "__init__"),
    ("reportlab: PDF serialisation (save)", "canvas.py", "save"),
    ("  zlib compression (fonts, pages)", "~", "<built-in method zlib.compress>"),
    ("  font subsetting (makeSubset)", "ttfonts.py", "makeSubset"),
]


def profile_xhtml2pdf(cpu_ms: float, renders: int = 10) -> list[dict]:
    """Shares of cProfile's cumulative time, scaled to the unprofiled CPU median."""
    invoice = issued_sample(4)
    render = BY_NAME["xhtml2pdf"].make()
    render(invoice)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(renders):
        render(invoice)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(tt for _cc, _nc, tt, _ct, _callers in stats.values())
    parts = []
    for label, file, function in PROFILE_PARTS:
        cumulative = max(
            (
                ct
                for (f, _line, fn), (_cc, _nc, _tt, ct, _c) in stats.items()
                if f.endswith(file) and fn == function
            ),
            default=0.0,
        )
        share = cumulative / total
        parts.append(
            {
                "part": label,
                "share_pct": round(100 * share, 1),
                "approx_ms": round(share * cpu_ms, 1),
            }
        )
    return parts


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def typst_memory(renders: int) -> dict[str, Any]:
    """One Compiler kept for `renders` different invoices: does its cache grow?"""
    invoices = issued_variants(4, renders)
    before = rss_mb()
    render = BY_NAME[REFERENCE].make()
    render(invoices[0])
    after_first = rss_mb()
    marks = {}
    for i, invoice in enumerate(invoices, 1):
        render(invoice)
        if i in (renders // 10, renders // 2, renders):
            marks[i] = rss_mb()
    return {
        "renders": renders,
        "rss_mb_before_compiler": before,
        "rss_mb_after_first": after_first,
        "rss_mb_after_n": marks,
    }


def write_screens(folder: Path, names: list[str]) -> None:
    from invoice_view import retail_sample

    folder.mkdir(parents=True, exist_ok=True)
    pdfs = {name: BY_NAME[name].make()(issued_sample(4)) for name in names}
    pdfs.update(branded_retail(retail_sample()))
    for name, pdf in pdfs.items():
        stem = "renderer-" + name.replace(" ", "-").replace("+", "")
        (folder / f"{stem}.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", f"{stem}.pdf", stem],  # noqa: S607 - poppler-utils
            cwd=folder,
            check=True,
        )


def branded_retail(invoice: InvoiceIssued) -> dict[str, bytes]:
    """The chain's FP invoice in the chain's colours and logo: today's and typst's."""
    import base64

    import drawn
    import engines
    import typst
    from invoice_view import invoice_view
    from PIL import Image, ImageDraw, ImageFont

    from einvoice.demo import demo_chain
    from pdf_renderer.render import FONT_BOLD, render_invoice_pdf

    logo = Image.new("RGB", (420, 96), "#2e7d32")
    ImageDraw.Draw(logo).text(
        (24, 22), "ZIELONY KOSZYK", fill="white", font=ImageFont.truetype(str(FONT_BOLD), 40)
    )
    png = io.BytesIO()
    logo.save(png, "PNG")
    branding = demo_chain("0" * 64, "1" * 64).branding
    assert branding is not None
    data = branding.model_dump() | {"logo_png_base64": base64.b64encode(png.getvalue()).decode()}
    root = Path(engines.typst_root())
    (root / "logo.png").write_bytes(png.getvalue())
    compiler = typst.Compiler(root=str(root), font_paths=engines.typst_fonts())
    typst_pdf = compiler.compile(
        input=engines.TYPST_TEMPLATE.read_bytes(),
        sys_inputs=engines.typst_inputs(invoice, branding=data, logo="/logo.png"),
        timestamp=engines.typst_timestamp(invoice),
    )
    rl_view = invoice_view(invoice, data, logo=str(root / "logo.png"))
    return {
        "retail xhtml2pdf": render_invoice_pdf(invoice, branding=data),
        "retail typst": typst_pdf,
        "retail reportlab": drawn.reportlab_pdf(rl_view),
    }


def child(args: argparse.Namespace) -> None:
    if args.child == "memory":
        sys.stdout.write("\n" + json.dumps(typst_memory(args.memory_renders)) + "\n")
        return
    for name in ("pypdf", "weasyprint", "fontTools", "xhtml2pdf"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    names = [n for n in args.child.split(",") if n]
    out: dict[str, Any] = {"rl_accel": rl_accel_loaded(), "engines": run_set(names, args.renders)}
    if "xhtml2pdf" in names and not out["rl_accel"]:
        out["xhtml2pdf_profile"] = profile_xhtml2pdf(
            out["engines"]["xhtml2pdf"]["4_lines"]["cpu_ms"]
        )
    if args.screens and not out["rl_accel"]:
        write_screens(args.screens, names)
    sys.stdout.write("\n" + json.dumps(out) + "\n")


# --- parent ---------------------------------------------------------------------------------


def run_child(names: list[str], accel: bool, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        ",".join(names),
        "--renders",
        str(args.renders),
        "--memory-renders",
        str(args.memory_renders),
    ]
    if args.screens and names != ["memory"]:
        command += ["--screens", str(args.screens)]
    env = os.environ | {"BENCH_RL_ACCEL": "1" if accel else "0"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"child failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.get("rl_accel", accel) == accel, "rl-accel missing? uv sync --group bench"
    return result


_worker_render: Render | None = None


def _worker_init(name: str) -> None:
    global _worker_render
    _worker_render = BY_NAME[name].make()
    warmup = issued_sample(4)
    _worker_render(warmup)
    _worker_render(warmup)


def _worker_job(invoice: InvoiceIssued) -> bytes:
    assert _worker_render is not None
    return _worker_render(invoice)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (/proc/<pid>/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pool_rate(name: str, size: int, invoices: list[InvoiceIssued]) -> tuple[float, float]:
    """Renders/s through a pool of `size` spawned workers, and the CPU ms each render cost
    the workers and this (submitting, unpickling) process together: the rate is what the
    machine's noise left us, the CPU is what a quiet machine would have to give."""
    os.environ["BENCH_RL_ACCEL"] = "1" if BY_NAME[name].rl_accel else "0"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        size, mp_context=context, initializer=_worker_init, initargs=(name,)
    ) as pool:
        list(pool.map(_worker_job, invoices[: size * 2]))  # every worker started and warm
        workers = list(pool._processes)  # noqa: SLF001 - their pids, for their CPU time
        cpu_before = sum(map(cpu_seconds, workers)) + time.process_time()
        start = time.perf_counter()
        for _pdf in pool.map(_worker_job, invoices):
            pass
        elapsed = time.perf_counter() - start
        cpu = sum(map(cpu_seconds, workers)) + time.process_time() - cpu_before
    return len(invoices) / elapsed, 1000 * cpu / len(invoices)


def pools(names: list[str], count: int, rounds: int = 3) -> dict[str, Any]:
    invoices = issued_variants(4, count)
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for _ in range(rounds):  # rounds alternate between engines, as the noise comes and goes
        for name in names:
            for size in (1, 2):
                runs.setdefault((name, size), []).append(pool_rate(name, size, invoices))
    result = {}
    for name in names:
        one, two = (statistics.median(r for r, _ in runs[(name, size)]) for size in (1, 2))
        result[name] = {
            "pool_1_renders_per_s": round(one, 1),
            "pool_2_renders_per_s": round(two, 1),
            "speedup": round(two / one, 2),
            "pool_2_cpu_ms_per_render": round(statistics.median(c for _, c in runs[(name, 2)]), 2),
            "rounds": {
                size: [[round(r, 1), round(c, 2)] for r, c in runs[(name, size)]] for size in (1, 2)
            },
        }
    return result


def fonts_cell(check: dict[str, Any]) -> str:
    if not check["fonts_embedded"]:
        return "NOT emb."
    return ("subset" if check["fonts_subset"] else "whole") + (
        "*" if check["base14_declared"] else ""
    )


def table(results: dict[str, Any]) -> None:
    say(
        f"{'engine':30} {'---- 4 lines ----':>23} {'-- 20 lines --':>15} {'setup+':>7} "
        f"{'CPU vs':>6} {'size':>6} {'PL':>4} {'fonts':>8}  template"
    )
    say(
        f"{'':30} {'r/s':>7} {'wall ms':>7} {'CPU ms':>7} {'r/s':>7} {'CPU ms':>7} "
        f"{'1st ms':>7} {'typst':>6} {'KB':>6} {'text':>4}"
    )
    for name, r in results.items():
        four, twenty, check = r["4_lines"], r["20_lines"], r["check_4_lines"]
        text = "yes" if check["polish_in_text_layer"] and not check["missing_texts"] else "NO"
        say(
            f"{name:30} {four['renders_per_s']:7.1f} {four['wall_ms']:7.1f} {four['cpu_ms']:7.1f} "
            f"{twenty['renders_per_s']:7.1f} {twenty['cpu_ms']:7.1f} "
            f"{r['setup_and_first_ms']:7.0f} {r.get('cpu_vs_typst_warm', 0):6.2f} "
            f"{check['size_kb']:6.1f} {text:>4} {fonts_cell(check):>8}  {r['template']}"
        )
        if check["missing_texts"]:
            say(f"{'':30}   not in the text layer: {check['missing_texts']}")
    say("  * ReportLab also declares Helvetica (unembedded base-14, draws nothing here)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--pool-renders", type=int, default=200)
    parser.add_argument("--engines", default=",".join(e.name for e in ENGINES))
    parser.add_argument("--pool", default=",".join(DEFAULT_POOL))
    parser.add_argument("--memory-renders", type=int, default=1000)
    parser.add_argument(
        "--screens",
        type=Path,
        help="write PDFs and PNGs of the 4-line invoice and of a branded retail one here",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args)
        return

    info = machine()
    say(
        f"== PDF engines: {info['cores']} cores, {info['cpu_model']}, "
        f"load average {info['load_average_at_start']}"
    )
    chosen = [BY_NAME[name] for name in args.engines.split(",") if name]
    plain = [e.name for e in chosen if not e.rl_accel]
    accel = [e.name for e in chosen if e.rl_accel]
    say(f"  without rl-accel, taking turns: {', '.join(plain)}")
    without = run_child(plain, False, args)
    results = without["engines"]
    sets = {"without_rl_accel": without}
    if accel:
        say(f"  with rl-accel, taking turns: {', '.join(accel)} (+ {REFERENCE} as reference)")
        with_accel = run_child([*accel, REFERENCE], True, args)
        sets["with_rl_accel"] = with_accel
        for name in accel:
            results[name] = with_accel["engines"][name]
        results[f"{REFERENCE} (2nd run)"] = with_accel["engines"][REFERENCE]
    for name, entry in results.items():
        engine = BY_NAME[name.removesuffix(" (2nd run)")]
        entry.update(how=engine.how, template=engine.template, rl_accel=engine.rl_accel)
    say()
    table(results)

    pool_names = [n for n in args.pool.split(",") if n in BY_NAME]
    say(
        f"\n== process pools (spawned workers), {args.pool_renders} different 4-line invoices, "
        "median of 3 rounds"
    )
    pool = pools(pool_names, args.pool_renders) if pool_names else {}
    for name, p in pool.items():
        say(
            f"  {name:30} pool 1: {p['pool_1_renders_per_s']:6.1f}/s   pool 2: "
            f"{p['pool_2_renders_per_s']:6.1f}/s   x{p['speedup']:4.2f}   pool 2 CPU/render "
            f"{p['pool_2_cpu_ms_per_render']:6.1f} ms -> on 2 idle cores "
            f"~{2000 / p['pool_2_cpu_ms_per_render']:5.0f}/s"
        )

    profile = without.get("xhtml2pdf_profile", [])
    if profile:
        say(
            "\n== where xhtml2pdf's time goes (cProfile, 4 lines, no rl-accel; ms scaled to the "
            "unprofiled CPU median)"
        )
        for part in profile:
            say(f"  {part['part']:50} {part['share_pct']:5.1f}%  ~{part['approx_ms']:6.1f} ms")
    memory = run_child(["memory"], False, args) if args.memory_renders else {}
    if memory:
        say(
            f"\n== {REFERENCE}: resident memory {memory['rss_mb_before_compiler']} MB before the "
            f"Compiler, {memory['rss_mb_after_first']} MB after the first render, after n "
            f"different invoices: {memory['rss_mb_after_n']}"
        )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": info,
                "renders": args.renders,
                "pool_renders": args.pool_renders,
                "engines": results,
                "pool": pool,
                "xhtml2pdf_profile": profile,
                "typst_memory": memory,
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    say(f"\n(saved {RESULTS.relative_to(ROOT)})")
    if args.screens:
        say(f"(PDFs and PNGs in {args.screens})")


if __name__ == "__main__":
    main()
