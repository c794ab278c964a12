"""``torch.backends.mha``: the fast path switch of nn.MultiheadAttention (disttorch has one path)."""

_fastpath = [True]


def get_fastpath_enabled() -> bool:
    return _fastpath[0]


def set_fastpath_enabled(value: bool) -> None:
    _fastpath[0] = bool(value)
