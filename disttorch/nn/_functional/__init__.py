"""The implementation of torch.nn.functional, one file per family."""
