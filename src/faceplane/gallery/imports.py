"""Bulk imports' jobs and their per-file outcomes, kept in SQLite so that an import survives a restart.

An import job holds the archive's members (:class:`~faceplane.gallery.archive.ArchiveEntry`), each with an
outcome that moves once, in a committed transaction:

``pending`` -> ``enrolling`` (just before the gallery is asked) -> ``enrolled`` | ``refused`` | ``duplicate``;
members that are not photos are ``skipped`` from the start, and a photo whose bytes already appeared earlier in
the same archive is a ``duplicate`` from the start (the same file is never enrolled twice).

``enrolling`` is what makes a restart safe: the gallery's enrollment and this store's outcome are two
databases, so a crash may fall between them. On resume, a file still ``enrolling`` whose SHA-256 is already a
template of the person was enrolled (its template is found by that hash); one that is not is enrolled again.
:func:`outcomes_of` turns an :class:`~faceplane.gallery.records.EnrollReport` into the outcome of each file.

Example:
    >>> store = ImportStore(":memory:")
    >>> job_id = store.create_job("staff", "people.zip", "ab" * 32, [ArchiveEntry(0, "Ada/1.jpg", "Ada", "cd")],
    ...                           actor="ops", role="operator")
    >>> [f.outcome for f in store.files(job_id)]
    ['pending']
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from ..errors import InvalidArgumentError, NotFoundError
from .archive import ArchiveEntry
from .records import Consent, EnrollReport

__all__ = [
    "FileOutcome",
    "ImportCounts",
    "ImportFile",
    "ImportJob",
    "ImportStore",
    "JobStatus",
    "Outcome",
    "outcomes_of",
]

Outcome = Literal["pending", "enrolling", "enrolled", "refused", "duplicate", "skipped"]
JobStatus = Literal["queued", "running", "done", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("pending", "enrolling", "enrolled", "refused", "duplicate", "skipped")
_ACTIVE = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, archive_name TEXT NOT NULL,
    archive_sha256 TEXT NOT NULL, status TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL,
    consent TEXT, expires_at REAL, created_at REAL NOT NULL, updated_at REAL NOT NULL, finished_at REAL,
    error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS files (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    member TEXT NOT NULL, person TEXT NOT NULL, sha256 TEXT NOT NULL, outcome TEXT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]', person_id INTEGER, template_id INTEGER,
    PRIMARY KEY (job_id, seq)
);
CREATE INDEX IF NOT EXISTS files_outcome ON files (job_id, outcome, person);
"""


@dataclass(frozen=True)
class ImportCounts:
    """Files of a job per outcome; ``people``: distinct people who got a template from it."""

    total: int = 0
    pending: int = 0  # includes files being enrolled right now
    enrolled: int = 0
    refused: int = 0
    duplicate: int = 0
    skipped: int = 0
    people: int = 0


@dataclass(frozen=True)
class ImportJob:
    """One import: where to, by whom, under which consent, and how far it got."""

    id: int
    collection: str
    archive_name: str
    archive_sha256: str
    status: JobStatus
    actor: str
    role: str
    consent: Consent | None
    expires_at: float | None  # Unix s: new people's expiry
    created_at: float
    updated_at: float
    finished_at: float | None
    error: str  # why it failed ('' unless status is "failed")
    counts: ImportCounts = field(default_factory=ImportCounts)

    @property
    def finished(self) -> bool:
        return self.status == "done"


