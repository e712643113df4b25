"""c2c_sandbox."""
