"""The one-line form, `"test_source kind=video fps=30 ! print_sink"`, built into the same spec as a graph file.

Each element is `TYPE [name=NAME] [PARAM=VALUE ...]`; it takes the first output of the element before it whose
kind one of its inputs accepts. Values are read as YAML scalars, so `source=0` is a number and `source=a.mp4` a string.
"""

from __future__ import annotations

import shlex

import yaml
from pydantic import ValidationError

from graph.registry import UnknownType, resolve
from graph.spec import GraphSpec, SpecError, build

WHERE = "<launch>"


def parse(line: str, overrides: list[str] | None = None) -> GraphSpec:
    nodes: dict[str, dict] = {}
    prev: tuple[str, dict] | None = None  # name, output ports
    for index, element in enumerate(line.split("!"), 1):
        try:
            tokens = shlex.split(element)
        except ValueError as exc:
            raise SpecError(WHERE, None, f"element {index}: {exc}") from None
        if not tokens:
            raise SpecError(WHERE, None, f"element {index} is empty (two '!' in a row?)")
        type_name, params = tokens[0], {}
        for token in tokens[1:]:
            key, eq, value = token.partition("=")
            if not eq or not key:
                raise SpecError(WHERE, None, f"element {index} '{type_name}': expected PARAM=VALUE, got {token!r}")
            params[key] = yaml.safe_load(value) if value else ""
        name = str(params.pop("name", None) or _unique(type_name.rsplit(":", 1)[-1], nodes))
        try:
            cls, _ = resolve(type_name)
        except UnknownType as exc:
            raise SpecError(WHERE, None, f"element {index}: {exc}") from None
        node: dict = {"type": type_name, "params": params}
        if prev is not None:
            node["inputs"] = _link(prev, cls, index, type_name)
        nodes[name] = node
        try:
            outputs = cls.output_ports(cls.Params(**params))
        except (ValidationError, TypeError):
            outputs = cls.outputs  # build() reports the bad param with its name
        prev = (name, outputs)
    return build({"name": "launch", "nodes": nodes}, WHERE, overrides)


def _link(prev: tuple[str, dict], cls: type, index: int, type_name: str) -> dict[str, str]:
    prev_name, outputs = prev
    for out_port, out in outputs.items():
        for in_port, inp in cls.inputs.items():
            if inp.accepts(out.kind):
                return {in_port: f"{prev_name}.{out_port}"}
    kinds = ", ".join(o.kind for o in outputs.values()) or "nothing"
    raise SpecError(WHERE, None, f"element {index} '{type_name}' takes none of what '{prev_name}' sends ({kinds})")


def _unique(base: str, taken: dict) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name
