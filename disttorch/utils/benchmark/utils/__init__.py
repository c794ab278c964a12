"""The pieces of ``torch.utils.benchmark`` at PyTorch's module paths (``utils.common``, ``utils.timer``,
``utils.compare``)."""
