"""The host agent: the only program a CI deploy key can run on a deployment host.

Why a separate, self-contained file (agent.py) rather than part of the library:
it runs on the *host*, which has python3 (>= 3.9) and docker compose v2 but not
Shipyard or any third-party package. ``shipyard host setup`` copies the text
returned by ``agent_source()`` to the host (e.g. ``~deploy/.shipyard/agent.py``)
and makes it the ``command=`` of a ``restrict``-ed authorized_keys line. The
contract (grammar, exit codes, journal, lock, config) is in agent.py's docstring.
"""

from __future__ import annotations

AGENT_FILE = "agent.py"


def agent_source() -> str:
    """The agent's source text, exactly as it must be installed on a host."""
    from importlib import resources  # here, not at the top: every CLI start imports this package

    return resources.files(__name__).joinpath(AGENT_FILE).read_text(encoding="utf-8")
