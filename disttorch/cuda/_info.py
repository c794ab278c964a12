"""torch.cuda's device information: properties, capability, peer access, and the NVML readings."""
from __future__ import annotations

from typing import Any

from . import _common

__all__ = ["get_device_properties", "get_device_capability", "get_arch_list", "is_tf32_supported",
           "can_device_access_peer", "init", "ipc_collect", "list_gpu_processes", "utilization", "temperature",
           "power_draw", "clock_rate", "device_memory_used", "memory_usage"]


class _CudaDeviceProperties:
    """The attributes of PyTorch's ``_CudaDeviceProperties``, read from ``cudaGetDeviceProperties``."""

    def __init__(self, props: dict[str, Any]) -> None:
        name = props["name"]
        self.name: str = name.decode() if isinstance(name, bytes) else str(name)
        self.major: int = int(props["major"])
        self.minor: int = int(props["minor"])
        self.total_memory: int = int(props["totalGlobalMem"])
        self.multi_processor_count: int = int(props["multiProcessorCount"])
        self.warp_size: int = int(props.get("warpSize", 32))
        self.is_integrated: int = int(props.get("integrated", 0))
        self.is_multi_gpu_board: int = int(props.get("isMultiGpuBoard", 0))
        self.L2_cache_size: int = int(props.get("l2CacheSize", 0))

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // 2**20}MB, "
                f"multi_processor_count={self.multi_processor_count}, L2_cache_size={self.L2_cache_size >> 20}MB)")


def get_device_properties(device: Any = None) -> _CudaDeviceProperties:
    cp = _common.cupy()
    index = _common.index(device)
    if not 0 <= index < _common.backend().device_count():
        raise AssertionError("Invalid device id")
    return _CudaDeviceProperties(cp.cuda.runtime.getDeviceProperties(index))


def get_device_capability(device: Any = None) -> tuple[int, int]:
    props = get_device_properties(device)
    return props.major, props.minor


def get_arch_list() -> list[str]:
    """The architectures cupy compiles for: the visible devices' own (it compiles kernels at run time)."""
    if _common.backend().device_count() == 0:
        return []
    archs = {"sm_{}{}".format(*get_device_capability(i)) for i in range(_common.backend().device_count())}
    return sorted(archs)


def is_tf32_supported() -> bool:
    if _common.backend().device_count() == 0:
        return False
    return get_device_capability() >= (8, 0)


def can_device_access_peer(device: Any, peer_device: Any) -> bool:
    cp = _common.cupy()
    index, peer = _common.index(device), _common.index(peer_device)
    count = _common.backend().device_count()
    if not (0 <= index < count and 0 <= peer < count):
        raise AssertionError("Invalid device id")
    return bool(cp.cuda.runtime.deviceCanAccessPeer(index, peer))


def init() -> None:
    """Initialise cuda now (cupy and the device count); an error here is one later calls would raise."""
    _common.cupy()


def ipc_collect() -> None:
    """Nothing to collect: disttorch shares no cuda memory between processes."""
    _common.require()


_NO_NVML = "nvidia-ml-py does not seem to be installed or it can't be imported."


def _nvml_handle(device: Any) -> Any:
    try:
        import pynvml
    except ImportError as exc:
        raise ModuleNotFoundError(_NO_NVML) from exc
    pynvml.nvmlInit()
    return pynvml, pynvml.nvmlDeviceGetHandleByIndex(_common.index(device))


def list_gpu_processes(device: Any = None) -> str:
    try:
        nvml, handle = _nvml_handle(device)
    except ModuleNotFoundError:
        return "pynvml module not found, please install nvidia-ml-py"
    procs = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
    lines = [f"GPU:{_common.index(device)}"]
    lines += [f"process {p.pid:>10d} uses {p.usedGpuMemory / 2**20:12.3f} MB GPU memory" for p in procs]
    return "\n".join(lines if procs else lines + ["no processes are running"])


def utilization(device: Any = None) -> int:
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)


def temperature(device: Any = None) -> int:
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetTemperature(handle, 0))  # 0: NVML_TEMPERATURE_GPU


def power_draw(device: Any = None) -> int:
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetPowerUsage(handle))  # milliwatts


def clock_rate(device: Any = None) -> int:
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetClockInfo(handle, 1))  # 1: NVML_CLOCK_SM, MHz


def device_memory_used(device: Any = None) -> int:
    """Used device memory in bytes, as nvidia-smi shows it (every process's, not only this one's)."""
    try:
        nvml, handle = _nvml_handle(device)
    except ModuleNotFoundError:  # with a device, the CUDA runtime says the same: total minus free
        if _common.backend().device_count() == 0:
            raise
        from .memory import mem_get_info

        free, total = mem_get_info(device)
        return total - free
    return int(nvml.nvmlDeviceGetMemoryInfo(handle).used)


def memory_usage(device: Any = None) -> int:
    """Percent of the last sample period in which device memory was read or written (NVML; needs nvidia-ml-py)."""
    nvml, handle = _nvml_handle(device)
    return int(nvml.nvmlDeviceGetUtilizationRates(handle).memory)
