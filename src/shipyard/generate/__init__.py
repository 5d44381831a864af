"""Generation: turn a detected Project into the files that package it for production.

render() is pure (Project in, list of GeneratedFile out); files.py decides what
may be written without losing a user's edits; cifiles.py writes the CI pipelines
(`shipyard ci`, and `init --ci`); nothing here touches docker.
"""
