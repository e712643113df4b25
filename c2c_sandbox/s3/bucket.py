"""An external S3-compatible store behind the sandbox (``Sandbox(s3=URL)``, ``c2c sandbox --s3 URL``).

In this mode the part bytes never pass through the sandbox. :class:`Bucket` talks to the store with botocore's
public client only:

- an asset's create starts a multipart upload (``create_multipart_upload``, ``ACL=private``) and the upload URLs
  the API hands out are the store's own presigned ``upload_part`` URLs, SigV4, signing ``content-type;host;
  x-amz-acl`` as Frame.io's do (the two headers are added to the request botocore signs, through its public
  ``before-sign`` event): the device PUTs straight to the store, whose signature, expiry and header checks are
  then the real ones;
- which parts arrived is the store's ``list_parts``; the original is assembled by the store
  (``complete_multipart_upload`` with the listed ETags) and read back once (``get_object``) for its SHA-256.

The key and secret are found the way boto3 finds them (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, a
profile, ``AWS_PROFILE``) unless given. The bucket is the URL's path (``http://127.0.0.1:8333/my-bucket``),
``c2c-sandbox`` when the URL has none; it is created when missing.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

__all__ = ["DEFAULT_BUCKET", "Bucket", "StoreRefused", "split_store_url"]

DEFAULT_BUCKET = "c2c-sandbox"
REGION = "us-east-1"
BLOCK = 1024 * 1024


class StoreRefused(Exception):
    """The store answered an S3 error (its code and message are the text)."""


def split_store_url(url: str) -> tuple[str, str]:
    """``http://host:port/bucket`` -> (``http://host:port``, ``bucket``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"an S3 store is an http(s) URL (http://127.0.0.1:8333/bucket), got {url!r}")
    bucket = parts.path.strip("/") or DEFAULT_BUCKET
    if "/" in bucket:
        raise ValueError(f"the store URL's path is one bucket name, got {parts.path!r}")
    return f"{parts.scheme}://{parts.netloc}", bucket


class Bucket:
    """One bucket of an S3-compatible store, through botocore."""

    def __init__(
        self,
        url: str,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        profile: str | None = None,
        region: str = REGION,
    ) -> None:
        self.endpoint, self.name = split_store_url(url)
        session = botocore.session.Session(profile=profile)
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=32,
        )
        self.client: Any = session.create_client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )
        if not (access_key and secret_key) and session.get_credentials() is None:  # a clear line, not a late 403
            raise ValueError(
                "no credentials for the S3 store: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile"
                " (AWS_PROFILE), or give the key and secret"
            )
        self._signing = threading.local()
        self.client.meta.events.register("before-sign.s3.UploadPart", self._sign_headers)

    # -- setting up -----------------------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the bucket unless it is there (raises StoreRefused with the store's answer)."""
        try:
            self.client.head_bucket(Bucket=self.name)
            return
        except ClientError as exc:
            if _status(exc) not in (404, 403):
                raise StoreRefused(_describe(exc)) from None
        try:
            self.client.create_bucket(Bucket=self.name)
        except ClientError as exc:
            if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise StoreRefused(_describe(exc)) from None

    # -- an upload ------------------------------------------------------------------------------------
    def create_upload(self, key: str, filetype: str) -> str:
        """Start a multipart upload of ``key``; returns its upload id."""
        answer = self.client.create_multipart_upload(Bucket=self.name, Key=key, ContentType=filetype, ACL="private")
        return str(answer["UploadId"])

    def presign_part(self, key: str, upload_id: str, number: int, filetype: str, expires: int) -> str:
        """The store's presigned URL for one part PUT, signing ``content-type;host;x-amz-acl``."""
        self._signing.headers = {"Content-Type": filetype, "x-amz-acl": "private"}
        try:
            params = {"Bucket": self.name, "Key": key, "UploadId": upload_id, "PartNumber": number}
            return str(self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires))
        finally:
            self._signing.headers = None

    def _sign_headers(self, request: Any, **_: Any) -> None:
        """botocore's ``before-sign`` hook: the headers Frame.io's part URLs sign go into this URL's signature."""
        for name, value in (getattr(self._signing, "headers", None) or {}).items():
            request.headers[name] = value

    def parts(self, key: str, upload_id: str) -> list[dict[str, Any]]:
        """The parts the store holds for an upload (``PartNumber``, ``ETag``, ``Size``), in number order."""
        found: list[dict[str, Any]] = []
        marker = 0
        while True:
            answer = self.client.list_parts(Bucket=self.name, Key=key, UploadId=upload_id, PartNumberMarker=marker)
            found.extend(answer.get("Parts", []))
            if not answer.get("IsTruncated"):
                return found
            marker = int(answer["NextPartNumberMarker"])

    def complete(self, key: str, upload_id: str, parts: list[dict[str, Any]]) -> None:
        """Have the store assemble the original from these parts (raises StoreRefused with its reason)."""
        listed = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
        try:
            self.client.complete_multipart_upload(
                Bucket=self.name, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
            )
        except ClientError as exc:
            raise StoreRefused(_describe(exc)) from None

    def chunks(self, key: str) -> Iterator[bytes]:
        """The object's bytes, 1 MiB at a time."""
        body = self.client.get_object(Bucket=self.name, Key=key)["Body"]
        try:
            while block := body.read(BLOCK):
                yield block
        finally:
            body.close()

    def sha256(self, key: str) -> tuple[str, int]:
        """The SHA-256 (hex) and size of an object, read once."""
        digest, size = hashlib.sha256(), 0
        for block in self.chunks(key):
            digest.update(block)
            size += len(block)
        return digest.hexdigest(), size

    def remove(self, key: str) -> None:
        """Delete an object and abort any multipart upload of it (what Reset does to an asset)."""
        try:
            listing = self.client.list_multipart_uploads(Bucket=self.name, Prefix=key)
            for upload in listing.get("Uploads", []):
                self.client.abort_multipart_upload(Bucket=self.name, Key=upload["Key"], UploadId=upload["UploadId"])
            self.client.delete_object(Bucket=self.name, Key=key)
        except ClientError:
            pass  # gone already, or the store refuses: nothing the sandbox can do about it


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', _status(exc))}: {error.get('Message', '')}".strip()
