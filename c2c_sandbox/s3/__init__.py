"""The sandbox's S3 side: the gateway for presigned part PUTs (:mod:`~c2c_sandbox.s3.gateway`: SigV4, expiry, S3's
XML errors), what it reads off the wire (:mod:`~c2c_sandbox.s3.wire`), planned faults (:mod:`~c2c_sandbox.s3.faults`),
parts on disk and their assembly (:mod:`~c2c_sandbox.s3.partstore`), and a real-time upload's growing original
(:mod:`~c2c_sandbox.s3.livefile`)."""
