"""Sockets and endpoints: one PUB per output port, one SUB per input, ipc inside a run folder or tcp across hosts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import zmq

from graph.message import DecodeError, Message, decode, encode

PUB_HWM = 1000
QUEUE_HWM = 1000
LATEST_HWM = 32  # drained to the newest on every turn, so this only bounds memory while a handler runs
_NOBLOCK = int(zmq.NOBLOCK)  # a plain int: building the flag enum costs more than the receive on the hot path


@dataclass
class Received:
    message: Message | None
    skipped: int = 0  # older messages passed over on a `latest` edge
    bad: int = 0  # messages that did not decode


def endpoint_ipc(run_dir: Path, name: str) -> str:
    path = run_dir / name
    if len(str(path)) > 100:  # the kernel limits unix socket paths to ~107 bytes
        path = run_dir / hashlib.sha1(name.encode()).hexdigest()[:12]
    return f"ipc://{path}"


def bind_pub(ctx: zmq.Context, endpoint: str) -> zmq.Socket:
    """An XPUB, so a source can wait until its consumers have subscribed instead of losing its first messages."""
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.SNDHWM, PUB_HWM)
    sock.setsockopt(zmq.XPUB_VERBOSE, 1)
    sock.setsockopt(zmq.LINGER, 500)  # let the last messages out on a clean stop
    sock.bind(endpoint)
    return sock


def count_subscriptions(sock: zmq.Socket) -> int:
    """Net subscriptions that arrived on an XPUB since the last call."""
    net = 0
    while True:
        try:
            frame = sock.recv(zmq.NOBLOCK)
        except zmq.Again:
            return net
        net += 1 if frame[:1] == b"\x01" else -1 if frame[:1] == b"\x00" else 0


def connect_sub(ctx: zmq.Context, endpoints: Iterable[str], latest: bool) -> zmq.Socket:
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, LATEST_HWM if latest else QUEUE_HWM)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    for ep in endpoints:
        sock.connect(ep)
    return sock


def send(sock: zmq.Socket, msg: Message) -> None:
    sock.send_multipart(encode(msg), copy=False)


def receive(sock: zmq.Socket, latest: bool) -> Received:
    """One message (`queue`), or the newest of all that are waiting (`latest`). Never raises on bad input."""
    got = Received(None)
    while True:
        try:
            frames = sock.recv_multipart(flags=_NOBLOCK, copy=False)
        except zmq.Again:
            return got
        try:
            msg = decode(frames)
        except DecodeError:
            got.bad += 1
            continue
        if got.message is not None:
            got.skipped += 1
        got.message = msg
        if not latest:
            return got
