"""``faceplane backup OUT.tar`` and ``faceplane restore IN.tar --data-dir DIR`` (see :mod:`faceplane.backup`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from ._common import Subcommands

__all__ = ["add_backup_commands"]


def _cmd_backup(args: argparse.Namespace, out: TextIO) -> int:
    from ..backup import create_backup
    from ..config import load_settings

    settings = load_settings(args.config, data_dir=args.data_dir)
    manifest = create_backup(settings.data_dir, args.out, overwrite=args.force)
    if args.json:
        out.write(manifest.model_dump_json() + "\n")
        return 0
    size = sum(f.bytes for f in manifest.files)
    out.write(f"{args.out}: {len(manifest.files)} files, {size / 1e6:.1f} MB from {settings.data_dir}\n")
    for g in manifest.galleries:
        state = "encrypted (the key is not in the backup: keep it apart)" if g.encrypted else "clear"
        out.write(f"  gallery {g.path}: {g.people} people, {g.templates} templates, {g.embedding_model}, {state}\n")
    return 0


def _cmd_restore(args: argparse.Namespace, out: TextIO) -> int:
    from ..config import load_settings
    from ..gallery.crypto import parse_template_key
    from ..restore import restore_backup

    settings = load_settings(args.config, data_dir=args.data_dir)
    key = settings.template_key
    template_key = parse_template_key(key.get_secret_value(), name="template_key") if key is not None else None
    report = restore_backup(args.archive, args.data_dir, template_key=template_key)
    for text in report.warnings:
        print(f"faceplane: warning: {text}", file=sys.stderr)
    if args.json:
        record = {
            "data_dir": str(report.data_dir),
            "files": report.files,
            "bytes": report.bytes,
            "warnings": report.warnings,
            "manifest": report.manifest.model_dump(),
        }
        out.write(json.dumps(record) + "\n")
        return 0
    m = report.manifest
    out.write(
        f"restored {report.files} files ({report.bytes / 1e6:.1f} MB) of a backup made {m.created_at} by faceplane "
        f"{m.faceplane_version} into {report.data_dir}; serve it with: faceplane serve --data-dir {report.data_dir}\n"
    )
    return 0


def add_backup_commands(sub: Subcommands) -> None:
    """Register ``backup`` and ``restore``."""
    p = sub.add_parser(
        "backup", help="back up the data folder into a tar (safe while the server runs; never holds the template key)"
    )
    p.add_argument("out", metavar="OUT.tar", type=Path, help="the backup file to write (atomically)")
    p.add_argument("--config", metavar="FILE.toml", help="settings file (for data_dir)")
    p.add_argument("--data-dir", default=None, help="data folder (default: the settings' data_dir)")
    p.add_argument("--force", action="store_true", help="overwrite OUT.tar if it exists")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    p.set_defaults(func=_cmd_backup)

    p = sub.add_parser("restore", help="restore a backup into a fresh data folder (checks every file's SHA-256)")
    p.add_argument("archive", metavar="IN.tar", type=Path, help="a file written by `faceplane backup`")
    p.add_argument("--data-dir", required=True, help="the folder to restore into: new or empty")
    p.add_argument("--config", metavar="FILE.toml", help="settings file (its template_key is checked)")
    p.add_argument("--json", action="store_true", help="one JSON object with the files, warnings and manifest")
    p.set_defaults(func=_cmd_restore)
