"""The sandbox's domain: devices, assets, pauses and folders (:mod:`~c2c_sandbox.domain.model`), kept in SQLite
(:mod:`~c2c_sandbox.domain.store`) as frozen records (:mod:`~c2c_sandbox.domain.records`); a real-time upload's
registered parts (:mod:`~c2c_sandbox.domain.registrations`)."""
