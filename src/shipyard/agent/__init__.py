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
AUTOHEAL_FILE = "autoheal.py"


def agent_source(name: str = AGENT_FILE) -> str:
    """The agent's source text (or autoheal's: AUTOHEAL_FILE), exactly as it must be installed
    on a host."""
    from importlib import resources  # here, not at the top: every CLI start imports this package

    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
