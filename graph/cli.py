"""Graph commands: run, launch, validate, nodes, top."""

from __future__ import annotations

import argparse
import sys
from typing import get_args
from pathlib import Path

from graph.spec import GraphSpec, SpecError, load_file

EXIT_USAGE = 2


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="validate a graph file and run it, one process per node")
    run.add_argument("graph", help="the graph's YAML file")
    _run_options(run)
    run.set_defaults(func=cmd_run)

    launch = sub.add_parser("launch", help='run a one-line graph: "test_source kind=video ! print_sink"')
    launch.add_argument("pipeline")
    _run_options(launch)
    launch.set_defaults(func=cmd_launch)

    val = sub.add_parser("validate", help="check a graph file without running it")
    val.add_argument("graph")
    val.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE")
    val.set_defaults(func=cmd_validate)

    nodes = sub.add_parser("nodes", help="list node types with their ports, kinds and params")
    nodes.add_argument("type", nargs="?", help="show only this type")
    nodes.set_defaults(func=cmd_nodes)

    top = sub.add_parser("top", help="live table of a running graph's nodes")
    top.add_argument("graph", nargs="?", help="graph name (default: the newest running graph)")
    top.add_argument("--once", action="store_true", help="print one table and exit")
    top.set_defaults(func=cmd_top)

    subs = sub.add_parser("subscribe", help="print a published stream, one JSON object a line")
    subs.add_argument("endpoint", nargs="?", default="tcp://127.0.0.1:5560")
    subs.add_argument("--topic", default="emotion")
    subs.add_argument("--count", type=int, help="stop after N events")
    subs.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds without an event")
    subs.add_argument("--server-key", type=Path, metavar="FILE", help="the publisher's public key (CurveZMQ)")
    subs.add_argument("--client-key", type=Path, metavar="FILE", help="this subscriber's NAME.key_secret")
    subs.set_defaults(func=cmd_subscribe)

    keys = sub.add_parser("keys", help="make a CurveZMQ key pair for an encrypted stream")
    keys.add_argument("folder", type=Path)
    keys.add_argument("--name", default="emograph", help="file names: NAME.key (public), NAME.key_secret")
    keys.set_defaults(func=cmd_keys)


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE", help="override a param")
    p.add_argument("--stats", type=Path, metavar="FILE", help="append every node's once-a-second stats as JSON lines")
    p.add_argument("--host", default="local", help="start only the nodes placed on this host")
    p.add_argument("--skip", action="append", default=[], metavar="NODE", help="do not start NODE (run it by hand)")


def cmd_validate(args: argparse.Namespace) -> int:
    spec = _load(args.graph, args.set)
    if spec is None:
        return EXIT_USAGE
    edges = sum(len(e.sources) for n in spec.nodes.values() for e in n.inputs.values())
    print(f"{args.graph}: graph '{spec.name}' is valid: {len(spec.nodes)} nodes, {edges} edges")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    return _supervise(_load(args.graph, args.set), args)


def cmd_launch(args: argparse.Namespace) -> int:
    from graph.launch import parse

    try:
        spec = parse(args.pipeline, args.set)
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    return _supervise(spec, args)


def _supervise(spec: GraphSpec | None, args: argparse.Namespace) -> int:
    from graph.supervisor import Supervisor

    if spec is None:
        return EXIT_USAGE
    if args.host not in spec.hosts:
        print(f"{spec.path}: no host '{args.host}' (hosts: {', '.join(spec.hosts)})", file=sys.stderr)
        return EXIT_USAGE
    unknown = [n for n in args.skip if n not in spec.nodes]
    if unknown:
        print(f"{spec.path}: --skip {unknown[0]}: no such node", file=sys.stderr)
        return EXIT_USAGE
    sup = Supervisor(spec, host=args.host, duration=args.duration, stats_path=args.stats, skip=tuple(args.skip))
    return sup.run()


def cmd_nodes(args: argparse.Namespace) -> int:
    from graph.registry import available, load, UnknownType

    refs = available()
    if args.type and args.type not in refs:
        print(f"emograph nodes: unknown node type '{args.type}' (known: {', '.join(sorted(refs))})", file=sys.stderr)
        return EXIT_USAGE
    for name in sorted(refs):
        if args.type and name != args.type:
            continue
        try:
            cls = load(refs[name].target)
        except UnknownType as exc:
            print(f"{name}\n  unavailable: {exc}\n")
            continue
        print(f"{name}  ({refs[name].target})\n  {cls.describe()}")
        for port, inp in cls.inputs.items():
            print(f"  in   {port:<12} {inp.kinds:<18} {inp.policy}{'' if inp.required else ', optional'}  {inp.doc}".rstrip())
        for port, out in cls.outputs.items():
            print(f"  out  {port:<12} {out.kind:<18} {out.doc}".rstrip())
        for pname, field in cls.Params.model_fields.items():
            default = "required" if field.is_required() else f"= {field.default!r}"
            ann = str(field.annotation).replace("typing.", "").replace("pathlib.", "") if get_args(field.annotation) else field.annotation.__name__
            desc = f"  {field.description}" if field.description else ""
            print(f"  param {pname}: {ann} {default}{desc}")
        print()
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    from graph.top import top

    return top(args.graph, once=args.once)


def cmd_subscribe(args: argparse.Namespace) -> int:
    import json

    from graph.client import subscribe
    from graph.curve import KeyFileError

    try:
        for event in subscribe(args.endpoint, args.topic, timeout_s=args.timeout, count=args.count,
                               server_key=args.server_key, client_key=args.client_key):
            print(json.dumps(event), flush=True)
    except KeyFileError as exc:
        print(f"emograph subscribe: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from graph.curve import make_keys

    public, secret = make_keys(args.folder, args.name)
    print(f"public key {public} (give it to subscribers), secret key {secret} (keep it on the publisher)")
    return 0


def _load(path: str, overrides: list[str]) -> GraphSpec | None:
    try:
        return load_file(path, overrides)
    except SpecError as exc:
        print(exc, file=sys.stderr)
        return None
