"""Model factories that tests pass into student code by name, built identically on both sides.

A reference module registers factories at import time; the zygote imports it before dropping
privileges, and the trusted process imports it to compute expected values:

    @register_model("tiny_transformer")
    def tiny_transformer(seed: int = 0) -> torch.nn.Module: ...

A test then passes `t.model("tiny_transformer", seed=3)` as an argument; the sandbox builds the
model from the factory, so no model object ever crosses the boundary.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

import torch

_factories: dict[str, Callable[..., torch.nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., torch.nn.Module]], Callable[..., torch.nn.Module]]:
    """Register a factory under `name`; it must build the same model for the same arguments."""

    def decorator(factory: Callable[..., torch.nn.Module]) -> Callable[..., torch.nn.Module]:
        if name in _factories and _factories[name] is not factory:
            raise ValueError(f"a model named {name!r} is already registered")
        _factories[name] = factory
        return factory

    return decorator


def build_model(name: str, **kwargs: object) -> torch.nn.Module:
    """A fresh model from the factory registered under `name`."""
    factory = _factories.get(name)
    if factory is None:
        known = ", ".join(sorted(_factories)) or "none"
        raise ValueError(f"no model named {name!r} is registered (registered: {known})")
    return factory(**kwargs)


def import_model_modules(names: Iterable[str]) -> list[str]:
    """Import the modules that register models; a module that does not exist is skipped.

    Returns the names actually imported. An error inside an existing module is raised.
    """
    imported = []
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
                continue
            raise
        imported.append(name)
    return imported
