"""Registries: a minimal OCI distribution client and `shipyard publish`."""
