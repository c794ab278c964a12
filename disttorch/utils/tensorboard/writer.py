"""SummaryWriter: scalars, histograms and text as TensorBoard event files."""
from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.summary.writer.event_file_writer import EventFileWriter

__all__ = ["SummaryWriter"]


def _to_numpy(value: Any) -> np.ndarray:
    """Tensor (any device), numpy array or number as a host numpy array."""
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu"):
        value = value.cpu()
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    return np.asarray(value)


def _scalar(value: Any) -> float:
    arr = _to_numpy(value).squeeze()
    if arr.ndim != 0:
        raise ValueError(f"Tensor should contain one element (0 dimensions). Was given size: {arr.size} "
                         f"and {arr.ndim} dimensions.")
    return float(arr)


def _histogram_proto(values: np.ndarray, bins: Any, max_bins: int | None) -> HistogramProto:
    values = values.astype(np.float64).ravel()
    if values.size == 0:
        raise ValueError("The input has no element.")
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:  # merge neighbouring bins down to max_bins
        step = -(-len(counts) // max_bins)
        pad = (-len(counts)) % step
        counts = np.pad(counts, (0, pad)).reshape(-1, step).sum(axis=1)
        limits = np.concatenate([limits[:-1:step], limits[-1:]])
    # Drop empty bins at both ends; the first bucket is an empty one ending at the left edge, as torch writes it.
    nonzero = np.flatnonzero(counts)
    first, last = int(nonzero[0]), int(nonzero[-1])
    counts = np.concatenate([[0], counts[first:last + 1]])
    limits = limits[first:last + 2]
    return HistogramProto(min=float(values.min()), max=float(values.max()), num=float(values.size),
                          sum=float(values.sum()), sum_squares=float(np.dot(values, values)),
                          bucket_limit=[float(x) for x in limits], bucket=[float(c) for c in counts])


class SummaryWriter:
    """Writes summaries to an event file in ``log_dir`` (default ``runs/<date>_<host><comment>``).

    ``add_graph`` is accepted but writes nothing: there is no traced graph to export.
    """

    def __init__(self, log_dir: str | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._writers: dict[str, EventFileWriter] = {}
        self._writer = self._file_writer(self.log_dir)
        if purge_step is not None:  # tells TensorBoard to drop older events from a restarted run
            self._writer.add_event(Event(step=purge_step, file_version="brain.Event:2"))

    def _file_writer(self, log_dir: str) -> EventFileWriter:
        if log_dir not in self._writers:
            self._writers[log_dir] = EventFileWriter(log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
        return self._writers[log_dir]

    def get_logdir(self) -> str:
        return self.log_dir

    def _add_summary(self, summary: Summary, global_step: int | None, walltime: float | None,
                     writer: EventFileWriter | None = None) -> None:
        event = Event(summary=summary, wall_time=time.time() if walltime is None else walltime)
        if global_step is not None:
            event.step = int(global_step)
        (writer or self._writer).add_event(event)

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None, walltime: float | None = None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        value = _scalar(scalar_value)
        if new_style:
            dtype = "DT_DOUBLE" if double_precision else "DT_FLOAT"
            tensor = TensorProto(dtype=dtype, tensor_shape=TensorShapeProto())
            (tensor.double_val if double_precision else tensor.float_val).append(value)
            meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
            summary = Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=meta)])
        else:
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
        self._add_summary(summary, global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict[str, Any], global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Each key goes to its own run directory ``<log_dir>/<main_tag>_<key>``, under the tag ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        for key, value in tag_scalar_dict.items():
            run_dir = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + key)
            summary = Summary(value=[Summary.Value(tag=main_tag, simple_value=_scalar(value))])
            self._add_summary(summary, global_step, walltime, self._file_writer(run_dir))

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None, bins: Any = "tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        arr = _to_numpy(values)
        if isinstance(bins, str) and bins == "tensorflow":  # exponentially spaced edges around zero
            edges = 1e-12 * 1.1 ** np.arange(0, 774)
            bins = np.concatenate([-edges[::-1], [0.0], edges])
            lo, hi = float(arr.min()), float(arr.max())
            inside = bins[(bins > lo) & (bins < hi)]
            bins = np.unique(np.concatenate([[lo], inside, [hi if hi > lo else lo + 1e-12]]))
        histo = _histogram_proto(arr, bins, max_bins)
        self._add_summary(Summary(value=[Summary.Value(tag=tag, histo=histo)]), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
        tensor = TensorProto(dtype="DT_STRING", string_val=[text_string.encode("utf-8")],
                             tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
        summary = Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=meta, tensor=tensor)])
        self._add_summary(summary, global_step, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """Hyperparameters and their metrics for TensorBoard's HParams tab, in the sub-run ``run_name``
        (default: the current time) of this log directory; each metric is also written as a scalar there."""
        from .hparams import hparams

        summaries = hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        run_dir = os.path.join(self.log_dir, run_name or str(time.time()))
        writer = self._file_writer(run_dir)
        for summary in summaries:
            self._add_summary(summary, global_step, None, writer)
        for key, value in metric_dict.items():
            self._add_summary(Summary(value=[Summary.Value(tag=key, simple_value=_scalar(value))]), global_step,
                              None, writer)
        writer.flush()

    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """Does nothing: disttorch has no JIT trace to export as a graph."""

    def flush(self) -> None:
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.flush()
            writer.close()
        self._writers.clear()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
