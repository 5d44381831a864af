"""Wrappers for the external programs Shipyard drives (docker, compose, git, ssh).

Each program is wrapped once: argument lists only (never shell strings),
typed results, and errors that carry the command, exit code and stderr.
Secrets travel through stdin or files, never through argv.
"""
