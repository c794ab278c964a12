"""mlp_small: 784-128-128-10 ReLU MLP, batch 16: the same step as mlp (the layer sizes come from the state)."""
from numpy_steps.mlp import Step

__all__ = ["Step"]
