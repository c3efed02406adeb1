"""Torch's ready-made softmax, losses and attention, and how a sandbox makes them unavailable.

A "build it yourself" test (`@test(forbids=...)` in graders.code) runs in a sandbox of its own
where, before the student's module loads, what the rule forbids is taken away:

- Kernels, at torch's dispatcher: every overload of each forbidden operator gets, for every
  dispatch key it has a kernel for (CPU, sparse, nested, mkldnn, quantized, the composite
  aliases, autograd...), a kernel that raises. However the operator is reached (`torch.softmax`,
  `x.softmax`, `getattr`, `torch.ops.aten._softmax`, vmap, TorchScript, a nested or sparse
  tensor, with torch function and dispatch modes disabled), the call fails. The registration
  is held by a C++ object no Python object refers to (one reference taken with Py_IncRef,
  every Python one dropped, and the object is not tracked by the collector), so the
  submission cannot find it to undo it.
- Torch's own Python implementations (decompositions in torch._decomp and torch._refs,
  F.multi_head_attention_forward, flex attention's math...): every torch function whose
  qualified name holds one of the rule's words gets, in place, code that raises. The
  candidates are collected once in the zygote (`prepare`); torch modules
  imported later are treated as they load (a meta path finder).

What this cannot tell from a student's own work: Python code that computes the answer from
elementary operations, whether written by the student, copied from anywhere, or re-executed
from torch's own source files behind the import system's back.
"""

from __future__ import annotations

import ctypes
import gc
import re
import sys
import types
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

# The words of an unavailable call's message; graders.sandbox.runner recognises them.
MESSAGE = "torch's {name} is not available in this test"
MESSAGE_PATTERN = re.compile(r"torch's ([\w.:<>]{1,200}) is not available in this test")
TORCH_PACKAGES = ("torch", "functorch", "torchgen")
# Lines of torch._C._dispatch_dump that are not a dispatch key's kernel.
NOT_KEYS = ("name", "schema", "debug", "alias analysis kind")


@dataclass(frozen=True)
class ReadyMade:
    """What a "build it yourself" rule takes away.

    `operators`: dispatcher operators (every overload), such as "aten::_softmax".
    `words`: torch's Python functions whose qualified name holds one of them.
    `spelled`: names in the student's source that point the feedback at a line.
    """

    operators: frozenset[str]
    words: tuple[str, ...]
    spelled: frozenset[str]

    def __or__(self, other: ReadyMade) -> ReadyMade:
        return ReadyMade(
            self.operators | other.operators,
            tuple(dict.fromkeys(self.words + other.words)),
            self.spelled | other.spelled,
        )

    def names(self, name: str) -> bool:
        """True if `name` (from an unavailable call's message) is one of this rule's."""
        if name in self.operators:
            return True
        return name.partition(".")[0] in TORCH_PACKAGES and any(word in name.lower() for word in self.words)


def _aten(*names: str) -> frozenset[str]:
    return frozenset(name if "::" in name else f"aten::{name}" for name in names)


