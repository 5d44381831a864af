"""Which Python's headers this package was compiled against (a C extension, so the
builder needs a compiler and the base image's development headers)."""

from pyinfo._headers import compiled_for

__all__ = ["compiled_for"]
