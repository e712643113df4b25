"""A lesson's scratch folder: where a notebook writes its copies of the clip and its recordings.

:func:`lesson_dir` is a temporary folder of the kernel's own (``$TMPDIR/c2c-lesson-*``), removed when the kernel
exits, so that running the lessons leaves nothing behind in the kit's folder and nothing grows however often they
run.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

__all__ = ["lesson_dir"]

_lock = threading.Lock()
_dir: Path | None = None


def lesson_dir() -> Path:
    """This process's scratch folder (made on first use, the same folder after), removed when the process exits.

    >>> folder = lesson_dir()
    >>> folder.is_dir() and folder == lesson_dir() and folder.name.startswith("c2c-lesson-")
    True
    """
    global _dir
    with _lock:
        if _dir is None or not _dir.is_dir():
            _dir = Path(tempfile.mkdtemp(prefix="c2c-lesson-"))
            atexit.register(shutil.rmtree, _dir, ignore_errors=True)
        return _dir
