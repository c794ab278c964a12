"""``torch.func``: function transforms over disttorch's autograd.

- ``vmap`` runs the function once per slice of the mapped dims and stacks the results (a loop, not a
  batching rule per op: same values as PyTorch's, at the cost of one call per slice).
- ``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``: reverse-mode autograd
  (``jvp`` and ``jacfwd`` give the same numbers as PyTorch's forward mode, computed by reverse passes). They
  nest: ``grad(grad(f))`` differentiates through the inner gradient.
- ``functional_call`` runs a module with other parameters and buffers; ``stack_module_state`` stacks the
  states of several identical modules (for ``vmap`` over models).

Arguments and results may be nested tuples, lists and dicts of tensors (pytrees).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from ._rearrange import rearrange
from ._tensor import Tensor
from .autograd import grad as _autograd_grad
from .autograd.grad_mode import enable_grad

__all__ = ["vmap", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "functional_call",
           "stack_module_state", "linearize", "functionalize", "debug_unwrap", "replace_all_batch_norm_modules_",
           "rearrange"]


# -- pytrees ----------------------------------------------------------------------------------------------
def _flatten(tree: Any) -> tuple[list, Callable[[list], Any]]:
    """The leaves of a nested tuple/list/dict, and a function rebuilding the tree from new leaves."""
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(t) for t in tree]
        kind = type(tree)

        def rebuild(leaves: list) -> Any:
            out, i = [], 0
            for (sub, build) in parts:
                out.append(build(leaves[i:i + len(sub)]))
                i += len(sub)
            return kind(out) if kind in (tuple, list) else kind(*out)  # namedtuples

        return [leaf for sub, _ in parts for leaf in sub], rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        flat, build = _flatten([tree[k] for k in keys])
        return flat, lambda leaves: dict(zip(keys, build(leaves)))
    return [tree], lambda leaves: leaves[0]


# -- vmap -------------------------------------------------------------------------------------------------
def _dims_per_leaf(in_dims: Any, args: tuple) -> list:
    """``in_dims`` (an int, None, or a tree matching ``args``) as one entry per leaf of ``args``."""
    if in_dims is None or isinstance(in_dims, int):
        return [in_dims] * len(_flatten(args)[0])
    if not isinstance(in_dims, (tuple, list)) or len(in_dims) != len(args):
        raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the structure "
                         f"of `inputs`. in_dims has structure {type(in_dims).__name__} of length "
                         f"{len(in_dims) if isinstance(in_dims, (tuple, list)) else 1} but inputs has {len(args)} "
                         "positional arguments.")
    dims = []
    for d, a in zip(in_dims, args):
        leaves = _flatten(a)[0]
        if d is None or isinstance(d, int):
            dims.extend([d] * len(leaves))
        else:
            sub = _flatten(d)[0]
            if len(sub) != len(leaves):
                raise ValueError("vmap: in_dims is not compatible with the structure of `inputs`")
            dims.extend(sub)
    return dims


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """``func`` mapped over dim ``in_dims`` of its inputs; results stacked along ``out_dims``."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got "
                           f"{randomness}")

    def mapped(*args: Any, **kwargs: Any) -> Any:
        leaves, rebuild = _flatten(args)
        dims = _dims_per_leaf(in_dims, args)
        sizes = set()
        for leaf, d in zip(leaves, dims):
            if d is None:
                continue
            if not isinstance(leaf, Tensor):
                raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input but the "
                                 f"input is of type {type(leaf)}. We cannot vmap over non-Tensor arguments, please "
                                 "use None as the respective in_dim")
            if not -leaf.ndim <= d < max(leaf.ndim, 1) or leaf.ndim == 0:
                raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some input, but that "
                                 f"input is a Tensor of dimensionality {leaf.ndim} so expected in_dim to satisfy "
                                 f"-{leaf.ndim} <= in_dim < {leaf.ndim}.")
            sizes.add(leaf.shape[d])
        if not sizes:
            raise ValueError(f"vmap(f, in_dims={in_dims}, ...)(<inputs>): at least one input must be a Tensor "
                             "mapped over a dim (in_dims all None)")
        if len(sizes) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                             f"{sorted(sizes)} for the mapped dimension")
        (n,) = sizes
        results = []
        for i in range(n):
            sliced = [leaf.select(d, i) if d is not None else leaf for leaf, d in zip(leaves, dims)]
            results.append(func(*rebuild(sliced), **kwargs))
        return _stack_results(results, out_dims)

    return mapped


