"""The compliance report: what faceplane holds about people, how long it keeps it, and who searched it.

``faceplane report`` and ``GET /api/v1/report.html`` (admin) both call :func:`build_report`, which reads
a data directory without changing anything in it (:mod:`~faceplane.governance.report.facts`), and
:func:`render_html`, which turns the result into one self-contained, printable HTML page
(:mod:`~faceplane.governance.report.render`).

Example:
    >>> from faceplane.config import load_settings
    >>> report = build_report(load_settings(data_dir="/var/lib/faceplane"))  # doctest: +SKIP
    >>> Path("report.html").write_text(render_html(report))  # doctest: +SKIP
"""

from .facts import (
    EXPIRY_WINDOW_DAYS,
    SEARCH_ACTIONS,
    SEARCH_WINDOW_DAYS,
    Account,
    AuditSummary,
    CollectionSummary,
    ComplianceReport,
    EventSummary,
    FileSummary,
    GallerySummary,
    KindCount,
    Protection,
    RetentionDue,
    RetentionRule,
    RetentionSummary,
    SearchCount,
    WatchlistEntry,
    build_report,
)
from .render import render_html

__all__ = [
    "EXPIRY_WINDOW_DAYS",
    "SEARCH_ACTIONS",
    "SEARCH_WINDOW_DAYS",
    "Account",
    "AuditSummary",
    "CollectionSummary",
    "ComplianceReport",
    "EventSummary",
    "FileSummary",
    "GallerySummary",
    "KindCount",
    "Protection",
    "RetentionDue",
    "RetentionRule",
    "RetentionSummary",
    "SearchCount",
    "WatchlistEntry",
    "build_report",
    "render_html",
]
