"""The graph file: load YAML with line numbers, resolve node types, validate everything before a process starts.

Every error is one line, `FILE:LINE: what is wrong`, so an editor can jump to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from graph.node import POLICIES, Node, Out
from graph.registry import UnknownType, resolve

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
RESTART = ("on-failure", "always", "never")
NODE_KEYS = {"type", "inputs", "params", "host", "restart", "max_restarts", "hang_timeout"}
TOP_KEYS = {"name", "nodes", "hosts"}
LOCAL = "local"


class SpecError(ValueError):
    """A graph file problem; str() is the one line the user sees."""

    def __init__(self, where: str, line: int | None, msg: str) -> None:
        super().__init__(f"{where}:{line}: {msg}" if line else f"{where}: {msg}")


@dataclass(frozen=True)
class Source:
    node: str
    port: str

    def __str__(self) -> str:
        return f"{self.node}.{self.port}"


@dataclass
class Edge:
    sources: list[Source]
    policy: str


@dataclass
class Host:
    name: str
    address: str = "127.0.0.1"
    port_base: int = 5600


@dataclass
class NodeSpec:
    name: str
    type: str
    target: str  # importable "module:Class"
    cls: type[Node]
    params: dict[str, Any]  # validated, JSON-able
    inputs: dict[str, Edge]
    outputs: dict[str, Out]
    host: str = LOCAL
    restart: str = "on-failure"
    max_restarts: int = 5
    hang_timeout: float = 30.0
    line: int = 0


@dataclass
class GraphSpec:
    name: str
    path: str
    nodes: dict[str, NodeSpec]
    hosts: dict[str, Host] = field(default_factory=dict)

    def consumers(self, node: str, port: str) -> list[str]:
        return [n.name for n in self.nodes.values() for e in n.inputs.values() if Source(node, port) in e.sources]


# -- YAML with positions ---------------------------------------------------------------------------------------
class LDict(dict):
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[Any, int]


def _compose(text: str, where: str) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise SpecError(where, None, "the graph file is empty")
        return _walk(loader, root, where)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(where, mark.line + 1 if mark else None, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(where, None, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _walk(loader: yaml.SafeLoader, node: yaml.Node, where: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = LDict()
        out.line, out.key_lines = node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise SpecError(where, line, f"a key must be a plain name, not {key!r}")
            if key in out:
                raise SpecError(where, line, f"duplicate key '{key}' (first on line {out.key_lines[key]})")
            out[key] = _walk(loader, value_node, where)
            out.key_lines[key] = line
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, item, where) for item in node.value]
    return loader.construct_object(node, deep=True)


# -- loading ----------------------------------------------------------------------------------------------------
def load_file(path: str | Path, overrides: list[str] | None = None) -> GraphSpec:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(path), None, f"cannot read the graph file: {exc.strerror}") from None
    return load_text(text, str(path), overrides)


def load_text(text: str, where: str = "<graph>", overrides: list[str] | None = None) -> GraphSpec:
    raw = _compose(text, where)
    return build(raw, where, overrides)


def build(raw: Any, where: str, overrides: list[str] | None = None) -> GraphSpec:
    """Validate a parsed graph (an LDict from `_compose`, or a plain dict from `emograph launch`)."""
    if not isinstance(raw, dict):
        raise SpecError(where, 1, "a graph file is a mapping with 'name' and 'nodes'")
    _no_unknown(raw, TOP_KEYS, where, "top level")
    nodes_raw = raw.get("nodes")
    if not isinstance(nodes_raw, dict) or not nodes_raw:
        raise SpecError(where, _line(raw, "nodes"), "'nodes' must be a non-empty mapping of node name to node")
    name = raw.get("name", re.sub(r"[^A-Za-z0-9_-]", "", Path(where).stem) or "graph")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(where, _line(raw, "name"), f"graph name {name!r} must be letters, digits, '_' or '-'")
    hosts = _hosts(raw.get("hosts") or {}, where)
    _apply_overrides(nodes_raw, overrides or [], where)

    nodes = {n: _node(n, body, nodes_raw, hosts, where) for n, body in nodes_raw.items()}
    spec = GraphSpec(name=name, path=where, nodes=nodes, hosts=hosts)
    for node in nodes.values():
        _check_edges(spec, node, nodes_raw[node.name], where)
    _check_cycles(spec, where)
    return spec


def _hosts(raw: Any, where: str) -> dict[str, Host]:
    hosts = {LOCAL: Host(LOCAL)}
    if not isinstance(raw, dict):
        raise SpecError(where, None, "'hosts' must map a host name to {address, port_base}")
    for hname, body in raw.items():
        line = _line(raw, hname)
        if not isinstance(body, dict) or not isinstance(body.get("address"), str):
            raise SpecError(where, line, f"host '{hname}' needs an 'address' (an IP or name this host binds on)")
        _no_unknown(body, {"address", "port_base"}, where, f"host '{hname}'")
        port_base = body.get("port_base", 5600)
        if not isinstance(port_base, int) or not 1024 <= port_base < 65000:
            raise SpecError(where, _line(body, "port_base"), f"host '{hname}': port_base must be 1024..64999")
        hosts[str(hname)] = Host(str(hname), body["address"], port_base)
    return hosts


def _apply_overrides(nodes_raw: dict, overrides: list[str], where: str) -> None:
    for item in overrides:
        key, eq, value = item.partition("=")
        node, dot, param = key.partition(".")
        if not (eq and dot and param):
            raise SpecError(where, None, f"--set {item!r}: expected NODE.PARAM=VALUE")
        if node not in nodes_raw or not isinstance(nodes_raw[node], dict):
            raise SpecError(where, None, f"--set {item!r}: no node '{node}' in this graph")
        body = nodes_raw[node]
        params = body.get("params")
        if params is None:
            params = body["params"] = LDict()
            params.line, params.key_lines = getattr(body, "line", 0), {}
        params[param] = yaml.safe_load(value) if value else ""


def _node(name: Any, body: Any, nodes_raw: dict, hosts: dict[str, Host], where: str) -> NodeSpec:
    line = _line(nodes_raw, name)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(where, line, f"node name {name!r} must start with a letter and hold letters, digits, '_' or '-'")
    if not isinstance(body, dict):
        raise SpecError(where, line, f"node '{name}': expected a mapping with 'type', got {type(body).__name__}")
    _no_unknown(body, NODE_KEYS, where, f"node '{name}'")
    type_name = body.get("type")
    if not isinstance(type_name, str):
        raise SpecError(where, _line(body, "type") or line, f"node '{name}': 'type' is missing")
    try:
        cls, target = resolve(type_name)
    except UnknownType as exc:
        raise SpecError(where, _line(body, "type"), f"node '{name}': {exc}") from None

    params_raw = body.get("params") or {}
    if not isinstance(params_raw, dict):
        raise SpecError(where, _line(body, "params"), f"node '{name}': 'params' must be a mapping")
    try:
        model = cls.Params(**params_raw)
        params = model.model_dump(mode="json")
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"][0] if err["loc"] else None
        pline = _line(params_raw, loc) if loc is not None else None
        what = f"param '{loc}'" if loc is not None else "params"
        msg = "unknown param" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            known = ", ".join(cls.Params.model_fields) or "none"
            msg += f" (known: {known})"
        raise SpecError(where, pline or _line(body, "params") or line, f"node '{name}': {what}: {msg}") from None
    except TypeError as exc:
        raise SpecError(where, _line(body, "params") or line, f"node '{name}': params: {exc}") from None

    host = body.get("host", LOCAL)
    if host not in hosts:
        raise SpecError(where, _line(body, "host"), f"node '{name}': unknown host '{host}' (declare it under 'hosts')")
    restart = body.get("restart", "on-failure")
    if restart not in RESTART:
        raise SpecError(where, _line(body, "restart"), f"node '{name}': restart must be one of {', '.join(RESTART)}")
    max_restarts = body.get("max_restarts", 5)
    if not isinstance(max_restarts, int) or isinstance(max_restarts, bool) or max_restarts < 0:
        raise SpecError(where, _line(body, "max_restarts"), f"node '{name}': max_restarts must be an integer >= 0")
    hang = body.get("hang_timeout", 30.0)
    if not isinstance(hang, (int, float)) or isinstance(hang, bool) or hang <= 0:
        raise SpecError(where, _line(body, "hang_timeout"), f"node '{name}': hang_timeout must be seconds > 0")

    return NodeSpec(
        name=name, type=type_name, target=target, cls=cls, params=params, inputs={}, outputs=cls.output_ports(model), host=host,
        restart=restart, max_restarts=max_restarts, hang_timeout=float(hang), line=line or 0,
    )


def _check_edges(spec: GraphSpec, node: NodeSpec, body: dict, where: str) -> None:
    inputs_raw = body.get("inputs") or {}
    if not isinstance(inputs_raw, dict):
        raise SpecError(where, _line(body, "inputs"), f"node '{node.name}': 'inputs' must map input port to 'node.port'")
    declared = node.cls.inputs
    for port, value in inputs_raw.items():
        line = _line(inputs_raw, port)
        if port not in declared:
            known = ", ".join(declared) or "none: it is a source"
            raise SpecError(where, line, f"node '{node.name}': no input port '{port}' on type '{node.type}' (inputs: {known})")
        policy = declared[port].policy
        refs = value
        if isinstance(value, dict):
            _no_unknown(value, {"from", "policy"}, where, f"node '{node.name}' input '{port}'")
            refs, policy = value.get("from"), value.get("policy", policy)
            if policy not in POLICIES:
                raise SpecError(where, _line(value, "policy"), f"node '{node.name}' input '{port}': policy {policy!r} must be one of {', '.join(POLICIES)}")
        refs = refs if isinstance(refs, list) else [refs]
        sources: list[Source] = []
        for ref in refs:
            src = _source(ref, spec, node, port, where, line)
            if src in sources:
                raise SpecError(where, line, f"node '{node.name}' input '{port}': '{src}' is connected twice")
            sources.append(src)
        node.inputs[port] = Edge(sources, policy)
    for port, decl in declared.items():
        if decl.required and port not in node.inputs:
            raise SpecError(where, node.line, f"node '{node.name}': input '{port}' ({decl.kinds}) is not connected")


def _source(ref: Any, spec: GraphSpec, node: NodeSpec, port: str, where: str, line: int | None) -> Source:
    if not isinstance(ref, str) or ref.count(".") != 1:
        raise SpecError(where, line, f"node '{node.name}' input '{port}': expected 'node.port', got {ref!r}")
    src_node, src_port = ref.split(".")
    if src_node not in spec.nodes:
        raise SpecError(where, line, f"node '{node.name}' input '{port}': no node '{src_node}' in this graph")
    if src_node == node.name:
        raise SpecError(where, line, f"node '{node.name}' input '{port}': a node cannot feed itself (cycle)")
    outs = spec.nodes[src_node].outputs
    if src_port not in outs:
        known = ", ".join(outs) or "none: it is a sink"
        raise SpecError(where, line, f"node '{node.name}' input '{port}': node '{src_node}' has no output '{src_port}' (outputs: {known})")
    kind, want = outs[src_port].kind, node.cls.inputs[port]
    if not want.accepts(kind):
        raise SpecError(where, line, f"node '{node.name}' input '{port}' takes {want.kinds} but '{ref}' carries {kind}")
    return Source(src_node, src_port)


def _check_cycles(spec: GraphSpec, where: str) -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for edge in spec.nodes[name].inputs.values():
            for src in edge.sources:
                if state.get(src.node) == 1:
                    stack = path + [name]
                    loop = stack[stack.index(src.node):] + [src.node]
                    raise SpecError(where, spec.nodes[name].line, f"the graph has a cycle: {' -> '.join(reversed(loop))}")
                if src.node not in state:
                    visit(src.node, path + [name])
        state[name] = 2

    for name in spec.nodes:
        if name not in state:
            visit(name, [])


def _no_unknown(mapping: dict, allowed: set[str], where: str, what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise SpecError(where, _line(mapping, key), f"{what}: unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")


def _line(mapping: Any, key: Any) -> int | None:
    return getattr(mapping, "key_lines", {}).get(key) if key is not None else getattr(mapping, "line", None)
