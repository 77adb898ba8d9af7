"""Broken graph files: each gives its own one-line `FILE:LINE: ...` error, exit code 2, and starts nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.launch import parse
from graph.runs import base_dir
from graph.spec import SpecError, load_text
from tools.cli import main

GOOD = """\
name: good
nodes:
  src:  {type: test_source, params: {kind: text, fps: 5}}
  sink: {type: print_sink, inputs: {in: src.out}}
"""

# (graph text, line the error must name, a fragment of the message)
BROKEN = {
    "bad_yaml": ("name: x\nnodes:\n  src: {type: test_source\n  sink: 1\n", 4, "invalid YAML"),
    "not_a_mapping": ("- just\n- a list\n", 1, "a graph file is a mapping"),
    "no_nodes": ("name: empty\n", None, "'nodes' must be a non-empty mapping"),
    "unknown_top_key": ("name: x\nnode:\n  a: {type: test_source}\n", 2, "top level: unknown key 'node'"),
    "bad_graph_name": ("name: 'a b'\nnodes:\n  a: {type: test_source}\n", 1, "graph name 'a b'"),
    "bad_node_name": ("nodes:\n  9lives: {type: test_source}\n", 2, "node name '9lives'"),
    "duplicate_node": ("nodes:\n  a: {type: test_source}\n  b: {type: print_sink, inputs: {in: a.out}}\n  a: {type: test_source}\n", 4, "duplicate key 'a' (first on line 2)"),
    "unknown_type": ("nodes:\n  a:\n    type: test_sauce\n", 3, "unknown node type 'test_sauce'"),
    "missing_type": ("nodes:\n  a: {params: {fps: 3}}\n", 2, "'type' is missing"),
    "unknown_node_key": ("nodes:\n  a:\n    type: test_source\n    parms: {fps: 3}\n", 4, "node 'a': unknown key 'parms'"),
    "unknown_param": ("nodes:\n  a:\n    type: test_source\n    params:\n      fps: 3\n      colour: red\n", 6, "param 'colour': unknown param"),
    "wrong_param_type": ("nodes:\n  a:\n    type: test_source\n    params:\n      fps: fast\n", 5, "param 'fps': Input should be a valid number"),
    "param_out_of_range": ("nodes:\n  a:\n    type: test_source\n    params:\n      fps: -1\n", 5, "param 'fps': Input should be greater than 0"),
    "missing_param": ("nodes:\n  a: {type: test_source}\n  b:\n    type: jsonl_sink\n    inputs: {in: a.out}\n", 3, "param 'path': Field required"),
    "unknown_input_port": ("nodes:\n  a: {type: test_source}\n  b:\n    type: print_sink\n    inputs:\n      input: a.out\n", 6, "no input port 'input'"),
    "dangling_input": ("nodes:\n  b:\n    type: print_sink\n    inputs:\n      in: ghost.out\n", 5, "no node 'ghost'"),
    "unknown_output_port": ("nodes:\n  a: {type: test_source}\n  b:\n    type: print_sink\n    inputs:\n      in: a.video\n", 6, "node 'a' has no output 'video'"),
    "malformed_source": ("nodes:\n  a: {type: test_source}\n  b:\n    type: print_sink\n    inputs:\n      in: a\n", 6, "expected 'node.port'"),
    "wrong_kind": (
        "nodes:\n  a: {type: test_source, params: {kind: text}}\n  s:\n    type: 'tests.graph_nodes:Slow'\n    inputs:\n      frames: a.out\n",
        6, "takes video/frame but 'a.out' carries text",
    ),
    "unconnected_input": ("nodes:\n  a: {type: test_source}\n  b: {type: print_sink}\n", 3, "input 'in' (*) is not connected"),
    "bad_policy": ("nodes:\n  a: {type: test_source}\n  b:\n    type: print_sink\n    inputs:\n      in: {from: a.out, policy: newest}\n", 6, "policy 'newest' must be one of latest, queue"),
    "duplicate_input": ("nodes:\n  a: {type: test_source}\n  b:\n    type: print_sink\n    inputs:\n      in: [a.out, a.out]\n", 6, "'a.out' is connected twice"),
    "duplicate_port_key": ("nodes:\n  a: {type: test_source}\n  b:\n    type: print_sink\n    inputs:\n      in: a.out\n      in: a.out\n", 7, "duplicate key 'in'"),
    "self_loop": ("nodes:\n  r:\n    type: 'tests.graph_nodes:Relay'\n    inputs:\n      in: r.out\n", 5, "cannot feed itself"),
    "cycle": (
        "nodes:\n  a: {type: 'tests.graph_nodes:Relay', inputs: {in: c.out}}\n  b: {type: 'tests.graph_nodes:Relay', inputs: {in: a.out}}\n"
        "  c: {type: 'tests.graph_nodes:Relay', inputs: {in: b.out}}\n",
        3, "the graph has a cycle: a -> b -> c -> a",
    ),
    "bad_restart": ("nodes:\n  a:\n    type: test_source\n    restart: sometimes\n", 4, "restart must be one of on-failure, always, never"),
    "bad_host": ("nodes:\n  a:\n    type: test_source\n    host: jetson\n", 4, "unknown host 'jetson'"),
    "bad_hang_timeout": ("nodes:\n  a:\n    type: test_source\n    hang_timeout: 0\n", 4, "hang_timeout must be seconds > 0"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_graph_has_its_own_one_line_error(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, line, fragment = BROKEN[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    runs_before = set(base_dir().iterdir())
    assert main(["run", str(path), "--duration", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    where = f"{path}:{line}: " if line else f"{path}: "
    assert err.startswith(where), err
    assert fragment in err, err
    assert set(base_dir().iterdir()) == runs_before  # nothing was started


def test_errors_are_distinct() -> None:
    assert len({fragment for _, _, fragment in BROKEN.values()}) == len(BROKEN) >= 15


def test_validate_accepts_a_good_graph_and_set_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    assert main(["validate", str(path)]) == 0
    assert "2 nodes, 1 edges" in capsys.readouterr().out
    assert main(["validate", str(path), "--set", "src.fps=oops"]) == 2
    assert "node 'src': param 'fps'" in capsys.readouterr().err
    assert main(["validate", str(path), "--set", "nobody.fps=3"]) == 2
    assert "no node 'nobody'" in capsys.readouterr().err


def test_a_missing_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read the graph file" in capsys.readouterr().err


def test_launch_builds_the_same_spec_as_a_file() -> None:
    a = load_text(GOOD.replace("name: good", "name: launch").replace("test_source, params: {kind: text, fps: 5}", "test_source, params: {kind: text, fps: 5}"))
    b = parse("test_source name=src kind=text fps=5 ! print_sink name=sink")
    assert {n: (s.type, s.params, {p: e.sources for p, e in s.inputs.items()}) for n, s in a.nodes.items()} == {
        n: (s.type, s.params, {p: e.sources for p, e in s.inputs.items()}) for n, s in b.nodes.items()
    }


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("test_source ! ! print_sink", "element 2 is empty"),
        ("test_source fps ! print_sink", "expected PARAM=VALUE"),
        ("test_source kind=text ! tests.graph_nodes:Slow", "takes none of what 'test_source' sends (text)"),
        ("nosuch ! print_sink", "unknown node type 'nosuch'"),
    ],
)
def test_launch_errors(line: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse(line)


def test_default_and_edge_policies() -> None:
    spec = load_text(
        "nodes:\n  a: {type: test_source}\n  s: {type: 'tests.graph_nodes:Slow', inputs: {frames: a.out}}\n"
        "  p: {type: print_sink, inputs: {in: {from: a.out, policy: latest}}}\n  q: {type: print_sink, inputs: {in: a.out}}\n"
    )
    assert [spec.nodes[n].inputs[p].policy for n, p in [("s", "frames"), ("p", "in"), ("q", "in")]] == ["latest", "latest", "queue"]
