"""Shared fixtures: a real sandbox on loopback (tests talk to it over HTTP, never to a mock)."""

from __future__ import annotations

import http.server
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from c2c_sandbox import Sandbox

# tests/data holds devices and transcripts the tests run or replay (one imports frameioclient, which the suite
# does not install): data, not tests.
collect_ignore_glob = ["data/*"]

if TYPE_CHECKING:
    from c2c_helpers import C2CClient, RetryPolicy


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the session; faults reset per test.

    Pairing polls every second so tests are quick, and asset creation is not rate limited to 5/s as in
    Frame.io (tests create assets back to back; ``fresh_sandbox`` keeps the real limit).
    """
    with Sandbox(poll_interval=1, create_rate=10_000) as sb:
        yield sb


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests (marked ``ui``) run after all the others, as CI wants them."""
    items.sort(key=lambda item: item.get_closest_marker("ui") is not None)
