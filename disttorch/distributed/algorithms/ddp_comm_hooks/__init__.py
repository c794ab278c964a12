"""torch.distributed.algorithms.ddp_comm_hooks: DDP communication hooks (``default_hooks``)."""
from . import default_hooks
from .default_hooks import allreduce_hook, bf16_compress_hook, fp16_compress_hook

__all__ = ["default_hooks", "allreduce_hook", "fp16_compress_hook", "bf16_compress_hook"]
