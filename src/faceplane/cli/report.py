"""``faceplane report``: the compliance report of a data directory, as HTML and (with Chromium) PDF.

Reads the same settings as ``faceplane serve`` (``--config``, ``FACEPLANE_*``, ``--data-dir``) and
changes nothing in the data directory; see :mod:`faceplane.governance.report`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TextIO

from ..errors import FaceplaneError
from ._common import Subcommands

__all__ = ["add_report_command"]

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
_PRINT_TIMEOUT_S = 120.0


def _chromium() -> str | None:
    """``$FACEPLANE_CHROMIUM``, else the first Chromium found on ``PATH``."""
    for name in (os.environ.get("FACEPLANE_CHROMIUM", ""), *_CHROMIUM_NAMES):
        found = shutil.which(name) if name else None
        if found:
            return found
    return None


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename: a reader never sees half a report."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _print_pdf(chromium: str, html_path: Path, pdf_path: Path) -> None:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium (a fresh profile, thrown away after)."""
    tmp = pdf_path.with_name(pdf_path.name + ".tmp")
    with tempfile.TemporaryDirectory(prefix="faceplane-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={tmp}",
            html_path.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_PRINT_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            tmp.unlink(missing_ok=True)
            raise FaceplaneError(f"{chromium} could not print the PDF: {exc}") from None
    if done.returncode != 0 or not tmp.is_file() or tmp.read_bytes()[:4] != b"%PDF":
        tmp.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise FaceplaneError(f"{chromium} did not print a PDF (exit {done.returncode}): {last}")
    os.replace(tmp, pdf_path)


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from ..config import load_settings
    from ..governance.report import build_report, render_html

    settings = load_settings(args.config, data_dir=args.data_dir)
    chromium = _chromium() if args.pdf else None
    if args.pdf and chromium is None:
        raise FaceplaneError(
            "--pdf needs Chromium (chromium, chromium-browser or google-chrome on PATH, or $FACEPLANE_CHROMIUM); "
            "the HTML report works without it: faceplane report --out report.html"
        )
    html = render_html(build_report(settings)).encode("utf-8")  # before any file: a bad data dir writes nothing
    html_out = Path(args.out) if args.out else (None if args.pdf else Path("report.html"))
    if html_out is not None:
        _write(html_out, html)
        out.write(f"wrote {html_out}\n")
    if args.pdf and chromium is not None:
        pdf_out = Path(args.pdf)
        with tempfile.TemporaryDirectory(prefix="faceplane-report-") as folder:
            page = html_out if html_out is not None else Path(folder) / "report.html"
            if html_out is None:
                page.write_bytes(html)
            _print_pdf(chromium, page, pdf_out)
        out.write(f"wrote {pdf_out}\n")
    return 0


def add_report_command(sub: Subcommands) -> None:
    """Register ``report``."""
    p = sub.add_parser(
        "report",
        help="compliance report: what is stored, for how long, who searched (HTML; PDF with Chromium)",
    )
    p.add_argument("--config", metavar="FILE.toml", help="settings file (then FACEPLANE_* environment variables)")
    p.add_argument("--data-dir", default=None, help="data folder (default ./faceplane-data)")
    p.add_argument(
        "--out", metavar="report.html", default=None, help="HTML file to write (default report.html unless --pdf)"
    )
    p.add_argument("--pdf", metavar="report.pdf", default=None, help="also print a PDF with headless Chromium")
    p.set_defaults(func=_cmd_report)
