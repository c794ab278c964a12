"""cnn: conv3x3 pad 1 1->32, ReLU, maxpool 2, conv3x3 pad 1 32->64, ReLU, maxpool 2, flatten 64*7*7,
Linear 3136->128, ReLU, Linear 128->10; cross-entropy, SGD lr 0.01 momentum 0.9, in float32 numpy."""
from numpy_steps._convnet import ConvNetStep


class Step(ConvNetStep):
    LAYERS = (("conv", "0", 1), ("relu",), ("pool",), ("conv", "3", 1), ("relu",), ("pool",), ("flatten",),
              ("linear", "7"), ("relu",), ("linear", "9"))
