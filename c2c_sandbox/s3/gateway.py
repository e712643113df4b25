"""The S3 side: a WSGI gateway that speaks S3's presigned part PUT, in front of the part store.

For every request under ``/<bucket>/`` the gateway, in the order S3 applies its checks,

- refuses a request it cannot frame (a ``Content-Length`` that is not a plain decimal: 400 ``BadRequest``);
- verifies the SigV4 query signature and the URL's expiry with botocore's signer (403
  ``SignatureDoesNotMatch`` / 403 ``AccessDenied`` "Request has expired"), as S3 does;
- refuses a ``Content-MD5`` or ``x-amz-*`` header the URL did not sign (403 ``AccessDenied`` with
  ``<HeadersNotSigned>``), as S3 does for a SigV4 presigned URL;
- refuses uploads that are unknown, being assembled, completed or failed with 404 ``NoSuchUpload``;
- injects the fault a test or a lesson planned (:mod:`c2c_sandbox.s3.faults`);
- applies the network conditions (:mod:`c2c_sandbox.network.profiles`): a round trip before the body flows, the body
  read at the pace of its connection, its device and the shared uplink, a delay before the answer;
- hands the body to the part store (:mod:`c2c_sandbox.s3.partstore`), which makes the part durable, records it
  and starts assembly when it was the last one missing; the answer is 200 with the part's MD5 as its ETag.
  A body that goes silent for the sandbox's idle timeout (S3: about 20 s) gets 400 ``RequestTimeout`` and the
  connection is closed; its ``.tmp`` file is removed.

Every refusal is AWS-shaped XML (``<Error><Code>..</Code><Message>..</Message>...``), never a stack trace.
:class:`Signer` presigns the part URLs the API hands out, the way Frame.io's are signed.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import hmac
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence

from c2c_sandbox.domain.records import OPEN_STATES, Asset, UploadClosed
from c2c_sandbox.domain.store import Store
from c2c_sandbox.network.profiles import PRESETS
from c2c_sandbox.network.shaping import Network
from c2c_sandbox.s3.faults import Fault, Faults
from c2c_sandbox.s3.partstore import MAX_PART_SIZE, PartStore
from c2c_sandbox.s3.wire import BadFraming, Body, content_length, unsigned_headers

log = logging.getLogger("c2c_sandbox.s3.gateway")

REGION = "us-east-1"
SIGNED_HEADERS = ("content-type", "host", "x-amz-acl")
DRAIN_LIMIT = 64 * 1024**2  # read at most this much of a refused body before answering (else close)
AUTH_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders")
SIGV4_FORMAT = "%Y%m%dT%H%M%SZ"
MAX_EXPIRES = 7 * 86400  # seconds: the longest a SigV4 presigned URL may live
BODY_READ = "c2c_sandbox.body_read"  # environ key: the part store took the whole body
#: environ key: a callable that sends the interim ``100 Continue`` a request with ``Expect: 100-continue`` waits
#: for (once; set by the server's request handler). The gateway calls it only once the request checked out.
SEND_CONTINUE = "c2c_sandbox.send_continue"
NO_SUCH_UPLOAD = (
    "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or"
    " completed."
)
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
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

StartResponse = Callable[..., Any]


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


# -- presigning and verification ----------------------------------------------------------------------
class Signer:
    """Presigns part URLs the way Frame.io's are (``content-type;host;x-amz-acl`` signed) and checks them.

    Both directions use the same public pieces of botocore's ``S3SigV4QueryAuth`` (scope, canonical request,
    string to sign, signature), so a URL verifies exactly when it is the one that was signed. (Its
    ``add_auth`` would log the signature at DEBUG, which is why it is not used.)
    """

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.credentials = Credentials(access_key, secret_key)
        self.access_key = access_key

    def presign(
        self, base_url: str, bucket: str, key: str, upload_id: str, part: int, filetype: str, expires: int
    ) -> str:
        url = f"{base_url}/{bucket}/{quote(key)}"
        headers = {"content-type": filetype, "host": urlsplit(base_url).netloc, "x-amz-acl": "private"}
        amz_date = dt.datetime.now(dt.UTC).strftime(SIGV4_FORMAT)
        request = AWSRequest(method="PUT", url=url, headers=headers)
        request.context["timestamp"] = amz_date
        auth = S3SigV4QueryAuth(self.credentials, "s3", REGION, expires=expires)
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": auth.scope(request),
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": expires,
            "X-Amz-SignedHeaders": auth.signed_headers(auth.headers_to_sign(request)),
        }
        operation = percent_encode_sequence({"partNumber": part, "uploadId": upload_id})
        unsigned = f"{url}?{operation}&{percent_encode_sequence(params)}"
        return f"{unsigned}&X-Amz-Signature={self.expected_signature('PUT', unsigned, headers, amz_date)}"

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


class S3Gateway:
    """WSGI app for ``/<bucket>/...``: checks, faults, then the part store."""

    def __init__(
        self, *, store: Store, signer: Signer, faults: Faults, parts: PartStore, network: Network | None = None
    ) -> None:
        self.store, self.signer, self.faults, self.parts = store, signer, faults, parts
        self.network = network if network is not None else Network(PRESETS["loopback"], threading.Event())

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._handle(environ, start_response)
        except (ConnectionError, TimeoutError):  # a connection dropped (a fault, a client gone): no answer
            raise
        except Exception:  # never werkzeug's HTML page: S3's own answer to its own failure
            log.exception("unexpected error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            refusal = PartRefused(500, "InternalError", _FAULT_ERRORS["internal_error"][2])
            return self._refuse(environ, start_response, refusal)

    def _handle(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            _framed(environ)
            params = self._authenticate(environ)
            asset, part = self._target(environ, params)
            self.network.first_byte()  # the request's round trip (network conditions), before its body flows
            _send_continue(environ)  # as S3 does: only now, never before a refusal of the headers
            etag = self._accept(environ, asset, part)
        except PartRefused as refusal:
            return self._refuse(environ, start_response, refusal)
        self.network.answer()
        start_response(
            "200 OK",
            [("ETag", f'"{etag}"'), ("Content-Length", "0"), ("x-amz-request-id", uuid.uuid4().hex[:16].upper())],
        )
        return [b""]

    def signed(self, environ: dict[str, Any]) -> bool:
        """Whether the request carries a URL this sandbox signed (expired or not): what attributes a part
        request to a device (:mod:`c2c_sandbox.scorecard.recorder`); anyone can type an uploadId."""
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if any(not params.get(p) for p in (*AUTH_PARAMS, "X-Amz-Signature")):
            return False
        try:
            self._verify_signature(environ, environ.get("QUERY_STRING", ""), params)
        except (PartRefused, ValueError):
            return False
        return True

    def _authenticate(self, environ: dict[str, Any]) -> dict[str, str]:
        """S3's first checks: the presigned query's parameters, its key, its expiry, its signature."""
        raw_query = environ.get("QUERY_STRING", "")
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
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
        if params["X-Amz-Credential"].split("/")[0] != self.signer.access_key:
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
        if not 0 <= expires <= MAX_EXPIRES:  # S3 refuses such a URL however well it is signed
            raise PartRefused(
                400,
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be non-negative and less than a week (in seconds) that is 604800",
            )
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
        # S3 names the headers it would not trust only to a request whose signature otherwise holds: checked
        # after the signature, a wrong URL is SignatureDoesNotMatch whatever headers came with it, and a good URL
        # with an extra Content-MD5 is told exactly which header to drop. (With a good URL both orders answer the
        # same; S3 gives HeadersNotSigned for URLs that verify, aws/aws-sdk-ruby#543, boto/boto3#934.)
        self._verify_signature(environ, raw_query, params)
        unsigned = unsigned_headers(environ, params["X-Amz-SignedHeaders"])
        if unsigned:
            raise PartRefused(
                403,
                "AccessDenied",
                "There were headers present in the request which were not signed",
                HeadersNotSigned=", ".join(unsigned),
            )
        return params

    def _verify_signature(self, environ: dict[str, Any], raw_query: str, params: dict[str, str]) -> None:
        headers: dict[str, str] = {}
        for name in params["X-Amz-SignedHeaders"].split(";"):
            key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
            value = environ.get(key)
            if value is not None:
                headers[name] = value
        # The canonical query string is the query as sent, minus the signature (S3 signs it percent-encoded).
        kept = "&".join(p for p in raw_query.split("&") if not p.startswith("X-Amz-Signature="))
        path = environ.get("RAW_URI", environ.get("PATH_INFO", "")).split("?", 1)[0]
        url = f"http://{environ.get('HTTP_HOST', '')}{path}?{kept}"
        expected = self.signer.expected_signature(environ["REQUEST_METHOD"], url, headers, params["X-Amz-Date"])
        if not hmac.compare_digest(expected.encode(), params["X-Amz-Signature"].encode()):  # bytes: any text
            raise PartRefused(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key"
                " and signing method.",
                AWSAccessKeyId=self.signer.access_key,
            )

    def _target(self, environ: dict[str, Any], params: dict[str, str]) -> tuple[Asset, int]:
        """The checks after authentication: the upload, the part number, the method, the length."""
        # The signature covers the method, path, partNumber and uploadId: only what we signed gets here.
        upload_id = params.get("uploadId", "")
        asset = self.store.asset_by_upload(upload_id)
        if asset is None or asset.status not in OPEN_STATES:
            raise PartRefused(404, "NoSuchUpload", NO_SUCH_UPLOAD, UploadId=upload_id)
        try:
            part = int(params.get("partNumber", ""))
        except ValueError:
            raise PartRefused(
                400,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
                ArgumentName="partNumber",
            ) from None
        method = environ["REQUEST_METHOD"]
        if method != "PUT":
            raise PartRefused(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                Method=method,
                ResourceType="OBJECT",
            )
        length = content_length(environ)
        if length is None:  # (a malformed one was refused before authentication)
            raise PartRefused(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        if length > MAX_PART_SIZE:
            raise PartRefused(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                ProposedSize=length,
                MaxSizeAllowed=MAX_PART_SIZE,
            )
        return asset, part

    def _accept(self, environ: dict[str, Any], asset: Asset, part: int) -> str:
        """Suffer the planned fault, if any, then store the part; returns its ETag."""
        fault = self.faults.take(part, asset.id)
        if fault is not None and fault.kind not in ("delay", "corrupt"):
            self._fail(environ, fault)
        current = self.store.asset(asset.id)  # a fault may have waited: is the upload still open?
        if current is None or current.status not in OPEN_STATES:
            raise PartRefused(404, "NoSuchUpload", NO_SUCH_UPLOAD, UploadId=asset.upload_id)
        length = int(environ["CONTENT_LENGTH"])
        body: Any = Body(environ["wsgi.input"])
        if fault is not None and fault.kind == "corrupt":  # a bit flipped on the wire: stored, and its MD5 the ETag
            body = _BitFlip(body, at=length // 2)
        body = self.network.body(body, length, asset.device_id, on_drop=lambda: self._drop(environ, half=False))
        try:
            received = self.parts.receive(asset.id, part, body, length)
        except TimeoutError:  # the body went silent: S3's answer, on a connection closed after it
            environ[BODY_READ] = True  # nothing more to read: the client stopped sending
            raise PartRefused(400, "RequestTimeout", _FAULT_ERRORS["request_timeout"][2]) from None
        except BadFraming:  # e.g. a "chunked" body that is not: nothing more can be read of it
            environ[BODY_READ] = True
            raise PartRefused(400, "BadRequest", "An error occurred when parsing the HTTP request.") from None
        except UploadClosed:  # deleted (Reset) before its first byte could be written
            raise PartRefused(404, "NoSuchUpload", NO_SUCH_UPLOAD, UploadId=asset.upload_id) from None
        environ[BODY_READ] = True
        try:
            if fault is not None and fault.kind == "delay":  # the part is in, the answer comes late (a slow S3)
                self.faults.wait(fault.seconds)
            return self.parts.commit(received)
        except UploadClosed:
            raise PartRefused(404, "NoSuchUpload", NO_SUCH_UPLOAD, UploadId=asset.upload_id) from None
        finally:
            self.parts.discard(received)  # nothing left to remove once committed

    def _fail(self, environ: dict[str, Any], fault: Fault) -> None:
        """Answer as the fault says: an S3 error, a dropped connection, or a stall then a drop."""
        if fault.kind in _FAULT_ERRORS:
            status, code, message = _FAULT_ERRORS[fault.kind]
            raise PartRefused(status, code, message)
        if fault.kind == "stall":
            _drain(environ, None)
            self.faults.wait(fault.seconds)
            self._drop(environ, half=False)
        self._drop(environ, half=True)

    def _refuse(self, environ: dict[str, Any], start_response: StartResponse, refusal: PartRefused) -> Iterable[bytes]:
        if not environ.get(BODY_READ) and environ.get(SEND_CONTINUE) is None:  # (a client still waiting for its
            # 100 Continue sends no body: there is nothing to drain, and the connection closes after the answer)
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


class _BitFlip:
    """A request body whose byte at offset ``at`` arrives with its lowest bit flipped (the ``corrupt`` fault)."""

    def __init__(self, stream: Any, at: int) -> None:
        self._stream, self._at, self._offset = stream, at, 0

    def readinto(self, buffer: memoryview, /) -> int:
        n = int(self._stream.readinto(buffer) or 0)
        if self._offset <= self._at < self._offset + n:
            buffer[self._at - self._offset] ^= 0x01
        self._offset += n
        return n


def _send_continue(environ: dict[str, Any]) -> None:
    """Send the ``100 Continue`` the client asked for, if it did (once: the key goes with it)."""
    send = environ.pop(SEND_CONTINUE, None)
    if send is not None:
        send()


def _framed(environ: dict[str, Any]) -> None:
    """S3's front end refuses a request it cannot frame before any check of its own."""
    try:
        content_length(environ)
    except ValueError:
        raise PartRefused(400, "BadRequest", "An error occurred when parsing the HTTP request.") from None


def _drain(environ: dict[str, Any], limit: int | None, *, exact: bool = False) -> bool:
    """Read and discard the request body (up to ``limit`` bytes); True when all of it was read.

    A body that goes silent for the idle timeout stops the draining (False): the refusal is answered anyway.
    """
    try:
        remaining = content_length(environ)
    except ValueError:
        return False
    if remaining is None:
        return False
    if limit is not None and remaining > limit and not exact:
        return False
    if exact and limit is not None:
        remaining = min(remaining, limit)
    stream = environ["wsgi.input"]
    view = memoryview(bytearray(min(remaining, 1024 * 1024) or 1))
    try:
        while remaining > 0:
            n = stream.readinto(view[: min(remaining, len(view))])
            if not n:
                return False
            remaining -= n
    except TimeoutError:
        return False
    return True


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
