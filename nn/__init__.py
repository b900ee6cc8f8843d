"""nn: neural networks built on autograd Values (modules, losses, optimizers, data, training)."""
