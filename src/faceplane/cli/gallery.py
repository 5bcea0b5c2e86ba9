"""``faceplane gallery ...``, ``identify``, ``cluster`` and ``keygen``: the gallery's CLI.

The gallery lives in ``--data-dir`` (default ``$FACEPLANE_DATA_DIR`` or ``./faceplane-data``). An
encrypted gallery is opened with the key in ``$FACEPLANE_TEMPLATE_KEY`` (the same variable as the
server's ``template_key`` setting; ``faceplane keygen`` makes one). Setting it for a clear gallery
encrypts the gallery's stored templates once, for good.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import FaceplaneError, InvalidArgumentError
from ..gallery.gallery import Gallery, QualityGate
from ..gallery.records import Consent, EnrollReport, Identification
from ._common import INDEXES, Subcommands, default_data_dir, report_input_error, template_key_from_env

if TYPE_CHECKING:
    from ..gallery.imports import ImportFile
    from ..services.imports import ImportService

__all__ = ["add_gallery_commands", "add_keygen_command"]


def _passphrase(args: argparse.Namespace) -> str | None:
    """The export passphrase from the environment variable named by ``--passphrase-env`` (not argv: ps shows it)."""
    if args.passphrase_env is None:
        return None
    value = os.environ.get(args.passphrase_env, "")
    if not value:
        raise InvalidArgumentError(f"--passphrase-env {args.passphrase_env}: that variable is unset or empty")
    return value


def _open(args: argparse.Namespace) -> Gallery:
    return Gallery.open(
        args.data_dir,
        index=args.index,
        embedder=getattr(args, "embedder", "auto"),
        detector=getattr(args, "detector", "hog"),
        template_key=template_key_from_env(),
    )


def _cmd_migrate(args: argparse.Namespace, out: TextIO) -> int:
    from tqdm import tqdm

    from ..gallery.migrate import migrate_gallery
    from ..gallery.store import SqliteStore
    from ..pipeline import Engine

    db = Path(args.data_dir) / "faceplane.db"
    if not db.is_file():
        raise InvalidArgumentError(f"no gallery at {args.data_dir} ({db} is missing)")
    engine = Engine(embedder=args.to)
    store = SqliteStore(db, key=template_key_from_env())
    try:
        with tqdm(unit="face", file=sys.stderr, disable=None, desc=f"migrate to {engine.embedding_model}") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            report = migrate_gallery(store, engine, batch=args.batch, drop_unembeddable=args.drop_unembeddable,
                                     progress=progress)
    finally:
        store.close()
    # the index is rebuilt from the store (its generation moved) the next time the gallery opens
    with Gallery.open(args.data_dir, index=args.index, engine=engine, template_key=template_key_from_env()):
        pass
    if args.json:
        out.write(json.dumps(report.__dict__) + "\n")
        return 0
    if report.source == report.target:
        out.write(f"the gallery already holds {report.target} embeddings: nothing to do\n")
        return 0
    out.write(
        f"migrated {report.source} -> {report.target}: {report.embedded + report.resumed} faces re-embedded "
        f"({report.resumed} by an earlier, interrupted run); dropped {report.dropped_templates} chip-less "
        f"template(s) and {report.dropped_unknown} chip-less unknown face(s)\n"
    )
    return 0


def _report_json(report: EnrollReport) -> dict[str, Any]:
    return {
        "person": None
        if report.person is None
        else {"id": report.person.id, "name": report.person.display_name, "templates": report.person.templates},
        "template_ids": report.template_ids,
        "rejected": [{"source": r.source, "reasons": r.reasons} for r in report.rejected],
        "duplicates": [
            {"person_id": d.person_id, "name": d.display_name, "distance": d.distance} for d in report.duplicates
        ],
    }


def _print_reports(reports: list[EnrollReport], args: argparse.Namespace, out: TextIO) -> int:
    if args.json:
        for report in reports:
            out.write(json.dumps(_report_json(report)) + "\n")
    else:
        for report in reports:
            who = f"{report.person.display_name} (#{report.person.id})" if report.person else "nobody"
            out.write(f"{who}: {len(report.template_ids)} template(s) enrolled\n")
            for rej in report.rejected:
                out.write(f"  refused {rej.source}: {'; '.join(rej.reasons)}\n")
            for dup in report.duplicates:
                out.write(f"  warning: looks like {dup.display_name} (#{dup.person_id}), distance {dup.distance:.3f}\n")
        people = sum(1 for r in reports if r.template_ids)
        refused = sum(len(r.rejected) for r in reports)
        out.write(
            f"summary: {people} people, {sum(len(r.template_ids) for r in reports)} templates, {refused} refused\n"
        )
    return 0 if any(r.template_ids for r in reports) else 1


def _cmd_create(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as g:
        coll = g.create_collection(args.name, description=args.description)
    out.write(json.dumps({"collection": coll.name, "id": coll.id}) + "\n" if args.json else f"created {coll.name}\n")
    return 0


def _cmd_enroll(args: argparse.Namespace, out: TextIO) -> int:
    from tqdm import tqdm

    sources = sum(bool(x) for x in (args.images, args.folder, args.manifest, args.zip))
    if sources != 1:
        raise InvalidArgumentError("give exactly one of: IMG... with --name, --folder DIR, --manifest CSV, --zip ZIP")
    gate = QualityGate(largest_face_only=args.largest_face)
    with _open(args) as g:
        if args.zip:
            return _enroll_zip(args, g, gate, out)
        if args.images:
            consent = (
                Consent(args.consent_basis, args.consent_source, args.consent_date) if args.consent_basis else None
            )
            reports = [
                g.enroll(
                    args.collection,
                    args.images,
                    name=args.name,
                    external_id=args.external_id,
                    consent=consent,
                    gate=gate,
                    on_duplicate="refuse" if args.refuse_duplicates else "warn",
                )
            ]
        else:
            with tqdm(unit="person", file=sys.stderr, disable=None) as bar:
                tick = lambda _name: bar.update(1)  # noqa: E731
                if args.folder:
                    reports = g.enroll_folder(args.collection, args.folder, gate=gate, progress=tick)
                else:
                    reports = g.enroll_manifest(args.collection, args.manifest, gate=gate, progress=tick)
    return _print_reports(reports, args, out)


def _import_service(args: argparse.Namespace, g: Gallery, gate: QualityGate) -> ImportService:
    """The server's bulk import (:mod:`faceplane.services.imports`) on this gallery, its jobs kept apart from the
    server's (``imports-cli.sqlite``) so that a server on the same folder never runs them too."""
    from ..config import ImportConfig
    from ..gallery.archive import ArchiveLimits
    from ..gallery.imports import ImportStore
    from ..services.imports import ImportService

    def enroll(
        collection: str, images: list[bytes], *, name: str | None, person_id: int | None,
        consent: Consent | None, expires_at: float | None = None,
    ) -> EnrollReport:  # fmt: skip
        return g.enroll(
            collection, images, name=name, person_id=person_id, consent=consent, expires_at=expires_at, gate=gate,
            on_duplicate="refuse" if args.refuse_duplicates else "warn",
        )  # fmt: skip

    root, config, mb = Path(args.data_dir), ImportConfig.model_validate({}), 1 << 20
    limits = ArchiveLimits(
        int(config.max_archive_mb * mb), int(config.max_uncompressed_mb * mb), config.max_files, 10 * mb
    )
    return ImportService(
        store=ImportStore(root / "imports-cli.sqlite"), folder=root / "imports-cli", gallery=g, enroll=enroll,
        limits=limits, batch_files=config.batch_files,
    )  # fmt: skip


