"""Safe expressions: parse ``"tanh(x * w + b) ** 2"`` into something that builds Values.

The syntax is Python's expression syntax restricted by a whitelist over
``ast`` (contract 1, shared by ``autograd.strategies``, the ``chainrule``
command line, the notebooks and the README):

* variables: any identifier that is not a function or constant name;
* numeric literals (ints and floats; every number becomes a float) and the
  constants ``pi`` and ``e`` (``math.pi``, ``math.e``);
* binary ``+ - * / **``, unary ``-`` and ``+``, parentheses;
* calls of ``exp log sqrt tanh sigmoid relu abs sin cos`` with one argument,
  and ``leaky_relu(x)`` / ``leaky_relu(x, slope)`` with a numeric slope.

Anything else (attribute access, subscripts, other calls, keywords, lambdas,
comprehensions, strings, comparisons ...) raises ``ExpressionError``, a
ValueError whose message is one line naming what was found and where (``x^2``
says to use ``**`` for powers: ``^`` is Python's exclusive or).

Nothing in the source is ever executed: it is read with ``ast.parse`` and
translated into a short postfix program of engine operations, which
``evaluate`` runs on a stack (no recursion, so long sums are fine).
Sub-expressions made only of numbers are folded when parsing, in floats with
IEEE semantics, so ``9 ** 9 ** 9`` costs one ``math.pow`` and is rejected as
not finite instead of tying up the machine computing a huge integer; the
length of the source (10,000 characters) and its nesting depth (200 levels;
a flat sum of many terms is one level) are bounded too.

Decisions where the contract is silent: a constant exponent stays a number,
so ``x ** 2`` is the engine's ``**2`` node, as in micrograd; other numbers
become leaves labelled with their value; ``evaluate`` ignores extra entries of
``env`` and accepts plain numbers as well as Values there.

    >>> from autograd import Value
    >>> expr = parse("x * y + sin(x)")
    >>> expr.variables
    ('x', 'y')
    >>> out = expr.evaluate({"x": Value(2.0), "y": Value(3.0)})
    >>> round(out.data, 6)
    6.909297
"""

from __future__ import annotations

import ast
import math
import numbers
import operator
from dataclasses import dataclass

from . import primitives as P
from .value import Value

MAX_SOURCE_LENGTH = 10_000
MAX_DEPTH = 200

# One-argument functions, named as the Value methods that apply them.
FUNCTIONS = ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sin", "cos")
# Names that are numbers, not variables.
CONSTANTS = {"pi": math.pi, "e": math.e}

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
# op -> (the primitive's float forward, which folds two constants with IEEE
# semantics and never raises, and the operator that builds the node on Values)
_BINARY_OPS = {
    "+": (P.ADD.forward, operator.add),
    "-": (P.SUB.forward, operator.sub),
    "*": (P.MUL.forward, operator.mul),
    "/": (P.DIV.forward, operator.truediv),
    "**": (P.POW.forward, operator.pow),
}
_UNARY = {ast.USub: "neg", ast.UAdd: "pos"}

# What to call a node that is not allowed, for the error message.
_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "starred arguments",
    ast.JoinedStr: "strings",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class ExpressionError(ValueError):
    """An expression that is not in the allowed syntax, or cannot be evaluated."""


def _function_row(name: str, slope: float | None) -> P.Primitive:
    return P.leaky_relu_of(slope) if name == "leaky_relu" else P.PRIMITIVES[name]


def format_number(number: float) -> str:
    """number as expression syntax: 2 for 2.0, else its shortest repr."""
    number = float(number)
    return str(int(number)) if number.is_integer() and abs(number) < 1e16 else repr(number)