@dataclass(frozen=True)
class ImportFile:
    """One member of an import's archive and what became of it.

    Attributes:
        seq: its position in the archive (:attr:`ArchiveEntry.index`).
        member: its path in the archive; person: its folder's display name.
        outcome: see the module docstring; reasons: why refused / duplicate / skipped, or warnings when enrolled
            (e.g. the face looks like someone else already enrolled).
        person_id, template_id: who it was enrolled as, and the template it became (None unless enrolled; a
            duplicate names the person already holding it).
    """

    seq: int
    member: str
    person: str
    sha256: str
    outcome: Outcome
    reasons: list[str]
    person_id: int | None = None
    template_id: int | None = None


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file, to be stored (:meth:`ImportStore.record`)."""

    seq: int
    outcome: Outcome
    reasons: list[str]
    person_id: int | None = None
    template_id: int | None = None


def outcomes_of(report: EnrollReport, files: Sequence[ImportFile]) -> list[FileOutcome]:
    """The outcome of each file of one enrollment call, given in the order its photos were passed.

    The gallery names a refused photo passed as bytes ``image #<n>`` (1-based) and a refusal of the whole
    batch (photos of several people, or a refused duplicate) ``*``; the accepted photos became
    ``report.template_ids`` in order. Warnings (faces that look like someone else) go on every enrolled file.

    Raises:
        InvalidArgumentError: the report does not fit the files (not one report of these photos).
    """
    refused: dict[int, list[str]] = {}
    whole: list[str] = []
    for rejection in report.rejected:
        if m := re.fullmatch(r"image #(\d+)", rejection.source):
            refused[int(m.group(1)) - 1] = list(rejection.reasons)
        else:
            whole.extend(rejection.reasons)
    accepted = [f for i, f in enumerate(files) if i not in refused]
    if report.template_ids and (len(accepted) != len(report.template_ids) or report.person is None):
        raise InvalidArgumentError(f"{len(report.template_ids)} templates for {len(accepted)} accepted photos")
    warnings = [
        f"looks like {d.display_name} (#{d.person_id}, {d.collection}), already enrolled" for d in report.duplicates
    ]
    out = [FileOutcome(files[i].seq, "refused", reasons) for i, reasons in refused.items()]
    if report.template_ids and report.person is not None:
        out += [
            FileOutcome(f.seq, "enrolled", warnings, report.person.id, t)
            for f, t in zip(accepted, report.template_ids, strict=True)
        ]
    else:
        out += [FileOutcome(f.seq, "refused", whole or ["not enrolled"]) for f in accepted]
    return sorted(out, key=lambda o: o.seq)


class ImportStore:
    """Import jobs and their files in SQLite (``imports.sqlite`` next to the gallery); thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
        """Run statements in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    self._db.execute(sql, tuple(args))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def forget_people(self, person_ids: Sequence[int]) -> int:
        """Erasure: blank the file and folder names of every report row of these people, and of the rows of
        the same job under the same folder name (their refused photos). Returns the rows blanked."""
        ids = [int(i) for i in person_ids]
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        named = self._rows(f"SELECT DISTINCT job_id, person FROM files WHERE person_id IN ({marks})", ids)
        before = self._rows("SELECT COUNT(*) AS n FROM files WHERE person = '(erased)'")[0]["n"]
        statements: list[tuple[str, Sequence[object]]] = [
            ("UPDATE files SET person = '(erased)', member = '(erased)' WHERE job_id = ? AND person = ?",
             (r["job_id"], r["person"]))
            for r in named
        ]  # fmt: skip
        statements.append(
            (f"UPDATE files SET person = '(erased)', member = '(erased)' WHERE person_id IN ({marks})", ids)
        )
        self._write(statements)
        return int(self._rows("SELECT COUNT(*) AS n FROM files WHERE person = '(erased)'")[0]["n"] - before)

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # -- jobs -----------------------------------------------------------------------------------------
    def create_job(
        self,
        collection: str,
        archive_name: str,
        archive_sha256: str,
        entries: Sequence[ArchiveEntry],
        *,
        actor: str,
        role: str,
        consent: Consent | None = None,
        expires_at: float | None = None,
    ) -> int:
        """A queued job with these members (one transaction); returns its id (never reused)."""
        now = time.time()
        consent_json = json.dumps(vars(consent)) if consent else None
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                job_id = self._db.execute(
                    "INSERT INTO jobs (collection, archive_name, archive_sha256, status, actor, role, consent, "
                    "expires_at, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
                    (collection, archive_name, archive_sha256, actor, role, consent_json, expires_at, now, now),
                ).lastrowid
                self._db.executemany(
                    "INSERT INTO files (job_id, seq, member, person, sha256, outcome, reasons) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(job_id, *row) for row in _initial_rows(entries)],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return cast(int, job_id)  # an INSERT always sets lastrowid

    def job(self, job_id: int) -> ImportJob:
        rows = self._rows("SELECT * FROM jobs WHERE id = ?", (int(job_id),))
        if not rows:
            raise NotFoundError(f"no import with id {job_id}")
        return self._job(rows[0])

    def jobs(self, *, collection: str | None = None, limit: int = 50, offset: int = 0) -> list[ImportJob]:
        """Jobs newest first."""
        where, args = ("WHERE collection = ?", [collection]) if collection is not None else ("", [])
        rows = self._rows(f"SELECT * FROM jobs {where} ORDER BY id DESC LIMIT ? OFFSET ?", [*args, limit, offset])
        return [self._job(r) for r in rows]

    def active_jobs(self) -> list[int]:
        """Queued and running jobs (a running one after a restart was interrupted), oldest first."""
        return [int(r[0]) for r in self._rows("SELECT id FROM jobs WHERE status IN (?, ?) ORDER BY id", _ACTIVE)]

    def unfinished(self, collection: str, archive_sha256: str) -> ImportJob | None:
        """The newest job of the same archive into the same collection that is not done, if any."""
        rows = self._rows(
            "SELECT * FROM jobs WHERE collection = ? AND archive_sha256 = ? AND status != 'done' ORDER BY id DESC",
            (collection, archive_sha256),
        )
        return self._job(rows[0]) if rows else None

    def set_status(self, job_id: int, status: JobStatus, *, error: str = "") -> None:
        now = time.time()
        finished = now if status == "done" else None
        self._write(
            [
                (
                    "UPDATE jobs SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?",
                    (status, error, now, finished, job_id),
                )
            ]
        )

    def delete_idle_before(self, before_s: float) -> list[int]:
        """Forget the jobs done or failed that last changed before ``before_s`` (Unix s), with their files;
        returns their ids (their archives are the caller's to delete)."""
        ids = [
            int(r[0])
            for r in self._rows(
                "SELECT id FROM jobs WHERE status IN ('done', 'failed') AND updated_at < ?", (before_s,)
            )
        ]
        if ids:
            marks = ",".join("?" * len(ids))
            self._write(
                [
                    (f"DELETE FROM files WHERE job_id IN ({marks})", ids),
                    (f"DELETE FROM jobs WHERE id IN ({marks})", ids),
                ]
            )
        return ids

    def _job(self, row: sqlite3.Row) -> ImportJob:
        consent = Consent(**json.loads(row["consent"])) if row["consent"] else None
        return ImportJob(
            id=row["id"], collection=row["collection"], archive_name=row["archive_name"],
            archive_sha256=row["archive_sha256"], status=row["status"], actor=row["actor"], role=row["role"],
            consent=consent, expires_at=row["expires_at"], created_at=row["created_at"],
            updated_at=row["updated_at"], finished_at=row["finished_at"], error=row["error"],
            counts=self.counts(row["id"]),
        )  # fmt: skip

    def counts(self, job_id: int) -> ImportCounts:
        per = Counter(
            {
                r[0]: int(r[1])
                for r in self._rows("SELECT outcome, COUNT(*) FROM files WHERE job_id = ? GROUP BY outcome", (job_id,))
            }
        )
        people = self._rows(
            "SELECT COUNT(DISTINCT person_id) FROM files WHERE job_id = ? AND outcome = 'enrolled'", (job_id,)
        )[0][0]
        return ImportCounts(
            total=sum(per.values()), pending=per["pending"] + per["enrolling"], enrolled=per["enrolled"],
            refused=per["refused"], duplicate=per["duplicate"], skipped=per["skipped"], people=int(people),
        )  # fmt: skip

    # -- files ----------------------------------------------------------------------------------------
    def files(
        self,
        job_id: int,
        *,
        outcomes: Sequence[Outcome] = (),
        with_reasons: bool = False,
        limit: int = 100_000,
        offset: int = 0,
    ) -> list[ImportFile]:
        """A job's files in archive order (``outcomes``: only these; ``with_reasons``: only files with reasons or
        warnings, e.g. enrolled faces that look like someone else)."""
        where, args = "job_id = ?", [job_id, *outcomes]
        if outcomes:
            where += f" AND outcome IN ({','.join('?' * len(outcomes))})"
        if with_reasons:
            where += " AND reasons != '[]'"
        rows = self._rows(f"SELECT * FROM files WHERE {where} ORDER BY seq LIMIT ? OFFSET ?", [*args, limit, offset])
        return [_file(r) for r in rows]

    def next_batch(self, job_id: int, max_files: int) -> list[ImportFile]:
        """The files still to enroll of the next person (in archive order), at most ``max_files`` of them: one
        person's photos go to the gallery together (it checks that they show one person)."""
        first = self._rows(
            "SELECT person FROM files WHERE job_id = ? AND outcome IN ('pending', 'enrolling') ORDER BY seq LIMIT 1",
            (job_id,),
        )
        if not first:
            return []
        rows = self._rows(
            "SELECT * FROM files WHERE job_id = ? AND person = ? AND outcome IN ('pending', 'enrolling') "
            "ORDER BY seq LIMIT ?",
            (job_id, first[0][0], max_files),
        )
        return [_file(r) for r in rows]

    def mark_enrolling(self, job_id: int, seqs: Sequence[int]) -> None:
        """Committed before the gallery is asked to enroll these files (see the module docstring)."""
        self._write(
            [("UPDATE files SET outcome = 'enrolling' WHERE job_id = ? AND seq = ?", (job_id, s)) for s in seqs]
            + [("UPDATE jobs SET status = 'running', updated_at = ? WHERE id = ?", (time.time(), job_id))]
        )

    def record(self, job_id: int, outcomes: Sequence[FileOutcome]) -> None:
        """Store what became of these files (one transaction)."""
        sql = "UPDATE files SET outcome = ?, reasons = ?, person_id = ?, template_id = ? WHERE job_id = ? AND seq = ?"
        self._write(
            [(sql, (o.outcome, json.dumps(o.reasons), o.person_id, o.template_id, job_id, o.seq)) for o in outcomes]
            + [("UPDATE jobs SET updated_at = ? WHERE id = ?", (time.time(), job_id))]
        )


def _initial_rows(entries: Sequence[ArchiveEntry]) -> list[tuple[object, ...]]:
    """(seq, member, person, sha256, outcome, reasons) of each member: a photo met before is a duplicate."""
    seen: dict[str, str] = {}
    rows: list[tuple[object, ...]] = []
    for e in entries:
        if e.skip:
            outcome, reasons = "skipped", [e.skip]
        elif e.sha256 in seen:
            outcome, reasons = "duplicate", [f"the same file as {seen[e.sha256]}"]
        else:
            seen[e.sha256] = e.member
            outcome, reasons = "pending", []
        rows.append((e.index, e.member, e.person, e.sha256, outcome, json.dumps(reasons)))
    return rows


def _file(row: sqlite3.Row) -> ImportFile:
    return ImportFile(
        seq=row["seq"], member=row["member"], person=row["person"], sha256=row["sha256"], outcome=row["outcome"],
        reasons=json.loads(row["reasons"]), person_id=row["person_id"], template_id=row["template_id"],
    )  # fmt: skip
