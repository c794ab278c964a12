"""The two unpicklers of ``load``: the restricted one (``weights_only=True``: only allow-listed globals,
no code from the file runs) and the full one (``weights_only=False``). Both read PyTorch's names:
``torch.<path>`` resolves to disttorch's object at ``disttorch.<path>`` (or the nearest package above
that has the name), so a pickle written by real PyTorch loads into disttorch's classes."""
from __future__ import annotations

import _compat_pickle
import importlib
import pickle
import sys
from typing import IO, Any

from disttorch.serialization import _rebuild as R
from disttorch.serialization import _safe_globals as S


def _lookup(module: Any, qualname: str) -> Any:
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def resolve_torch_name(module: str, name: str, importing: bool) -> Any:
    """disttorch's counterpart of PyTorch's ``module.name`` (None if there is none). ``importing``:
    import disttorch modules that are not loaded yet (the full unpickler); otherwise only look at
    modules already imported (the restricted one imports nothing on a file's say-so)."""
    if module != "torch" and not module.startswith("torch."):
        return None
    parts = ["disttorch"] + module.split(".")[1:]
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        mod = sys.modules.get(candidate)
        if mod is None and importing:
            try:
                mod = importlib.import_module(candidate)
            except ImportError:
                mod = None
        if mod is not None:
            hit = _lookup(mod, name)
            if hit is not None:
                return hit
    return None


class RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (every opcode is ours to police) with PyTorch's ``weights_only`` rules:
    globals only from the allow-list; calls, object creation and state setting only on allow-listed
    objects; items only appended to lists, sets and dicts."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: IO[bytes], persistent_load: Any, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.persistent_load = persistent_load
        self.allowed = S.default_allowed_globals()
        self.user = S.user_allowed_globals()
        self._allowed_ids = {id(v) for v in self.allowed.values()} | {id(v) for v in self.user.values()}
        self._user_types = tuple(v for v in self.user.values() if isinstance(v, type))

    def find_class(self, module: str, name: str) -> Any:
        if self.proto < 3 and self.fix_imports:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        if module in S.BLOCKED_MODULES:
            raise pickle.UnpicklingError(S.blocked_global(module, full))
        if full in self.allowed:
            return self.allowed[full]
        if full in self.user:
            return self.user[full]
        counterpart = resolve_torch_name(module, name, importing=False)
        if counterpart is not None and id(counterpart) in self._allowed_ids:
            return counterpart
        raise pickle.UnpicklingError(S.unsupported_global(full))

    def _allowed(self, obj: Any) -> bool:
        return id(obj) in self._allowed_ids

    def _reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if not self._allowed(func):
            raise pickle.UnpicklingError(f"Trying to call reduce for unrecognized function {func}")
        self.stack[-1] = func(*args)

    def _newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        if not (isinstance(cls, type) and self._allowed(cls)):
            raise pickle.UnpicklingError("Can only create new object for nn.Parameter or classes allowlisted via "
                                         f"`add_safe_globals` but got {cls}")
        from disttorch.nn.parameter import Parameter

        self.append(Parameter(*args) if cls is Parameter else cls.__new__(cls, *args))

    def _build(self) -> None:
        import collections

        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is collections.OrderedDict and isinstance(state, dict):
            inst.__dict__.update(state)
            return
        if not (self._user_types and type(inst) in self._user_types):
            raise pickle.UnpicklingError("Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                                         f"`add_safe_globals`, but got {type(inst)}")
        setstate = getattr(inst, "__setstate__", None)
        if setstate is not None and getattr(type(inst), "__setstate__", None) is not None:
            setstate(state)
            return
        slotstate = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slotstate = state
        if state:
            inst.__dict__.update(state)
        if slotstate:
            for k, v in slotstate.items():
                setattr(inst, k, v)

    def _appends_to(self, container: Any, kind: type, what: str) -> None:
        if not isinstance(container, kind):
            raise pickle.UnpicklingError(f"Can only {what}, but got {type(container)}")

    def _append(self) -> None:
        self._appends_to(self.stack[-2], list, "append to lists")
        super().load_append()

    def _appends(self) -> None:
        items = self.pop_mark()
        self._appends_to(self.stack[-1], list, "append to lists")
        self.stack[-1].extend(items)

    def _setitem(self) -> None:
        self._appends_to(self.stack[-3], dict, "set items in dicts")
        super().load_setitem()

    def _setitems(self) -> None:
        items = self.pop_mark()
        self._appends_to(self.stack[-1], dict, "set items in dicts")
        for i in range(0, len(items), 2):
            self.stack[-1][items[i]] = items[i + 1]

    def _additems(self) -> None:
        items = self.pop_mark()
        self._appends_to(self.stack[-1], set, "add items to sets")
        self.stack[-1].update(items)

    def _refuse(self) -> None:
        raise pickle.UnpicklingError("Unsupported operand: this pickle opcode is not allowed with weights_only=True")

    dispatch[pickle.REDUCE[0]] = _reduce
    dispatch[pickle.NEWOBJ[0]] = _newobj
    dispatch[pickle.BUILD[0]] = _build
    dispatch[pickle.APPEND[0]] = _append
    dispatch[pickle.APPENDS[0]] = _appends
    dispatch[pickle.SETITEM[0]] = _setitem
    dispatch[pickle.SETITEMS[0]] = _setitems
    dispatch[pickle.ADDITEMS[0]] = _additems
    for _op in (pickle.NEWOBJ_EX, pickle.INST, pickle.OBJ, pickle.EXT1, pickle.EXT2, pickle.EXT4):
        dispatch[_op[0]] = _refuse


class FullUnpickler(pickle.Unpickler):
    """Ordinary unpickling (it runs whatever the pickle names), with PyTorch's names resolved to
    disttorch's objects."""

    def __init__(self, file: IO[bytes], persistent_load: Any, **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._persistent = persistent_load
        self._torch_names = {k: v for k, v in S.default_allowed_globals().items() if k.startswith("torch")}

    def persistent_load(self, pid: Any) -> Any:
        return self._persistent(pid)

    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        hit = self._torch_names.get(full)
        if hit is not None:
            return hit
        counterpart = resolve_torch_name(module, name, importing=True)
        if counterpart is not None:
            return counterpart
        if module == "torch" or module.startswith("torch."):
            raise AttributeError(f"Can't get attribute '{name}' on <module '{module}'>: disttorch has no counterpart "
                                 f"of {full}")
        return super().find_class(module, name)


def unpickle(data: IO[bytes], reader: R.StorageReader, weights_only: bool, **pickle_load_args: Any) -> Any:
    cls = RestrictedUnpickler if weights_only else FullUnpickler
    return cls(data, reader, **pickle_load_args).load()
