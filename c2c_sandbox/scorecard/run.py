"""The integrator's scorecard: run a graded session against a device and get its report.

In Python, :func:`run_check` (a sandbox of its own unless given one; the device is a callable or a command)::

    >>> from c2c_sandbox.scorecard.run import run_check
    >>> session = run_check(["./my-uploader"])            # doctest: +SKIP
    >>> session.card.passed, print(session.report())      # doctest: +SKIP

In a shell, ``c2c check`` (:func:`check_main`): it starts a sandbox, starts the session, says what to do, then
either runs the device command given after ``--`` (with the session's variables in its environment: see
:meth:`~c2c_sandbox.scorecard.scenario.Session.environment`; its output is echoed and kept, to look for secrets)
or waits until Enter (or ``--timeout``; with standard input closed, until the device has been quiet for
:data:`QUIET` s after its first request); then prints the Markdown report, writes ``--json`` / ``--report`` /
``--transcript`` if asked, and exits 0 only if no item failed (1 otherwise, 2 for usage errors). A command is
killed once, when the script cuts its power (SIGKILL to its process group, by its pid), and started again:
:func:`drive`. ``--pair`` hands the device no tokens: it pairs, and the session approves its code. The page of a
running sandbox has the same as a button (``POST /sandbox/checks``).

:class:`OneLineParser` and :func:`ranged` are the kit's command lines' (``c2c check`` here, ``c2c sandbox`` and
``c2c lab`` in :mod:`c2c_sandbox.cli`): an argument out of range is refused in one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from c2c_sandbox.scorecard.grader import ITEMS
from c2c_sandbox.scorecard.scenario import Session, SessionRefused
from c2c_sandbox.server import DataDirInUse, Sandbox

__all__ = ["OneLineParser", "check_main", "ranged", "run_check"]
MAX_SEED = 2**31  # as the controls take it (POST /sandbox/checks)
QUIET = 30.0  # seconds without a request after which a session with no input to wait on is graded
MAX_OUTPUT = 4 * 1024 * 1024  # bytes of the device's output kept (looked through for secrets)
MAX_CHECK_SECONDS = 86400.0  # a day: the longest a device command may run (the default is 10 minutes)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser that refuses in the kit's way: one line on stderr (``prog: what is wrong``), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def ranged(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number of `kind` from `low` to `high` (finite), refused in words otherwise."""

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


Device = Callable[[dict[str, str]], object] | Sequence[str]


def run_check(
    device: Device,
    *,
    sandbox: Sandbox | None = None,
    seed: int = 0,
    directory: str | Path | None = None,
    skip: Sequence[str] = (),
    device_id: str | None = None,
    timeout: float = 300.0,
    pair: bool = False,
    echo: bool = False,
) -> Session:
    """Run one graded session against `device` and return it finished (``.card``, ``.report()``, ``.transcript()``).

    `device` is a callable given the session's environment variables (a dict: ``C2C_API_URL``,
    ``C2C_ACCESS_TOKEN``, ``C2C_REFRESH_TOKEN``, ``C2C_CLIENT_ID``, ``C2C_CLIENT_SECRET``, ``C2C_CHECK_DIR``,
    ``C2C_CHECK_MINUTE``), or a command run with them added to its environment (for at most `timeout` seconds).
    `skip` names items whose conditions to leave out (e.g. ``("token_refresh",)`` for a device that cannot
    refresh); they come out "not exercised". A command is killed (SIGKILL, as a power cut) and started again when
    the script says so; a callable cannot be, so its resume item comes out "not exercised". `pair`: the session
    gives no tokens, the device pairs (the session approves its code); `echo`: the command's output to stderr.
    """
    unknown = set(skip) - {item[0] for item in ITEMS}
    if unknown:
        raise ValueError(f"unknown item(s) to skip: {', '.join(sorted(unknown))}")
    own = sandbox is None
    sb = Sandbox().start() if sandbox is None else sandbox
    try:
        session = Session(
            sb.model, device_id=device_id, directory=directory, seed=seed, skip=tuple(skip), pair=pair
        ).start()
        try:
            if callable(device):
                device(session.environment())
            else:
                drive(session, list(device), timeout, echo=echo)
        finally:
            session.finish()
        return session
    finally:
        if own:
            sb.stop()


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="c2c check",
        description="Grade a device against Frame.io's C2C uploader checklist: a sandbox plays a scripted session "
        "(faults, a pause window, an expired URL, an expiring token, a restart) while the device uploads.",
        epilog="Example: c2c check -- ./my-uploader   (the session's C2C_* variables are in its environment)",
    )
    parser.add_argument("--seed", type=ranged(int, 0, MAX_SEED), default=0, help="the scenario's seed (default 0)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files to upload")
    parser.add_argument("--device", default=None, help="grade this paired device (default: pair a new one)")
    parser.add_argument("--data-dir", type=Path, default=None, help="the sandbox's data dir (default: a temporary one)")
    parser.add_argument("--port", type=ranged(int, 0, 65535), default=0, help="port of the sandbox (default: any)")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=[i[0] for i in ITEMS],
        metavar="ITEM",
        help="leave an item's condition out (repeatable): " + ", ".join(i[0] for i in ITEMS),
    )
    parser.add_argument(
        "--timeout", type=ranged(float, 1, MAX_CHECK_SECONDS), default=600.0, help="longest session, s (default 600)"
    )
    parser.add_argument("--pair", action="store_true", help="give the device no tokens: it pairs (code approved)")
    parser.add_argument("--json", type=Path, default=None, help="write the scorecard as JSON here")
    parser.add_argument("--report", type=Path, default=None, help="write the Markdown report here")
    parser.add_argument("--transcript", type=Path, default=None, help="write the recorded session (for replay) here")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND: the device to run (else: wait)")
    return parser


