"""``python -m autograd``: the chain rule on a 2-2-1 sigmoid network, by engine and by hand.

x = (0.5, 0.1), target 0.6, weights w11=0.4 w12=0.3 w21=0.6 w22=0.9 w31=0.5
w32=0.7, biases 0.1 0.2 0.3, squared error, learning rate 0.1.
It takes no arguments but ``--help``.
"""

import argparse
import sys

from autograd import Value


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(
        prog="python -m autograd",
        description="The chain rule on a 2-2-1 sigmoid network: the forward pass, then each "
        "parameter's gradient from the engine's backward() beside the same gradient written "
        "out by hand, and the parameter after one step of gradient descent (lr 0.1).",
        epilog="The library: from autograd import Value (README, Quickstart).",
    ).parse_args(sys.argv[1:] if argv is None else argv)
    x1, x2, target, lr = 0.5, 0.1, 0.6, 0.1
    w = {name: Value(v, label=name) for name, v in
         dict(w11=0.4, w12=0.3, w21=0.6, w22=0.9, w31=0.5, w32=0.7).items()}
    b1, b2, b3 = (Value(v, label=f"b{i}") for i, v in enumerate((0.1, 0.2, 0.3), 1))

    h1 = (w["w11"] * x1 + w["w12"] * x2 + b1).sigmoid()
    h2 = (w["w21"] * x1 + w["w22"] * x2 + b2).sigmoid()
    y = (w["w31"] * h1 + w["w32"] * h2 + b3).sigmoid()
    loss = (y - target) ** 2
    loss.backward()

    # The same gradients, the chain rule written out by hand.
    dy = 2 * (y.data - target) * y.data * (1 - y.data)
    dh1 = dy * w["w31"].data * h1.data * (1 - h1.data)
    dh2 = dy * w["w32"].data * h2.data * (1 - h2.data)
    by_hand = dict(w11=dh1 * x1, w12=dh1 * x2, w21=dh2 * x1, w22=dh2 * x2,
                   w31=dy * h1.data, w32=dy * h2.data, b1=dh1, b2=dh2, b3=dy)

    print(f"forward: h1={h1.data:.6f} h2={h2.data:.6f} y={y.data:.6f} loss={loss.data:.6f}")
    print(f"{'param':>6} {'value':>8} {'engine grad':>14} {'by hand':>14} {'updated':>10}")
    for p in [*w.values(), b1, b2, b3]:
        print(f"{p.label:>6} {p.data:8.4f} {p.grad:14.10f} {by_hand[p.label]:14.10f} "
              f"{p.data - lr * p.grad:10.6f}")


if __name__ == "__main__":
    main()