# Every kernel that computes a softmax or a log-softmax, forward or backward, dense or not.
SOFTMAX = ReadyMade(
    _aten(
        "softmax", "_softmax", "log_softmax", "_log_softmax", "_safe_softmax", "_masked_softmax",
        "special_softmax", "special_log_softmax", "_sparse_softmax", "_sparse_log_softmax",
        "_nested_tensor_softmax_with_shape", "_softmax_backward_data", "_log_softmax_backward_data",
        "_masked_softmax_backward", "_sparse_softmax_backward_data", "_sparse_log_softmax_backward_data",
        "quantized::softmax",
    ),
    # Categorical(logits=z) keeps z - logsumexp(z): a log-softmax by another name.
    ("softmax", "softmin", "categorical.__init__"),
    frozenset({"softmax", "log_softmax", "Softmax", "LogSoftmax", "softmin", "Softmin", "Categorical"}),
)  # fmt: skip
# Torch's losses built on a log-softmax.
LOSSES = ReadyMade(
    _aten(
        "cross_entropy_loss", "nll_loss", "nll_loss2d", "nll_loss_nd", "nll_loss_forward", "nll_loss2d_forward",
        "nll_loss_backward", "nll_loss2d_backward",
    ),
    ("cross_entropy", "nll"),
    frozenset({"cross_entropy", "nll_loss", "CrossEntropyLoss", "NLLLoss"}),
)  # fmt: skip
# Every attention kernel, the fused paths of nn.MultiheadAttention and nn.TransformerEncoderLayer.
ATTENTION = ReadyMade(
    _aten(
        "scaled_dot_product_attention", "_scaled_dot_product_attention_math",
        "_scaled_dot_product_attention_math_for_mps", "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_flash_attention_for_cpu_backward", "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_flash_attention_backward", "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_efficient_attention_backward", "_scaled_dot_product_cudnn_attention",
        "_scaled_dot_product_cudnn_attention_backward", "_scaled_dot_product_fused_attention_overrideable",
        "_scaled_dot_product_fused_attention_overrideable_backward", "_fused_sdp_choice",
        "_flash_attention_forward", "_flash_attention_backward", "_flash_attention_forward_no_dropout_inplace",
        "_efficient_attention_forward", "_efficient_attention_backward", "_cudnn_attention_forward",
        "_cudnn_attention_backward", "_native_multi_head_attention", "_triton_multi_head_attention",
        "_triton_scaled_dot_attention", "_transformer_encoder_layer_fwd",
    ),
    ("attention", "attn", "sdpa"),
    frozenset({"scaled_dot_product_attention", "MultiheadAttention", "multi_head_attention_forward"}),
)  # fmt: skip
ALL = SOFTMAX | LOSSES | ATTENTION


class Unavailable(NotImplementedError):
    """What a taken-away kernel or function raises."""


# What make_unavailable needs, worked out once in the zygote (see prepare), so that a sandbox
# only registers and assigns: torch's Python functions named like a family's words with the
# code that replaces theirs, and each operator's overloads with the keys they have kernels for.
_implementations: list[tuple[types.FunctionType, types.CodeType]] = []
_kernels: dict[str, list[tuple[str, list[str]]]] = {}
_stubs: dict[int, types.CodeType] = {}


def prepare() -> None:
    """Find what every family names (in the zygote, once, after torch and the preloads are imported).

    Functions from the collector's whole list, not only module attributes: wrappers, their
    `__wrapped__` originals and the decomposition tables' entries are all functions it tracks.
    """
    found = [
        item
        for item in gc.get_objects()
        if type(item) is types.FunctionType and _named_like(item, ALL.words) and _in_torch(item)
    ]
    _implementations[:] = [(function, _stub_for(function)) for function in found]
    _kernels.clear()
    for qualified in sorted(ALL.operators):
        _kernels[qualified] = _overloads_and_keys(qualified)


def make_unavailable(operators: Iterable[str], words: Iterable[str]) -> None:
    """Take away these operators' kernels and torch's Python functions named with these words, for good."""
    words = tuple(words)
    _block_operators(operators)
    for function, stub in _implementations:
        if _named_like(function, words):
            function.__code__ = stub
    sys.meta_path.insert(0, _LaterImports(words))


def _block_operators(operators: Iterable[str]) -> None:
    import torch

    libraries: dict[str, object] = {}
    with warnings.catch_warnings():
        # "Overriding a previously registered kernel": expected, and not for the student's output.
        warnings.simplefilter("ignore")
        for qualified in sorted(operators):
            namespace = qualified.partition("::")[0]
            overloads = _kernels[qualified] if qualified in _kernels else _overloads_and_keys(qualified)
            if overloads and namespace not in libraries:
                libraries[namespace] = torch._C._dispatch_library("IMPL", namespace, "", "", 0)
            kernel = _raising_kernel(qualified)
            for overload, keys in overloads:
                for key in keys:
                    libraries[namespace].impl(overload, key, kernel, False)
    while libraries:
        # Kept alive by one reference no Python object holds (and the collector does not track
        # it): the registrations last as long as the process, and the submission has nothing
        # to call `reset()` on.
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(libraries.popitem()[1]))