def _stack_results(results: list, out_dims: Any) -> Any:
    from ._ops.shape import stack

    flat0, rebuild = _flatten(results[0])
    columns = [_flatten(r)[0] for r in results]
    outs = out_dims if isinstance(out_dims, (tuple, list)) else [out_dims] * len(flat0)
    if len(outs) != len(flat0):
        raise ValueError(f"vmap: out_dims={out_dims} is not compatible with the {len(flat0)} outputs of the function")
    stacked = []
    for j, d in enumerate(outs):
        col = [c[j] for c in columns]
        if not isinstance(col[0], Tensor):
            raise ValueError(f"vmap: `{getattr(results, '__name__', 'func')}` must only return Tensors, got type "
                             f"{type(col[0])}. Did you mean to set out_dims= to None for output?")
        if d is None:
            stacked.append(col[0])
        else:
            stacked.append(stack(col, dim=d if d >= 0 else d + col[0].ndim + 1))
    return rebuild(stacked)


# -- reverse mode -----------------------------------------------------------------------------------------
def _track(leaves: list) -> tuple[list, bool]:
    """Differentiable stand-ins of ``leaves``: views of tensors already on a graph (so an outer transform sees
    through), fresh leaves otherwise; and whether any was already on a graph (then keep building one)."""
    outer = any(isinstance(t, Tensor) and t.requires_grad for t in leaves)
    tracked = []
    for t in leaves:
        if not isinstance(t, Tensor):
            raise RuntimeError(f"grad: expected the differentiated arguments to be Tensors, got {type(t)}")
        if not (t.is_floating_point() or t.is_complex()):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        tracked.append(t.view_as(t) if t.requires_grad else t.detach().requires_grad_(True))
    return tracked, outer


def _grads_of(output: Tensor, inputs: list, cotangent: Any, keep_graph: bool) -> list:
    from ._ops.creation import zeros_like

    got = _autograd_grad([output], inputs, [cotangent] if cotangent is not None else None,
                         create_graph=keep_graph, retain_graph=True, allow_unused=True)
    return [g if g is not None else zeros_like(x) for g, x in zip(got, inputs)]


def _with_argnums(func: Callable, argnums: Any, args: tuple, name: str) -> tuple:
    """(the picked args, their tracked leaves, whether an outer graph is on, a caller of ``func`` with the
    tracked leaves put back, the rebuilder of the picked tree, whether argnums is one int)."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError(f"{name}(f, argnums=...): argnums must be non-empty")
    for a in nums:
        if not isinstance(a, int):
            raise RuntimeError(f"{name}(f, argnums={argnums}): Expected int or tuple of ints, got {type(a)}")
        if not -len(args) <= a < len(args):
            raise RuntimeError(f"Got argnums={argnums}, but only {len(args)} positional inputs")
    nums = tuple(a % len(args) for a in nums)
    picked = tuple(args[a] for a in nums)
    leaves, rebuild = _flatten(picked)
    tracked, outer = _track(leaves)
    new = rebuild(tracked)
    full = list(args)
    for a, value in zip(nums, new):
        full[a] = value
    picked_tree = new[0] if isinstance(argnums, int) else new
    return picked_tree, tracked, outer, lambda **kw: func(*full, **kw), rebuild, isinstance(argnums, int)


def _split_aux(result: Any, has_aux: bool, name: str) -> tuple[Any, Any]:
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise RuntimeError(f"{name}(f)(*args): output of function f should be a tuple: (output, aux) if has_aux is "
                           "True")
    return result


def grad_and_value(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """A function returning (gradient of ``func``'s scalar output with respect to ``argnums``, the output)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with enable_grad():
            _, tracked, outer, call, rebuild, single = _with_argnums(func, argnums, args, "grad_and_value")
            output, aux = _split_aux(call(**kwargs), has_aux, "grad_and_value")
            if not isinstance(output, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                                   f"{type(output)}")
            if output.numel() != 1 or output.ndim != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {output.ndim} dims. Maybe you wanted to use the vjp or jacrev "
                                   "APIs instead?")
            grads = rebuild(_grads_of(output, tracked, None, outer))
        g = grads[0] if single else grads
        value = output if outer else output.detach()
        return (g, (value, aux)) if has_aux else (g, value)

    return wrapper


