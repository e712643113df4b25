"""A C2C device whose part uploads are Frame.io's current Python SDK's (``frameio`` 4.0.0), graded by ``c2c check``.

Run by ``tests/sandbox/test_scorecard_peers.py`` as ``c2c check -- python tests/data/frameio_device.py``.

``frameio`` 4.0.0 talks to Frame.io's v4 API, which has no C2C call (its ``client.files.create_local_upload``
creates a file in an account's folder, not a device's asset), so the asset is created as the guide's step 1 does
(one POST, ``x-client-version``, the offset from the file's mtime). Every part is then sent by the SDK's own
uploader, unchanged: ``frameio.upload.FrameioUploader(asset, file).upload()`` over the create's answer, which
delegates to ``frameio.core.chunked_uploader.ChunkedS3Uploader``: ceil split, five threads, ``x-amz-acl:
private`` and the asset's media type, three attempts per part waiting 1 s then 2 s (no jitter, whatever the
error: a 403 is tried again too), then ``RuntimeError``. No token refresh and no heartbeat: the SDK has neither
for devices; no resume either, so a file whose upload failed is not tried again.
"""

import mimetypes
import os
import sys
import time
from pathlib import Path

import httpx
from frameio.types.file_with_upload_urls import FileWithUploadUrls
from frameio.types.upload_url import UploadUrl
from frameio.upload import FrameioUploader

api, token = os.environ["C2C_API_URL"], os.environ["C2C_ACCESS_TOKEN"]
for path in sorted(Path(os.environ["C2C_CHECK_DIR"]).iterdir()):
    try:
        size, made = path.stat().st_size, path.stat().st_mtime
    except OSError as exc:
        print(f"{path.name}: {exc}", file=sys.stderr)
        continue
    filetype = mimetypes.guess_type(path.name)[0]
    body = {"name": path.name, "filetype": filetype, "filesize": size, "offset": int(time.time() - made)}
    headers = {"Authorization": f"Bearer {token}", "x-client-version": "2.0.0"}
    try:
        answer = httpx.post(f"{api}/v2/devices/assets", json=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        print(f"{path.name}: {exc}", file=sys.stderr)
        continue
    if answer.status_code != 200:
        print(f"{path.name}: {answer.status_code}", file=sys.stderr)
        continue
    urls = [UploadUrl.model_construct(url=u) for u in answer.json()["upload_urls"]]
    asset = FileWithUploadUrls.model_construct(upload_urls=urls, file_size=size, media_type=filetype)
    try:
        with path.open("rb") as file:
            FrameioUploader(asset, file).upload()
    except RuntimeError as exc:
        print(f"{path.name}: {exc}", file=sys.stderr)
        continue
    print(f"{path.name}: uploaded", file=sys.stderr)
