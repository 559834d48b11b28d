"""People domain."""
