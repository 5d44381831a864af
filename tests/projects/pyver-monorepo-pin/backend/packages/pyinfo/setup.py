"""Declares the C extension (pyproject.toml cannot); metadata is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("pyinfo._headers", sources=["pyinfo/_headers.c"])])
