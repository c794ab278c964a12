"""Variable-length sequences for the recurrent layers: PackedSequence and the pack / pad helpers.

Packing and padding are each one ``index_select`` with an index computed on the host, so their
gradients flow through a single node."""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Iterable, Sequence

import numpy as np

from disttorch._tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _long(values: Any, device: Any = None) -> Tensor:
    from disttorch._ops.creation import tensor

    return tensor(np.asarray(values, dtype=np.int64), device=device)


def _host_ints(values: Any) -> np.ndarray:
    if isinstance(values, Tensor):
        return np.asarray(values.tolist(), dtype=np.int64).reshape(-1)
    return np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.int64).reshape(-1)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    if permutation is None:
        return None
    perm = _host_ints(permutation)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size, dtype=np.int64)
    return _long(inv, permutation.device)


_PackedSequenceBase = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_PackedSequenceBase):
    """Sequences of different lengths packed time step by time step: ``data`` holds the rows of
    step 0 for all sequences, then of step 1 for those still running, ...; ``batch_sizes[t]`` is
    how many sequences step t has (a CPU int64 tensor). ``sorted_indices`` orders the original
    batch by decreasing length; ``unsorted_indices`` undoes it."""

    def __new__(cls, data: Any, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError(
                    "batch_sizes should always be on CPU. Instances of PackedSequence should never be created "
                    "manually. They should be instantiated by functions like pack_sequence and "
                    "pack_padded_sequences in nn.utils.rnn. "
                    "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
            return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)
        data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _map_data(self, fn: Any) -> PackedSequence:
        """The same packing around ``fn(data)``; the indices follow the data's device, batch_sizes stay on CPU."""
        data = fn(self.data)
        if data is self.data:
            return self
        move = (lambda t: t if t is None else t.to(device=data.device))
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self._map_data(lambda d: d.to(*args, **kwargs))

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self._map_data(lambda d: d.cuda(*args, **kwargs))

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self._map_data(lambda d: d.cpu(*args, **kwargs))

    def double(self) -> PackedSequence:
        return self._map_data(lambda d: d.double())

    def float(self) -> PackedSequence:
        return self._map_data(lambda d: d.float())

    def half(self) -> PackedSequence:
        return self._map_data(lambda d: d.half())

    def long(self) -> PackedSequence:
        return self._map_data(lambda d: d.long())

    def int(self) -> PackedSequence:
        return self._map_data(lambda d: d.int())

    def short(self) -> PackedSequence:
        return self._map_data(lambda d: d.short())

    def char(self) -> PackedSequence:
        return self._map_data(lambda d: d.char())

    def byte(self) -> PackedSequence:
        return self._map_data(lambda d: d.byte())

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _batch_sizes(lengths: np.ndarray) -> np.ndarray:
    """batch_sizes[t] = how many of the (decreasingly sorted) lengths exceed t."""
    if lengths.size == 0:
        return np.zeros(0, dtype=np.int64)
    steps = np.arange(int(lengths[0]))
    return (lengths[None, :] > steps[:, None]).sum(1).astype(np.int64)


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences of ``lengths``."""
    if isinstance(lengths, Tensor) and (lengths.dim() != 1 or lengths.device.type != "cpu"):
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lengths.dim()}D {lengths.device} {lengths.dtype} tensor")
    lens = _host_ints(lengths)
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
                "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement "
                "if you do not need ONNX exportability.")
        order = np.arange(lens.size, dtype=np.int64)
        sorted_indices = None
    else:
        order = np.argsort(-lens, kind="stable").astype(np.int64)
        lens = lens[order]
        sorted_indices = _long(order, input.device)
    if lens.size and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    T, B = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if lens.size != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
                           f"(batch_size={B})")
    if lens.size and lens[0] > T:
        raise RuntimeError(f"Expected sequence length to be less than or equal to {T}, but got {int(lens[0])}")
    sizes = _batch_sizes(lens)
    rows = [order[:b] * T + t if batch_first else t * B + order[:b] for t, b in enumerate(sizes)]
    idx = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    flat = input.reshape((T * B,) + tuple(input.shape[2:]))
    data = flat.index_select(0, _long(idx, input.device))
    return PackedSequence(data, _long(sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo pack_padded_sequence: (padded batch, lengths), in the original batch order."""
    from disttorch._ops.creation import full
    from disttorch._ops.shape import cat

    data, batch_sizes = sequence.data, sequence.batch_sizes
    sizes = _host_ints(batch_sizes)
    max_len = sizes.size
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_len}")
        max_len = total_length
    B = int(sizes[0]) if sizes.size else 0
    N = data.shape[0]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    lengths = (sizes[None, :] > np.arange(B)[:, None]).sum(1).astype(np.int64)  # per sorted batch row
    unsorted = _host_ints(sequence.unsorted_indices) if sequence.unsorted_indices is not None else np.arange(B)
    # gather index: padded position (t, b) reads data row offsets[t] + sorted position of b, or the padding row N
    idx = np.full((max_len, B), N, dtype=np.int64)
    for t, size in enumerate(sizes):
        live = unsorted < size  # unsorted[b]: where original entry b sits in the sorted batch
        idx[t, live] = offsets[t] + unsorted[live]
    if batch_first:
        idx = idx.T
    pad = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = cat([data, pad]).index_select(0, _long(idx.reshape(-1), data.device))
    padded = padded.reshape(idx.shape + tuple(data.shape[1:]))
    return padded, _long(lengths[unsorted])


def pad_sequence(sequences: Sequence[Tensor] | Tensor, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shape (L_i, *) into (max L, B, *) (or (B, max L, *)), padding with ``padding_value``."""
    from disttorch._ops.creation import full
    from disttorch._ops.shape import cat

    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    lens = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    T, B = int(lens.max()), len(seqs)
    N = int(lens.sum())
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    idx = np.full((T, B), N, dtype=np.int64)
    for b, (start, n) in enumerate(zip(starts, lens)):
        first = 0 if padding_side == "right" else T - n
        idx[first:first + n, b] = start + np.arange(n)
    if batch_first:
        idx = idx.T
    rest = tuple(seqs[0].shape[1:])
    pad = full((1,) + rest, padding_value, dtype=seqs[0].dtype, device=seqs[0].device)
    out = cat(seqs + [pad]).index_select(0, _long(idx.reshape(-1), seqs[0].device))
    return out.reshape(idx.shape + rest)


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """The list of sequences inside a padded batch, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(n)] for seq, n in zip(padded_sequences.unbind(0), _host_ints(lengths))]


def pack_sequence(sequences: Iterable[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    seqs = list(sequences)
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
