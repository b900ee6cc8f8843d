"""Checks shared by nn's modules, data sets, files and training loop (and the command line).

One place decides the limits a typo cannot get past and how bad input is
named, so that ``fit``, ``evaluate``, ``load_csv``, model files and
``chainrule train`` say the same thing about the same mistake:

* ``MAX_PARAMETERS`` (1,000,000): the most parameters a module may have,
  checked before anything is built (``check_parameter_count``), and the most
  a model file may hold; ``MAX_ROWS`` (1,000,000): the most rows a built-in
  data set may draw. A scalar engine needs minutes per step long before
  either limit, so only a typo reaches them.
* ``numeric_array(values, "X")``: a numeric array whose every entry is a
  finite number, or ValueError naming the array, the row and the column of
  the first bad entry (nan, inf, text, None, a ragged row).
* ``read_regular_file(path, what, max_bytes)``: the bytes of a regular file
  no larger than ``max_bytes``; folders, devices (``/dev/zero``) and FIFOs
  are refused before anything is read.
* ``quoted(value)``, ``few(names)``: a repr cut short, the first names of a
  list, for quoting user data in messages.
"""

from __future__ import annotations

import math
import numbers
import os
import stat

import numpy as np

MAX_PARAMETERS = 1_000_000  # parameters of one module, and of one model file
MAX_ROWS = 1_000_000  # rows a built-in data set may draw


def quoted(value, limit: int = 80) -> str:
    """repr(value), cut to ``limit`` characters (a hostile payload never fills a message)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def few(names, limit: int = 5) -> str:
    """The first ``limit`` names, each quoted short, and how many more there are."""
    shown = ", ".join(quoted(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def positive_int(value, what: str, most: int | None = None) -> int:
    """value as an int if it is an int >= 1 (and <= ``most``; not a bool); else ValueError."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {quoted(value)}")
    if most is not None and value > most:
        raise ValueError(f"{what} must be at most {most:,}, got {value:,}")
    return int(value)


