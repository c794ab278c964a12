"""``torch.func.rearrange``: einops' reader-friendly reshape / transpose / stack, e.g.
``rearrange(x, "b (h w) c -> b c h w", h=4)``. A pattern names the axes on each side; parentheses group axes
into one dimension, ``...`` stands for the dimensions not named, ``()`` or ``1`` is a dimension of size 1.
Done with one reshape, one permute and one reshape, so views are kept where possible and gradients flow."""
from __future__ import annotations

import math
import re
from typing import Any

from ._tensor import Tensor

__all__ = ["rearrange"]

_TOKEN = re.compile(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+|\S")


def _parse(side: str) -> list:
    """Items of one side: per dimension, the list of its axis names (empty: a unit dimension), or the string
    '...' for the dimensions an unparenthesized ellipsis stands for."""
    items: list = []
    group: list | None = None
    for tok in _TOKEN.findall(side):
        if tok == "(":
            if group is not None:
                raise ValueError(f"Invalid axis grouping in '{side}': nested parentheses")
            group = []
        elif tok == ")":
            if group is None:
                raise ValueError(f"Invalid axis grouping in '{side}': unmatched ')'")
            items.append(group)
            group = None
        elif tok.isdigit():
            if tok != "1":
                raise ValueError("Non-unitary anonymous axes are not supported in rearrange (exception is length 1)")
            if group is None:  # a unit dimension (inside a group, a factor of 1: nothing)
                items.append([])
        elif tok == "..." or tok.isidentifier():
            if group is not None:
                group.append(tok)
            else:
                items.append(tok if tok == "..." else [tok])
        else:
            raise ValueError(f"Invalid character {tok!r} in the rearrange pattern")
    if group is not None:
        raise ValueError(f"Invalid axis grouping in '{side}': unmatched '('")
    return items


def rearrange(tensor: Any, pattern: str, **axes_lengths: int) -> Tensor:
    """Reorder, merge and split dimensions as ``pattern`` ("left -> right") says."""
    if isinstance(tensor, (list, tuple)):
        from ._ops.shape import stack

        tensor = stack(list(tensor))
    if "->" not in pattern:
        raise ValueError(f"Pattern must contain '->': {pattern!r}")
    left_s, right_s = pattern.split("->")
    left, right = _parse(left_s), _parse(right_s)
    names_l = [a for g in left for a in ([g] if g == "..." else g)]
    names_r = [a for g in right for a in ([g] if g == "..." else g)]
    for names, side in ((names_l, "left"), (names_r, "right")):
        dup = {a for a in names if names.count(a) > 1 and a != "..."}
        if dup or names.count("...") > 1:
            raise ValueError(f"Indexing expression contains duplicate dimension on the {side} side: {pattern!r}")
    if set(names_l) != set(names_r):
        diff = set(names_l) ^ set(names_r)
        raise ValueError(f"Identifiers only on one side of expression (should be on both): {sorted(diff)}")
    ndim = tensor.dim()
    ell = [i for i, g in enumerate(left) if g == "..."]
    if any(g != "..." and "..." in g for g in left):
        raise ValueError("Ellipsis inside parenthesis in the left side is not allowed")
    n_ell = ndim - (len(left) - len(ell))
    if (ell and n_ell < 0) or (not ell and len(left) != ndim):
        raise ValueError(f"Wrong shape: expected {len(left)} dims. Received {ndim}-dim tensor.")
    sizes: dict = {}
    elementary: list = []  # axis names (ellipsis dims as '...0', '...1', ...) in input order
    dim = 0
    for g in left:
        if g == "...":
            for k in range(n_ell):
                sizes[f"...{k}"] = tensor.shape[dim]
                elementary.append(f"...{k}")
                dim += 1
            continue
        length = tensor.shape[dim]
        known = [axes_lengths[a] for a in g if a in axes_lengths]
        unknown = [a for a in g if a not in axes_lengths]
        if len(unknown) > 1:
            raise ValueError(f"Could not infer sizes for {unknown}")
        prod = math.prod(known)
        if unknown:
            if prod == 0 or length % prod:
                raise ValueError(f"Shape mismatch, can't divide axis of length {length} in chunks of {prod}")
            sizes[unknown[0]] = length // prod
        elif prod != length:
            raise ValueError(f"Shape mismatch, {prod} != {length}")
        for a in g:
            sizes.setdefault(a, axes_lengths.get(a))
            elementary.append(a)
        dim += 1
    x = tensor.reshape([sizes[a] for a in elementary])
    order: list = []
    shape: list = []
    dots = [f"...{k}" for k in range(n_ell)]
    for g in right:
        axes = dots if g == "..." else [a for b in g for a in (dots if b == "..." else [b])]
        order += axes
        if g == "...":
            shape += [sizes[a] for a in axes]
        else:
            shape.append(math.prod(sizes[a] for a in axes))
    x = x.permute([elementary.index(a) for a in order]) if order != elementary else x
    return x.reshape(shape)
