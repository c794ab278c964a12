"""DistributedDataParallel: one model replica per process, gradients averaged over the process group.

Parameters are grouped, in reverse registration order (roughly the order in which backward produces
their gradients), into buckets of at most ``bucket_cap_mb`` (the first one 1 MiB so communication starts
early). Each bucket owns one flat buffer. A post-accumulate-grad hook on every parameter copies its
gradient into the bucket (pre-scaled by 1/world size); when a bucket is full its all-reduce starts
asynchronously while the rest of backward runs. A callback queued for the end of backward waits for
the buckets and writes the averages back into ``.grad`` (with ``gradient_as_bucket_view`` the
gradients *are* views of the buckets, so nothing is copied back).

MPI advances a nonblocking collective only while some MPI call runs, so every hook also tests the
outstanding requests; that is what lets a bucket finish during the rest of backward.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from disttorch._tensor import Tensor
from disttorch.autograd import engine as _engine
from disttorch.autograd import grad_mode as _grad_mode
from disttorch.backends import array_module
from disttorch.collectives.base import ReduceOp
from disttorch.distributed.algorithms.join import Join, Joinable, JoinHook, _JoinConfig
from disttorch.distributed.grad_bucket import GradBucket, _hook_result
from disttorch.distributed.group_communicator import GroupCommunicator
from disttorch.nn.modules.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1024 * 1024

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This error indicates "
    "that your module has parameters that were not used in producing loss. You can enable unused parameter "
    "detection by passing the keyword argument `find_unused_parameters=True` to "
    "`torch.nn.parallel.DistributedDataParallel`, and by \nmaking sure all `forward` function outputs participate "
    "in calculating loss. \nIf you already have done the above, then the distributed data parallel module wasn't "
    "able to locate the output tensors in the return value of your module's `forward` function. Please include the "
    "loss function and the structure of the return value of `forward` of your module when reporting this issue "
    "(e.g. list, dict, iterable).")
_UNFINISHED_FIND_UNUSED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. Since "
    "`find_unused_parameters=True` is enabled, this likely  means that not all `forward` outputs participate in "
    "computing loss. You can fix this by making sure all `forward` function outputs participate in calculating "
    "loss. \nIf you already have done the above, then the distributed data parallel module wasn't able to locate "
    "the output tensors in the return value of your module's `forward` function. Please include the loss function "
    "and the structure of the return value of `forward` of your module when reporting this issue (e.g. list, "
    "dict, iterable).")


# -- buckets ---------------------------------------------------------------------------------------------------
class _HookWork:
    """A communication hook's future, waited for like a Work: its tensor lands in the bucket's flat buffer."""
    __slots__ = ("fut", "flat")

    def __init__(self, fut: Any, flat: Any) -> None:
        self.fut, self.flat = fut, flat

    def wait(self) -> None:
        result = _hook_result(self.fut.wait())
        if result._data is not self.flat:
            self.flat[...] = result._data.reshape(self.flat.shape)


class _Bucket:
    __slots__ = ("index", "params", "flat", "slices", "pending", "work")

    def __init__(self, index: int, params: list[int], flat: Any, slices: list[Any]) -> None:
        self.index = index
        self.params = params  # parameter indices
        self.flat = flat      # the flat buffer that is all-reduced
        self.slices = slices  # per parameter: a view of ``flat`` with the parameter's shape
        self.pending = len(params)
        self.work = None


def _assign_buckets(params: list[Tensor], cap_bytes: int) -> list[list[int]]:
    """Parameter indices in reverse order, cut into buckets per (device, dtype) once one holds at least the
    cap (1 MiB for the first bucket of each kind); buckets are ordered by their first parameter."""
    open_: dict[tuple, list] = {}
    done: list[list[int]] = []
    for i in reversed(range(len(params))):
        p = params[i]
        key = (str(p.device), p.dtype)
        b = open_.get(key)
        if b is None:
            b = open_[key] = [[], 0, min(_FIRST_BUCKET_BYTES, cap_bytes)]
        b[0].append(i)
        b[1] += p._data.nbytes
        if b[1] >= b[2]:
            done.append(b[0])
            open_[key] = [[], 0, cap_bytes]
    done.extend(b[0] for b in open_.values() if b[0])
    done.sort(key=lambda idx: -idx[0])
    return done


def _tensors_in(obj: Any) -> Iterator[Tensor]:
    """The tensors inside a forward result (tensors, sequences, mappings, dataclasses)."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _tensors_in(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors_in(o)
    elif hasattr(obj, "__dataclass_fields__"):
        for name in obj.__dataclass_fields__:
            yield from _tensors_in(getattr(obj, name))


