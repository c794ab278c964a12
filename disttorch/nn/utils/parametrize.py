"""torch.nn.utils.parametrize: ``module.<name>`` becomes a property computed from ``module.parametrizations.<name>``
(a ParametrizationList holding the stored ``original`` tensor(s) and the parametrization modules, applied in
order). The module's class is swapped for a generated subclass that carries the property."""
from __future__ import annotations

import contextlib
from typing import Iterator

from disttorch._tensor import Tensor
from disttorch.nn.modules.container import ModuleDict, ModuleList
from disttorch.nn.modules.module import Module
from disttorch.nn.parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "ParametrizationList"]

_cache_enabled = 0
_cache: dict = {}


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Within the block, each parametrized tensor is computed once."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _as_stored(value: Tensor, like: Tensor | None) -> Tensor:
    if isinstance(like, Parameter) or like is None:
        return Parameter(value.detach(), like.requires_grad if like is not None else True)
    return value.detach()


class ParametrizationList(ModuleList):
    def __init__(self, modules: list, original: Tensor, unsafe: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = unsafe
        from disttorch.autograd import no_grad

        with no_grad():
            new = original
            for m in reversed(self):
                if hasattr(m, "right_inverse"):
                    try:
                        new = m.right_inverse(new)
                    except NotImplementedError:  # as in PyTorch: then right_inverse is taken as the identity
                        pass
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if original.shape == new.shape and original.dtype == new.dtype:
                original.data = new.data  # keep the same Parameter object
                self.register_parameter("original", original) if isinstance(original, Parameter) \
                    else self.register_buffer("original", original)
            else:
                stored = _as_stored(new, original)
                (self.register_parameter if isinstance(stored, Parameter) else self.register_buffer)("original",
                                                                                                    stored)
        else:
            for i, t in enumerate(new):
                stored = _as_stored(t, original)
                (self.register_parameter if isinstance(stored, Parameter) else self.register_buffer)(
                    f"original{i}", stored)

    def right_inverse(self, value: Tensor) -> None:
        from disttorch.autograd import no_grad

        with no_grad():
            for m in reversed(self):
                if hasattr(m, "right_inverse"):
                    value = m.right_inverse(value)
                elif not self.unsafe:
                    raise RuntimeError(f"parametrization {type(m).__name__} does not implement right_inverse.")
            if self.is_tensor:
                self.original.copy_(value)
            else:
                for i, t in enumerate(value):
                    getattr(self, f"original{i}").copy_(t)

    def forward(self) -> Tensor:
        x = self[0](self.original) if self.is_tensor else self[0](*(getattr(self, f"original{i}")
                                                                    for i in range(self.ntensors)))
        for m in list(self)[1:]:
            x = m(x)
        return x


def _property(name: str) -> property:
    def get(self: Module) -> Tensor:
        plist = self.parametrizations[name]
        if _cache_enabled:
            key = (id(self), name)
            if key not in _cache:
                _cache[key] = plist()
            return _cache[key]
        return plist()

    def set_(self: Module, value: Tensor) -> None:
        self.parametrizations[name].right_inverse(value)

    return property(get, set_)


def _inject_class(module: Module) -> None:
    cls = module.__class__
    new = type(f"Parametrized{cls.__name__}", (cls,), {"_orig_class": cls})
    module.__class__ = new


def type_before_parametrizations(module: Module) -> type:
    return module.__class__._orig_class if is_parametrized(module) else type(module)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    original = getattr(module, tensor_name)
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    module._parameters.pop(tensor_name, None)
    module._buffers.pop(tensor_name, None)
    if not is_parametrized(module):
        _inject_class(module)
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist
    setattr(module.__class__, tensor_name, _property(tensor_name))
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    plist = module.__dict__.get("_modules", {}).get("parametrizations")
    if plist is None or not isinstance(plist, ModuleDict):
        return False
    return len(plist) > 0 if tensor_name is None else tensor_name in plist


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    from disttorch.autograd import no_grad

    if leave_parametrized:
        with no_grad():
            value = getattr(module, tensor_name)
        if plist.is_tensor:
            orig = plist.original
            if isinstance(orig, Parameter) and orig.shape == value.shape and orig.dtype == value.dtype:
                with no_grad():
                    orig.copy_(value)
                stored = orig
            else:
                stored = Parameter(value.detach()) if isinstance(orig, Parameter) else value.detach()
        else:
            stored = Parameter(value.detach(), plist.original0.requires_grad)
    else:
        if not plist.is_tensor:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                             "parametrized in terms of a sequence of tensors.")
        stored = plist.original
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    if isinstance(stored, Parameter):
        module.register_parameter(tensor_name, stored)
    else:
        module.register_buffer(tensor_name, stored)
    if not is_parametrized(module):
        del module.parametrizations
        module.__class__ = module.__class__._orig_class
    return module
