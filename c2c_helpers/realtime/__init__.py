"""Real-time uploads (Frame.io's "How to: Upload (Real-time)"): a file uploaded while it is still being recorded.

- :mod:`~c2c_helpers.realtime.growing`: which parts can be cut from a growing file now (pure), and when the
  recording ended;
- :mod:`~c2c_helpers.realtime.calls`: the real-time create call and the parts call;
- :mod:`~c2c_helpers.realtime.upload`: :func:`upload_growing_file`, through the core's pool.

Builds on the core: the same part sender, retry policy, progress events, create budget and resume manifests.
"""

from __future__ import annotations

from c2c_helpers.realtime.calls import create_realtime_asset, register_parts
from c2c_helpers.realtime.growing import GrowingFile, LivePart, final_part, plan_cuts
from c2c_helpers.realtime.upload import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_PART_SIZE,
    RealtimeResult,
    default_live_manifest_path,
    upload_growing_file,
)

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_PART_SIZE",
    "GrowingFile",
    "LivePart",
    "RealtimeResult",
    "create_realtime_asset",
    "default_live_manifest_path",
    "final_part",
    "plan_cuts",
    "register_parts",
    "upload_growing_file",
]
