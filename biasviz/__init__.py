"""biasviz: see and feel what weights and biases do inside a neural network."""

__version__ = "0.1.0"
