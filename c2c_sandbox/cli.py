"""The command lines: ``c2c sandbox`` (also ``python -m c2c_sandbox``), ``c2c lab`` and ``c2c check``.

``c2c check`` (the integrator's scorecard) is :func:`c2c_sandbox.scorecard.run.check_main`, imported here.

``c2c sandbox`` prints ``export C2C_API_URL=...`` and ``export C2C_ACCESS_TOKEN=...``, ``export C2C_SANDBOX_URL=...``
(its controls) and the pairing credentials ``export C2C_CLIENT_ID=...`` / ``export C2C_CLIENT_SECRET=...`` (ready to
paste into another shell, so that ``c2c upload`` and the curl commands reach it), then serves until interrupted.
``c2c lab`` prints the same lines, then runs JupyterLab with those variables set, rooted at the current directory
(the kit's folder under ``make lab``, so that a lesson's ``../docs/...`` links open) and opening
``notebooks/00_setting_up.ipynb``; when ``C2C_API_URL`` and ``C2C_ACCESS_TOKEN`` are already set it starts no
sandbox and the notebooks talk to that service. Ctrl-C or SIGTERM stops JupyterLab (a
child in its own session: the signal is forwarded, then it is killed after a grace period) and the sandbox.
Both keep their state in a data dir that outlives them (``$C2C_SANDBOX_DIR`` or ``~/.local/share/c2c-sandbox``);
a second sandbox on a data dir in use refuses to start, saying which process and port hold it; a busy port is a
one-line message too.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from c2c_sandbox.domain.model import MAX_POLL_INTERVAL, MAX_TOKEN_TTL, MAX_URL_TTL
from c2c_sandbox.network.profiles import PRESETS, NetworkProfile, parse_network
from c2c_sandbox.s3.weed import WeedMini
from c2c_sandbox.scorecard.run import OneLineParser, ranged
from c2c_sandbox.scorecard.run import check_main as check_main  # `c2c check`, re-exported for c2c_helpers.tools.cli
from c2c_sandbox.server import DataDirInUse, Sandbox, is_loopback

#: What ``c2c lab`` opens first, under its root (the kit's folder).
FIRST_NOTEBOOK = "notebooks/00_setting_up.ipynb"
#: JupyterLab's page config for ``c2c lab``: no "news" prompt over the first notebook.
LAB_PAGE_CONFIG = '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}'
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
    parser = OneLineParser(prog=prog, description="Frame.io C2C sandbox on loopback.")
    port = ranged(int, 0, 65535)
    parser.add_argument("--port", type=port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)")
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
    parser.add_argument(
        "--url-ttl", type=ranged(int, 1, MAX_URL_TTL), default=86400, help="upload URL lifetime in seconds (1 s to 7 d)"
    )
    parser.add_argument(
        "--token-ttl", type=ranged(int, 1, MAX_TOKEN_TTL), default=28800, help="access token lifetime in seconds"
    )
    parser.add_argument(
        "--poll-interval", type=ranged(int, 0, MAX_POLL_INTERVAL), default=5, help="pairing poll interval, s"
    )
    parser.add_argument(
        "--network",
        type=_network,
        default=None,
        metavar="NAME|k=v,...",
        help=f"network conditions of part uploads: a preset ({', '.join(PRESETS)}), k=v pairs"
        " (per_connection=8Mbps,uplink=20Mbps,ttfb=80ms,...), or NAME,k=v,... (default loopback)",
    )
    store = parser.add_argument_group("part bytes in an S3-compatible store (faults, --network and checks refuse)")
    store.add_argument("--s3", metavar="URL", default=None, help="the store and bucket: http://HOST:PORT/BUCKET")
    store.add_argument("--s3-key", default=None, help="its access key (default: as boto3 finds it, AWS_ACCESS_KEY_ID)")
    store.add_argument("--s3-secret", default=None, help="its secret key (default: AWS_SECRET_ACCESS_KEY or profile)")
    store.add_argument("--s3-profile", default=None, help="the AWS profile holding the key and secret")
    store.add_argument(
        "--store", action="store_true", help="start SeaweedFS's weed mini (the test extra) in DATA_DIR/store and use it"
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
    try:
        data_dir = args.data_dir or default_data_dir()
        if getattr(args, "store", False):
            args.s3, args.s3_key, args.s3_secret = _start_store(data_dir / "store")
        sb = Sandbox(
            args.host,
            args.port,
            data_dir,
            url_ttl=args.url_ttl,
            token_ttl=args.token_ttl,
            poll_interval=args.poll_interval,
            network=args.network,
            allow_remote=args.i_know,
            s3=getattr(args, "s3", None),
            s3_key=getattr(args, "s3_key", None),
            s3_secret=getattr(args, "s3_secret", None),
            s3_profile=getattr(args, "s3_profile", None),
        )
        return sb.start()
    except (ValueError, RuntimeError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
    except DataDirInUse as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"{prog}: port {args.port} is in use (another c2c lab or sandbox?): use --port", file=sys.stderr)
        elif exc.filename is not None:  # the data dir: not writable, a file in the way, ...
            print(f"{prog}: cannot use the data dir {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        else:
            print(f"{prog}: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
    _stop_store()
    return None


_STORES: list[WeedMini] = []  # the weed mini `--store` started, stopped with the sandbox


def _start_store(directory: Path) -> tuple[str, str, str]:
    store = WeedMini(directory).start()
    _STORES.append(store)
    return f"{store.url}/{store.bucket}", store.access_key, store.secret_key


def _stop_store() -> None:
    while _STORES:
        _STORES.pop().stop()


def variables(sb: Sandbox) -> dict[str, str]:
    """The environment that points a client, curl and the notebooks at ``sb`` (what both commands print)."""
    return {
        "C2C_API_URL": sb.api_url,
        "C2C_ACCESS_TOKEN": sb.access_token,
        "C2C_SANDBOX_URL": sb.api_url,
        "C2C_CLIENT_ID": PAIRING_CLIENT_ID,
        "C2C_CLIENT_SECRET": sb.client_secret,
    }


def announce(sb: Sandbox) -> None:
    """Print :func:`variables` as ``export NAME=value`` lines (paste them into a shell), then the network, the page
    and the data dir."""
    for name, value in variables(sb).items():
        print(f"export {name}={shlex.quote(value)}")
    external = sb.model.external
    print(
        f"# parts: S3 store {external.endpoint}/{external.name}" if external else f"# network: {sb.network.summary()}"
    )
    print(f"# web page: {sb.api_url}/   data: {sb.data_dir}   stop: Ctrl-C", flush=True)


def main(argv: list[str] | None = None) -> int:
    """``c2c sandbox``: print the URL and a ready token, then serve until interrupted."""
    args = build_parser("c2c sandbox").parse_args(argv)
    sb = _start("c2c sandbox", args)
    if sb is None:
        return 2
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())  # before the announcement: a SIGTERM after it stops cleanly
    announce(sb)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
        _stop_store()
        print("sandbox stopped", file=sys.stderr)
    return 0


def lab_main(argv: list[str] | None = None) -> int:
    """``c2c lab``: a sandbox (unless a service is configured), then JupyterLab until stopped."""
    parser = build_parser("c2c lab")
    parser.add_argument(
        "--root", type=Path, default=Path(), help="the folder JupyterLab serves (default: the current one, the kit's)"
    )
    parser.add_argument(
        "--open", default=FIRST_NOTEBOOK, metavar="PATH", help=f"what to open first, under --root ({FIRST_NOTEBOOK})"
    )
    parser.add_argument("--lab-port", type=ranged(int, 1, 65535), default=8888, help="JupyterLab's port")
    parser.add_argument(
        "--grace", type=ranged(float, 0, 600), default=10.0, help="seconds JupyterLab gets to stop before a kill"
    )
    args, lab_args = parser.parse_known_args(argv)
    url, token = os.environ.get("C2C_API_URL"), os.environ.get("C2C_ACCESS_TOKEN")
    sb = None
    if url and token:
        controls = os.environ.get("C2C_SANDBOX_URL")
        print(
            f"c2c lab: C2C_API_URL and C2C_ACCESS_TOKEN are set: no sandbox started; the notebooks talk to {url}"
            + (f" (controls: {controls})" if controls else " and skip the steps that need a sandbox's controls"),
            flush=True,
        )
        env = dict(os.environ)
    elif url or token:
        present, missing = ("C2C_API_URL", "C2C_ACCESS_TOKEN") if url else ("C2C_ACCESS_TOKEN", "C2C_API_URL")
        print(f"c2c lab: {present} is set but {missing} is not: set both, or neither for a sandbox", file=sys.stderr)
        return 2
    else:
        sb = _start("c2c lab", args)
        if sb is None:
            return 2
        announce(sb)
        env = dict(os.environ, **variables(sb))
    command = lab_command(args.root, args.open, args.lab_port, lab_args)
    config = Path(tempfile.mkdtemp(prefix="c2c-lab-config-"))  # this run's page config, removed when it ends
    try:
        env.update(lab_config(config, env))
        return run_until_stopped(command, env, grace=args.grace)
    except KeyboardInterrupt:  # before the handlers were in place
        return 0
    finally:
        shutil.rmtree(config, ignore_errors=True)
        if sb is not None:
            sb.stop()
            _stop_store()
            print("sandbox stopped", file=sys.stderr)


def lab_config(folder: Path, env: dict[str, str]) -> dict[str, str]:
    """Write ``c2c lab``'s page config (:data:`LAB_PAGE_CONFIG`) in ``folder`` and return the environment that puts
    it first on JupyterLab's config path (beside the user's own config, which stays)."""
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "labconfig" / "page_config.json").write_text(LAB_PAGE_CONFIG)
    return {"JUPYTER_CONFIG_PATH": os.pathsep.join(filter(None, [str(folder), env.get("JUPYTER_CONFIG_PATH")]))}


def lab_command(root: Path, first: str, port: int, extra: list[str]) -> list[str]:
    """JupyterLab rooted at ``root`` (links between its folders resolve), opening ``first`` when it exists there,
    on loopback, without the news feed; ``extra`` goes last (JupyterLab's own options)."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={root}",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--LabApp.news_url=None",
    ]
    if first and (root / first).is_file():
        command.append(f"--LabApp.default_url=/lab/tree/{first}")
    command += extra
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        command.append("--allow-root")
    return command


