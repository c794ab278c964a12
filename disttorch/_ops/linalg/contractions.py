"""einsum and tensordot (one Einsum op whose gradients are einsums again), and the other products of two
tensors: kron, cross; and trace."""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np

from disttorch._autocast import autocast_op
from disttorch._tensor import Tensor
from disttorch.autograd.graph import Op
from disttorch.backends import array_module, opt_einsum

from .._register import methods, write_out
from .._util import sum_to, wrap_dim
from ..unary import conj
from ._common import _BOOL, _broadcast_shapes, _const, _reshape, _sname

__all__ = ["einsum", "tensordot", "kron", "cross", "trace"]

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_OPTIMIZE_WORK = 1 << 14  # below this many multiply-adds the path search costs more than it saves


class Einsum(Op):
    """A contraction given by explicit subscripts (``terms`` per operand, ``out``), no ellipsis.

    The gradient of each operand is again an einsum: the output gradient contracted with the other
    operands. A subscript repeated within an operand (a diagonal) becomes an identity matrix
    operand in the gradient; a subscript summed only within that operand becomes a ones vector."""

    save_inputs = True

    def forward(self, *arrays: Any) -> Any:
        xp = array_module(arrays[0])
        eq = ",".join(self.terms) + "->" + self.out
        res = xp.einsum(eq, *arrays, optimize=self.optimize)
        if len(arrays) == 1 and getattr(res, "base", None) is not None:
            res = res.copy()  # a single-operand einsum can be a view of its input
        return res

    def backward(self, grad: Tensor) -> tuple:
        inputs = self.saved_inputs
        return tuple(_einsum_grad(self, i, grad, inputs) if edge is not None else None
                     for i, edge in enumerate(self.next_edges))

    def name(self) -> str:
        label = self.__dict__.get("label")
        if label is not None:
            return label
        # the node PyTorch's einsum ends with: a sum or permute of one operand, a product when nothing is summed,
        # else the view after its batched matrix product
        summed = set("".join(self.terms)) - set(self.out) - {"."}
        if len(self.terms) == 1:
            return "SumBackward1" if summed else "PermuteBackward0"
        return "ViewBackward0" if summed else "MulBackward0"


def _einsum_grad(node: Einsum, i: int, grad: Tensor, inputs: tuple) -> Tensor:
    terms, x = node.terms, inputs[i]
    ops = [grad] + [conj(t) for j, t in enumerate(inputs) if j != i]
    subs = [node.out] + [s for j, s in enumerate(terms) if j != i]
    seen: dict[str, int] = {}
    for s, t in zip(subs, ops):
        for letter, n in zip(s, t._data.shape):
            seen[letter] = max(seen.get(letter, 1), n)
    used = set("".join(terms) + node.out)
    fresh = (c for c in _LETTERS if c not in used)
    xp = grad._xp
    target = []
    for letter, n in zip(terms[i], x._data.shape):
        if letter in target:  # repeated subscript: spread the gradient onto the diagonal
            f = next(fresh)
            ops.append(_const(xp.eye(n, dtype=grad._data.dtype)))
            subs.append(letter + f)
            target.append(f)
            continue
        if seen.get(letter, 0) < n or letter not in seen:  # summed only here: broadcast back
            ops.append(_const(xp.ones(n, dtype=grad._data.dtype)))
            subs.append(letter)
            seen[letter] = n
        target.append(letter)
    out = "".join(target)
    res = Einsum.apply(*ops, terms=subs, out=out, optimize=_einsum_optimize(subs, ops))
    return sum_to(res, x._data.shape) if res._data.shape != x._data.shape else res


def _einsum_optimize(terms: Sequence[str], ops: Sequence[Tensor]) -> bool:
    if len(ops) > 2:
        return True
    sizes: dict[str, int] = {}
    for s, t in zip(terms, ops):
        for letter, n in zip(s, t._data.shape):
            sizes[letter] = max(sizes.get(letter, 1), n)
    return math.prod(sizes.values()) >= _OPTIMIZE_WORK


