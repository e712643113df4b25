"""For the notebooks: what a lesson shows and checks, beside the client (never needed to upload a file).

- :mod:`~c2c_helpers.lab.connect`: :func:`connect`, the real service when configured, else an embedded sandbox;
- :mod:`~c2c_helpers.lab.testclip`: the deterministic test clip (ffmpeg from the ``clip`` extra);
- :mod:`~c2c_helpers.lab.recording`: a stand-in camera writing a file at a bitrate;
- :mod:`~c2c_helpers.lab.scratch`: :func:`lesson_dir`, a lesson's temporary folder, removed when its kernel exits;
- :mod:`~c2c_helpers.lab.transcript`: each exchange as curl and its answer, secrets replaced;
- :mod:`~c2c_helpers.lab.widgets`, :mod:`~c2c_helpers.lab.player`: ipywidgets views and the asset player;
- :mod:`~c2c_helpers.lab.charts`: bar charts and labelled widgets with a static twin for saved pages;
- :mod:`~c2c_helpers.lab.exercises`, :mod:`~c2c_helpers.lab.side_trips`: the exercises' checks (a pass, or a hint).

Importing this package is light: the widgets and the player (ipywidgets) load on first use of their names.
"""

from __future__ import annotations

import importlib
from typing import Any

from c2c_helpers.lab.connect import connect, device_credentials, sandbox_controls, uses_embedded_sandbox
from c2c_helpers.lab.exercises import (
    RETRY_CASES,
    check_copied_offset,
    check_create_body,
    check_jain_index,
    check_part_sizes,
    check_retry_choices,
    check_tail_head,
    check_workers_to_fill,
)
from c2c_helpers.lab.recording import TEST_CLIP_RATE, record_test_clip, start_recording
from c2c_helpers.lab.scratch import lesson_dir
from c2c_helpers.lab.side_trips import check_final_registration, check_items, check_put_part, check_timecode
from c2c_helpers.lab.testclip import TEST_CLIP_NAME, TEST_CLIP_SHA256, TEST_CLIP_SIZE, make_test_clip
from c2c_helpers.lab.transcript import Transcript, curl

#: names whose modules import ipywidgets: loaded when first asked for
_LAZY = {
    "AssetForm": "widgets",
    "BarChart": "charts",
    "Labelled": "charts",
    "show_chart": "charts",
    "ChunkMap": "widgets",
    "UploadProgress": "widgets",
    "show": "widgets",
    "show_player": "player",
    "still_frame": "player",
}

__all__ = [
    "RETRY_CASES",
    "TEST_CLIP_NAME",
    "TEST_CLIP_RATE",
    "TEST_CLIP_SHA256",
    "TEST_CLIP_SIZE",
    "AssetForm",
    "BarChart",
    "ChunkMap",
    "Labelled",
    "Transcript",
    "UploadProgress",
    "check_copied_offset",
    "check_create_body",
    "check_final_registration",
    "check_items",
    "check_jain_index",
    "check_part_sizes",
    "check_put_part",
    "check_retry_choices",
    "check_tail_head",
    "check_timecode",
    "check_workers_to_fill",
    "connect",
    "curl",
    "device_credentials",
    "lesson_dir",
    "make_test_clip",
    "record_test_clip",
    "sandbox_controls",
    "show",
    "show_chart",
    "show_player",
    "start_recording",
    "still_frame",
    "uses_embedded_sandbox",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"c2c_helpers.lab.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'c2c_helpers.lab' has no attribute {name!r}")
