"""The errors the C2C client raises: one shallow tree, each error built once where it is raised.

The tree is shallow; catch the base to catch everything the client raises on purpose::

    C2CError                      base: status, code, title, detail, response, retryable
    ├── ConfigurationError        (also ValueError) no API URL or token to talk to
    ├── InvalidArgument           (also ValueError) a bad argument, refused before anything was sent
    │   └── InvalidFile           the file (or its resume manifest) cannot be uploaded as asked
    ├── TransportError            no HTTP answer: connection refused or reset, timeout
    ├── ManifestInUse             another run is using this resume manifest (it names the process)
    ├── APIError                  the C2C API answered with an error (either JSON shape)
    │   ├── AuthError             401, or an OAuth error from the auth endpoints
    │   │   └── PairingExpired    the six-digit code expired before anybody entered it
    │   ├── ChannelPaused         409: the file was created while the device/channel was paused
    │   ├── ChannelExists         409: a channel of that client id is connected already
    │   └── RateLimited           429: too many requests; ``retry_after`` says how long to wait
    └── UploadError               an upload was started and did not finish: ``asset``, ``parts_sent``
        ├── PartUploadError       one part failed for good: part, S3 code, attempts, redacted URL
        │   └── UploadURLExpired  403 AccessDenied "Request has expired": retrying the URL cannot help
        ├── FileChanged           the file changed while it was being uploaded, or since the manifest
        └── AssetIncomplete       the service did not report the asset complete (timeout or failed)

    UploadInterrupted             (a KeyboardInterrupt, outside the tree) Ctrl-C during an upload:
                                  says which parts were sent; ``except Exception`` does not swallow it

``retryable`` says whether sending the same request again could succeed. The client decides what it does
with that: it retries part uploads, but never the asset-create POST on a 5xx (that could duplicate the asset).

An error carries the context known where it is raised (status, S3 code, part, attempts, asset, parts sent) as
constructor arguments; layers it passes through on its way up add what they know with ``add_note`` and never
change its fields.

Secrets never reach a message: every message passes through :func:`~c2c_helpers._redact.redact` (re-exported
here), which removes bearer tokens, token/secret form and JSON fields and the ``X-Amz-*`` signature of
presigned URLs. The ``response`` attribute is the raw :class:`requests.Response` for inspection; its ``url``
and request headers are *not* redacted, so do not log it whole.

Examples
--------
>>> err = RateLimited("slow down", status=429, retry_after=1.0)
>>> isinstance(err, APIError), err.retryable, err.retry_after
(True, True, 1.0)
>>> redact("PUT https://s3.example/b/k?partNumber=1&X-Amz-Signature=abc123 failed")
'PUT https://s3.example/b/k?partNumber=1&<signature redacted> failed'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from c2c_helpers._redact import redact, redact_url
from c2c_helpers.asset import Asset

if TYPE_CHECKING:
    import requests

__all__ = [
    "APIError",
    "AssetIncomplete",
    "AuthError",
    "C2CError",
    "ChannelExists",
    "ChannelPaused",
    "ConfigurationError",
    "FileChanged",
    "InvalidArgument",
    "InvalidFile",
    "ManifestInUse",
    "PairingExpired",
    "PartUploadError",
    "RateLimited",
    "TransportError",
    "UploadError",
    "UploadInterrupted",
    "UploadURLExpired",
    "describe_fate",
    "describe_parts",
    "redact",
    "redact_url",
]


class C2CError(Exception):
    """Base of every error the client raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong and, where possible, what to do about it. Redacted before it is stored.
    status : int, optional
        HTTP status of the answer, if there was one.
    code : str or int, optional
        Machine-readable code: the API's error code, the OAuth ``error`` or the S3 ``<Code>``.
    title, detail : str, optional
        The API's ``title`` and ``detail`` (or S3's ``<Message>``), redacted.
    response : requests.Response, optional
        The raw answer. Not redacted: do not log it whole.
    retryable : bool, optional
        Whether the same request could succeed if sent again; defaults to the class's ``retryable``.
    secrets : iterable of str, optional
        Extra literal values to scrub from the message.

    Examples
    --------
    >>> e = C2CError("boom", status=500, code=500, title="Internal Server Error")
    >>> e.status, e.retryable, str(e)
    (500, False, 'boom')
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        title: str | None = None,
        detail: str | None = None,
        response: requests.Response | None = None,
        retryable: bool | None = None,
        secrets: Iterable[str | None] = (),
    ) -> None:
        secrets = tuple(secrets)
        self.message = redact(message, secrets)
        super().__init__(self.message)
        self.status = status
        self.code = code
        self.title = redact(title, secrets) if title else title
        self.detail = redact(detail, secrets) if detail else detail
        self.response = response
        if retryable is not None:
            self.retryable = retryable

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep pickling (multiprocessing, pytest-xdist) working despite the keyword-only constructor.
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[C2CError], message: str, state: dict[str, Any]) -> C2CError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ConfigurationError(C2CError, ValueError):
    """The client was not told where the API is or which token to use."""