@dataclass(frozen=True)
class Expression:
    """A parsed expression: ``variables`` in order of first appearance, ``evaluate(env)``.

    ``program`` is the postfix form: ``("const", c)``, ``("var", name)``,
    ``("binary", op)``, ``("pow", c)`` (a constant exponent), ``("neg",)`` and
    ``("call", function, slope)``.
    """

    source: str
    variables: tuple[str, ...]
    program: tuple[tuple, ...]

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, env: dict) -> Value:
        """The expression's Value, built from the Values (or numbers) in ``env``."""
        missing = [name for name in self.variables if name not in env]
        if missing:
            raise ExpressionError(
                f"no value for {', '.join(missing)}: the expression needs "
                f"{', '.join(self.variables)}"
            )
        leaves = {name: _as_value(name, env[name]) for name in self.variables}
        stack: list[Value] = []
        push, pop = stack.append, stack.pop
        for instruction in self.program:
            kind = instruction[0]
            if kind == "var":
                push(leaves[instruction[1]])
            elif kind == "const":
                push(Value(instruction[1], label=format_number(instruction[1])))
            elif kind == "binary":
                right, left = pop(), pop()
                push(_BINARY_OPS[instruction[1]][1](left, right))
            elif kind == "pow":
                push(pop() ** instruction[1])
            elif kind == "neg":
                push(-pop())
            else:  # call
                _, name, slope = instruction
                argument = pop()
                push(argument.leaky_relu(slope) if name == "leaky_relu" else
                     getattr(argument, name)())
        (result,) = stack
        return result

    def __call__(self, *values) -> Value:
        """The expression applied to Values given in the order of ``variables``."""
        if len(values) != len(self.variables):
            raise ExpressionError(
                f"expected {len(self.variables)} values ({', '.join(self.variables)}), "
                f"got {len(values)}"
            )
        return self.evaluate(dict(zip(self.variables, values, strict=True)))


def _as_value(name: str, given) -> Value:
    if isinstance(given, Value):
        return given
    if isinstance(given, numbers.Real) and not isinstance(given, bool):
        return Value(given, label=name)
    raise ExpressionError(
        f"the value of {name} must be a Value or a number, got {type(given).__name__}"
    )


def _where(node: ast.AST) -> str:
    column = getattr(node, "col_offset", None)
    return f" at column {column + 1}" if column is not None else ""


def _describe(node: ast.AST) -> str:
    """What a disallowed node is, in words, with a hint of its text."""
    kind = _FORBIDDEN.get(type(node))
    if kind == "attribute access":
        return f"attribute access (.{node.attr}) is not allowed{_where(node)}"
    if kind is not None:
        return f"{kind} are not allowed{_where(node)}" if kind.endswith("s") else (
            f"{kind} is not allowed{_where(node)}")
    return f"{type(node).__name__} is not allowed{_where(node)}"


def parse(source: str) -> Expression:
    """The Expression for ``source``; ExpressionError with a one-line reason otherwise."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a str, got {type(source).__name__}")
    text = source.strip()
    if not text:
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; at most {MAX_SOURCE_LENGTH} allowed"
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        column = f" at column {error.offset}" if error.offset else ""
        # the first clause only: the message for a 5000-digit literal goes on and on
        reason = error.msg.split(";")[0].split(" - ")[0]
        detail = "" if reason == "invalid syntax" else f": {reason}"
        raise ExpressionError(f"invalid syntax{column}{detail}") from None
    except ValueError as error:  # e.g. a null byte, on some Python versions
        raise ExpressionError(f"invalid expression: {error}") from None
    except (RecursionError, MemoryError):
        # Python's own parser recurses once per operation of a chain, so a sum of
        # thousands of terms exhausts it as surely as deep nesting does.
        raise ExpressionError(
            f"the expression is too deep for Python's parser: nested more than {MAX_DEPTH} "
            "levels, or a chain of thousands of operations (split a long sum into parts)"
        ) from None
    return _translate(text, tree.body)


def _translate(text: str, root: ast.AST) -> Expression:
    """Checks every node against the whitelist and builds the postfix program.

    Iterative post-order walk: each finished node leaves one fragment on
    ``done``, either a float (a folded constant) or a list of instructions.
    Depth counts nesting as it is written (parentheses, calls, unary signs,
    right operands), not length: the left operand of ``+ - * /`` stays at
    its operation's level, so the 1,000 terms of a flat sum are one level.
    """
    variables: dict[str, None] = {}  # insertion-ordered set
    done: list = []
    todo: list[tuple[ast.AST, int, bool]] = [(root, 1, False)]
    while todo:
        node, depth, children_done = todo.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")
        if not children_done:
            children = _check(node)
            todo.append((node, depth, True))
            # pushed in reverse so that they are finished left to right
            todo.extend(
                (child, depth if _chained(node, child) else depth + 1, False)
                for child in reversed(children)
            )
            if isinstance(node, ast.Name) and node.id not in CONSTANTS:
                variables.setdefault(node.id, None)
            continue
        done.append(_finish(node, done))
    (fragment,) = done
    program = [("const", fragment)] if isinstance(fragment, float) else fragment
    return Expression(text, tuple(variables), tuple(program))


def _chained(node: ast.AST, child: ast.AST) -> bool:
    """Whether child is the left operand of a left-associative ``+ - * /``: a chain's link."""
    return isinstance(node, ast.BinOp) and child is node.left and not isinstance(node.op, ast.Pow)


