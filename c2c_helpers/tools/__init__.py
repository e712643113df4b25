"""Programs built on the client: the ``c2c`` command (:mod:`~c2c_helpers.tools.cli`) and many cameras at once
(:mod:`~c2c_helpers.tools.fleet`). They may import anything; nothing in the client imports them.

The fleet is published here (:func:`run_fleet`, its report, Jain's fairness index); the command is the ``c2c``
console script. Importing this package loads the fleet's module, which imports the sandbox only when a fleet runs.
"""

from __future__ import annotations

from c2c_helpers.tools.fleet import CameraResult, FleetReport, jain_index, run_fleet

__all__ = ["CameraResult", "FleetReport", "jain_index", "run_fleet"]
