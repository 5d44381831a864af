"""`python -m shipyard` is the same as the `shipyard` command."""

import sys

from shipyard.cli import main

sys.exit(main())
