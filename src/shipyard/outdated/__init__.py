"""`shipyard outdated`: what would change if an image were rebuilt now (issue 15, seed 001).

Why a package of its own, below the stages: it reads an image (local or in a
registry), its labels and the package indexes, and decides nothing about building,
publishing or deploying, so the scheduled pipeline, `check` or a person can ask it
without pulling in a stage. Three questions, one module each: base image drift
(baseimage), OS packages with pending updates (ospackages), Python distributions behind
the index (pyindex); report.py turns the answers into a verdict and an exit status.
"""