def grad(func: Callable, argnums: Any = 0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of ``func``'s scalar output with respect to ``argnums``."""
    both = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """(func(*primals), vjp_fn[, aux]): ``vjp_fn(cotangents)`` gives the vector-Jacobian product for each
    primal (a tuple with one entry per primal)."""
    with enable_grad():
        leaves, rebuild = _flatten(primals)
        tracked, outer = _track(leaves)
        output, aux = _split_aux(func(*rebuild(tracked)), has_aux, "vjp")
    out_leaves, _ = _flatten(output)

    def vjp_fn(cotangents: Any) -> tuple:
        cot_leaves = _flatten(cotangents)[0]
        if len(cot_leaves) != len(out_leaves):
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of outputs "
                               "to the function")
        for c, o in zip(cot_leaves, out_leaves):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and output[0] has a "
                                   f"shape of {o.shape}.")
        with enable_grad():
            got = _autograd_grad(out_leaves, tracked, cot_leaves, create_graph=outer or any(
                c.requires_grad for c in cot_leaves), retain_graph=True, allow_unused=True)
        from ._ops.creation import zeros_like

        return tuple(rebuild([g if g is not None else zeros_like(x) for g, x in zip(got, tracked)]))

    detached = output if outer else _map_tensors(output, lambda t: t.detach())
    return (detached, vjp_fn, aux) if has_aux else (detached, vjp_fn)


def _map_tensors(tree: Any, fn: Callable) -> Any:
    leaves, rebuild = _flatten(tree)
    return rebuild([fn(t) if isinstance(t, Tensor) else t for t in leaves])


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False) -> tuple:
    """(func(*primals), J @ tangents): the Jacobian-vector product (two reverse passes; a custom Function's own
    ``jvp`` where it has one, see autograd/forward_ad.py)."""
    from ._ops.creation import zeros_like

    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    if len(_flatten(primals)[0]) != len(_flatten(tangents)[0]):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same python "
                           "structure.")
    from .autograd import forward_ad

    with enable_grad():
        leaves, rebuild = _flatten(primals)
        tracked, outer = _track(leaves)
        # a level of its own, so that custom Functions called by ``func`` run their ``jvp``
        with forward_ad._jvp_level(tracked, _flatten(tangents)[0]) as level:
            output, aux = _split_aux(func(*rebuild(tracked)), has_aux, "jvp")
            out_leaves, out_rebuild = _flatten(output)
            seconds = forward_ad.tangents(out_leaves, level, create_graph=outer)
    jv = out_rebuild([s if s is not None else zeros_like(o) for s, o in zip(seconds, out_leaves)])
    if not outer:
        output, jv = _map_tensors(output, lambda t: t.detach()), _map_tensors(jv, lambda t: t.detach())
    return (output, jv, aux) if has_aux else (output, jv)


def jacrev(func: Callable, argnums: Any = 0, *, has_aux: bool = False, chunk_size: int | None = None,
           _preallocate_and_copy: bool = False) -> Callable:
    """A function returning the Jacobian of ``func`` with respect to ``argnums``: for each output, a tensor of
    shape ``output.shape + input.shape`` (trees of them for tree outputs or several argnums)."""
    from ._ops.creation import zeros

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with enable_grad():
            _, tracked, outer, call, rebuild, single = _with_argnums(func, argnums, args, "jacrev")
            output, aux = _split_aux(call(**kwargs), has_aux, "jacrev")
            out_leaves, out_rebuild = _flatten(output)
            per_output = []
            for o in out_leaves:
                rows: list[list] = [[] for _ in tracked]
                for k in range(o.numel()):
                    onehot = zeros(o.numel(), dtype=o.dtype, device=o.device)
                    onehot[k] = 1
                    gs = _grads_of(o, tracked, onehot.view(o.shape), outer)
                    for r, g in zip(rows, gs):
                        r.append(g)
                jac = []
                for x, r in zip(tracked, rows):
                    from ._ops.shape import stack

                    block = stack(r) if r else zeros(0, *x.shape, dtype=x.dtype, device=x.device)
                    block = block.reshape(tuple(o.shape) + tuple(x.shape))
                    jac.append(block if outer else block.detach())
                tree = rebuild(jac)
                per_output.append(tree[0] if single else tree)
        result = out_rebuild(per_output)
        if has_aux:
            return result, (aux if outer else _map_tensors(aux, lambda t: t.detach()))
        return result

    return wrapper


