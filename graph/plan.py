"""From a validated spec to what each process needs: its class, params and concrete endpoints.

The plan is written as JSON into the run folder, so a worker never re-parses YAML and `python -m graph.worker`
can attach to a running graph by reading the same file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from graph.spec import LOCAL, GraphSpec
from graph.transport import endpoint_ipc


@dataclass
class InputPlan:
    kind: str
    policy: str
    endpoints: list[str]


@dataclass
class NodePlan:
    graph: str
    name: str
    type: str
    target: str
    params: dict
    inputs: dict[str, InputPlan]
    outputs: dict[str, str]  # port -> endpoint to bind
    subscribers: dict[str, int]  # port -> how many input sockets read it, to wait for before a source starts
    control: str  # the supervisor's PULL endpoint for stats and heartbeats
    host: str = LOCAL
    restart: str = "on-failure"
    max_restarts: int = 5
    hang_timeout: float = 30.0


@dataclass
class RunPlan:
    graph: str
    path: str
    host: str
    run_dir: str
    control: str
    stats: str
    nodes: dict[str, NodePlan] = field(default_factory=dict)

    def save(self) -> Path:
        path = Path(self.run_dir) / "plan.json"
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> "RunPlan":
        raw = json.loads(Path(path).read_text())
        nodes = {
            n: NodePlan(**{**p, "inputs": {k: InputPlan(**i) for k, i in p["inputs"].items()}})
            for n, p in raw.pop("nodes").items()
        }
        return cls(**raw, nodes=nodes)


def make_plan(spec: GraphSpec, run_dir: Path, host: str = LOCAL) -> RunPlan:
    endpoints = _output_endpoints(spec, run_dir)
    control = endpoint_ipc(run_dir, "control")
    plan = RunPlan(spec.name, spec.path, host, str(run_dir), control, endpoint_ipc(run_dir, "stats"))
    for node in spec.nodes.values():
        if node.host != host:
            continue
        inputs = {
            port: InputPlan(
                kind=node.cls.inputs[port].kinds,
                policy=edge.policy,
                endpoints=[endpoints[(s.node, s.port)] for s in edge.sources],
            )
            for port, edge in node.inputs.items()
        }
        outputs = {port: endpoints[(node.name, port)] for port in node.outputs}
        subscribers = {port: len(spec.consumers(node.name, port)) for port in node.outputs}
        plan.nodes[node.name] = NodePlan(
            spec.name, node.name, node.type, node.target, node.params, inputs, outputs, subscribers, control,
            node.host, node.restart, node.max_restarts, node.hang_timeout,
        )
    return plan


def _output_endpoints(spec: GraphSpec, run_dir: Path) -> dict[tuple[str, str], str]:
    """ipc where producer and every consumer share a host; tcp on the producer host's address otherwise.

    tcp ports are numbered from the host's `port_base` in spec order, so every host computes the same numbers.
    """
    out: dict[tuple[str, str], str] = {}
    next_port = {h: host.port_base for h, host in spec.hosts.items()}
    for node in spec.nodes.values():
        for port in node.outputs:
            consumers = spec.consumers(node.name, port)
            if any(spec.nodes[c].host != node.host for c in consumers):
                host = spec.hosts[node.host]
                out[(node.name, port)] = f"tcp://{host.address}:{next_port[node.host]}"
                next_port[node.host] += 1
            else:
                out[(node.name, port)] = endpoint_ipc(run_dir, f"{node.name}.{port}")
    return out
