"""Shipyard: package a Python web app for production with Docker, and ship it.

The package is a library first: every command is a function in a module that
takes plain arguments and returns plain data or raises a ShipyardError. The
CLI (shipyard.cli) is a thin layer that parses arguments and renders results.
"""

__version__ = "0.1.0"
