"""The ``c2c`` command: ``c2c clip | record | upload | fleet | device | sandbox | lab | check``.

- ``c2c clip [PATH]``: write the test clip (to ``PATH``, a file or a directory; the current directory by
  default) and print where, its size and sha256;
- ``c2c upload FILE [--workers N] [--parts N] [--name NAME] [--filetype TYPE] [--offset S] [--attempts N]
  [--no-wait] [--no-progress] [--resume [MANIFEST]] [--recreate-expired]``:
  upload to the service in ``C2C_API_URL`` / ``C2C_ACCESS_TOKEN``, or to an embedded sandbox when neither is
  set, with a progress bar on standard error and a one-line summary on standard output. ``--resume`` keeps a
  manifest (``FILE.c2c-resume.json`` unless named; mode 0600, it holds presigned URLs but no token) so that
  running the same command again after a crash sends only the missing parts; ``--recreate-expired`` creates a
  fresh asset and starts over when the upload URLs have expired (the default is to stop with the error);
- ``c2c upload --realtime FILE [--part-size BYTES] [--idle-timeout S] [--resume [MANIFEST]] ...``: upload a file
  that is still being written, part by part as it grows (:mod:`c2c_helpers.realtime.upload`); the recording counts as
  ended once the file stops growing for ``--idle-timeout`` seconds (default 10);
- ``c2c record PATH [--source FILE] [--rate BYTES/S | --realtime | --fast]``: write the test clip (or `FILE`) to
  ``PATH`` the way a camera records, in small appends at its real bitrate (16 s) by default
  (:mod:`c2c_helpers.lab.recording`): a growing file for ``c2c upload --realtime``;
- ``c2c fleet [--cameras N] [--clips K] [--network NAME|k=v,...] [--workers W] [--clip FILE | --clip-bytes N]
  [--json PATH]``: N cameras paired with an embedded sandbox upload K clips each at once under one shared uplink;
  prints each camera's throughput, the fairness index, 429s, retries and failures (:mod:`c2c_helpers.tools.fleet`);
- ``c2c device [FOLDER] [--state DIR] [--exit-when-idle S]``: the kit's reference device
  (:mod:`c2c_helpers.tools.device`): pairs (or takes the tokens it is given), watches the folder as a queue kept
  on disk and uploads it as Frame.io's integrator checklist asks; ``c2c check -- c2c device`` grades it;
- ``c2c upload`` with ``C2C_REFRESH_TOKEN``, ``C2C_CLIENT_ID`` and ``C2C_CLIENT_SECRET`` also set (a check
  session sets them) acts as that device: it refreshes its token (keeping the new pair in ``C2C_STATE_DIR``) and
  sends heartbeats;
- ``c2c sandbox ...``, ``c2c lab ...`` and ``c2c check ...`` (the integrator's scorecard,
  :mod:`c2c_sandbox.scorecard.run`): handed to :mod:`c2c_sandbox.cli` as they are.

What needs an extra: ``pip install .`` alone is the client. ``c2c sandbox``, ``c2c check`` and ``c2c fleet`` need
the ``sandbox`` extra, ``c2c lab`` the ``lab`` extra, ``c2c clip`` and ``c2c record`` the ``clip`` extra (until the
clip is in the cache) and ``c2c upload`` without ``C2C_API_URL`` / ``C2C_ACCESS_TOKEN`` the ``sandbox`` extra.
Without it, the command says in one line which extra to install and exits with status 1.

Errors end the command with a message on standard error (redacted: no token or signature) and exit status 1
(2 for usage errors, 130 for Ctrl-C). A usage error (an argument missing, or out of range) is one line on
standard error, ``c2c <command>: what is wrong``, and exit status 2: never a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from c2c_helpers._redact import redact
from c2c_helpers.errors import C2CError, UploadInterrupted
from c2c_helpers.lab.connect import connect, uses_embedded_sandbox
from c2c_helpers.lab.recording import TEST_CLIP_RATE, start_recording
from c2c_helpers.lab.testclip import TEST_CLIP_SHA256, TEST_CLIP_SIZE, make_test_clip
from c2c_helpers.parts import PartProgress
from c2c_helpers.pool import ProgressEvent, ProgressTotals
from c2c_helpers.realtime import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_PART_SIZE,
    default_live_manifest_path,
    upload_growing_file,
)
from c2c_helpers.request import DEFAULT_WORKERS
from c2c_helpers.resume import default_manifest_path
from c2c_helpers.retry import RetryPolicy
from c2c_helpers.tools import fleet as fleet_module
from c2c_helpers.tools.device import as_device
from c2c_helpers.tools.extras import (
    COMMAND_EXTRA,
    EPILOG,
    extra_of,
    missing_module,
    needs_extra,
    upload_lacks_a_service,
)
from c2c_helpers.upload import UploadResult, upload_file

__all__ = ["main"]

_DEFAULT_MANIFEST = "<FILE>.c2c-resume.json"  # argparse's const for a bare --resume
MiB, GiB = 1024**2, 1024**3
MAX_WORKERS = 64  # parts at once: one device's uplink is full with a handful (the network model); 64 is far past it
MAX_PARTS = 10_000  # S3's most parts per upload
MAX_ATTEMPTS = 100  # attempts per part: with backoff, more than this is hours of retrying one part
MAX_OFFSET = 100 * 365 * 86400  # seconds since the file was made, either way: a century, as the API takes it
MAX_CAMERAS = MAX_CLIPS = 100  # c2c fleet: each camera is a paired device with its own threads, on this machine
MAX_CLIP_BYTES = 4 * GiB  # c2c fleet --clip-bytes: the generated file is written to disk before the run
_DELEGATED = {
    "sandbox": ("main", "serve the sandbox on loopback; prints the API URL and a ready access token [sandbox]"),
    "lab": ("lab_main", "the sandbox in the background and JupyterLab, opening notebooks/00 [lab]"),
    "check": (
        "check_main",
        "grade a device against Frame.io's uploader checklist (exit 0 only if nothing fails) [sandbox]",
    ),
}
_DEVICE_HELP = "the kit's reference device: watch a folder and upload it as Frame.io's checklist asks"


class _Parser(argparse.ArgumentParser):
    """Refuses in one line on standard error (``c2c upload: what is wrong``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def _ranged(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], Any]:
    """An argparse type: a finite number of `kind` from `low` to `high`."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"must be from {_number(low)} to {_number(high)}, got {text}")
        return value

    return parse


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="c2c",
        description="Frame.io Camera to Cloud upload kit: test clip, uploads, sandbox, notebooks.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="{clip,record,upload,fleet,device,sandbox,lab,check}"
    )

    clip = sub.add_parser("clip", help="write the deterministic 21,136,250-byte test clip [clip]")
    clip.add_argument("path", nargs="?", default=".", help="file or directory to write (default: .)")

    _add_upload(sub)
    _add_record(sub)

    fleet = sub.add_parser("fleet", help="many cameras uploading at once through one uplink (a sandbox) [sandbox]")
    fleet_module.add_arguments(fleet)

    sub.add_parser("device", help=_DEVICE_HELP, add_help=False)  # its own parser (c2c_helpers.tools.device)
    for name, (_, help_text) in _DELEGATED.items():
        sub.add_parser(name, help=help_text, add_help=False)  # listed here; its own parser handles its arguments
    return parser


def _add_upload(sub: Any) -> None:
    up = sub.add_parser(
        "upload", help="upload a file (to an embedded sandbox [sandbox] when C2C_API_URL/C2C_ACCESS_TOKEN are unset)"
    )
    up.add_argument("file", type=Path, nargs="?", help="the file to upload")
    up.add_argument(
        "--workers",
        type=_ranged(int, 1, MAX_WORKERS),
        default=DEFAULT_WORKERS,
        help=f"parts at once ({DEFAULT_WORKERS})",
    )
    up.add_argument(
        "--parts", type=_ranged(int, 1, MAX_PARTS), default=None, help="upload URLs to ask for (default: the service's)"
    )
    up.add_argument("--name", default=None, help="display name in Frame.io (default: the file name)")
    up.add_argument("--filetype", default=None, help="MIME type (default: from the file extension)")
    up.add_argument(
        "--offset", type=_ranged(int, -MAX_OFFSET, MAX_OFFSET), default=None, help="seconds since the file was made"
    )
    up.add_argument(
        "--attempts", type=_ranged(int, 1, MAX_ATTEMPTS), default=5, help="attempts per part, retries included (5)"
    )
    up.add_argument(
        "--no-wait",
        action="store_true",
        help="do not wait for a sandbox to assemble the file (a real device never can)",
    )
    up.add_argument("--no-progress", action="store_true", help="no progress bar")
    up.add_argument(
        "--no-verify",
        action="store_true",
        help="do not hash the parts or check S3's ETags (faster on a weak CPU; a part damaged on the way goes unseen)",
    )
    up.add_argument(
        "--resume",
        nargs="?",
        const=_DEFAULT_MANIFEST,
        default=None,
        metavar="MANIFEST",
        help="keep a resume manifest (default FILE.c2c-resume.json; private: it holds presigned URLs) and, if it "
        "exists, send only the parts it does not list; `--resume FILE` alone means FILE with the default manifest",
    )
    up.add_argument(
        "--realtime",
        action="store_true",
        help="the file is still being written: upload it as it grows (Frame.io's real-time upload); the recording "
        "counts as ended when the file stops growing for --idle-timeout seconds",
    )
    up.add_argument(
        "--part-size", type=_ranged(int, 5 * MiB, 5 * GiB), default=None, help="--realtime: bytes per part (8 MiB)"
    )
    up.add_argument(
        "--idle-timeout", type=_ranged(float, 0.01, 86400), default=None, help="--realtime: seconds without growth (10)"
    )
    up.add_argument(
        "--recreate-expired",
        action="store_true",
        help="if the upload URLs have expired, create a fresh asset and start over (default: stop with the error)",
    )


def _add_record(sub: Any) -> None:
    record = sub.add_parser("record", help="write a file the way a camera records it (a growing file to upload) [clip]")
    record.add_argument("path", type=Path, help="the file to write")
    record.add_argument("--source", type=Path, default=None, help="the file to copy (default: the test clip)")
    pace = record.add_mutually_exclusive_group()
    pace.add_argument(
        "--rate", type=_ranged(float, 1, 1e12), default=None, help="bytes per second (the clip's bitrate)"
    )
    pace.add_argument("--realtime", action="store_true", help="the test clip's real bitrate: 16 s (the default)")
    pace.add_argument("--fast", action="store_true", help="as fast as the disk goes")


def _check_fleet(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``c2c fleet``'s arguments (its module declares them): in range, and a network the sandbox takes."""
    fleet = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["fleet"]
    for name, low, high in (("cameras", 1, MAX_CAMERAS), ("clips", 1, MAX_CLIPS), ("workers", 1, MAX_WORKERS)):
        if not low <= getattr(args, name) <= high:
            fleet.error(f"argument --{name}: must be from {low} to {high}, got {getattr(args, name)}")
    if args.clip_bytes is not None and not 1 <= args.clip_bytes <= MAX_CLIP_BYTES:
        fleet.error(f"argument --clip-bytes: must be from 1 to {MAX_CLIP_BYTES:,}, got {args.clip_bytes}")
    from c2c_sandbox.network.profiles import parse_network  # the sandbox's own reading of a spec

    try:
        parse_network(args.network)
    except ValueError as exc:
        fleet.error(f"argument --network: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``c2c`` command with `argv` (``sys.argv[1:]`` by default); return the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = args_list[0] if args_list else ""
    needed = COMMAND_EXTRA.get(command)
    if needed:
        missing = missing_module(needed)
        if missing:
            return needs_extra(command, needed, missing)
    try:
        return _run(args_list)
    except ModuleNotFoundError as exc:  # a module an extra brings, imported only when a command needs it
        extra = extra_of(exc.name)
        if extra is None:
            raise
        return needs_extra(command or "c2c", extra, exc.name or "?")


def _run(args_list: list[str]) -> int:
    if args_list[:1] == ["device"]:
        from c2c_helpers.tools.device import device_main  # the reference device: its own parser

        return device_main(args_list[1:])
    if args_list and args_list[0] in _DELEGATED:
        from c2c_sandbox import cli as sandbox_cli  # only these commands need the sandbox

        return int(getattr(sandbox_cli, _DELEGATED[args_list[0]][0])(args_list[1:]) or 0)
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.command == "fleet":
        _check_fleet(parser, args)
        return fleet_module.main(args)  # imports the sandbox only when it runs
    if args.command == "clip":
        return _clip(args)
    if args.command == "record":
        return _record(args)
    _check_upload(parser, args)
    return _upload(args)


def _check_upload(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The file, in either order with ``--resume``: ``--resume FILE`` alone means FILE with the default manifest."""
    upload = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["upload"]
    if args.file is None:
        if args.resume in (None, _DEFAULT_MANIFEST):
            upload.error("the following arguments are required: file")
        args.file, args.resume = Path(args.resume), _DEFAULT_MANIFEST  # `--resume FILE`: FILE is what to upload
    elif args.resume not in (None, _DEFAULT_MANIFEST) and Path(args.resume) == args.file:
        upload.error(f"--resume takes the manifest's path (default FILE.c2c-resume.json), not the file: {args.file}")


def _record(args: argparse.Namespace) -> int:
    rate = None if args.fast else args.rate if args.rate is not None else TEST_CLIP_RATE
    try:
        source = args.source or make_test_clip()  # the cached clip itself: a recording only reads its source
        recording = start_recording(args.path, source=source, rate=rate)
        print(f"c2c record: writing {recording.size:,} bytes to {args.path}", file=sys.stderr)
        recording.wait()
    except KeyboardInterrupt:
        print("c2c record: stopped", file=sys.stderr)
        return 130
    except (OSError, RuntimeError, ValueError) as exc:
        return _fail(f"cannot record: {exc}")
    print(f"{args.path}  {recording.bytes_written:,} bytes  sha256 {recording.sha256}")
    return 0


def _clip(args: argparse.Namespace) -> int:
    try:
        path = make_test_clip(args.path)
    except (OSError, RuntimeError, ValueError) as exc:
        return _fail(f"cannot write the test clip: {exc}")
    print(f"{path}  {TEST_CLIP_SIZE:,} bytes  sha256 {TEST_CLIP_SHA256}")
    return 0


def _upload(args: argparse.Namespace) -> int:
    stop = threading.Event()  # ends the heartbeat of a device's upload (see tools.device.as_device)
    try:
        return _upload_once(args, stop)
    finally:
        stop.set()


def _upload_once(args: argparse.Namespace, stop: threading.Event) -> int:
    bar: Any = None
    secrets: tuple[str, ...] = ()
    manifest = None if args.resume is None else Path(args.resume)
    if args.resume == _DEFAULT_MANIFEST:
        manifest = default_manifest_path(args.file)
    if upload_lacks_a_service(embedded=uses_embedded_sandbox()):
        return 1
    try:
        client = as_device(connect(), stop, embedded=uses_embedded_sandbox())
        secrets = (client.token,)
        if uses_embedded_sandbox():
            print(
                f"c2c: C2C_API_URL and C2C_ACCESS_TOKEN are not set: uploading to an embedded sandbox at "
                f"{client.api_url} (gone when this command ends; `c2c sandbox` runs one that stays)",
                file=sys.stderr,
            )
        progress = None
        if not args.no_progress:
            bar, progress = _progress_bar(args.file)
        if args.realtime:
            return _upload_realtime(args, client, progress, bar)
        result = upload_file(
            args.file,
            client=client,
            name=args.name,
            filetype=args.filetype,
            offset=args.offset,
            parts=args.parts,
            workers=args.workers,
            retry=RetryPolicy(max_attempts=args.attempts),
            progress=progress,
            wait=False if args.no_wait else None,  # None: wait only where a sandbox's controls can see assembly
            resume=manifest,
            on_expired="recreate" if args.recreate_expired else "raise",
            verify=not args.no_verify,
        )
    except UploadInterrupted as exc:
        _close(bar)
        notes = "".join(f"\n  {note}" for note in getattr(exc, "__notes__", ()))
        print(f"c2c upload: {exc}{notes}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        _close(bar)
        print("c2c upload: interrupted", file=sys.stderr)
        return 130
    except (C2CError, ValueError) as exc:
        _close(bar)
        if "MIME type" in str(exc):  # the message names upload_file's argument: this command's is a flag
            exc.add_note("c2c upload: give it with --filetype TYPE, e.g. --filetype video/mp4")
        notes = "".join(f"\n  {note}" for note in getattr(exc, "__notes__", ()))
        return _fail(f"{exc}{notes}", secrets=secrets)
    _close(bar)
    return _said(result)


def _said(result: UploadResult) -> int:
    """The summary line on stdout; a recreated or resumed asset said on stderr."""
    if result.recreated_from:
        print(
            f"c2c: the upload URLs of asset {result.recreated_from} expired: created asset {result.asset.id} and "
            "sent the whole file again",
            file=sys.stderr,
        )
    if result.resumed:
        print(f"c2c: resumed asset {result.asset.id}: {len(result.resumed)} part(s) were already sent", file=sys.stderr)
    print(f"{result.summary()}; asset {result.asset.id}")
    return 0


def _upload_realtime(args: argparse.Namespace, client: Any, progress: Any, bar: Any) -> int:
    """``c2c upload --realtime FILE``: follow the file as it grows; the end is a pause of --idle-timeout seconds."""
    resume = None if args.resume is None else Path(args.resume)
    if args.resume == _DEFAULT_MANIFEST:
        resume = default_live_manifest_path(args.file)
    result = upload_growing_file(
        args.file,
        client=client,
        name=args.name,
        filetype=args.filetype,
        part_size=args.part_size or DEFAULT_PART_SIZE,
        workers=args.workers,
        retry=RetryPolicy(max_attempts=args.attempts),
        progress=progress,
        idle_timeout=args.idle_timeout or DEFAULT_IDLE_TIMEOUT,
        resume=resume,
        wait=False if args.no_wait else None,
    )
    _close(bar)
    print(f"{result.summary()}; asset {result.asset_id}")
    return 0


def _progress_bar(path: Path) -> tuple[Any, Any]:
    from tqdm import tqdm  # only the CLI draws bars

    try:
        total = path.stat().st_size
    except OSError:
        total = 0  # upload_file reports the problem; a real-time upload's file may not exist yet
    # decimal units (MB = 10^6 bytes, MB/s), as the summary line counts them
    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1000, desc=path.name, file=sys.stderr, delay=0.3)
    totals = ProgressTotals()

    def progress(event: PartProgress | ProgressEvent) -> None:
        file_event = totals.add(event)
        bar.total = max(bar.total or 0, file_event.total)  # a real-time upload's total grows with the file
        bar.n = file_event.bytes_sent  # absolute: a retried part moves the bar back, never past 100 %
        if event.state == "retrying":
            bar.set_postfix_str(f"part {event.part} retry {event.attempt + 1}", refresh=False)
        bar.refresh()

    return bar, progress


def _close(bar: Any) -> None:
    if bar is not None:
        bar.close()


def _fail(message: str, secrets: Sequence[str | None] = ()) -> int:
    print(f"c2c: error: {redact(message, secrets)}", file=sys.stderr)
    return 1


if __name__ == "__main__":  # python -m c2c_helpers.tools.cli
    sys.exit(main())