def _enroll_zip(args: argparse.Namespace, g: Gallery, gate: QualityGate, out: TextIO) -> int:
    """``gallery enroll C --zip ZIP``: resumable, the same command again carries on where an interrupted one
    stopped; the report is the server's import report, in the words of the other enrollments'."""
    from tqdm import tqdm

    from ..services.imports import report_lines

    service = _import_service(args, g, gate)
    consent = Consent(args.consent_basis, args.consent_source, args.consent_date) if args.consent_basis else None
    try:
        try:
            fh = open(args.zip, "rb")  # noqa: SIM115
        except OSError as exc:
            raise FaceplaneError(f"cannot read {args.zip}: {exc.strerror}") from None
        with fh:
            job, created = service.create(
                fh, filename=Path(args.zip).name, collection=args.collection, consent=consent, expires_at=None,
                actor=os.environ.get("USER", "cli"), role="cli",
            )  # fmt: skip
        if not created:
            print(f"carrying on with import #{job.id} ({job.counts.pending} photos left)", file=sys.stderr)
        with tqdm(total=job.counts.total, initial=job.counts.total - job.counts.pending, unit="photo",
                  file=sys.stderr, disable=None) as bar:  # fmt: skip
            job = service.run(job.id, progress=lambda now: bar.update(now.counts.total - now.counts.pending - bar.n))
        files = service.files(job.id)
    finally:
        service.close()
    if args.json:
        out.writelines(json.dumps(_import_file_json(f)) + "\n" for f in files)
    else:
        out.writelines(line + "\n" for line in report_lines(job, files))
    if job.status == "failed":
        raise FaceplaneError(f"import #{job.id} stopped: {job.error}; run the same command again to carry on")
    held = any(f.outcome == "enrolled" or (f.outcome == "duplicate" and f.person_id is not None) for f in files)
    return 0 if held else 1  # 0: some photo is (now, or already was) a template; as the other enrollments


