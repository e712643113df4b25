"""The integrator's scorecard: each device's recent requests (:mod:`~c2c_sandbox.scorecard.recorder`), a seeded
check session (:mod:`~c2c_sandbox.scorecard.scenario`), the checklist graded from it
(:mod:`~c2c_sandbox.scorecard.grader`, :mod:`~c2c_sandbox.scorecard.evidence`), the Markdown report
(:mod:`~c2c_sandbox.scorecard.report`) and ``c2c check`` (:mod:`~c2c_sandbox.scorecard.run`)."""
