"""The three summaries of TensorBoard's HParams plugin (experiment, session start, session end) for
``SummaryWriter.add_hparams``, with the value types and errors of PyTorch's ``summary.hparams``."""
from __future__ import annotations

from google.protobuf.struct_pb2 import ListValue, Value
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import metadata
from tensorboard.plugins.hparams.api_pb2 import DataType, Experiment, HParamInfo, MetricInfo, MetricName, Status
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo

__all__ = ["hparams"]


def _summary(tag: str, content: HParamsPluginData) -> Summary:
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME,
                                                                  content=content.SerializeToString()))
    return Summary(value=[Summary.Value(tag=tag, metadata=meta)])


def _check_domains(hparam_dict: dict, domains: dict | None) -> dict:
    domains = domains or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing else")
    for key, values in domains.items():
        if key not in hparam_dict:
            raise ValueError(f"parameter: hparam_domain_discrete[{key}] should be a key in hparam_dict")
        if not isinstance(values, list):
            raise TypeError(f"parameter: hparam_domain_discrete[{key}] should be a list")
        if not all(isinstance(v, type(hparam_dict[key])) for v in values):
            raise TypeError(f"parameter: hparam_domain_discrete[{key}] should be of type {type(hparam_dict[key])}")
    return domains


def hparams(hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None) -> tuple:
    """(experiment, session start, session end) summaries for one run of ``hparam_dict`` with ``metric_dict``."""
    if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
        raise TypeError("hparam_dict and metric_dict should be dictionary.")
    domains = _check_domains(hparam_dict, hparam_domain_discrete)
    start = SessionStartInfo()
    infos = []
    for key, value in hparam_dict.items():
        if value is None:
            continue
        if hasattr(value, "detach") and hasattr(value, "numpy"):  # a tensor: its first element
            value = value.detach().cpu().numpy().reshape(-1)[0].item()
        if isinstance(value, (int, float)):  # bools too (a bool is an int), as PyTorch writes them
            start.hparams[key].number_value = value
            kind, field = "DATA_TYPE_FLOAT64", "number_value"
        elif isinstance(value, str):
            start.hparams[key].string_value = value
            kind, field = "DATA_TYPE_STRING", "string_value"
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        info = HParamInfo(name=key, type=DataType.Value(kind))
        if key in domains:
            info.domain_discrete.CopyFrom(ListValue(values=[Value(**{field: v}) for v in domains[key]]))
        infos.append(info)
    version = metadata.PLUGIN_DATA_VERSION
    experiment = Experiment(hparam_infos=infos, metric_infos=[MetricInfo(name=MetricName(tag=k)) for k in metric_dict])
    return (_summary(metadata.EXPERIMENT_TAG, HParamsPluginData(experiment=experiment, version=version)),
            _summary(metadata.SESSION_START_INFO_TAG, HParamsPluginData(session_start_info=start, version=version)),
            _summary(metadata.SESSION_END_INFO_TAG, HParamsPluginData(
                session_end_info=SessionEndInfo(status=Status.Value("STATUS_SUCCESS")), version=version)))