def _parse_term(term: str, start: int, op_index: int | None) -> tuple[list[str], bool]:
    """Subscript letters of one term ('.' marks the ellipsis as '...')."""
    letters: list[str] = []
    ellipsis = False
    k = 0
    while k < len(term):
        c = term[k]
        if c == ".":
            who = f"for operand {op_index}" if op_index is not None else "in the output"
            if ellipsis:
                raise RuntimeError(f"einsum(): found '.' {who} for which an ellipsis was already found")
            if term[k:k + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' {who} that is not part of any ellipsis")
            ellipsis = True
            letters.append("...")
            k += 3
            continue
        if not ("a" <= c <= "z" or "A" <= c <= "Z"):
            raise RuntimeError(f"einsum(): invalid subscript given at index {start + k} in the equation string, "
                               "subscripts must be in [a-zA-Z]")
        letters.append(c)
        k += 1
    return letters, ellipsis


def _sublist_equation(args: Sequence[Any]) -> tuple[str, list]:
    """einsum(op0, sublist0, op1, sublist1, ..., [sublist_out]) as an equation string."""
    def term(sub: Any) -> str:
        return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sub)
    ops = list(args[0::2])
    subs = list(args[1::2])
    if len(ops) > len(subs):  # a trailing output sublist
        eq = ",".join(term(s) for s in subs) + "->" + term(ops.pop())
    else:
        eq = ",".join(term(s) for s in subs)
    return eq, ops


