"""`shipyard build`: what to tag, label and pass as build args, then the build itself.

Named imagebuild, not build: a package called build/ is matched by the `**/build` of
standard ignore lists (.gitignore templates, .dockerignore, packaging tools).

The modules here split along the I/O line: cienv and plan (with the tag grammar and
labels of shipyard.image) compute plain data from plain inputs (an env mapping, git
facts, a clock value) and never run anything, so every rule is a table test; run.py,
sbom.py and repro.py call docker and feed on their results.
"""
