"""The `formscout` command line.

Each sub-command lives in agent/cli/<name>.py with `add_parser(subparsers)`
and `run(args) -> int`; they are imported only when that command runs, so
`formscout --help` stays fast. Bad input (tools.core.errors.InputError) becomes one
clear line on stderr and exit code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import logging
import sys

from tools.core.errors import InputError

# command name -> module under agent.cli
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "screen": "screen",
    "session": "session",
    "batch": "batch",
    "synth": "synth",
    "train": "train",
    "eval": "evaluate",
    "fit-criteria": "fit_criteria",
    "index": "index",
    "trace": "trace",
    "ask": "ask",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="formscout",
        description="FormScout: measures Functional Movement Screen clips and scores them 0-3 "
                    "or flags them for physio review. A screening aid, not a diagnosis.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=f"(run `formscout {name} --help`)", add_help=False)
            continue
        try:
            module = importlib.import_module(f"agent.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"agent.cli.{module_name}":
                continue  # command not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # MediaPipe's TFLite/absl start-up chatter, weight-loading bars, numpy All-NaN notes and repeated log
    # lines are not for the physio (tools/core/quiet.py); --verbose shows everything
    from tools.core.quiet import quiet_native_logs
    quiet_native_logs(verbose=args.verbose)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"formscout {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("formscout: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`formscout index list | head`): what was asked for has been written
        _drop_stdout()
        return 141
    except OSError as exc:
        # a folder that does not exist or cannot be written, a full or read-only disk: the machine's
        # problem, said in one line; any other OSError is a fault of ours and keeps its traceback
        message = file_problem(exc)
        if message is None:
            raise
        print(f"formscout {args.command}: error: {message}", file=sys.stderr)
        return 2


FILE_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EISDIR, errno.ENOTDIR,
               errno.EDQUOT, errno.ENAMETOOLONG}


def file_problem(exc: OSError) -> str | None:
    """One line saying what to do about a file-system error on a named path, or None for any other OSError."""
    if exc.errno not in FILE_ERRNOS or not (exc.filename or exc.errno in (errno.ENOSPC, errno.EDQUOT)):
        return None
    where = f" {exc.filename}" if exc.filename else ""
    hint = {errno.ENOSPC: "free some disk space and run it again",
            errno.EDQUOT: "free some disk space and run it again",
            errno.EROFS: "the disk is read-only: give a folder on a writable disk",
            errno.EACCES: "you may not write or read there: give a folder of your own",
            errno.EPERM: "you may not write or read there: give a folder of your own",
            }.get(exc.errno, "check that the path is right and its folder exists")
    return f"cannot use{where}: {exc.strerror}; {hint}."


def _drop_stdout() -> None:
    """Point stdout at /dev/null so that Python's flush at exit does not fail on the closed pipe."""
    import os
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
