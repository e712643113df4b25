"""Resuming an interrupted upload: the manifest on disk and what it still vouches for.

- :mod:`~c2c_helpers.resume.manifest`: the manifest, one model for basic and real-time uploads (its parts, their
  URLs bound to their numbers, the acknowledged parts' digests);
- :mod:`~c2c_helpers.resume.disk`: written privately and atomically, read only when safely the owner's, locked
  one run at a time;
- :mod:`~c2c_helpers.resume.trust`: whether a manifest fits this run, and which of its parts the file still holds.

Builds on the core (``chunks``, ``asset``, ``errors``, ``parts``, ``request``); the core's ``upload_file`` and the
real-time upload use only the names published here.
"""

from __future__ import annotations

from c2c_helpers.resume.disk import ManifestLock
from c2c_helpers.resume.manifest import (
    LIVE_MANIFEST_SUFFIX,
    MANIFEST_SUFFIX,
    Manifest,
    PartRecord,
    Registration,
    default_manifest_path,
)
from c2c_helpers.resume.trust import check_resumable, note_manifest, recorder, resumed_asset, save_first, trusted_parts

__all__ = [
    "LIVE_MANIFEST_SUFFIX",
    "MANIFEST_SUFFIX",
    "Manifest",
    "ManifestLock",
    "PartRecord",
    "Registration",
    "check_resumable",
    "default_manifest_path",
    "note_manifest",
    "recorder",
    "resumed_asset",
    "save_first",
    "trusted_parts",
]
