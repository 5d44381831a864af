"""Build script for the ``textstats._speedups`` C extension.

Metadata lives in ``pyproject.toml``; this file only exists because the
extension module has to be declared with setuptools' ``Extension``, which
``pyproject.toml`` cannot express on its own.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "textstats._speedups",
            sources=["textstats/_speedups.c"],
            # Fail loudly on sloppy C rather than shipping warnings nobody reads.
            extra_compile_args=["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"],
        )
    ],
)