def _import_file_json(f: ImportFile) -> dict[str, Any]:
    return {
        "file": f.member, "person": f.person, "outcome": f.outcome, "reasons": f.reasons, "person_id": f.person_id,
        "template_id": f.template_id,
    }  # fmt: skip


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as g:
        if args.collection is None:
            rows: list[dict[str, Any]] = [
                {"collection": c.name, "people": c.people, "templates": c.templates, "description": c.description}
                for c in g.list_collections()
            ]
        else:
            rows = [
                {
                    "id": p.id,
                    "name": p.display_name,
                    "external_id": p.external_id,
                    "templates": p.templates,
                    "consent": p.consent.basis if p.consent else None,
                }
                for p in g.list_people(args.collection, limit=args.limit)
            ]
    if args.json:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    else:
        for row in rows:
            out.write("  ".join(f"{k}={v}" for k, v in row.items()) + "\n")
        if not rows:
            out.write("(empty)\n")
    return 0


def _cmd_remove(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as g:
        if args.person is not None:
            person = g.store.get_person(args.person)
            if person.collection != args.collection:
                raise InvalidArgumentError(f"person {args.person} is in {person.collection!r}, not {args.collection!r}")
            n = g.remove_person(args.person)
            out.write(f"removed {person.display_name} (#{person.id}) and {n} template(s)\n")
        else:
            if not args.yes:
                raise InvalidArgumentError(f"removing the whole collection {args.collection!r} needs --yes")
            n = g.delete_collection(args.collection)
            out.write(f"removed collection {args.collection} and {n} template(s)\n")
    return 0


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    passphrase = _passphrase(args)
    with _open(args) as g:
        if args.output == "-":
            n = g.export_collection(args.collection, out, passphrase=passphrase)
        else:
            tmp = Path(args.output + ".tmp")
            with tmp.open("w", encoding="utf-8") as fh:
                n = g.export_collection(args.collection, fh, passphrase=passphrase)
            os.replace(tmp, args.output)  # never leave a half-written export under the real name
    print(f"exported {n} people from {args.collection}", file=sys.stderr)
    return 0


def _cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    passphrase = _passphrase(args)
    try:
        fh = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise FaceplaneError(f"cannot read {args.input}: {exc.strerror}") from None
    with fh, _open(args) as g:
        n = g.import_collection(args.collection, fh, passphrase=passphrase)
    out.write(f"imported {n} people into {args.collection}\n")
    return 0


def _ident_json(path: str, results: list[Identification]) -> dict[str, Any]:
    faces = []
    for r in results:
        best = r.person
        faces.append(
            {
                "face": r.face_index,
                "person": None
                if best is None
                else {
                    "id": best.person_id,
                    "name": best.display_name,
                    "collection": best.collection,
                    "distance": round(best.distance, 4),
                },
                "candidates": [
                    {
                        "id": c.person_id,
                        "name": c.display_name,
                        "collection": c.collection,
                        "distance": round(c.distance, 4),
                    }
                    for c in r.candidates
                ],
                "threshold": round(r.threshold, 4),
            }
        )
    return {"path": path, "faces": faces}


def _cmd_identify(args: argparse.Namespace, out: TextIO) -> int:
    failures = 0
    with _open(args) as g:
        for path in args.images:
            try:
                results = g.identify(path, collections=args.collection or None, k=args.k, threshold=args.threshold)
            except FaceplaneError as exc:
                failures += 1
                report_input_error(path, exc, as_json=args.json, out=out)
                continue
            if args.json:
                out.write(json.dumps(_ident_json(path, results)) + "\n")
                continue
            out.write(f"{path}: {len(results)} face(s)\n")
            for r in results:
                best = r.person
                near = r.candidates[0] if r.candidates else None
                label = (
                    f"{best.display_name} (#{best.person_id}, {best.collection}) distance {best.distance:.3f}"
                    if best
                    else "unknown" + (f" (nearest {near.display_name}, {near.distance:.3f})" if near else "")
                )
                out.write(f"  face {r.face_index + 1}: {label}\n")
    return 1 if failures else 0


def _cmd_cluster(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as g:
        if args.name is not None:
            if args.cluster is None or not args.collection:
                raise InvalidArgumentError("--name needs --cluster ID and --collection NAME")
            report = g.name_cluster(args.cluster, args.collection, args.name)
            out.write(f"cluster {args.cluster} enrolled as {report.person.display_name if report.person else '?'}\n")
            return 0
        if args.dismiss is not None:
            out.write(f"dismissed cluster {args.dismiss} ({g.dismiss_cluster(args.dismiss)} faces)\n")
            return 0
        for path in args.images:
            g.add_unknown_faces(path)
        clusters = g.cluster_unknown(threshold=args.threshold, min_size=args.min_size)
    for c in clusters:
        if args.json:
            out.write(
                json.dumps({"cluster": c.id, "faces": c.size, "face_ids": c.face_ids, "sources": c.sources}) + "\n"
            )
        else:
            out.write(f"cluster {c.id}: {c.size} faces from {len(c.sources)} source(s): {', '.join(c.sources[:3])}\n")
    if not clusters and not args.json:
        out.write("no recurring unknown faces\n")
    return 0


def _cmd_keygen(args: argparse.Namespace, out: TextIO) -> int:
    from ..gallery.crypto import new_template_key

    out.write(new_template_key() + "\n")
    return 0


def add_gallery_commands(sub: Subcommands) -> None:
    """Register ``gallery``, ``identify`` and ``cluster`` on the main parser's subparsers."""
    common = _common_options()
    g = sub.add_parser("gallery", help="collections, people and their face templates").add_subparsers(
        dest="gallery_command", required=True, metavar="ACTION"
    )
    p = g.add_parser("create", parents=[common], help="create a collection")
    p.add_argument("name")
    p.add_argument("--description", default="")
    p.set_defaults(func=_cmd_create)

    p = g.add_parser(
        "enroll", parents=[common], help="enroll photos: IMG... --name N, --folder DIR, --manifest CSV or --zip ZIP"
    )
    p.add_argument("collection")
    p.add_argument("images", nargs="*", metavar="IMG")
    p.add_argument("--name", help="the person's display name (with IMG...)")
    p.add_argument("--external-id")
    p.add_argument("--folder", help="one sub-folder per person, named after them")
    p.add_argument("--manifest", help="CSV: path,name[,external_id,consent_basis,consent_source,consent_date]")
    p.add_argument(
        "--zip", help="a zip with one folder per person (Person_Name/photo.jpg); resumable: run it again to carry on"
    )
    p.add_argument("--consent-basis", help="legal basis, e.g. consent, contract")
    p.add_argument("--consent-source", default="")
    p.add_argument("--consent-date", default="")
    p.add_argument("--largest-face", action="store_true", help="in group photos enroll the largest face")
    p.add_argument("--refuse-duplicates", action="store_true", help="store nothing if the face is already enrolled")
    p.set_defaults(func=_cmd_enroll)

    p = g.add_parser("list", parents=[common], help="list collections, or the people of one")
    p.add_argument("collection", nargs="?")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(func=_cmd_list)

    p = g.add_parser("remove", parents=[common], help="remove a person (--person ID) or a whole collection (--yes)")
    p.add_argument("collection")
    p.add_argument("--person", type=int)
    p.add_argument("--yes", action="store_true")
    p.set_defaults(func=_cmd_remove)

    p = g.add_parser("export", parents=[common], help="write a collection as JSON Lines (embeddings, no photos)")
    p.add_argument("collection")
    p.add_argument("output", help="file, or - for stdout")
    p.add_argument(
        "--passphrase-env", metavar="VAR", help="seal the export (encrypted, authenticated) with the passphrase in $VAR"
    )
    p.set_defaults(func=_cmd_export)

    p = g.add_parser("import", parents=[common], help="read an export into a collection")
    p.add_argument("collection")
    p.add_argument("input", help="file, or - for stdin")
    p.add_argument(
        "--passphrase-env", metavar="VAR", help="the passphrase of a sealed export is in $VAR (checked before import)"
    )
    p.set_defaults(func=_cmd_import)

    p = g.add_parser(
        "migrate", parents=[common], help="re-embed every template for another model (resumable, all or nothing)"
    )
    p.add_argument("--to", required=True, choices=["mobilefacenet", "dlib"], help="the new embedding model")
    p.add_argument("--batch", type=int, default=32, help="faces per embedding call and per committed step")
    p.add_argument(
        "--drop-unembeddable", action="store_true",
        help="remove templates enrolled from bare embeddings (no chip to re-embed) instead of refusing",
    )
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser("identify", parents=[common], help="who is in these photos? (1:N, unknown faces rejected)")
    p.add_argument("images", nargs="+", metavar="IMG")
    p.add_argument("--collection", action="append", help="search only this collection (repeatable)")
    p.add_argument("-k", type=int, default=3, help="candidates per face")
    p.add_argument("--threshold", type=float, default=None, help="open-set distance threshold")
    p.set_defaults(func=_cmd_identify)

    p = sub.add_parser("cluster", parents=[common], help="group unknown faces into recurring strangers")
    p.add_argument("images", nargs="*", metavar="IMG", help="photos whose unknown faces join the pool")
    p.add_argument(
        "--threshold", type=float, default=None, help="same-face distance (default: calibrated, FAR 3e-4)"
    )
    p.add_argument("--min-size", type=int, default=2)
    p.add_argument("--name", help="enroll --cluster ID as this person into --collection")
    p.add_argument("--cluster", type=int)
    p.add_argument("--collection")
    p.add_argument("--dismiss", type=int, metavar="ID", help="forget a cluster's faces")
    p.set_defaults(func=_cmd_cluster)


def add_keygen_command(sub: Subcommands) -> None:
    """Register ``keygen``: a new key for ``$FACEPLANE_TEMPLATE_KEY``."""
    p = sub.add_parser(
        "keygen", help="print a new template key (FACEPLANE_TEMPLATE_KEY: encrypts stored face templates)"
    )
    p.set_defaults(func=_cmd_keygen)


def _common_options() -> argparse.ArgumentParser:
    """Options every gallery command shares (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=default_data_dir(),
        help="gallery folder (default $FACEPLANE_DATA_DIR or ./faceplane-data)",
    )
    common.add_argument("--index", choices=INDEXES, default="exact", help="vector index")
    common.add_argument("--json", action="store_true", help="JSON Lines output")
    return common
