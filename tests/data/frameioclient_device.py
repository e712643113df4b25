"""A C2C device whose part uploads are frameioclient 1.1.0's, to record how it fares in ``c2c check``.

Not run by the test suite (frameioclient is not installed there): it recorded ``frameioclient_transcript.json``,
which ``tests/sandbox/test_scorecard_peers.py`` replays through the grader. To record it again::

    python3 -m venv /tmp/fioc && /tmp/fioc/bin/pip install frameioclient==1.1.0
    .venv/bin/c2c check --seed 0 --transcript tests/data/frameioclient_transcript.json \\
        -- /tmp/fioc/bin/python tests/data/frameioclient_device.py

frameioclient 1.1.0 has no C2C call: its ``FrameioClient`` talks to the v2 project API, and cannot even be built
with urllib3 2 (``frameioclient/client.py`` lines 14-19 pass ``Retry(method_whitelist=...)``, removed in urllib3
2: TypeError). So the asset is created as the guide's step 1 does (one POST, ``x-client-version``, the offset
from the file's mtime), and every part is sent by ``frameioclient.lib.upload.FrameioUploader(asset,
file).upload()``, unchanged (``frameioclient/lib/upload.py`` lines 9-78): ceil split (line 16), each chunk
read whole into memory (31-38), five threads (72), both headers (56-59), no retry; an exception is printed
(61-62) and ``r.raise_for_status()`` raises into a future nobody reads (64, 78): a failed part leaves a hole
and no error. No token refresh and no heartbeat either: the SDK has neither for devices.
"""

import json
import mimetypes
import os
import sys
import time
from pathlib import Path

import requests
from frameioclient.lib.upload import FrameioUploader

api, token = os.environ["C2C_API_URL"], os.environ["C2C_ACCESS_TOKEN"]
for path in sorted(Path(os.environ["C2C_CHECK_DIR"]).iterdir()):
    body = {
        "name": path.name,
        "filetype": mimetypes.guess_type(path.name)[0],
        "filesize": path.stat().st_size,
        "offset": int(time.time() - path.stat().st_mtime),
    }
    try:
        answer = requests.post(
            f"{api}/v2/devices/assets",
            json=body,
            headers={"Authorization": f"Bearer {token}", "x-client-version": "2.0.0"},
            timeout=30,
        )
    except requests.RequestException as exc:
        print(f"{path.name}: {exc}", file=sys.stderr)
        continue
    if answer.status_code != 200:
        print(f"{path.name}: {answer.status_code} {answer.text[:200]}", file=sys.stderr)
        continue
    asset = answer.json()
    with open(path, "rb") as file:
        FrameioUploader(asset, file).upload()  # returns None, whatever happened to the parts
    print(f"{path.name}: uploaded (so frameioclient says)", file=sys.stderr)
print(json.dumps({"done": True}))