def check_main(argv: list[str] | None = None) -> int:
    """``c2c check``: see the module docstring."""
    args = _parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    with tempfile.TemporaryDirectory(prefix="c2c-check-") as tmp:
        try:
            sb = Sandbox(port=args.port, data_dir=args.data_dir).start()
        except (DataDirInUse, OSError, ValueError) as exc:
            print(f"c2c check: cannot start the sandbox: {exc}", file=sys.stderr)
            return 2
        try:
            session = Session(
                sb.model,
                device_id=args.device,
                directory=args.dir or Path(tmp) / "files",
                seed=args.seed,
                skip=tuple(args.skip),
                pair=args.pair,
            ).start()
        except (ValueError, OSError, SessionRefused) as exc:
            sb.stop()
            print(f"c2c check: {exc}", file=sys.stderr)
            return 2
        try:
            print(session.instructions(), file=sys.stderr, flush=True)
            _drive(session, command, args.timeout)
            card = session.finish()
            print(session.report())
            _write_outputs(args, session)
        finally:
            sb.stop()
    return 0 if card.passed else 1


def _drive(session: Session, command: list[str], timeout: float) -> None:
    """Run the device command, or wait for Enter (or the timeout) while a device outside works."""
    if command:
        drive(session, command, timeout, echo=True)
        return
    if _closed(sys.stdin):
        print(
            "c2c check: standard input is closed, so no Enter can end the session: it is graded once the device "
            f"has been quiet for {QUIET:g} s after its first request (or after {timeout:g} s)",
            file=sys.stderr,
            flush=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if session.status()["requests"] and time.monotonic() - session.last_seen >= QUIET:
                break
            time.sleep(0.2)
        return
    print("Press Enter when the device is done (Ctrl-C also grades).", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt, OSError, ValueError):
        select.select([sys.stdin], [], [], timeout)


def _closed(stream: object) -> bool:
    """Whether `stream` is at its end (``< /dev/null``, a closed pipe): a person's Enter can never come."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        if os.isatty(fd):
            return False
        ready, _, _ = select.select([fd], [], [], 0)
        return bool(ready) and os.read(fd, 1) == b""
    except (OSError, ValueError, AttributeError):
        return True


def drive(session: Session, command: list[str], timeout: float, *, echo: bool = False) -> None:
    """Run the device command for at most `timeout` s, its output kept for the session (and echoed to stderr if
    `echo`). When the script asks for a power cut, kill it (SIGKILL to its process group, by its pid) and start
    it again: what it sends after that is the restart's evidence."""
    deadline, output, runs = time.monotonic() + timeout, bytearray(), 0
    env = {**os.environ, **session.environment()}
    session.driven = True
    while runs < 2:
        runs += 1
        try:
            proc = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            print(f"c2c check: cannot run {command[0]}: {exc}", file=sys.stderr)
            break
        reader = threading.Thread(target=_copy, args=(proc, output, echo), daemon=True)
        reader.start()
        killed = False
        while proc.poll() is None and time.monotonic() < deadline:
            if runs == 1 and session.power_cut.wait(0.05):
                os.killpg(proc.pid, signal.SIGKILL)  # a power cut: no chance to save anything
                proc.wait()
                session.powered_off()
                killed = True
        if proc.poll() is None:
            print(f"c2c check: the device command ran past {timeout:g} s; grading what it did", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=5)
        if not killed:
            break
    session.output = output.decode(errors="replace")


def _copy(proc: subprocess.Popen[bytes], into: bytearray, echo: bool) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if len(into) < MAX_OUTPUT:
            into.extend(line)
        if echo:
            sys.stderr.buffer.write(line)
            sys.stderr.flush()


def _write_outputs(args: argparse.Namespace, session: Session) -> None:
    card = session.finish()
    if args.json is not None:
        args.json.write_text(json.dumps(card.to_json(), indent=1) + "\n")
    if args.report is not None:
        args.report.write_text(session.report())
    if args.transcript is not None:
        args.transcript.write_text(json.dumps(session.transcript(), indent=1) + "\n")
