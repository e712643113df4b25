"""The speed floor: the least a Python client can do to send an asset's parts.

``http.client``, one keep-alive connection per worker thread, each part read with ``os.pread`` in 1 MiB blocks
and written straight to the socket; no retries, no progress, no checks beyond the status. Workers take the
next unsent part from a shared queue, as ``upload_file``'s pool does. Everything ``upload_file`` does on top of
this (retries, progress events, resume bookkeeping, error context) is what the floor ratio prices.

With ``md5=True`` (the "floor+MD5" baseline) each worker also does the one per-byte job ``upload_file`` must do
for integrity: it updates an MD5 with every 1 MiB block before sending it and compares the digest with the
part's returned ``ETag`` when that is an MD5 (32 hex digits: the sandbox's and S3's; the benchmark sink's is
not, so there the part is hashed but nothing is compared, as ``upload_file`` does). hashlib releases the GIL on
blocks this size, so the workers hash on every core. MD5 costs several times the raw floor's CPU per byte; this
baseline prices what ``upload_file`` adds beyond the hashing it cannot skip.

    >>> _chunk(21_136_250, 2), _chunk(10, 3)
    (10568125, 4)
"""

from __future__ import annotations

import hashlib
import http.client
import os
import queue
import re
import threading
from urllib.parse import urlsplit

BLOCK = 1024 * 1024
TIMEOUT_S = 120.0
_MD5_ETAG = re.compile(r'"?([0-9a-fA-F]{32})"?')


def _chunk(filesize: int, n_urls: int) -> int:
    """The guide's part size: ``ceil(filesize / len(upload_urls))``."""
    return -(-filesize // n_urls)


def _send_part(conn: http.client.HTTPConnection, fd: int, url: str, start: int, size: int, filetype: str,
               md5: bool = False) -> bool:  # fmt: skip
    """PUT one part: headers, then 1 MiB ``os.pread`` blocks, then the status (anything but 200 raises).

    With `md5`, each block is hashed before it is sent, and an MD5 ``ETag`` must equal the digest (else this
    raises); returns whether the ETag was checked.
    """
    digest = hashlib.md5(usedforsecurity=False) if md5 else None
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
        if digest is not None:
            digest.update(block)  # 1 MiB: hashlib releases the GIL, so the workers hash in parallel
        conn.send(block)
        offset += len(block)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"part PUT answered {response.status}: {body[:300]!r}")
    etag = _MD5_ETAG.fullmatch((response.getheader("ETag") or "").strip()) if digest is not None else None
    if etag is not None and digest is not None and etag.group(1).lower() != digest.hexdigest():
        raise RuntimeError(f"part ETag {etag.group(1)} is not the MD5 of the bytes sent ({digest.hexdigest()})")
    return etag is not None


def send(path: str, filetype: str, urls: list[str], workers: int, md5: bool = False) -> int:
    """Send every part of `path` to its URL in `urls` with `workers` threads; raise on the first failure.

    With `md5`, hash each part as it goes and check it against an MD5 ETag; returns how many ETags were checked.
    """
    filesize = os.stat(path).st_size
    size = _chunk(filesize, len(urls))
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(urls)):
        todo.put(i)
    errors: list[BaseException] = []
    checked: list[bool] = []
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
                checked.append(_send_part(conn, fd, urls[i], start, min(size, filesize - start), filetype, md5))
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
    return sum(checked)
