"""Real-time uploads (Frame.io's "How to: Upload (Real-time)"): a file uploaded while it is still being recorded.

- :mod:`~c2c_helpers.realtime.growing`: which parts can be cut from a growing file now (pure), and when the
  recording ended;
- :mod:`~c2c_helpers.realtime.upload`: the real-time create and parts calls, and :func:`upload_growing_file`.

Builds on the core: the same part sender, retry policy, progress events, create budget and resume manifests.
"""

from __future__ import annotations

from c2c_helpers.realtime.growing import GrowingFile, LivePart, final_part, plan_cuts
from c2c_helpers.realtime.upload import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_PART_SIZE,
    RealtimeAsset,
    RealtimeResult,
    create_realtime_asset,
    default_live_manifest_path,
    register_parts,
    upload_growing_file,
)

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_PART_SIZE",
    "GrowingFile",
    "LivePart",
    "RealtimeAsset",
    "RealtimeResult",
    "create_realtime_asset",
    "default_live_manifest_path",
    "final_part",
    "plan_cuts",
    "register_parts",
    "upload_growing_file",
]
