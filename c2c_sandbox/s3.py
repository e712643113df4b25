"""The S3 side: moto's S3 model of multipart uploads behind a WSGI gateway that speaks S3's part PUT.

moto keeps the buckets, the multipart uploads and each part's bytes (its ``FakeMultipart`` / ``FakeKey``, parts
in spooled temporary files). Its own HTTP handling is not used for parts: it accepts any presigned URL (expired,
tampered, unsigned: all 200), answers an unknown upload id with a 500 HTML page, and reads every part body whole
into memory. The gateway instead

- verifies each part PUT's SigV4 query signature and expiry with botocore's own signer (403
  ``SignatureDoesNotMatch`` / 403 ``AccessDenied`` "Request has expired"), the way S3 does;
- refuses uploads that are unknown, completed or aborted with 404 ``NoSuchUpload``;
- injects the faults a test or a lesson planned (``slow_down``, ``internal_error``, ``request_timeout``,
  ``drop``, ``stall``, ``delay``);
- streams each accepted part, 1 MiB at a time, into moto's part storage, with its MD5 as the ETag;
- records each part and, once every part is there, has the :class:`Assembler` build the original on disk
  from moto's part buffers, streaming (moto's own Complete concatenates everything in memory).

Every refusal is AWS-shaped XML (``<Error><Code>..</Code><Message>..</Message>...``), never a stack trace.
"""

from __future__ import annotations

import bisect
import calendar
import contextlib
import hashlib
import hmac
import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .store import OPEN_STATES, Asset, Store

log = logging.getLogger("c2c_sandbox.s3")

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
SIGNED_HEADERS = ("content-type", "host", "x-amz-acl")
MAX_PART_SIZE = 5 * 1024**3  # 5 GiB: S3's largest part
MIN_PART_SIZE = 5 * 1024**2  # 5 MiB: S3's smallest part but the last
MAX_PARTS = 10_000
DRAIN_LIMIT = 64 * 1024**2  # read at most this much of a refused body before answering (else close)
AUTH_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders")
SIGV4_FORMAT = "%Y%m%dT%H%M%SZ"

FAULT_KINDS = ("slow_down", "internal_error", "request_timeout", "drop", "stall", "delay")
_FAULT_ERRORS = {
    "slow_down": (503, "SlowDown", "Please reduce your request rate."),
    "internal_error": (500, "InternalError", "We encountered an internal error. Please try again."),
    "request_timeout": (
        400,
        "RequestTimeout",
        "Your socket connection to the server was not read from or written to within the timeout period."
        " Idle connections will be closed.",
    ),
}


def s3_error(status: int, code: str, message: str, **extra: Any) -> tuple[int, bytes]:
    """An AWS-style XML error body."""
    fields = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in extra.items())
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{fields}"
        f"<RequestId>{request_id}</RequestId><HostId>c2c-sandbox</HostId></Error>"
    )
    return status, body.encode()


# -- faults -------------------------------------------------------------------------------------------
@dataclass
class Fault:
    kind: str
    part: int | None
    times: int
    seconds: float


