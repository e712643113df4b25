"""The integrator's scorecard: each device's recent requests (:mod:`~c2c_sandbox.scorecard.recorder`), a seeded
check session (:mod:`~c2c_sandbox.scorecard.scenario`, its files and script :mod:`~c2c_sandbox.scorecard.files`,
what it sees of the device :mod:`~c2c_sandbox.scorecard.observed`), Frame.io's whole integrator checklist
(:mod:`~c2c_sandbox.scorecard.checklist`) and the kit's own checks graded from it
(:mod:`~c2c_sandbox.scorecard.grader`, :mod:`~c2c_sandbox.scorecard.traffic`, :mod:`~c2c_sandbox.scorecard.judges`,
:mod:`~c2c_sandbox.scorecard.evidence`), the Markdown report (:mod:`~c2c_sandbox.scorecard.report`) and
``c2c check`` (:mod:`~c2c_sandbox.scorecard.run`).

Published here: :func:`run_check` (a session against a device, graded), :func:`plan` and
:data:`ROLES` (the session's files and what each one plays). They load on first use: the sandbox's own modules
import the recorder, which runs this package first, and the session's modules import the sandbox back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c2c_sandbox.scorecard.run import run_check
    from c2c_sandbox.scorecard.scenario import ROLES, plan

__all__ = ["ROLES", "plan", "run_check"]


def __getattr__(name: str) -> Any:
    if name == "run_check":
        from c2c_sandbox.scorecard import run

        return getattr(run, name)
    if name in ("ROLES", "plan"):
        from c2c_sandbox.scorecard import scenario

        return getattr(scenario, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
