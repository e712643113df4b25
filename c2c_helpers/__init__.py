"""c2c_helpers."""
