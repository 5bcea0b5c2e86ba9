"""The ``faceplane`` command. Its output formats and exit codes are a contract scripts rely on.

Exit codes: 0 success (``verify``: same person); 1 ``verify``: different people, or ``detect`` /
``embed``: some inputs failed (their lines carry ``"error"``, the others are processed); 2 a usage
or input error, printed as one line ``faceplane: error: ...`` on stderr; 130 interrupted.

Layout: one module per command group, each with ``add_*`` functions that register its commands;
``_common`` holds what the groups share. Imports point one way, ``faceplane.cli`` -> group ->
``_common``: no group imports another or this package (``tests/unit/test_cli_layout.py``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from .. import __version__
from ..errors import FaceplaneError
from ..logs import LOG_FORMATS, configure_logging, error_line
from ._common import Subcommands
from .backup import add_backup_commands
from .faces import add_demo_command, add_face_commands
from .gallery import add_gallery_commands, add_keygen_command
from .models import add_models_command
from .report import add_report_command
from .serve import add_serve_command
from .video import add_video_commands

__all__ = ["build_parser", "main"]

#: The command groups, in the order ``faceplane --help`` lists their commands.
_GROUPS: tuple[Callable[[Subcommands], None], ...] = (
    add_face_commands,  # detect, verify, embed
    add_gallery_commands,  # gallery ..., identify, cluster
    add_video_commands,  # run
    add_serve_command,  # serve
    add_report_command,  # report
    add_models_command,  # models ...
    add_backup_commands,  # backup, restore
    add_keygen_command,  # keygen
    add_demo_command,  # demo
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: the global options, then every group's commands."""
    parser = argparse.ArgumentParser(prog="faceplane", description="Self-hosted face recognition.")
    parser.add_argument("--version", action="version", version=f"faceplane {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    parser.add_argument(
        "--log-format", choices=LOG_FORMATS, default="text", help="log lines on stderr: text, or one JSON object a line"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_commands in _GROUPS:
        add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code (the console script passes it to ``sys.exit``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    configure_logging(level, args.log_format)
    stream = out if out is not None else sys.stdout
    try:
        return int(args.func(args, stream))
    except FaceplaneError as exc:
        print(error_line(str(exc), args.log_format), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("faceplane: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