class _DDPJoinHook(JoinHook):
    """A joined rank's part of one DDP iteration of the others: the buffer broadcast of forward, the bucket
    all-reduces of backward (zeros: this rank adds no gradient) and the used-parameter count; at the end,
    the model of the last rank to join goes to every rank."""

    def __init__(self, ddp: DistributedDataParallel, divide_by_initial_world_size: bool) -> None:
        if not divide_by_initial_world_size:
            raise NotImplementedError("DDP join with divide_by_initial_world_size=False is not supported")
        self.ddp = ddp

    def main_hook(self) -> None:
        ddp = self.ddp
        if ddp.broadcast_buffers and ddp._module_buffers():
            ddp._broadcast_coalesced(ddp._module_buffers())
        for b in ddp._buckets:
            b.flat[...] = 0
            ddp._comm.all_reduce(b.flat, ReduceOp.SUM)
        if ddp.find_unused_parameters or ddp.static_graph:
            ddp._comm.all_reduce(np.zeros(len(ddp._params), np.int32))

    def post_hook(self, is_last_joiner: bool) -> None:
        ddp = self.ddp
        last = np.array([ddp._comm.rank if is_last_joiner else -1], np.int64)
        ddp._comm.all_reduce(last, ReduceOp.MAX)
        ddp._broadcast_coalesced(list(ddp.module.parameters()) + ddp._module_buffers(), int(last[0]))