def jacfwd(func: Callable, argnums: Any = 0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """The Jacobian as ``jacrev`` gives it (PyTorch computes it in forward mode; the numbers agree)."""
    return jacrev(func, argnums, has_aux=has_aux)


def hessian(func: Callable, argnums: Any = 0) -> Callable:
    """The Hessian of a scalar function: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums)


# -- modules ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _swapped(module: Any, values: dict, strict: bool) -> Iterator[None]:
    """``module`` with the named parameters and buffers replaced by ``values`` for the duration."""
    names = dict(module.named_parameters(remove_duplicate=False)) | dict(module.named_buffers(remove_duplicate=False))
    unexpected = [k for k in values if k not in names]
    if unexpected:
        raise RuntimeError(f"Unexpected key(s): {', '.join(repr(k) for k in unexpected)}.")
    if strict:
        missing = [k for k in names if k not in values]
        if missing:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\tMissing key(s): "
                               f"{', '.join(repr(k) for k in missing)}.")
    saved = []
    for name, value in values.items():
        owner_path, _, attr = name.rpartition(".")
        owner = module.get_submodule(owner_path) if owner_path else module
        table = owner._parameters if attr in owner._parameters else owner._buffers
        saved.append((table, attr, table[attr]))
        table[attr] = value
    try:
        yield
    finally:
        for table, attr, old in reversed(saved):
            table[attr] = old


def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None, kwargs: dict | None = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers taken from the given dict(s)."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        values = dict(dicts)
    else:
        values = {}
        for d in dicts:
            clash = set(values) & set(d)
            if clash:
                raise ValueError(f"{sorted(clash)} appeared in multiple dictionaries; behavior of functional call is "
                                 "ambiguous")
            values.update(d)
    if tie_weights:  # a tensor shared under several names follows the one given
        by_id: dict[int, list[str]] = {}
        for name, t in list(module.named_parameters(remove_duplicate=False)) + list(
                module.named_buffers(remove_duplicate=False)):
            by_id.setdefault(id(t), []).append(name)
        for names in by_id.values():
            given = [n for n in names if n in values]
            for n in names:
                if given and n not in values:
                    values[n] = values[given[0]]
    call_args = args if isinstance(args, tuple) else (() if args is None else (args,))
    with _swapped(module, values, strict):
        return module(*call_args, **(kwargs or {}))


def stack_module_state(models: Any) -> tuple[dict, dict]:
    """(params, buffers): each parameter and buffer of the identical ``models`` stacked along a new first dim
    (parameters as new leaves that require grad when the originals do)."""
    from ._ops.shape import stack

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({type(m) for m in models}) != 1 or len({m.training for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class and in the same mode "
                           "(train or eval).")

    def stacked(named: Callable) -> dict:
        out = {}
        for name, first in named(models[0]):
            values = [dict(named(m))[name] for m in models]
            t = stack([v.detach() for v in values])
            out[name] = t.requires_grad_(first.requires_grad) if first.is_floating_point() else t
        return out

    params = stacked(lambda m: m.named_parameters())
    buffers = stacked(lambda m: m.named_buffers())
    return params, buffers


def linearize(func: Callable, *primals: Any) -> tuple:
    """(func(*primals), jvp_fn): ``jvp_fn(*tangents)`` is the Jacobian-vector product at ``primals``."""
    output = _map_tensors(func(*primals), lambda t: t.detach())

    def jvp_fn(*tangents: Any) -> Any:
        return jvp(func, primals, tangents)[1]

    return output, jvp_fn


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """``func`` itself: disttorch records no mutation-free program to rewrite, and the values are the same."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. "
                           "Valid options are:\n     remove='mutations': all inplace and out= operators will be "
                           "removed from the program, and replaced with their out-of-place equivalents.\n     "
                           "remove='mutations_and_views': In addition to the above, all aliasing operators {view} "
                           "will be replaced with their non-aliasing counterparts, {view}_copy.\n")
    return func


def debug_unwrap(tensor: Tensor, *, recurse: bool = True) -> Tensor:
    """The tensor itself: these transforms wrap nothing."""
    return tensor


def replace_all_batch_norm_modules_(root: Any) -> Any:
    """Make every batch norm under ``root`` use batch statistics only (no running stats), in place, as
    ``vmap`` over models needs."""
    from .nn.modules.normalization import _NormBase

    for module in root.modules():
        if isinstance(module, _NormBase):
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