class InvalidArgument(C2CError, ValueError):
    """A bad argument (a count out of range, a wrong type, an unknown choice), refused before anything was sent.

    Every function of the client raises this one type for its arguments; it is also a :class:`ValueError`.
    """


def check_int(name: str, value: object, *, minimum: int | None = None, maximum: int | None = None) -> None:
    """:class:`InvalidArgument` unless `value` is an int (a bool is not), at least `minimum` and at most `maximum`
    (a `maximum` comes with a `minimum`; both optional).

    >>> check_int("workers", 0, minimum=1)
    Traceback (most recent call last):
    ...
    c2c_helpers.errors.InvalidArgument: workers must be at least 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be an int, got {type(value).__name__}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bound = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise InvalidArgument(f"{name} must be {bound}, got {value}")


class InvalidFile(InvalidArgument):
    """A file that cannot be uploaded as asked (or its resume manifest), refused before anything was sent.

    ``path`` names the file (or the manifest).
    """

    def __init__(self, message: str, *, path: object = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.path = path


class TransportError(C2CError):
    """No HTTP answer: the connection was refused, reset or dropped, or a timeout passed.

    Retryable in principle; the client still never repeats an asset-create POST by itself.
    """

    retryable = True


class ManifestInUse(C2CError):
    """Another run (this process or another) is using the resume manifest: one run at a time per manifest.

    ``path`` is the manifest, ``lock`` its lock file, ``holder`` what the holder wrote there (its pid, host and
    since when; empty if it had not written it yet). Retryable: once that run ends, the manifest is free.
    """

    retryable = True

    def __init__(self, path: object, lock: object, holder: str) -> None:
        who = holder or "a process that has not written its pid yet"
        super().__init__(
            f"{path}: another upload is using this resume manifest right now: it is held by {who} ({lock}). "
            "Wait for that run to end, or stop it, then run again: two runs of one manifest would send the same "
            "parts at once"
        )
        self.path, self.lock, self.holder = path, lock, holder


class APIError(C2CError):
    """The C2C API answered with an error status.

    Both error shapes land here: the detailed ``{"code", "errors": [{"title", "detail", ...}], "message"}``
    and the OAuth ``{"error": "invalid_client"}`` (whose ``error`` becomes ``code``).
    """


class AuthError(APIError):
    """401 Not Authorized, or an OAuth error from ``/v2/auth/*`` (``code`` is the OAuth ``error``)."""


class PairingExpired(AuthError):
    """The device code expired before a person entered it in Frame.io: request a new code."""


class ChannelExists(APIError):
    """409 "Device channel already exists": ``POST /v2/devices/channels`` for a sub-device whose channel is
    connected already; disconnect it first, or keep using the channel ``/v2/devices/me`` lists."""


class ChannelPaused(APIError):
    """409 Channel Paused: the file was created (now - offset) while the device or channel was paused.

    Frame.io refuses such files on purpose; uploading it again will be refused too.
    """


class RateLimited(APIError):
    """429: too many requests. ``retry_after`` is how many seconds the service asked us to wait."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class UploadError(C2CError):
    """An upload was started (the asset exists) and did not finish.

    ``asset`` is the :class:`~c2c_helpers.asset.Asset` (or ``None`` when a part was sent on its own),
    ``parts_sent`` the 1-based numbers of the parts that were sent successfully.
    """

    def __init__(
        self,
        message: str,
        *,
        asset: Asset | None = None,
        parts_sent: Iterable[int] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.asset: Asset | None = asset
        self.parts_sent: tuple[int, ...] = tuple(sorted(parts_sent))


class PartUploadError(UploadError):
    """A part PUT to S3 failed for good (not retryable, or out of attempts).

    Attributes: ``part_index`` (0-based), ``part_number`` (1-based, S3's ``partNumber``), ``s3_code``
    (``SlowDown``, ``SignatureDoesNotMatch``, ... or ``None`` for a connection error), ``attempts``, ``url``
    (redacted), plus ``status``, ``detail`` (S3's ``<Message>``) and ``response``.
    """

    def __init__(
        self,
        message: str,
        *,
        part_index: int,
        s3_code: str | None = None,
        attempts: int = 1,
        url: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("code", s3_code)
        super().__init__(message, **kwargs)
        self.part_index = part_index
        self.part_number = part_index + 1
        self.s3_code = s3_code
        self.attempts = attempts
        self.url = redact_url(url) if url else url


class UploadURLExpired(PartUploadError):
    """403 AccessDenied "Request has expired": the presigned URL is dead; retrying it cannot help.

    The service issues URLs that live 24 hours; create a new asset to get fresh ones.
    """


class FileChanged(UploadError):
    """The file changed (size, modification time, or bytes a resumed run re-read) after its asset was created."""


class AssetIncomplete(UploadError):
    """Every part was sent but the service did not report the asset complete (timed out or failed)."""


class UploadInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`~c2c_helpers.upload.upload_file`: the workers were stopped.

    A :class:`KeyboardInterrupt`, so ``except Exception`` does not swallow the user's Ctrl-C. ``asset`` is the
    asset created for the upload, ``parts_sent`` the 1-based numbers of the parts that reached S3,
    ``parts_total`` how many there were.

    Examples
    --------
    >>> e = UploadInterrupted(asset=None, parts_sent=[2, 1], parts_total=3)
    >>> str(e)
    'upload interrupted: parts 1, 2 of 3 were sent; part 3 was not'
    """

    def __init__(self, *, asset: Asset | None, parts_sent: Iterable[int], parts_total: int) -> None:
        self.asset: Asset | None = asset
        self.parts_sent: tuple[int, ...] = tuple(sorted(parts_sent))
        self.parts_total = parts_total
        missing = [n for n in range(1, parts_total + 1) if n not in self.parts_sent]
        super().__init__(
            f"upload interrupted: {describe_parts(self.parts_sent, parts_total, 'sent')}"
            + (f"; {_plural_parts(missing)} {'was' if len(missing) == 1 else 'were'} not" if missing else "")
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_interrupted, (self.asset, self.parts_sent, self.parts_total))


def _rebuild_interrupted(asset: Asset | None, parts_sent: tuple[int, ...], parts_total: int) -> UploadInterrupted:
    return UploadInterrupted(asset=asset, parts_sent=parts_sent, parts_total=parts_total)


def _plural_parts(numbers: Iterable[int]) -> str:
    nums = list(numbers)
    return f"part{'s' if len(nums) != 1 else ''} {', '.join(map(str, nums))}"


def describe_parts(sent: Iterable[int], total: int, verb: str) -> str:
    """Say which parts were `verb`, e.g. ``'parts 1, 3 of 4 were sent'``.

    >>> describe_parts([], 2, "sent")
    'no part of 2 was sent'
    >>> describe_parts([1], 1, "sent")
    'part 1 of 1 was sent'
    """
    nums = sorted(sent)
    if not nums:
        return f"no part of {total} was {verb}"
    return f"{_plural_parts(nums)} of {total} {'was' if len(nums) == 1 else 'were'} {verb}"


def describe_fate(acknowledged: Iterable[int], total: int, *, mixed: bool = False) -> str:
    """What becomes of an asset when its upload stops with parts `acknowledged` of `total` in the service's hands.

    The service keeps every part it acknowledged and assembles the asset as soon as it has them all; nothing
    else completes it. `mixed` says the bytes sent may come from two versions of the file.

    >>> describe_fate([], 2)
    'no part of 2 was acknowledged: the asset stays an empty placeholder and never completes'
    >>> print(describe_fate([2], 3).replace("; ", ";\\n"))
    part 2 of 3 was acknowledged and stays;
    the asset completes only once every part has arrived, so it stays incomplete unless parts 1, 3 are sent
    >>> describe_fate([1, 2], 2)
    'every part (2 of 2) was acknowledged, so the service assembles the asset anyway'
    """
    sent = sorted(set(acknowledged))
    if not sent:
        return f"no part of {total} was acknowledged: the asset stays an empty placeholder and never completes"
    missing = [n for n in range(1, total + 1) if n not in sent]
    if missing:
        return (
            f"{describe_parts(sent, total, 'acknowledged')} and {'stays' if len(sent) == 1 else 'stay'}; the asset "
            f"completes only once every part has arrived, so it stays incomplete unless {_plural_parts(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} sent"
        )
    return f"every part ({total} of {total}) was acknowledged, so the service assembles the asset anyway" + (
        ", from the bytes as they were read, which may mix two versions of the file" if mixed else ""
    )