def _check(node: ast.AST) -> list[ast.AST]:
    """node's children to translate, or ExpressionError if node is not allowed."""
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.BitXor):
            raise ExpressionError(
                f"operator ^ is not allowed{_where(node)}: use ** for powers (x ** 2); "
                "^ is Python's exclusive or"
            )
        if type(node.op) not in _BINARY:
            raise ExpressionError(
                f"operator {type(node.op).__name__} is not allowed{_where(node)}: "
                f"use + - * / **"
            )
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ExpressionError(
                f"unary {type(node.op).__name__} is not allowed{_where(node)}: use - or +"
            )
        return [node.operand]
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(f"{value!r} is not a number{_where(node)}")
        return []
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS or node.id == "leaky_relu":
            raise ExpressionError(f"{node.id} is a function: call it as {node.id}(...)")
        return []
    if isinstance(node, ast.Call):
        return _check_call(node)
    raise ExpressionError(_describe(node))


def _check_call(node: ast.Call) -> list[ast.AST]:
    allowed = ", ".join((*FUNCTIONS, "leaky_relu"))
    if not isinstance(node.func, ast.Name):
        if isinstance(node.func, ast.Attribute):
            raise ExpressionError(_describe(node.func))
        raise ExpressionError(f"only the functions {allowed} can be called{_where(node)}")
    name = node.func.id
    if name not in FUNCTIONS and name != "leaky_relu":
        raise ExpressionError(f"unknown function {name}(){_where(node)}: allowed are {allowed}")
    if node.keywords:
        raise ExpressionError(f"{name}() takes no keyword arguments{_where(node)}")
    arity = (1, 2) if name == "leaky_relu" else (1,)
    if len(node.args) not in arity:
        expected = "1 or 2 arguments" if name == "leaky_relu" else "1 argument"
        raise ExpressionError(f"{name}() takes {expected}, got {len(node.args)}{_where(node)}")
    return list(node.args)


def _finish(node: ast.AST, done: list):
    """The fragment of a node whose children's fragments are the last items of ``done``."""
    if isinstance(node, ast.Constant):
        try:
            number = float(node.value)
        except OverflowError:
            raise ExpressionError(f"the number at column {node.col_offset + 1} is too large") \
                from None
        return _finite(number, node)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        return [("var", node.id)]
    if isinstance(node, ast.UnaryOp):
        operand = done.pop()
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(operand, float):
            return -operand
        operand.append(("neg",))
        return operand
    if isinstance(node, ast.BinOp):
        right, left = done.pop(), done.pop()
        op = _BINARY[type(node.op)]
        if isinstance(left, float) and isinstance(right, float):
            return _finite(_BINARY_OPS[op][0](left, right), node)
        if op == "**" and isinstance(right, float):
            left.append(("pow", right))  # x ** 2: the engine's '**2' row
            return left
        program = [("const", left)] if isinstance(left, float) else left
        program.extend([("const", right)] if isinstance(right, float) else right)
        program.append(("binary", op))
        return program
    # a call, checked by _check_call
    name = node.func.id
    arguments = [done.pop() for _ in node.args][::-1]
    slope = None
    if name == "leaky_relu":
        slope = P.LEAKY_RELU_SLOPE
        if len(arguments) == 2:
            slope = arguments.pop()
            if not isinstance(slope, float):
                raise ExpressionError(
                    f"the slope of leaky_relu must be a number, not an expression of "
                    f"variables{_where(node.args[1])}"
                )
    (argument,) = arguments
    if isinstance(argument, float):
        return _finite(_function_row(name, slope).forward(argument), node)
    argument.append(("call", name, slope))
    return argument


def _finite(number: float, node: ast.AST) -> float:
    """A folded constant, or ExpressionError when it is inf or nan (9 ** 9 ** 9, 1 / 0)."""
    if not math.isfinite(number):
        text = ast.unparse(node) if _small(node) else "a constant sub-expression"
        raise ExpressionError(
            f"{text}{_where(node)} evaluates to {number}: constants must be finite numbers"
        )
    return number


def _small(node: ast.AST) -> bool:
    return sum(1 for _ in ast.walk(node)) <= 20
