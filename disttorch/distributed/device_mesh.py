"""torch.distributed.device_mesh: DeviceMesh and init_device_mesh (see mesh_and_extras)."""
from .mesh_and_extras import DeviceMesh, init_device_mesh

__all__ = ["DeviceMesh", "init_device_mesh"]