def einsum(equation: Any, *operands: Any) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``, with '...' and implicit outputs."""
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    eq = equation.replace(" ", "")
    arrow = eq.find("->")
    lhs = eq if arrow < 0 else eq[:arrow]
    raw_terms = lhs.split(",")
    if len(raw_terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(raw_terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    parsed = []
    start = 0
    for i, (term, t) in enumerate(zip(raw_terms, operands)):
        letters, ell = _parse_term(term, start, i)
        start += len(term) + 1
        nd = t._data.ndim
        n_sub = len(letters) - ell
        if not ell and n_sub != nd:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n_sub}) does not match the "
                               f"number of dimensions ({nd}) for operand {i} and no ellipsis was given")
        if ell and n_sub > nd:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n_sub}) is more than the "
                               f"number of dimensions ({nd}) for operand {i}")
        parsed.append((letters, ell))
    # ellipsis dimensions get letters not used anywhere in the equation, right-aligned
    used = set(c for c in eq if c.isalpha())
    free = [c for c in _LETTERS if c not in used]
    ell_nd = max((t._data.ndim - (len(p[0]) - 1) for p, t in zip(parsed, operands) if p[1]), default=0)
    ell_letters = free[:ell_nd]
    terms = []
    ell_sizes = [1] * ell_nd
    for i, ((letters, ell), t) in enumerate(zip(parsed, operands)):
        if ell:
            k = t._data.ndim - (len(letters) - 1)
            pos = letters.index("...")
            mine = ell_letters[ell_nd - k:]
            for j in range(len(mine)):
                n = t._data.shape[pos + j]
                slot = ell_nd - k + j
                if n != 1 and ell_sizes[slot] != 1 and n != ell_sizes[slot]:
                    raise RuntimeError(f"einsum(): dimension {j} covered by ellipsis in operand {i}has size {n} "
                                       f"which does not broadcast with previously seen ellipsis with size "
                                       f"{ell_sizes[slot]} for the respective dimension")
                if n != 1:
                    ell_sizes[slot] = n
            letters = letters[:pos] + mine + letters[pos + 1:]
        terms.append("".join(letters))
    sizes: dict[str, int] = {}
    for i, (term, t) in enumerate(zip(terms, operands)):
        mine: dict[str, int] = {}
        for letter, n in zip(term, t._data.shape):
            if letter in mine and mine[letter] != n:
                raise RuntimeError(f"einsum(): subscript {letter} is repeated for operand {i} but the sizes don't "
                                   f"match, {n} != {mine[letter]}")
            mine[letter] = n
            old = sizes.get(letter)
            if old is not None and old != n and old != 1 and n != 1:
                raise RuntimeError(f"einsum(): subscript {letter} has size {n} for operand {i} which does not "
                                   f"broadcast with previously seen size {old}")
            if old is None or old == 1:
                sizes[letter] = n
    if arrow < 0:
        counts: dict[str, int] = {}
        for term in terms:
            for letter in term:
                counts[letter] = counts.get(letter, 0) + 1
        singles = sorted(c for c, k in counts.items() if k == 1 and c not in ell_letters)
        out = "".join(ell_letters) + "".join(singles)
    else:
        letters, ell = _parse_term(eq[arrow + 2:], arrow + 2, None)
        for letter in letters:
            if letter != "..." and letter not in sizes:
                raise RuntimeError(f"einsum(): output subscript {letter} does not appear in the equation for any "
                                   "input operand")
            if letter != "..." and letters.count(letter) > 1:
                raise RuntimeError(f"einsum(): output subscript {letter} appears more than once in the output")
        out = "".join("".join(ell_letters) if c == "..." else c for c in letters)
    first = operands[0]
    for t in operands[1:]:
        if t._data.dtype != first._data.dtype:
            raise RuntimeError(f"expected scalar type {_sname(first)} but found {_sname(t)}")
    work = math.prod(sizes.values())
    return Einsum.apply(*operands, terms=terms, out=out, optimize=_path_search(len(operands) > 2 or
                                                                              work >= _OPTIMIZE_WORK))


def _path_search(worth_it: bool) -> Any:
    """numpy's ``optimize=`` for a user's einsum, as ``torch.backends.opt_einsum`` asks: off when disabled
    (contract left to right), else the strategy ("auto" and "greedy": greedy, "optimal": optimal)."""
    if not worth_it or not opt_einsum.enabled:
        return False
    return "optimal" if opt_einsum.strategy == "optimal" else "greedy"


@autocast_op("tensordot")
def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Tensor | None = None) -> Tensor:
    """Contract ``dims`` of ``a`` with ``dims`` of ``b`` (an int: the last/first dims; or two lists)."""
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, Tensor):
        dims = dims.item() if dims._data.ndim == 0 else dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > na or dims > nb:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = dims
        for k, d in enumerate((da, db)):
            if isinstance(d, int):
                raise TypeError(f"tensordot(): argument '{('dims_self', 'dims_other')[k]}' (position {3 + k}) must "
                                "be tuple of ints, not int")
        da, db = list(da), list(db)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
        da = [wrap_dim(d, na) for d in da]
        db = [wrap_dim(d, nb) for d in db]
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    ta = list(_LETTERS[:na])
    tb = list(_LETTERS[na:na + nb])
    for x, y in zip(da, db):
        sx, sy = a._data.shape[x], b._data.shape[y]
        if sx != sy:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sx} in dim {x} and "
                               f"second has size {sy} in dim {y}")
        tb[y] = ta[x]
    out_terms = [c for k, c in enumerate(ta) if k not in da] + [c for k, c in enumerate(tb) if k not in db]
    work = math.prod(a._data.shape) * math.prod(s for k, s in enumerate(b._data.shape) if k not in db)
    result = Einsum.apply(a, b, terms=["".join(ta), "".join(tb)], out="".join(out_terms),
                          optimize=work >= _OPTIMIZE_WORK, label="ViewBackward0")
    return write_out(result, out)


def kron(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    nd = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (nd - input._data.ndim) + input._data.shape
    sb = (1,) * (nd - other._data.ndim) + other._data.shape
    a = _reshape(input, [v for s in sa for v in (s, 1)])
    b = _reshape(other, [v for s in sb for v in (1, s)])
    result = _reshape(a * b, [x * y for x, y in zip(sa, sb)])
    return write_out(result, out)


class Cross(Op):
    save_inputs = True

    def forward(self, a: Any, b: Any) -> Any:
        return array_module(a).cross(a, b, axis=self.dim)

    def backward(self, grad: Tensor) -> tuple:
        a, b = self.saved_inputs
        na, nb = self.next_edges
        ga = sum_to(Cross.apply(b, grad, dim=self.dim), a._data.shape) if na is not None else None
        gb = sum_to(Cross.apply(grad, a, dim=self.dim), b._data.shape) if nb is not None else None
        return ga, gb

    def name(self) -> str:
        return "LinalgCrossBackward0"


def _cross(input: Tensor, other: Tensor, dim: int) -> Tensor:
    if input._data.ndim != other._data.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = wrap_dim(dim, input._data.ndim)
    sa, sb = input._data.shape[d], other._data.shape[d]
    if sa != 3 or sb != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {sa} and {sb}")
    _broadcast_shapes(input._data.shape, other._data.shape)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"expected scalar type {_sname(input)} but found {_sname(other)}")
    return Cross.apply(input, other, dim=d)


@autocast_op("cross")
def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out: Tensor | None = None) -> Tensor:
    """torch.cross: without ``dim``, the first dimension of size 3."""
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        try:
            shape = _broadcast_shapes(input._data.shape, other._data.shape)
        except RuntimeError:
            shape = input._data.shape
        dim = next((k for k, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    result = _cross(input, other, dim)
    return write_out(result, out)


class Trace(Op):
    def forward(self, x: Any) -> Any:
        self.in_shape = x.shape
        r = array_module(x).trace(x)
        return r.astype(np.int64) if x.dtype.kind in "iub" else r

    def backward(self, grad: Tensor) -> Tensor:
        n, m = self.in_shape
        return grad * _const(grad._xp.eye(n, m, dtype=grad._data.dtype))


@autocast_op("trace")
def trace(input: Tensor) -> Tensor:
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    if input._data.dtype == _BOOL:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return Trace.apply(input)


methods({"kron": kron, "cross": cross, "trace": trace})
