"""Node types by name: every package's `emograph.nodes` entry points, or `module:Class` written in the graph."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points

from graph.node import Node

GROUP = "emograph.nodes"


class UnknownType(LookupError):
    pass


@dataclass(frozen=True)
class TypeRef:
    name: str
    target: str  # "module:Class"


def available() -> dict[str, TypeRef]:
    """All registered node types, without importing them."""
    return {ep.name: TypeRef(ep.name, ep.value) for ep in entry_points(group=GROUP)}


def resolve(type_name: str) -> tuple[type[Node], str]:
    """The class for a type name or a `module:Class` path, and the importable target to hand to workers."""
    refs = available()
    if type_name in refs:
        target = refs[type_name].target
    elif ":" in type_name:
        target = type_name
    else:
        near = [n for n in sorted(refs) if n.startswith(type_name[:3])] or sorted(refs)
        raise UnknownType(f"unknown node type '{type_name}' (known: {', '.join(near)}; see `emograph nodes`)")
    return load(target), target


def load(target: str) -> type[Node]:
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownType(f"node type '{target}' cannot be loaded: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise UnknownType(f"'{target}' is not a Node subclass")
    return cls
