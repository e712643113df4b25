"""The speed floor: the least a Python client can do to send an asset's parts.

``http.client``, one keep-alive connection per worker thread, each part read with ``os.pread`` in 1 MiB blocks
and written straight to the socket; no retries, no progress, no checks beyond the status. Workers take the
next unsent part from a shared queue, as ``upload_file``'s pool does. Everything ``upload_file`` does on top of
this (retries, progress events, resume bookkeeping, error context) is what the floor ratio prices.

    >>> _chunk(21_136_250, 2), _chunk(10, 3)
    (10568125, 4)
"""

from __future__ import annotations

import http.client
import os
import queue
import threading
from urllib.parse import urlsplit

BLOCK = 1024 * 1024
TIMEOUT_S = 120.0


def _chunk(filesize: int, n_urls: int) -> int:
    """The guide's part size: ``ceil(filesize / len(upload_urls))``."""
    return -(-filesize // n_urls)


def _send_part(conn: http.client.HTTPConnection, fd: int, url: str, start: int, size: int, filetype: str) -> None:
    """PUT one part: headers, then 1 MiB ``os.pread`` blocks, then the status (anything but 200 raises)."""
    target = urlsplit(url)
    conn.putrequest("PUT", f"{target.path}?{target.query}", skip_accept_encoding=True)
    conn.putheader("Content-Type", filetype)
    conn.putheader("x-amz-acl", "private")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    offset, end = start, start + size
    while offset < end:
        block = os.pread(fd, min(BLOCK, end - offset), offset)
        if not block:
            raise OSError(f"file ended at byte {offset}, part wants {end}")
        conn.send(block)
        offset += len(block)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"part PUT answered {response.status}: {body[:300]!r}")


def send(path: str, filetype: str, urls: list[str], workers: int) -> None:
    """Send every part of `path` to its URL in `urls` with `workers` threads; raise on the first failure."""
    filesize = os.stat(path).st_size
    size = _chunk(filesize, len(urls))
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(urls)):
        todo.put(i)
    errors: list[BaseException] = []
    fd = os.open(path, os.O_RDONLY)

    def work() -> None:
        host = urlsplit(urls[0])
        conn = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=TIMEOUT_S)
        try:
            while not errors:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                start = i * size
                _send_part(conn, fd, urls[i], start, min(size, filesize - start), filetype)
        except BaseException as exc:  # the floor does not retry: the first failure ends the run
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=work, name=f"floor-{n}") for n in range(min(workers, len(urls)))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        os.close(fd)
    if errors:
        raise errors[0]
