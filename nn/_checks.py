"""Argument checks shared by nn's modules, data sets and training loop."""

from __future__ import annotations

import numbers


def positive_int(value, what: str) -> int:
    """value as an int if it is an int >= 1 (not a bool); else ValueError naming ``what``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return int(value)
