"""The first thing to run: a tensor through a linear layer, printed the way PyTorch prints it."""
import disttorch as torch
from disttorch import nn

torch.manual_seed(0)  # the same weights, so the same output, on every run

x = torch.tensor([1.0, 2.0, 3.0])
layer = nn.Linear(3, 1)
y = layer(x)
print(y)