class Faults:
    """Planned S3 faults, consumed by part attempts.

    ``inject(kind, part=None, times=1, seconds=None)`` makes the next ``times`` attempts at part ``part``
    (the URL's 1-based ``partNumber``; None means any part) fail as ``kind``. ``random(rate, seed=...)``
    makes about ``rate`` of all attempts fail with a kind drawn from ``kinds``, replayable from the seed.
    """

    def __init__(self, stop: threading.Event) -> None:
        self._lock = threading.Lock()
        self._planned: list[Fault] = []
        self._random: tuple[float, tuple[str, ...], random.Random, float] | None = None
        self._stop = stop
        self.fired: dict[str, int] = {}

    def inject(self, kind: str, part: int | None = None, times: int = 1, seconds: float | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if part is not None and (isinstance(part, bool) or not isinstance(part, int) or not 1 <= part <= MAX_PARTS):
            raise ValueError(f"part must be a part number from 1 to {MAX_PARTS} (or None for any part)")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive integer")
        default = 30.0 if kind == "stall" else 1.0
        secs = default if seconds is None else float(seconds)
        if not 0 <= secs <= 3600:
            raise ValueError("seconds must be between 0 and 3600")
        with self._lock:
            self._planned.append(Fault(kind, part, times, secs))

    def random(
        self, rate: float, *, kinds: Iterable[str] = FAULT_KINDS, seed: int | None = None, seconds: float = 30.0
    ) -> None:
        """Fail about ``rate`` (0..1) of all part attempts with a kind drawn from ``kinds`` (seeded)."""
        kinds = tuple(kinds)
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            self._random = (rate, kinds, random.Random(seed), seconds)

    def clear(self) -> None:
        with self._lock:
            self._planned.clear()
            self._random = None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [vars(f).copy() for f in self._planned]

    def take(self, part: int) -> Fault | None:
        """The fault this attempt at ``part`` must suffer, if any (consumes one planned time)."""
        with self._lock:
            for fault in self._planned:
                if fault.part is None or fault.part == part:
                    fault.times -= 1
                    if fault.times == 0:
                        self._planned.remove(fault)
                    self.fired[fault.kind] = self.fired.get(fault.kind, 0) + 1
                    return Fault(fault.kind, fault.part, 1, fault.seconds)
            if self._random is not None:
                rate, kinds, rng, seconds = self._random
                if kinds and rng.random() < rate:
                    kind = rng.choice(kinds)
                    self.fired[kind] = self.fired.get(kind, 0) + 1
                    return Fault(kind, part, 1, seconds if kind == "stall" else rng.uniform(0.05, 0.3))
        return None

    def wait(self, seconds: float) -> None:
        """Sleep, but wake at once when the sandbox stops."""
        self._stop.wait(seconds)


# -- presigning and verification ----------------------------------------------------------------------
class Signer:
    """Presigns part URLs the way Frame.io's are (``content-type;host;x-amz-acl`` signed) and checks them."""

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.credentials = Credentials(access_key, secret_key)
        self.access_key = access_key

    def presign(
        self, base_url: str, bucket: str, key: str, upload_id: str, part: int, filetype: str, expires: int
    ) -> str:
        query = urlencode({"partNumber": part, "uploadId": upload_id})
        url = f"{base_url}/{bucket}/{quote(key)}?{query}"
        request = AWSRequest(
            method="PUT",
            url=url,
            headers={
                "content-type": filetype,
                "host": urlsplit(base_url).netloc,
                "x-amz-acl": "private",
            },
        )
        S3SigV4QueryAuth(self.credentials, "s3", REGION, expires=expires).add_auth(request)
        return str(request.url)

    def expected_signature(
        self, method: str, url_without_signature: str, headers: dict[str, str], amz_date: str
    ) -> str:
        request = AWSRequest(method=method, url=url_without_signature, headers=headers)
        request.context["timestamp"] = amz_date
        auth = S3SigV4QueryAuth(self.credentials, "s3", REGION)
        canonical = auth.canonical_request(request)
        return str(auth.signature(auth.string_to_sign(request, canonical), request))


# -- the gateway ----------------------------------------------------------------------------------------
class PartRefused(Exception):
    """A part PUT the gateway answers itself, with an S3 error."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(code)
        self.status, self.body = s3_error(status, code, message, **extra)
        self.code = code


StartResponse = Callable[..., Any]


class S3Gateway:
    """WSGI app for ``/<bucket>/...``: checks, faults, then moto; records parts; triggers assembly."""

    def __init__(self, *, store: Store, signer: Signer, bucket: str, faults: Faults, assembler: Assembler) -> None:
        self.store, self.signer, self.bucket = store, signer, bucket
        self.faults, self.assembler = faults, assembler
        self._lock = threading.Lock()
        self._inflight: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            asset, part = self._check(environ)
        except PartRefused as refusal:
            return self._refuse(environ, start_response, refusal)
        try:
            return self._accept(environ, start_response, asset, part)
        except PartRefused as refusal:
            return self._refuse(environ, start_response, refusal)

    # Checks, in the order S3 applies them: authentication first, then the upload itself.
    def _check(self, environ: dict[str, Any]) -> tuple[Asset, int]:
        method = environ["REQUEST_METHOD"]
        raw_query = environ.get("QUERY_STRING", "")
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        params = dict(pairs)
        if "X-Amz-Signature" not in params:
            raise PartRefused(403, "AccessDenied", "Access Denied")
        missing = [p for p in AUTH_PARAMS if not params.get(p)]
        if missing or params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            raise PartRefused(
                400,
                "AuthorizationQueryParametersError",
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential,"
                " X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
            )
        credential = params["X-Amz-Credential"].split("/")
        if credential[0] != self.signer.access_key:
            raise PartRefused(
                403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        try:
            signed_at = calendar.timegm(time.strptime(params["X-Amz-Date"], SIGV4_FORMAT))
            expires = int(params["X-Amz-Expires"])
        except ValueError:
            raise PartRefused(
                400, "AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires is malformed."
            ) from None
        now = time.time()
        if now > signed_at + expires:
            raise PartRefused(
                403,
                "AccessDenied",
                "Request has expired",
                **{"X-Amz-Expires": expires},
                Expires=_iso(signed_at + expires),
                ServerTime=_iso(now),
            )
        self._verify_signature(environ, method, raw_query, params)
        # The signature covers the method, path, partNumber and uploadId: only what we signed gets here.
        asset = self.store.asset_by_upload(params.get("uploadId", ""))
        if asset is None or asset.status not in OPEN_STATES:
            raise PartRefused(
                404,
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been"
                " aborted or completed.",
                UploadId=params.get("uploadId", ""),
            )
        try:
            part = int(params.get("partNumber", ""))
        except ValueError:
            raise PartRefused(
                400,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
                ArgumentName="partNumber",
            ) from None
        if method != "PUT":
            raise PartRefused(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                Method=method,
                ResourceType="OBJECT",
            )
        length = environ.get("CONTENT_LENGTH") or ""
        if not length.isdigit():
            raise PartRefused(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        if int(length) > MAX_PART_SIZE:
            raise PartRefused(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                ProposedSize=length,
                MaxSizeAllowed=MAX_PART_SIZE,
            )
        return asset, part

    def _verify_signature(self, environ: dict[str, Any], method: str, raw_query: str, params: dict[str, str]) -> None:
        signed = params["X-Amz-SignedHeaders"].split(";")
        headers: dict[str, str] = {}
        for name in signed:
            key = "HTTP_" + name.upper().replace("-", "_")
            if name == "content-type":
                key = "CONTENT_TYPE"
            value = environ.get(key)
            if value is not None:
                headers[name] = value
        # The canonical query string is the query as sent, minus the signature (S3 signs it percent-encoded).
        kept = "&".join(p for p in raw_query.split("&") if not p.startswith("X-Amz-Signature="))
        path = environ.get("RAW_URI", environ.get("PATH_INFO", "")).split("?", 1)[0]
        url = f"http://{environ.get('HTTP_HOST', '')}{path}?{kept}"
        expected = self.signer.expected_signature(method, url, headers, params["X-Amz-Date"])
        if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
            raise PartRefused(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key"
                " and signing method.",
                AWSAccessKeyId=self.signer.access_key,
            )

    def _accept(
        self, environ: dict[str, Any], start_response: StartResponse, asset: Asset, part: int
    ) -> Iterable[bytes]:
        fault = self.faults.take(part)
        if fault is not None:
            if fault.kind in _FAULT_ERRORS:
                status, code, message = _FAULT_ERRORS[fault.kind]
                raise PartRefused(status, code, message)
            if fault.kind == "drop":
                self._drop(environ, half=True)
            if fault.kind == "stall":
                _drain(environ, None)
                self.faults.wait(fault.seconds)
                self._drop(environ, half=False)
            if fault.kind == "delay":  # take the body, then answer late (as a slow S3 does)
                environ["wsgi.input"] = _buffered_body(environ)
                self.faults.wait(fault.seconds)
        with self._lock:  # once an asset is being assembled, no part may enter moto
            current = self.store.asset(asset.id)
            if current is None or current.status not in OPEN_STATES:
                raise PartRefused(
                    404,
                    "NoSuchUpload",
                    "The specified upload does not exist. The upload ID may be invalid, or the"
                    " upload may have been aborted or completed.",
                    UploadId=asset.upload_id,
                )
            self._inflight[asset.id] = self._inflight.get(asset.id, 0) + 1
        try:
            etag = self._store_part(environ, asset, part)
        finally:
            with self._lock:
                self._inflight[asset.id] -= 1
        self.store.record_part(asset.id, part, int(environ["CONTENT_LENGTH"]), etag)
        self._maybe_complete(asset)
        start_response(
            "200 OK",
            [("ETag", f'"{etag}"'), ("Content-Length", "0"), ("x-amz-request-id", uuid.uuid4().hex[:16].upper())],
        )
        return [b""]

    def _store_part(self, environ: dict[str, Any], asset: Asset, part: int) -> str:
        """Stream the body, 1 MiB at a time, into the part's moto key (a spooled temp file); return its MD5.

        moto's own UploadPart reads the whole body into memory (twice, through werkzeug), and the freed 20 MiB
        buffers of many threads stay in the process: the sandbox grew by about the file's size. Streaming
        keeps it flat. moto still owns the part (``FakeMultipart.parts``), as its ``set_part`` would leave it.
        """
        from moto.s3.models import FakeKey

        multipart = self.assembler.backend.get_bucket(self.bucket).multiparts.get(asset.upload_id)
        if multipart is None:  # aborted or completed meanwhile
            raise PartRefused(404, "NoSuchUpload", "The specified upload does not exist.", UploadId=asset.upload_id)
        key = FakeKey(part, b"", account_id=multipart.account_id, region_name=multipart.region_name)
        md5 = hashlib.md5()  # noqa: S324 - S3's ETag, not security
        remaining = int(environ["CONTENT_LENGTH"])
        stream = environ["wsgi.input"]
        try:
            while remaining > 0:
                chunk = stream.read(min(remaining, 1024 * 1024))
                if not chunk:
                    raise ConnectionAbortedError("the client closed the connection before the whole part arrived")
                key._value_buffer.write(chunk)
                md5.update(chunk)
                remaining -= len(chunk)
        except BaseException:
            key.dispose()
            raise
        key.contentsize = int(environ["CONTENT_LENGTH"])
        key._etag = md5.hexdigest()
        with self._lock:
            previous = multipart.parts.get(part)
            multipart.parts[part] = key
            if part not in multipart.partlist:
                bisect.insort(multipart.partlist, part)
        if previous is not None:  # a re-sent part replaces the old one
            previous.dispose()
        return key._etag

    def _maybe_complete(self, asset: Asset) -> None:
        """Once every part is present and no re-send is under way, hand the asset to the assembler."""
        with self._lock:
            current = self.store.asset(asset.id)
            if current is None or current.status not in OPEN_STATES:
                return
            have = {p.part_number for p in self.store.parts(asset.id)}
            if have >= set(range(1, asset.parts + 1)) and self._inflight.get(asset.id, 0) == 0:
                self.store.set_asset_state(asset.id, "processing")
                self.assembler.submit(asset.id)
            elif current.status == "created":
                self.store.set_asset_state(asset.id, "uploading")

    def _refuse(self, environ: dict[str, Any], start_response: StartResponse, refusal: PartRefused) -> Iterable[bytes]:
        _drain(environ, DRAIN_LIMIT)  # werkzeug closes the connection after every answer, drained or not
        headers = [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(refusal.body))),
            ("x-amz-request-id", uuid.uuid4().hex[:16].upper()),
        ]
        start_response(f"{refusal.status} {_REASONS.get(refusal.status, 'Error')}", headers)
        return [refusal.body]

    @staticmethod
    def _drop(environ: dict[str, Any], *, half: bool) -> None:
        """Close the connection without an answer (after half the body when ``half``)."""
        if half:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            _drain(environ, length // 2, exact=True)
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("fault injected: connection dropped")


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _drain(environ: dict[str, Any], limit: int | None, *, exact: bool = False) -> bool:
    """Read and discard the request body (up to ``limit`` bytes); True when all of it was read."""
    length = environ.get("CONTENT_LENGTH") or ""
    if not length.isdigit():
        return False
    remaining = int(length)
    if limit is not None and remaining > limit and not exact:
        return False
    if exact and limit is not None:
        remaining = min(remaining, limit)
    stream = environ["wsgi.input"]
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            return False
        remaining -= len(chunk)
    return True


def _buffered_body(environ: dict[str, Any]) -> Any:
    """Read the whole body now (into a spooled file) and hand moto a stream over it."""
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - moto reads it later
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    while remaining > 0:
        chunk = environ["wsgi.input"].read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        spool.write(chunk)
        remaining -= len(chunk)
    spool.seek(0)
    return spool


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


# -- assembly -------------------------------------------------------------------------------------------
class Assembler:
    """Builds each finished asset's original on disk from moto's part buffers, one asset at a time.

    Parts are read in part-number order in 1 MiB slices straight from moto's spooled buffers (never the whole
    part, never the whole file, in memory); the original is written to ``originals/<asset id>`` under a
    temporary name and renamed when complete, with its SHA-256. The multipart upload is then aborted in moto,
    which frees its buffers. A size that differs from the announced ``filesize``, or a part other than the
    last smaller than 5 MiB (S3's ``EntityTooSmall``), marks the asset ``failed`` with the reason.
    """

    def __init__(self, store: Store, backend: Any, bucket: str, on_done: Callable[[str], None] | None = None) -> None:
        self.store, self.backend, self.bucket = store, backend, bucket
        self.on_done = on_done
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="c2c-sandbox-assembler", daemon=True)
        self._thread.start()

    def submit(self, asset_id: str) -> None:
        self._queue.put(asset_id)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while (asset_id := self._queue.get()) is not None:
            try:
                self.assemble(asset_id)
            except Exception as exc:  # keep serving; the asset says what went wrong
                log.exception("assembling %s failed", asset_id)
                self.store.set_asset_state(asset_id, "failed", error=f"assembly failed: {type(exc).__name__}")
            finally:
                if self.on_done:
                    self.on_done(asset_id)

    def assemble(self, asset_id: str) -> None:
        asset = self.store.asset(asset_id)
        if asset is None:
            return
        multipart = self.backend.get_bucket(self.bucket).multiparts.get(asset.upload_id)
        if multipart is None:
            self.store.set_asset_state(asset_id, "failed", error="NoSuchUpload: the part data is gone")
            return
        keys = [multipart.parts[n] for n in range(1, asset.parts + 1)]
        error = None
        for number, key in enumerate(keys[:-1], start=1):
            if key.contentsize < MIN_PART_SIZE:
                error = (
                    f"EntityTooSmall: part {number} has {key.contentsize} bytes; every part but the last must"
                    f" have at least {MIN_PART_SIZE}"
                )
                break
        total = sum(key.contentsize for key in keys)
        if error is None and total != asset.filesize:
            error = f"size mismatch: the parts add up to {total} bytes, the asset announced {asset.filesize}"
        if error is not None:
            self._abort(asset)
            self.store.set_asset_state(asset_id, "failed", error=error)
            return
        final = self.store.originals / asset_id
        partial = final.with_suffix(".partial")
        sha = hashlib.sha256()
        with open(partial, "wb") as out:
            for key in keys:
                with key.lock:
                    buffer = key._value_buffer  # moto keeps each part in a spooled temporary file
                    buffer.seek(0)
                    while chunk := buffer.read(1024 * 1024):
                        sha.update(chunk)
                        out.write(chunk)
        os.replace(partial, final)
        self._abort(asset)
        self.store.set_asset_state(asset_id, "complete", upload_completed_at=time.time(), sha256=sha.hexdigest())

    def _abort(self, asset: Asset) -> None:
        bucket = self.backend.get_bucket(self.bucket)
        multipart = bucket.multiparts.pop(asset.upload_id, None)
        if multipart is not None:
            multipart.dispose()


def original_path(store: Store, asset_id: str) -> Path:
    return store.originals / asset_id
