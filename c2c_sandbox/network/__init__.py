"""Network conditions of the sandbox's S3 side: profiles, presets and the model (:mod:`~c2c_sandbox.network.profiles`,
standard library only), and their shaping of part bodies (:mod:`~c2c_sandbox.network.shaping`)."""

from __future__ import annotations

from c2c_sandbox.network.profiles import (
    PRESETS,
    NetworkProfile,
    parse_network,
    predict_seconds,
    resolve_network,
    throughput,
)

__all__ = ["PRESETS", "NetworkProfile", "parse_network", "predict_seconds", "resolve_network", "throughput"]
