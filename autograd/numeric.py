"""numpy interop: arrays of Values, and float arrays back.

``asarray`` turns numbers into an object ndarray of Values, so numpy's own
machinery (``W @ x``, broadcasting, ``.sum()``) builds the graph; ``data`` and
``grads`` read float arrays back out. numpy is imported here, when these are
called, never when autograd is imported.
"""

from __future__ import annotations

from .value import Value


def _numpy():
    try:
        import numpy
    except ImportError as error:  # pragma: no cover - numpy is a dependency of chainrule
        raise ImportError("autograd's numpy interop needs numpy: pip install numpy") from error
    return numpy


def asarray(array, label: str = ""):
    """An object ndarray of Values with the shape of ``array`` (Values are kept as they are).

    With ``label``, each new Value is labelled ``label[i, j]`` by its index.
    """
    np = _numpy()
    source = np.asarray(array, dtype=object)
    out = np.empty(source.shape, dtype=object)
    for index, item in np.ndenumerate(source):
        if isinstance(item, Value):
            out[index] = item
        else:
            name = f"{label}[{', '.join(map(str, index))}]" if label else ""
            out[index] = Value(item, label=name)
    return out


def data(array):
    """A float ndarray of the ``.data`` of each Value in ``array`` (numbers pass through)."""
    np = _numpy()
    return np.vectorize(lambda v: v.data if isinstance(v, Value) else float(v), otypes=[float])(
        np.asarray(array, dtype=object)
    )


def grads(array):
    """A float ndarray of the ``.grad`` of each Value in ``array``."""
    np = _numpy()

    def grad_of(v):
        if not isinstance(v, Value):
            raise TypeError(f"grads() needs Values, found {type(v).__name__}")
        return v.grad

    return np.vectorize(grad_of, otypes=[float])(np.asarray(array, dtype=object))
