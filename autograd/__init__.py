"""autograd: chainrule's scalar reverse-mode automatic differentiation engine.

Every scalar is a ``Value``; each operation records itself in a computation
graph; ``backward()`` walks the graph in reverse topological order applying
the chain rule, with each primitive's local derivative taken from one table
(``autograd.primitives``). Only the standard library is imported here.

    >>> from autograd import Value
    >>> a, b = Value(2.0, label='a'), Value(-3.0, label='b')
    >>> c = a * b + b ** 2
    >>> c.backward()
    >>> a.grad, b.grad
    (-3.0, -4.0)
"""

from .anomaly import AnomalyError, detect_anomaly
from .engine import Step, backward_steps, grad, topological_order
from .gradcheck import GradcheckError, GradcheckResult, gradcheck, gradgradcheck
from .mode import current_scope, enable_grad, is_grad_enabled, no_grad, scope
from .numeric import asarray, data, grads
from .primitives import PRIMITIVES, Primitive
from .value import Value, dot, local_grads, logsumexp, max, sum

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "GradcheckError",
    "GradcheckResult",
    "PRIMITIVES",
    "Primitive",
    "Step",
    "Value",
    "asarray",
    "backward_steps",
    "current_scope",
    "data",
    "detect_anomaly",
    "dot",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "grads",
    "is_grad_enabled",
    "local_grads",
    "logsumexp",
    "max",
    "no_grad",
    "scope",
    "sum",
    "topological_order",
    # numpy-backed, imported on first use (see __getattr__): the compiled tape
    "Tape",
    "TraceError",
    "trace",
]

# autograd.tape needs numpy; ``import autograd`` stays standard-library only, so
# these names import it on first use.
_TAPE_NAMES = ("Tape", "TraceError", "trace")


def __getattr__(name):
    # autograd.strategies needs hypothesis and autograd.tape numpy, so both are
    # imported on first use only.
    if name in ("strategies", "tape"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name in _TAPE_NAMES:
        from . import tape

        return getattr(tape, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
