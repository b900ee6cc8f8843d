"""Nested lists as tensors: their shape, checked, and their numbers lifted to Values.

The layers beyond the MLP take images (``[channel][row][column]``) and
sequences (``[step][feature]``) as nested Python lists of numbers or Values,
or numpy arrays of the same shape. These helpers read such an input once,
check that it is rectangular (a ragged row is a ValueError naming it) and
turn every number into a Value leaf, so that a pixel used by several
positions of a filter is one node with several consumers.
"""

from __future__ import annotations

import numbers

from autograd import Value


def numbers_of(output) -> list[float]:
    """A model's output for one sample (a Value, a number or a list of them) as floats."""
    if isinstance(output, (Value, numbers.Real)):
        output = [output]
    return [float(o) for o in output]


def _is_number(x) -> bool:
    return isinstance(x, (Value, numbers.Real)) or getattr(x, "ndim", None) == 0


def _listed(x):
    """x as a list if it is a sequence (numpy arrays via tolist), else x itself."""
    if isinstance(x, list):
        return x
    if isinstance(x, tuple):
        return list(x)
    if hasattr(x, "tolist") and getattr(x, "ndim", 0) > 0:
        return x.tolist()
    return x


def shape_of(x, who: str) -> tuple[int, ...]:
    """The shape of a rectangular nested list of numbers (``()`` for a number).

    ValueError when the nesting is ragged (rows of different lengths, or a
    number beside a list); TypeError for anything that is neither.
    """
    x = _listed(x)
    if _is_number(x):
        return ()
    if not isinstance(x, list):
        raise TypeError(f"{who} takes nested lists of numbers or Values, got {type(x).__name__}")
    if not x:
        return (0,)
    inner = [shape_of(item, who) for item in x]
    if any(shape != inner[0] for shape in inner):
        where = next(i for i, shape in enumerate(inner) if shape != inner[0])
        raise ValueError(
            f"{who}: the input is ragged: item 0 has shape {inner[0]} but item {where} "
            f"has shape {inner[where]}"
        )
    return (len(x), *inner[0])


def lifted(x):
    """The same nesting with every number a Value (Values are kept as they are)."""
    x = _listed(x)
    if isinstance(x, list):
        return [lifted(item) for item in x]
    return x if isinstance(x, Value) else Value(x)  # TypeError names anything else


def image(x, channels: int | None, who: str) -> list:
    """x as an image ``[channel][row][column]`` of Values with ``channels`` channels (None: any).

    A 2-D input (rows of numbers) is one channel. ValueError names the
    expected and received shapes.
    """
    checked = _image_of_lists(x, channels)
    if checked is not None:
        return checked
    shape = shape_of(x, who)  # the slow path finds what is wrong, or reads numpy and tuples
    if len(shape) == 2 and channels in (1, None):
        x, shape = [_listed(x)], (1, *shape)
    if len(shape) != 3 or 0 in shape or (channels is not None and shape[0] != channels):
        expected = "channels" if channels is None else channels
        raise ValueError(
            f"{who} expects an image of shape ({expected}, height, width), got shape {shape}"
        )
    return lifted(x)


def _image_of_lists(x, channels: int | None) -> list | None:
    """The fast path of ``image``: 3-D nested lists of floats or Values, rectangular, lifted.

    None for anything else (numpy arrays, tuples, a wrong shape, a bad item),
    which ``image`` then reads slowly and reports precisely.
    """
    if (type(x) is not list or not x or type(x[0]) is not list or not x[0]
            or type(x[0][0]) is not list or (channels is not None and len(x) != channels)):
        return None
    height, width = len(x[0]), len(x[0][0])
    if width == 0:
        return None
    out = []
    for channel in x:
        if type(channel) is not list or len(channel) != height:
            return None
        rows = []
        for row in channel:
            if type(row) is not list or len(row) != width:
                return None
            lifted_row = []
            for v in row:
                if type(v) is Value:
                    lifted_row.append(v)
                elif type(v) is float or type(v) is int:
                    lifted_row.append(Value(v))
                else:
                    return None
            rows.append(lifted_row)
        out.append(rows)
    return out


def flat(x) -> list:
    """Every item of a nested list, in row-major order (a number or Value gives a list of one)."""
    x = _listed(x)
    if not isinstance(x, list):
        return [x]
    if all(type(item) is list for item in x):  # the common case: rows of Values (a channel)
        out = [v for item in x for v in item]
        if all(type(v) is Value or type(v) is float for v in out):
            return out
    out = []
    stack = [iter(x)]
    while stack:  # iterative: no recursion limit on deep nesting
        for item in stack[-1]:
            item = _listed(item)
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def nested_map(function, x):
    """function applied to every number or Value of a nested list, keeping the nesting."""
    if type(x) is list:
        return [function(v) if type(v) is Value else nested_map(function, v) for v in x]
    if type(x) is Value:
        return function(x)
    x = _listed(x)
    if isinstance(x, list):
        return nested_map(function, x)
    return function(lifted(x))