def _overloads_and_keys(qualified: str) -> list[tuple[str, list[str]]]:
    """Each overload of an operator (as `name.overload`) with the dispatch keys it has kernels for."""
    import torch

    namespace, _, name = qualified.partition("::")
    packet = getattr(getattr(torch.ops, namespace), name, None) if name else None
    if packet is None:
        return []
    found = []
    for overload in packet.overloads():
        overload_name = name if overload == "default" else f"{name}.{overload}"
        found.append((overload_name, _kernel_keys(f"{namespace}::{overload_name}")))
    return found


def _kernel_keys(qualified_overload: str) -> list[str]:
    """The dispatch keys this overload has a kernel for (aliases included), from torch's own table."""
    import torch

    keys = []
    for line in torch._C._dispatch_dump(qualified_overload).splitlines():
        key, separator, rest = line.partition(": ")
        key = key.removesuffix("[alias]")
        if separator and rest.startswith("registered") and key.isidentifier() and key not in NOT_KEYS:
            keys.append(key)
    return keys


def _raising_kernel(qualified: str):
    message = MESSAGE.format(name=qualified)

    def unavailable(*args: object, **kwargs: object) -> None:
        raise Unavailable(message)

    return unavailable


def _in_torch(function: types.FunctionType) -> bool:
    module = function.__module__
    return type(module) is str and module.partition(".")[0] in TORCH_PACKAGES


def _named_like(function: types.FunctionType, words: tuple[str, ...]) -> bool:
    name = function.__qualname__
    return type(name) is str and any(word in name.lower() for word in words)


def _stub_for(function: types.FunctionType) -> types.CodeType:
    """Code that raises Unavailable naming `function`, with as many free variables as its own.

    A function's code can only be replaced by code with the same number of free variables. The
    function keeps its globals (torch's module), so the stub uses builtins only, and raises
    NotImplementedError with the message the runner recognises (MESSAGE).
    """
    free = len(function.__code__.co_freevars)
    if free not in _stubs:
        cells = [f"_cell{index}" for index in range(free)]
        lines = ["def _outer():", *(f"    {cell} = None" for cell in cells)]
        lines += ["    def unavailable(*args, **kwargs):", *(f"        {cell}" for cell in cells)]
        lines += [
            "        name = __import__('sys')._getframe().f_code.co_qualname",
            f"        raise NotImplementedError({MESSAGE!r}.format(name=name))",
            "    return unavailable",
        ]
        namespace: dict[str, object] = {}
        exec("\n".join(lines), namespace)  # noqa: S102 - our own fixed text
        code = namespace["_outer"]().__code__
        _stubs[free] = code
    name = f"{function.__module__}.{function.__qualname__}"
    return _stubs[free].replace(co_name=function.__code__.co_name, co_qualname=name)


class _LaterImports:
    """A meta path finder: torch modules imported after the rule was set lose their named functions too."""

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = words

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        if fullname.partition(".")[0] not in TORCH_PACKAGES:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is None:
                continue
            if getattr(spec.loader, "exec_module", None) is not None:
                spec.loader = _NeuteringLoader(spec.loader, self.words)
            return spec
        return None


class _NeuteringLoader:
    # Torch modules being executed right now: one import statement can load hundreds (a custom
    # op's first call imports torch._dynamo), and one walk at the end of the outermost is enough.
    depth = 0

    def __init__(self, loader: object, words: tuple[str, ...]) -> None:
        self._loader = loader
        self._words = words

    def __getattr__(self, name: str) -> object:
        return getattr(self._loader, name)

    def create_module(self, spec: object) -> object:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        _NeuteringLoader.depth += 1
        try:
            self._loader.exec_module(module)
        finally:
            _NeuteringLoader.depth -= 1
        if _NeuteringLoader.depth:
            return
        # What the modules made, wherever they keep it (namespaces, closures, custom ops'
        # implementations): the collector's lists hold only what was made since the zygote
        # froze its heap, so this walk is short.
        for item in gc.get_objects():
            if type(item) is types.FunctionType and _in_torch(item) and _named_like(item, self._words):
                item.__code__ = _stub_for(item)
