"""The test bed: a real container environment for Shipyard's tests, set up on demand.

Standard library only, so it runs before anything else is installed. It is
test infrastructure, not product: the `shipyard` package never imports it and
never relies on the stand-in base images it builds.

`python -m testbed up` makes sure of, in order: the Debian packages the tests
need, a Docker engine, a client that can run BuildKit builds, `docker compose`
v2, and the base images the examples build FROM. Every step is idempotent and
says whether it reused or created something.
"""
