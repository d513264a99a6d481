"""Fixtures of the package's tests; the helpers themselves are in mt_support."""
from mt_support import weights, zoo  # noqa: F401  (fixtures)
