"""The BuildKit secrets a generated Dockerfile mounts and `shipyard build` supplies.

Why a module of its own: the id is a contract between two stages — `init` writes
`--mount=type=secret,id=ca_bundle` into the Dockerfile, `build` passes the CA bundle under
that id when (and only when) the Dockerfile mounts it — so it is spelled once, below both.
"""

CA_SECRET_ID = "ca_bundle"  # noqa: S105 - the id of a secret, not a secret
