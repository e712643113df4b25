"""The command lines: ``c2c sandbox`` (also ``python -m c2c_sandbox``), ``c2c lab`` and ``c2c check``.

``c2c check`` (the integrator's scorecard) is :func:`c2c_sandbox.scorecard.check_main`, imported here.

``c2c sandbox`` prints ``C2C_API_URL=...`` and ``C2C_ACCESS_TOKEN=...``, ``C2C_SANDBOX_URL=...`` (its controls) and
the pairing credentials ``C2C_CLIENT_ID=...`` / ``C2C_CLIENT_SECRET=...`` (ready to ``eval`` or paste, so the
pairing flow can be followed with curl), then serves until interrupted. ``c2c lab`` starts the sandbox in the
background and JupyterLab on ``notebooks/`` with those variables set. Both keep their state in a data dir that
outlives them (``$C2C_SANDBOX_DIR`` or ``~/.local/share/c2c-sandbox``); a second sandbox on a data dir in use
refuses to start, saying which process and port hold it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .network import PRESETS, NetworkProfile, parse_network
from .scorecard import check_main as check_main  # `c2c check`, re-exported for c2c_helpers.cli
from .server import DataDirInUse, Sandbox, is_loopback

DEFAULT_PORT = 8765  # `c2c sandbox` and `c2c lab`; the Python class picks a free port by default
#: The device id `c2c sandbox` and `c2c lab` suggest for pairing (any stable id works: a serial number).
PAIRING_CLIENT_ID = "SN-000123"


def default_data_dir() -> Path:
    env = os.environ.get("C2C_SANDBOX_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "c2c-sandbox"


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Frame.io C2C sandbox on loopback.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--i-know",
        action="store_true",
        help="listen on a --host beyond loopback although the controls (/sandbox/*) have no authentication",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="state, parts and originals (default $C2C_SANDBOX_DIR or ~/.local/share/c2c-sandbox)",
    )
    parser.add_argument("--url-ttl", type=int, default=86400, help="upload URL lifetime in seconds")
    parser.add_argument("--token-ttl", type=int, default=28800, help="access token lifetime in seconds")
    parser.add_argument("--poll-interval", type=int, default=5, help="pairing poll interval in seconds")
    parser.add_argument(
        "--network",
        type=_network,
        default=None,
        metavar="NAME|k=v,...",
        help=f"network conditions of part uploads: a preset ({', '.join(PRESETS)}), k=v pairs"
        " (per_connection=8Mbps,uplink=20Mbps,ttfb=80ms,...), or NAME,k=v,... (default loopback)",
    )
    return parser


def _network(text: str) -> NetworkProfile:
    try:
        return parse_network(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _start(prog: str, args: argparse.Namespace) -> Sandbox | None:
    """A started sandbox, or None after a one-line message on stderr saying why it could not start."""
    if not is_loopback(args.host):
        if not args.i_know:
            print(
                f"{prog}: refusing --host {args.host}: the controls (/sandbox/*: faults, pauses, pairing) have no"
                " authentication and anyone who can reach that address could use them; add --i-know to go ahead",
                file=sys.stderr,
            )
            return None
        print(f"{prog}: warning: listening on {args.host}: the controls have no authentication", file=sys.stderr)
    sb = Sandbox(
        args.host,
        args.port,
        args.data_dir or default_data_dir(),
        url_ttl=args.url_ttl,
        token_ttl=args.token_ttl,
        poll_interval=args.poll_interval,
        network=args.network,
        allow_remote=args.i_know,
    )
    try:
        return sb.start()
    except DataDirInUse as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"{prog}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
    return None


def main(argv: list[str] | None = None) -> int:
    """``c2c sandbox``: print the URL and a ready token, then serve until interrupted."""
    args = build_parser("c2c sandbox").parse_args(argv)
    sb = _start("c2c sandbox", args)
    if sb is None:
        return 2
    print(f"C2C_API_URL={sb.api_url}")
    print(f"C2C_ACCESS_TOKEN={sb.access_token}")
    print(f"C2C_SANDBOX_URL={sb.api_url}")
    print(f"C2C_CLIENT_ID={PAIRING_CLIENT_ID}")
    print(f"C2C_CLIENT_SECRET={sb.client_secret}")
    print(f"# network: {sb.network.summary()}")
    print(f"# web page: {sb.api_url}/   data: {sb.data_dir}   stop: Ctrl-C", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
        print("sandbox stopped", file=sys.stderr)
    return 0


def lab_main(argv: list[str] | None = None) -> int:
    """``c2c lab``: the sandbox in the background, JupyterLab on notebooks/ with the environment set."""
    parser = build_parser("c2c lab")
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"), help="folder to open")
    parser.add_argument("--lab-port", type=int, default=8888, help="JupyterLab's port")
    args, lab_args = parser.parse_known_args(argv)
    sb = _start("c2c lab", args)
    if sb is None:
        return 2
    env = dict(
        os.environ,
        C2C_API_URL=sb.api_url,
        C2C_ACCESS_TOKEN=sb.access_token,
        C2C_SANDBOX_URL=sb.api_url,
        C2C_CLIENT_ID=PAIRING_CLIENT_ID,
        C2C_CLIENT_SECRET=sb.client_secret,
    )
    print(f"sandbox: {sb.api_url}/  (data: {sb.data_dir})", flush=True)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--notebook-dir={args.notebooks}",
        "--ip=127.0.0.1",
        f"--port={args.lab_port}",
        *lab_args,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in lab_args:
        command.append("--allow-root")
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        sb.stop()
