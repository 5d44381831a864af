"""Project detection: read a project directory and describe what it is, as data.

Nothing here writes files or runs programs; the result (a Project) is what the
generator renders and what `shipyard init --dry-run` prints.
"""

from shipyard.detect.project import Project, detect

__all__ = ["Project", "detect"]