def non_negative(value, what: str) -> float:
    """value as a float if it is a finite real number >= 0 (not a bool); else ValueError."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{what} must be a finite number >= 0, got {quoted(value)}")
    return float(value)


def mlp_parameter_count(sizes: list[int], norm: bool = False) -> int:
    """The parameters of fully connected layers of ``sizes`` (inputs first).

    With ``norm``, each hidden unit adds a norm's weight and bias.
    """
    norms = 2 * sum(sizes[1:-1]) if norm else 0
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False)) + norms


def check_parameter_count(count: int, what: str) -> int:
    """count if it is at most ``MAX_PARAMETERS``; else ValueError naming ``what`` and the limit."""
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"{what} would have {count:,} parameters, more than {MAX_PARAMETERS:,} "
            "(the most a chainrule module may have: the scalar engine would need minutes "
            "and gigabytes for one step); a typo in a layer size?"
        )
    return count


def validation_rows(rows: int, fraction: float) -> int:
    """How many of ``rows`` a validation ``fraction`` holds out; ValueError if none would be left.

    At least one row is held out, and at least one must remain for training.
    """
    if not isinstance(fraction, numbers.Real) or not 0.0 < fraction < 1.0:
        raise ValueError(f"a validation fraction must lie in (0, 1), got {quoted(fraction)}")
    held = max(1, round(fraction * rows))
    if held >= rows:
        raise ValueError(
            f"validation={fraction} leaves no rows to train on ({rows} rows, {held} held out)"
        )
    return held


# -- arrays of data ---------------------------------------------------------------------------


def numeric_array(values, name: str) -> np.ndarray:
    """values as a numpy array of numbers (bool, int or float), every one finite.

    Otherwise ValueError naming ``name``, the row and the column of the first
    bad entry: nan or inf, text (even text that looks like a number: convert
    it first, as ``torch.tensor`` refuses strings), None, an object that is
    not a number, or a row whose length differs from the first row's.
    """
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):  # ragged rows (numpy refuses inhomogeneous shapes)
        array = None
    if array is None or array.dtype.kind not in "biuf":
        if array is not None and array.dtype.kind == "c":
            raise ValueError(f"{name} holds complex numbers; expected real numbers")
        problem = _first_problem(values, name)
        if problem is not None:
            raise ValueError(problem)
        array = np.asarray(values, dtype=float)  # numbers numpy could not type (Values, Fractions)
    if array.dtype.kind == "f":
        finite = np.isfinite(array)
        if not finite.all():
            bad = np.argwhere(~finite)
            first = tuple(int(i) for i in bad[0])
            more = f" (and {len(bad) - 1:,} more nan or inf entries)" if len(bad) > 1 else ""
            raise ValueError(
                f"{_where(name, first)} is {array[first]}{more}: data must be finite numbers; "
                "fill or drop those rows before training"
            )
    return array


def _where(name: str, index: tuple[int, ...]) -> str:
    if not index:
        return name
    if len(index) == 1:
        return f"{name}[{index[0]}] (row {index[0]})"
    if len(index) == 2:
        return f"{name}[{index[0]}, {index[1]}] (row {index[0]}, column {index[1]})"
    return f"{name}[{', '.join(map(str, index))}]"


def _is_sequence(value) -> bool:
    return hasattr(value, "__len__") and hasattr(value, "__getitem__") and not isinstance(
        value, (str, bytes)
    )


def _first_problem(values, name: str) -> str | None:
    """The first entry of nested sequences that is not a number, or a ragged row, described."""
    shape = []
    probe = values
    while _is_sequence(probe) and getattr(probe, "ndim", 1) != 0:
        shape.append(len(probe))
        if not len(probe):
            break
        probe = probe[0]
    todo = [((), values)]
    while todo:
        index, value = todo.pop()
        depth = len(index)
        if depth < len(shape):
            if not _is_sequence(value) or getattr(value, "ndim", 1) == 0:
                return (
                    f"{_where(name, index)} is a single value {quoted(value, 40)}, but "
                    f"{_where(name, (0,) * depth)} has {shape[depth]} entries: rows must all "
                    "have the same length"
                )
            if len(value) != shape[depth]:
                return (
                    f"{_where(name, index)} has {len(value)} entries, but "
                    f"{_where(name, (0,) * depth)} has {shape[depth]}: rows must all have "
                    "the same length"
                )
            todo.extend(((*index, i), item) for i, item in reversed(list(enumerate(value))))
            continue
        if _is_sequence(value) and getattr(value, "ndim", 1) != 0:
            return f"{_where(name, index)} is a sequence, but the rows before it hold numbers"
        if value is None:
            return f"{_where(name, index)} is None; expected a number"
        if isinstance(value, (str, bytes)):
            return (
                f"{_where(name, index)} is the text {quoted(value, 40)}; expected a number "
                "(convert text to numbers first)"
            )
        try:
            number = float(value)
        except OverflowError:
            return f"{_where(name, index)} is {quoted(value, 40)}, too large for a float"
        except (TypeError, ValueError):
            return f"{_where(name, index)} is a {type(value).__name__}; expected a number"
        if not math.isfinite(number):
            return (
                f"{_where(name, index)} is {number}: data must be finite numbers; "
                "fill or drop those rows before training"
            )
    return None


# -- files ------------------------------------------------------------------------------------


def read_regular_file(path, what: str, max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``, refusing anything else before reading.

    FileNotFoundError when there is nothing there; ValueError for a folder,
    a device (``/dev/zero``), a FIFO or socket, and for a file larger than
    ``max_bytes``. The file is opened without blocking, so a FIFO swapped in
    between the check and the open cannot hang the reader either.
    """
    path = os.fspath(path)
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such {what}: {path}") from None
    _check_regular(path, status, what, max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as handle:
        _check_regular(path, os.fstat(handle.fileno()), what, max_bytes)
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we read it (or its size lied, as in /proc)
        raise ValueError(f"{path} is larger than {max_bytes:,} bytes, too large for a {what}")
    return data


def _check_regular(path: str, status: os.stat_result, what: str, max_bytes: int) -> None:
    if stat.S_ISDIR(status.st_mode):
        raise ValueError(f"{path} is a folder, not a {what}")
    if not stat.S_ISREG(status.st_mode):
        kind = (
            "a FIFO (named pipe)" if stat.S_ISFIFO(status.st_mode)
            else "a device" if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode)
            else "a socket" if stat.S_ISSOCK(status.st_mode)
            else "not a regular file"
        )
        raise ValueError(f"{path} is {kind}, not a {what}: only regular files are read")
    if status.st_size > max_bytes:
        raise ValueError(
            f"{path} is {status.st_size:,} bytes, too large for a {what} "
            f"(at most {max_bytes:,})"
        )
