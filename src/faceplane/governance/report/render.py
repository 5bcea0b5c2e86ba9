"""The compliance report as one self-contained, printable HTML page (inline CSS, no scripts, every value escaped).

Example:
    >>> from faceplane.governance.report import build_report
    >>> page = render_html(build_report(settings))  # doctest: +SKIP
    >>> Path("report.html").write_text(page)  # doctest: +SKIP
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Sequence

from .facts import (
    EXPIRY_WINDOW_DAYS,
    SEARCH_ACTIONS,
    SEARCH_WINDOW_DAYS,
    Account,
    AuditSummary,
    ComplianceReport,
    EventSummary,
    GallerySummary,
    Protection,
    RetentionSummary,
    WatchlistEntry,
)

__all__ = ["render_html"]

_CSS = """
body { font: 11pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; margin: 2em auto;
       max-width: 60em; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em;
     border-bottom: 1px solid #999; } h3 { font-size: 1em; margin-bottom: 0.3em; }
.meta, .empty, .note { color: #555; } table { border-collapse: collapse; width: 100%; margin: 0.4em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top;
         font-variant-numeric: tabular-nums; }
th { background: #eee; } .warn { color: #a00; font-weight: 600; }
section { break-inside: avoid; page-break-inside: avoid; }
@media print { body { margin: 0; max-width: none; font-size: 9.5pt; } h2 { break-after: avoid; } }
"""


def render_html(report: ComplianceReport) -> str:
    """The report as one self-contained HTML page (inline CSS, no scripts); every value is escaped."""
    body = "".join(
        (
            _protection_html(report.protection),
            _collections_html(report.gallery),
            _expiry_html(report.gallery),
            _events_html(report.events, report.gallery),
            _retention_html(report.retention),
            _audit_html(report.audit),
            _accounts_html(report.accounts),
        )
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>faceplane compliance report {_e(_when(report.generated_at_s))}</title><style>{_CSS}</style></head>"
        f'<body><h1>faceplane compliance report</h1><p class="meta">Generated {_e(_when(report.generated_at_s))} '
        f"from the data directory <code>{_e(report.data_dir)}</code></p>{body}</body></html>\n"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(ts: float | None) -> str:
    return "—" if ts is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value, unit = float(n) / 1024, "KB"
    for bigger in ("MB", "GB", "TB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def _limit(value: float | None, unit: str) -> str:
    """A limit in words ("global": the record follows the global limit)."""
    return "global" if value is None else f"{value:g} {unit}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, empty: str = "none") -> str:
    """A table of escaped cells (or ``empty`` in words when there are no rows)."""
    body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="empty">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{''.join(parts)}</section>"


def _protection_html(p: Protection) -> str:
    rows = [
        ("Faces blurred in stored snapshots and evidence (except watchlist matches)", _yes(p.redact_snapshots)),
        ("Faces blurred in annotated video (except watchlist matches)", _yes(p.redact_video)),
        ("Face templates encrypted at rest (template_key set)", _yes(p.templates_encrypted)),
        ("The gallery file holds encrypted templates", _yes(p.gallery_encrypted)),
        ("Enrollment refused without a legal basis (require_consent)", _yes(p.require_consent)),
    ]
    mismatch = {
        (True, False): "template_key is set, but the gallery still holds clear templates (the server encrypts "
        "them when it starts with the key).",
        (False, True): "The gallery holds encrypted templates, but template_key is not set: the server cannot open it.",
    }.get((p.templates_encrypted, p.gallery_encrypted))
    warning = f'<p class="warn">{_e(mismatch)}</p>' if mismatch else ""
    return _section("Protection", _table(("Measure", "On"), rows), warning)


def _collections_html(g: GallerySummary) -> str:
    rows = [
        (
            c.name,
            c.people,
            c.templates,
            _yes(c.watchlist),
            ", ".join(f"{basis}: {n}" for basis, n in c.consent) or "—",
            c.without_basis,
            _when(c.oldest_enrollment_s),
        )
        for c in g.collections
    ]
    headers = ("Collection", "People", "Templates", "Watchlist", "Legal basis", "No basis", "Oldest enrollment")
    return _section("Collections", _table(headers, rows, empty="No collections."))


def _expiry_html(g: GallerySummary) -> str:
    headers = ("Person", "Id", "Collection", "Expires")

    def rows(entries: Sequence[WatchlistEntry]) -> list[tuple[object, ...]]:
        return [(e.name, e.person_id, e.collection, _when(e.expires_at_s)) for e in entries]

    return _section(
        "Watchlist entries",
        f"<h3>Expiring within {EXPIRY_WINDOW_DAYS:g} days</h3>",
        _table(headers, rows(g.expiring), empty="None."),
        "<h3>Expired, not deleted yet</h3>",
        _table(headers, rows(g.expired), empty="None."),
    )


def _events_html(ev: EventSummary, g: GallerySummary) -> str:
    kinds = _table(
        ("Event kind", "Count", "Oldest"), [(k.kind, k.count, _when(k.oldest_s)) for k in ev.kinds], empty="No events."
    )
    files = [
        ("Event snapshots", ev.snapshots.files, _size(ev.snapshots.bytes), _when(ev.snapshots.oldest_s)),
        ("Liveness evidence frames", ev.evidence.files, _size(ev.evidence.bytes), _when(ev.evidence.oldest_s)),
        ("Unknown faces (templates + thumbnails)", g.unknown_faces, "—", _when(g.oldest_unknown_s)),
    ]
    return _section("Events and other records", kinds, _table(("Record", "Count", "Size", "Oldest"), files))


def _retention_html(r: RetentionSummary) -> str:
    top = r.rules[0]  # the global limits
    rules = [
        (
            rule.scope,
            rule.name or "—",
            _limit(rule.events_days, "days"),
            "—" if rule.scope == "collection" else _limit(rule.unknown_faces_hours, "hours"),
            _limit(rule.evidence_days, "days") if rule is top else "—",
        )
        for rule in r.rules
    ]
    d = r.due
    due = [
        ("Events (with their snapshots)", d.events),
        ("Unknown faces", d.unknown_faces),
        ("People past their expiry date", d.expired_people),
        ("Liveness evidence sessions", d.evidence_sessions),
        ("Snapshot files no event names", d.orphan_snapshots),
    ]
    waiting = sum(n for _, n in due)
    note = (
        f'<p class="{"warn" if waiting else "note"}">Past their limit now: {waiting}; the retention job runs every '
        f"{r.interval_minutes:g} minutes and deletes them. The most specific limit applies: a collection's "
        "(events naming its people), then a camera's, then the global one.</p>"
    )
    return _section(
        "Retention",
        _table(("Scope", "Name", "Events", "Unknown faces", "Evidence"), rules),
        note,
        _table(("Past their limit now", "Records"), due),
    )


def _audit_html(a: AuditSummary) -> str:
    rows = [
        (s.actor, s.role or "—", ", ".join(f"{action}: {n}" for action, n in s.by_action), s.total) for s in a.searches
    ]
    return _section(
        f"Searches per user, last {SEARCH_WINDOW_DAYS:g} days",
        f'<p class="note">Audited {", ".join(SEARCH_ACTIONS)} requests since {_e(_when(a.since_s))}.</p>',
        _table(("Caller", "Role", "Searches", "Total"), rows, empty="No searches."),
        f'<p class="note">The audit log holds {a.entries} entries, the oldest from {_e(_when(a.oldest_s))}.</p>',
    )


def _accounts_html(accounts: Sequence[Account]) -> str:
    rows = [(a.name, a.kind, a.role, "active" if a.active else "revoked") for a in accounts]
    return _section("API keys and console users", _table(("Name", "Kind", "Role", "Status"), rows, empty="None."))
