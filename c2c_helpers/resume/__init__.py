"""Resuming an interrupted upload: the manifest on disk and what it still vouches for.

- :mod:`~c2c_helpers.resume.manifest`: the basic upload's manifest (format, per-part MD5, atomic private saves,
  the one-run-at-a-time lock);
- :mod:`~c2c_helpers.resume.live`: the real-time upload's manifest;
- :mod:`~c2c_helpers.resume.trust`: whether a manifest fits this run, and which of its parts the file still holds.

Builds on the core (``chunks``, ``asset``, ``errors``, ``parts``); the core's ``upload_file`` uses only the names
published here.
"""

from __future__ import annotations

from c2c_helpers.resume.live import LIVE_MANIFEST_SUFFIX, LiveManifest
from c2c_helpers.resume.manifest import MANIFEST_SUFFIX, Manifest, ManifestLock, PartRecord, default_manifest_path
from c2c_helpers.resume.trust import check_resumable, note_manifest, recorder, resumed_asset, save_first, trusted_parts

__all__ = [
    "LIVE_MANIFEST_SUFFIX",
    "MANIFEST_SUFFIX",
    "LiveManifest",
    "Manifest",
    "ManifestLock",
    "PartRecord",
    "check_resumable",
    "default_manifest_path",
    "note_manifest",
    "recorder",
    "resumed_asset",
    "save_first",
    "trusted_parts",
]
