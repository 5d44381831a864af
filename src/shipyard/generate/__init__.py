"""Generation: turn a detected Project into the files that package it for production.

render() is pure (Project in, list of GeneratedFile out); files.py decides what
may be written without losing a user's edits; nothing here touches docker.
"""
