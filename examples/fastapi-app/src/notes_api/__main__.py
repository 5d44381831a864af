"""Allow ``python -m notes_api`` as an alias of the ``notes-api`` script."""

from notes_api.cli import main

main()
