"""Notebook 07: Convolution on handwritten digits (its cells, read by notebooks/build.py)."""

from build import code, md

CELLS = [
    md("""
# 7. Convolution on handwritten digits

A convolution slides one small filter over an image. Every output pixel is
the dot product of the filter with the patch of the image under it, plus a
bias, and the *same* filter weights are used at every position. That sharing
is the whole idea, and it has a consequence for backpropagation you can see:
a shared weight's gradient is the **sum** of the gradients it gets at every
position it was used at.

In chainrule, `nn.Conv2d(in_channels, out_channels, kernel_size, stride=1,
padding=0)` follows `torch.nn.Conv2d`, and each output pixel is one
`autograd.dot` node over its patch plus one `+` for the bias. Images are
nested lists `[channel][row][column]` (or numpy arrays of that shape).

## A 2x2 filter on a 3x3 image
"""),
    code("""
import autograd
import nn
import viz
from autograd import Value

conv = nn.Conv2d(1, 1, kernel_size=2, seed=0)
for (i, j), w in zip([(0, 0), (0, 1), (1, 0), (1, 1)], [0.5, -1.0, 0.25, 2.0]):
    conv.weight[0][0][i][j].data = w          # a filter we can follow by hand
conv.bias[0].data = 0.1
image = [[[1.0, 2.0, 3.0],
          [4.0, 5.0, 6.0],
          [7.0, 8.0, 9.0]]]
out = conv(image)                              # [channel][row][column]: 1 x 2 x 2
for row in out[0]:
    print([round(v.data, 3) for v in row])
print("top-left by hand:", 0.5 * 1 - 1.0 * 2 + 0.25 * 4 + 2.0 * 5 + 0.1)
"""),
    md("""
The filter visits four positions, so the 2x2 output has four pixels. Take
the loss to be the sum of the outputs. The weight `w[0,0]` (top-left tap)
met the pixels 1, 2, 4 and 5 at the four positions, so backward must give it
1 + 2 + 4 + 5 = 12: one contribution per position, added up.
"""),
    code("""
loss = autograd.sum([v for row in out[0] for v in row])
loss.label = "loss"
loss.backward()
for i in range(2):
    for j in range(2):
        met = [image[0][i + r][j + c] for r in range(2) for c in range(2)]
        w = conv.weight[0][0][i][j]
        print(f"w[{i},{j}]: grad {w.grad:5.1f} = sum of the pixels it met {met}")
print("bias: grad", conv.bias[0].grad, "(one per position)")
"""),
    md("""
In the graph, the shared weight is one node with an edge into each of the
four dot products: the four arrows are the four terms of its gradient.
`names=conv` labels the parameters with their PyTorch names (`weight.0.0.0.0`
is `weight[0, 0, 0, 0]`).
"""),
    code("""
viz.draw_dot(loss, names=conv, rankdir="LR")
"""),
    md("""
Step through backward and watch the weights' gradients fill in: each dot
product adds its share into every weight it read, and the panel shows the
running sum.
"""),
    code("""
conv.zero_grad()
viz.step_through(loss, names=conv)
"""),
    md("""
## The digits

`nn.data.digits(images=True)` gives scikit-learn's bundled copy of the 1,797
UCI handwritten digits as 8x8 one-channel images, shape (1797, 1, 8, 8),
pixels from 0 to 16 (no download).
"""),
    code("""
X, y = nn.data.digits(images=True)
print(X.shape, y.shape, X.min(), X.max())
viz.plot_images(X, y, limit=20)
"""),
    md("""
## A small convolutional network

Four 3x3 filters (padding 1 keeps the 8x8 size), relu, 2x2 max pooling
down to 4x4, then a linear layer from the 4 x 4 x 4 = 64 features to the
10 classes. Max pooling is one `autograd.max` node per window, the `max` row
of the primitive table: its gradient goes to the window's first maximum, as
in PyTorch.

To keep this notebook quick it trains for a few epochs on 400 images. The
README's numbers (at least 95% on the held-out quarter for the same design
with 8 filters, trained on the whole training split) come from
`benchmarks/layers.py`.
"""),
    code("""
import time

X_train, X_test, y_train, y_test = nn.data.train_test_split(X / 16.0, y, test_size=0.25, seed=0)
model = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Layer(4 * 4 * 4, 10, activation="linear", init="xavier", seed=0),
)
print(model)
started = time.perf_counter()
history = nn.fit(model, X_train[:400], y_train[:400], loss="cross_entropy", optimizer="adam",
                 lr=0.01, epochs=4, batch_size=32, progress=False, seed=0)
print(f"{time.perf_counter() - started:.1f} s;", history)
print("held-out accuracy:", nn.evaluate(model, X_test, y_test, loss="cross_entropy")["accuracy"])
"""),
    md("""
The learned filters (blue positive, red negative) and what each layer makes
of one image:
"""),
    code("""
viz.plot_filters(model)
"""),
    code("""
viz.plot_feature_maps(model, X_test[0])
"""),
    md("""
Which test digits does it get wrong? Titles read *label → prediction*; a
red title is a mistake.
"""),
    code("""
import numpy as np

with autograd.no_grad():
    scores = [[v.data for v in model(image)] for image in X_test[:30]]
viz.plot_images(X_test[:30], y_test[:30], predictions=np.argmax(scores, axis=1), limit=30)
"""),
    md("""
## The whole network's graph, one box per layer

One image through this network makes over a thousand nodes, too many to
draw one by one. `cluster="collapse"` draws each module as one box: with
`depth=1` one box per layer (`Flatten` only reshapes, so it has no box of
its own), and with `depth=2` one box per filter inside the convolution.
"""),
    code("""
loss = nn.cross_entropy(model(X_test[0]), int(y_test[0]))
model.zero_grad()
loss.backward()
print(len(autograd.topological_order(loss)), "nodes")
viz.draw_dot(loss, cluster="collapse", depth=1, names=model)
"""),
    code("""
viz.draw_dot(loss, cluster="collapse", depth=2, names=model)
"""),
]