def run_until_stopped(command: list[str], env: dict[str, str], *, grace: float = 10.0) -> int:
    """Run ``command`` in its own session until it exits or this process gets SIGINT/SIGTERM; then forward
    SIGTERM, wait ``grace`` seconds, and kill what is left of it. Returns its exit status (0 when stopped)."""
    stopping = threading.Event()
    restore: dict[signal.Signals, Callable[..., object] | int | None] = {}
    if threading.current_thread() is threading.main_thread():
        for name in (signal.SIGINT, signal.SIGTERM):
            restore[name] = signal.signal(name, lambda *_: stopping.set())
    try:
        # its own session: a terminal's Ctrl-C reaches this process only (JupyterLab would ask "Shutdown?")
        process = subprocess.Popen(command, env=env, start_new_session=True)
        while process.poll() is None and not stopping.wait(0.2):
            pass
        if process.poll() is None:
            stop_process(process, grace)
            return 0
        return process.returncode
    finally:
        for name, handler in restore.items():
            signal.signal(name, signal.SIG_DFL if handler is None else handler)


def stop_process(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM ``process``; after ``grace`` seconds, SIGKILL it and whatever it started (its kernels)."""
    family = descendants(process.pid)
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        family |= descendants(process.pid)
        process.kill()
        process.wait()
    deadline = time.monotonic() + 2
    for pid in sorted(family):
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (from /proc; empty where there is none)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