class DistributedDataParallel(Module, Joinable):
    """Data parallelism over a process group: wraps ``module``, averages its gradients across ranks
    during backward. See PyTorch's ``torch.nn.parallel.DistributedDataParallel``."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params: Any = None, param_to_hook_all_reduce: Any = None,
                 mixed_precision: Any = None, device_mesh: Any = None, skip_all_reduce_unused_params: bool = False
                 ) -> None:
        super().__init__()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter that "
                               "requires a gradient.")
        devices = {str(p.device) for _, p in named}
        if len(devices) > 1 and device_ids is not None:
            raise ValueError("DistributedDataParallel's input module must be on the same type of devices, but input "
                             f"module parameters locate in {devices}.")
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else None
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.process_group = process_group
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        cap_mb = 25 if bucket_cap_mb is None else bucket_cap_mb
        self.bucket_bytes_cap = int(cap_mb * 1024 * 1024)

        comm = GroupCommunicator(process_group)
        object.__setattr__(self, "_comm", comm)
        object.__setattr__(self, "_join_config", _JoinConfig.disabled())
        self._param_names = [n for n, _ in named]
        object.__setattr__(self, "_params", [p for _, p in named])
        self._verify_same_model(named)
        if init_sync:
            self._sync_module_states()
        self._build_buckets()
        self._handles = [p.register_post_accumulate_grad_hook(self._make_hook(i)) for i, p in enumerate(self._params)]
        self._reset_iteration()
        self._pending_error: str | None = None
        self._local_used = [False] * len(self._params)
        object.__setattr__(self, "_comm_hook", None)  # (state, hook) of register_comm_hook

    # -- construction ----------------------------------------------------------------------------------------
    def _verify_same_model(self, named: list[tuple[str, Tensor]]) -> None:
        comm = self._comm
        if comm.size == 1:
            return
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in named]
        every = comm.all_gather_object(mine)
        ref = every[0]
        for rank, sig in enumerate(every[1:], 1):
            if len(sig) != len(ref):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank 0 has {len(ref)} params, "
                                   f"while rank {rank} has inconsistent {len(sig)} params.")
            for (n0, s0, d0), (n, s, d) in zip(ref, sig):
                if s != s0:
                    raise RuntimeError(f"DDP expects same model across all ranks, but rank {rank} has parameter "
                                       f"'{n}' of shape {list(s)} while rank 0 has '{n0}' of shape {list(s0)}.")
                if d != d0:
                    raise RuntimeError(f"DDP expects same model across all ranks, but rank {rank} has parameter "
                                       f"'{n}' of dtype {d} while rank 0 has '{n0}' of dtype {d0}.")

    def _module_buffers(self) -> list[Tensor]:
        return [b for b in self.module.buffers() if b is not None]

    def _broadcast_coalesced(self, tensors: list[Tensor], root: int = 0) -> None:
        """Overwrite ``tensors`` with those of group rank ``root``, one broadcast per (device, dtype)."""
        groups: dict[tuple, list[Tensor]] = {}
        for t in tensors:
            groups.setdefault((str(t.device), t._data.dtype), []).append(t)
        for ts in groups.values():
            xp = array_module(ts[0]._data)
            flat = xp.concatenate([t._data.reshape(-1) for t in ts]) if len(ts) > 1 else ts[0]._data.reshape(-1).copy()
            self._comm.broadcast(flat, root)
            off = 0
            for t in ts:
                n = t._data.size
                t._data[...] = flat[off:off + n].reshape(t._data.shape)
                t._vc[0] += 1
                off += n

    def _sync_module_states(self) -> None:
        if self._comm.size > 1:
            self._broadcast_coalesced(list(self.module.parameters()) + self._module_buffers())

    def _build_buckets(self) -> None:
        params = self._params
        buckets = []
        self._where: list[tuple[_Bucket, int]] = [None] * len(params)  # type: ignore[list-item]
        for bi, idx in enumerate(_assign_buckets(params, self.bucket_bytes_cap)):
            first = params[idx[0]]._data
            xp = array_module(first)
            flat = xp.zeros(sum(params[i]._data.size for i in idx), dtype=first.dtype)
            slices, off = [], 0
            for i in idx:
                d = params[i]._data
                slices.append(flat[off:off + d.size].reshape(d.shape))
                off += d.size
            b = _Bucket(bi, idx, flat, slices)
            for pos, i in enumerate(idx):
                self._where[i] = (b, pos)
            buckets.append(b)
        object.__setattr__(self, "_buckets", buckets)
        # with gradient_as_bucket_view, ``.grad`` becomes this Tensor over the bucket slice
        object.__setattr__(self, "_views", [Tensor._from_array(self._where[i][0].slices[self._where[i][1]])
                                            for i in range(len(params))])
        if self.gradient_as_bucket_view:
            for i, p in enumerate(params):
                if p._grad is not None:
                    self._views[i]._data[...] = p._grad._data
                    p._grad = self._views[i]

    # -- per iteration ---------------------------------------------------------------------------------------
    def _reset_iteration(self) -> None:
        self._expect_hooks = False
        self._hooks_seen = False
        self._next_bucket = 0
        self._ready = [False] * len(self._params)
        self._unused: list[int] = []
        for b in self._buckets:
            b.pending = len(b.params)
            b.work = None

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self._pending_error is not None:
            raise RuntimeError(self._pending_error)
        if self._join_config.enable and _grad_mode._enabled[0]:
            Join.notify_join_context(self)
        if self.broadcast_buffers and self.require_forward_param_sync and self._comm.size > 1:
            bufs = self._module_buffers()
            if bufs:
                self._broadcast_coalesced(bufs)
        out = self.module(*inputs, **kwargs)
        if _grad_mode._enabled[0] and self.require_backward_grad_sync:
            self._reset_iteration()
            self._expect_hooks = True
            if self.find_unused_parameters or self.static_graph:
                self._unused = self._find_unused(out)
        return out

    def _find_unused(self, out: Any) -> list[int]:
        """Parameters no output's graph reaches: they will get no gradient in this backward."""
        reached: set[int] = set()
        seen: set[int] = set()
        stack = []
        for t in _tensors_in(out):
            if t._requires_grad:
                stack.append(t._grad_node()[0])
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            var = getattr(node, "variable_ref", None)
            if var is not None:
                v = var()
                if v is not None:
                    reached.add(id(v))
            for e in node.next_edges:
                if e is not None:
                    stack.append(e[0])
        return [i for i, p in enumerate(self._params) if id(p) not in reached]

    def _make_hook(self, i: int) -> Any:
        def hook(param: Tensor) -> None:
            self._on_grad_ready(i)
        return hook

    def _on_grad_ready(self, i: int) -> None:
        self._local_used[i] = True
        if not self._expect_hooks:
            return
        if not self._hooks_seen:  # first hook of this backward
            self._hooks_seen = True
            _engine.queue_callback(self._finalize)
            for j in self._unused:
                self._mark_ready(j)
        self._mark_ready(i)
        if self._next_bucket:  # let the all-reduces already started progress while backward goes on
            self._comm.poll()

    def _mark_ready(self, i: int) -> None:
        if self._ready[i]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. This error is caused by one of the following reasons: "
                f"1) Use of a module parameter outside the `forward` function. Please make sure model parameters are "
                f"not shared across multiple concurrent forward-backward passes. or try to use _set_static_graph() as"
                f" a workaround if this module graph does not change during training loop.2) Reused parameters in "
                f"multiple reentrant backward passes. For example, if you use multiple `checkpoint` functions to wrap"
                f" the same part of your model, it would result in the same set of parameters been used by different"
                f" reentrant backward passes multiple times, and hence marking a variable ready multiple times. DDP "
                f"does not support such use cases in default. You can try to use _set_static_graph() as a workaround "
                f"if your module graph does not change over iterations.\nParameter at index {i} with name "
                f"{self._param_names[i]} has been marked as ready twice. This means that multiple autograd engine "
                f" hooks have fired for this particular parameter during this iteration.")
        self._ready[i] = True
        b, pos = self._where[i]
        if self._comm.size > 1:
            self._copy_in(i, b.slices[pos])
        b.pending -= 1
        if b.pending == 0:
            while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
                self._launch(self._buckets[self._next_bucket])
                self._next_bucket += 1

    def _copy_in(self, i: int, view: Any) -> None:
        """Put parameter i's gradient, divided by the world size, into its bucket slice."""
        p = self._params[i]
        g = p._grad
        scale = 1.0 / self._comm.size if self._comm_hook is None else 1.0  # a hook gets the gradients as they are
        if g is None:
            view[...] = 0
        elif self.gradient_as_bucket_view:
            vt = self._views[i]
            if g is vt:
                if scale != 1.0:
                    view *= scale
            else:
                array_module(view).multiply(g._data, scale, out=view)
                p._grad = vt
        else:
            array_module(view).multiply(g._data, scale, out=view)

    def _launch(self, b: _Bucket) -> None:
        if self._comm.size == 1:
            return
        if self._comm_hook is None:
            b.work = self._comm.all_reduce(b.flat, ReduceOp.SUM, async_op=True)
            return
        state, hook = self._comm_hook
        params = [self._params[i] for i in b.params]
        bucket = GradBucket(b.index, Tensor._from_array(b.flat), [Tensor._from_array(s) for s in b.slices], params,
                            b.index == len(self._buckets) - 1)
        b.work = _HookWork(hook(state, bucket), b.flat)

    def register_comm_hook(self, state: Any, hook: Any) -> None:
        """Reduce each bucket with ``hook(state, bucket) -> Future`` (of the bucket's reduced tensor) instead of
        the averaging all-reduce; see torch.distributed.algorithms.ddp_comm_hooks."""
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        if not callable(hook):
            raise TypeError(f"Communication hook must be callable, got {type(hook).__name__}")
        object.__setattr__(self, "_comm_hook", (state, hook))

    def _register_builtin_comm_hook(self, comm_hook_type: Any) -> None:
        from disttorch.distributed.algorithms.ddp_comm_hooks import default_hooks
        from disttorch.distributed.grad_bucket import BuiltinCommHookType

        hooks = {BuiltinCommHookType.ALLREDUCE: default_hooks.allreduce_hook,
                 BuiltinCommHookType.FP16_COMPRESS: default_hooks.fp16_compress_hook}
        if comm_hook_type not in hooks:
            raise ValueError(f"Unknown built-in communication hook {comm_hook_type!r}")
        self.register_comm_hook(self.process_group, hooks[comm_hook_type])

    def _finalize(self) -> None:
        """End of backward: wait for every bucket and hand the averaged gradients to the parameters."""
        if self._next_bucket < len(self._buckets):
            # some parameter got no gradient: like PyTorch, the next forward reports it
            self._pending_error = self._unfinished_message()
            return
        self._expect_hooks = False
        if self._comm.size == 1:
            self._local_used = [False] * len(self._params)
            return
        used = None
        if self.find_unused_parameters or self.static_graph:
            counts = np.asarray(self._local_used, dtype=np.int32)
            self._comm.all_reduce(counts)
            used = counts
        self._local_used = [False] * len(self._params)
        views = self.gradient_as_bucket_view
        for b in self._buckets:
            if b.work is not None:
                b.work.wait()
                b.work = None
            for pos, i in enumerate(b.params):
                if used is not None and not used[i]:
                    continue  # unused on every rank: its gradient stays as it was
                p = self._params[i]
                g = p._grad
                if views:
                    if g is None:
                        p._grad = self._views[i]
                elif g is None:
                    p._grad = Tensor._from_array(b.slices[pos].copy())
                else:
                    g._data[...] = b.slices[pos]
                    g._vc[0] += 1

    def _unfinished_message(self) -> str:
        missing = [i for i, r in enumerate(self._ready) if not r]
        rank = self._comm.rank
        msg = _UNFINISHED_FIND_UNUSED if self.find_unused_parameters else _UNFINISHED
        return (msg + f"\nParameter indices which did not receive grad for rank {rank}: {' '.join(map(str, missing))}"
                f"\nParameters which did not receive grad for rank {rank}: "
                f"{', '.join(self._param_names[i] for i in missing)}")

    # -- public API ------------------------------------------------------------------------------------------
    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate gradients locally; the first synced one after reduces the sum."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # -- uneven inputs -----------------------------------------------------------------------------------
    def join(self, divide_by_initial_world_size: bool = True, enable: bool = True,
             throw_on_early_termination: bool = False) -> Join:
        """``with model.join(): for batch in my_batches: ...``: ranks with fewer batches shadow the others'
        collectives until all are done (gradients keep being divided by the initial world size)."""
        return Join([self], enable, throw_on_early_termination,
                    divide_by_initial_world_size=divide_by_initial_world_size)

    def join_hook(self, **kwargs: Any) -> JoinHook:
        return _DDPJoinHook(self, kwargs.get("divide_by_initial_world_size", True))

    @property
    def join_device(self) -> Any:
        return self._params[0].device

    @property
    def join_process_group(self) -> Any:
        return self.process_group

    def _set_static_graph(self) -> None:
        self.static_graph = True

    def __getstate__(self) -> dict:
        raise RuntimeError("DistributedDataParallel cannot be pickled; pickle its `module` instead.")
