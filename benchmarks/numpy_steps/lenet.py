"""lenet: conv5x5 1->6, ReLU, maxpool 2, conv5x5 6->16, ReLU, maxpool 2, Linear 256->120->84->10 with ReLUs;
cross-entropy, SGD lr 0.01 momentum 0.9, in float32 numpy."""
from numpy_steps._convnet import ConvNetStep


class Step(ConvNetStep):
    LAYERS = (("conv", "0", 0), ("relu",), ("pool",), ("conv", "3", 0), ("relu",), ("pool",), ("flatten",),
              ("linear", "7"), ("relu",), ("linear", "9"), ("relu",), ("linear", "11"))
