"""A discard-only HTTP sink: the fastest a part PUT can be answered, to show a client's own ceiling.

    python -m benchmarks.sink [--port 0]     # prints SINK_URL=http://127.0.0.1:PORT, serves until killed

Part PUTs (any path, any ``X-Amz-Signature``) are read in 1 MiB blocks, thrown away and answered 200 with an
``ETag`` that is not an MD5 (the client hashes what it sends, and finds nothing to compare it with), over
HTTP/1.1 keep-alive (``Expect: 100-continue`` is honoured, as S3 does). So that
``c2c_helpers.upload_file`` runs unmodified against it, it also answers just enough of the C2C API:
``POST /v2/devices/assets`` returns ``upload_urls`` pointing at itself (20 MiB parts unless ``parts`` is
sent), and ``GET /v2/assets/<id>`` (and the sandbox control ``GET /sandbox/assets/<id>``) says the asset is
complete. Nothing is checked or stored.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PART_SIZE = 20 * 1024 * 1024  # the sandbox's default part size
BLOCK = 1024 * 1024


class SinkHandler(BaseHTTPRequestHandler):
    """Discards part bodies; fakes asset create and asset status."""

    protocol_version = "HTTP/1.1"
    server_version = "c2c-bench-sink"

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""

    def _read_body(self) -> bytes | None:
        """Read the body: returned when small (API calls), discarded block by block otherwise (parts)."""
        remaining = int(self.headers.get("Content-Length") or 0)
        if remaining <= BLOCK:
            return self.rfile.read(remaining)
        view = memoryview(bytearray(BLOCK))
        while remaining > 0:
            n = self.rfile.readinto(view[: min(remaining, BLOCK)])
            if not n:
                self.close_connection = True
                return None
            remaining -= n
        return None

    def _reply(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        """A part: discard it, answer 200 with an ETag."""
        self._read_body()
        # Not an MD5 (it hashes nothing), as S3's ETag of an SSE-KMS part is not: the client skips its check.
        self._reply(200, extra={"ETag": '"sink-discarded"'})

    def do_POST(self) -> None:
        """Asset create: upload URLs that point back here."""
        raw = self._read_body() or b"{}"
        if self.path.split("?")[0] not in ("/v2/devices/assets", "/v2/assets"):
            self._reply(404, b'{"error": "not found"}')
            return
        fields = json.loads(raw)
        size = int(fields["filesize"])
        parts = int(fields.get("parts") or max(1, math.ceil(size / PART_SIZE)))
        asset_id = str(uuid.uuid4())
        host = f"http://{self.headers.get('Host')}"
        urls = [f"{host}/sink/{asset_id}?partNumber={n}&uploadId=x&X-Amz-Signature=sink" for n in range(1, parts + 1)]
        asset = {
            "_type": "file",
            "type": "file",
            "id": asset_id,
            "name": fields.get("name", ""),
            "filetype": fields.get("filetype"),
            "filesize": size,
            "upload_urls": urls,
            "status": "created",
            "upload_completed_at": None,
        }
        self._reply(200, json.dumps(asset).encode())

    def do_GET(self) -> None:
        """Asset status (always complete) and /health."""
        path = self.path.split("?")[0]
        if path == "/health":
            self._reply(200, b'{"status": "ok"}')
        elif path.startswith(("/v2/assets/", "/sandbox/assets/")):
            asset = {
                "id": path.rsplit("/", 1)[1],
                "name": "",
                "status": "complete",
                "upload_completed_at": "2026-01-01T00:00:00Z",
            }
            self._reply(200, json.dumps(asset).encode())
        else:
            self._reply(404, b'{"error": "not found"}')


def serve(port: int = 0) -> ThreadingHTTPServer:
    """Start the sink on 127.0.0.1 in a daemon thread; ``server.server_address[1]`` is its port."""
    server = ThreadingHTTPServer(("127.0.0.1", port), SinkHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="bench-sink", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    """Serve until killed, after printing ``SINK_URL=...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), SinkHandler)
    server.daemon_threads = True
    print(f"SINK_URL=http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
