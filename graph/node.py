"""The node API: declared ports and params, `setup()`, one `on_<port>` handler per input, `emit()`.

A node is the smallest useful class:

    class Doubler(Node):
        '''Doubles every number it is given.'''
        inputs = {"x": In("number")}
        outputs = {"y": Out("number")}

        class Params(Params):
            factor: float = 2.0

        def on_x(self, msg: Message) -> None:
            self.emit("y", {"value": msg.data["value"] * self.params.factor})

Sources have no inputs; they call `self.every(period_s, fn)` in `setup()` (a period of 0 means "as often as the loop
turns", for a callback that blocks on a device itself). Derived messages inherit `t`, `stream` and `trace` from the
message being handled, so end-to-end latency is measured from capture without any node doing anything.
Arrays passed to `emit` are sent without a copy: do not write to them afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from graph.message import Message

if TYPE_CHECKING:
    from graph.worker import Runtime

Policy = Literal["latest", "queue"]


class NodeError(Exception):
    """A problem the user must fix (a missing model, a camera that will not open): one line, no restart."""


POLICIES: tuple[str, ...] = ("latest", "queue")


@dataclass(frozen=True)
class In:
    """An input port. `kind` is a message kind, a tuple of kinds, or "*" for any."""

    kind: str | tuple[str, ...] = "*"
    policy: Policy = "queue"
    required: bool = True
    doc: str = ""

    def accepts(self, kind: str) -> bool:
        kinds = (self.kind,) if isinstance(self.kind, str) else self.kind
        return any(k == "*" or k == kind or (k.endswith("/*") and kind.startswith(k[:-1])) for k in kinds)

    @property
    def kinds(self) -> str:
        return self.kind if isinstance(self.kind, str) else "|".join(self.kind)


@dataclass(frozen=True)
class Out:
    """An output port carrying one message kind."""

    kind: str
    doc: str = ""


class Params(BaseModel):
    """Base of every node's params: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Node:
    """Base class of every node type; see the module docstring."""

    inputs: ClassVar[dict[str, In]] = {}
    outputs: ClassVar[dict[str, Out]] = {}
    Params: ClassVar[type[Params]] = Params

    def __init__(self, name: str, params: Params, runtime: "Runtime | None" = None) -> None:
        self.name = name
        self.params = params
        self.log = logging.getLogger(name)
        self._runtime = runtime

    # -- lifecycle, overridden by node types -------------------------------------------------------------------
    def setup(self) -> None:
        """Open devices and load models; runs once in the node's process before any message."""

    def teardown(self) -> None:
        """Close what `setup` opened; runs on every clean exit, including Ctrl-C and SIGTERM."""

    # -- what a node may call ----------------------------------------------------------------------------------
    def emit(
        self,
        port: str,
        data: dict[str, Any] | None = None,
        arrays: dict[str, np.ndarray] | None = None,
        *,
        t: int | None = None,
        stream: str | None = None,
    ) -> None:
        """Send on an output port. `t` defaults to the capture time of the message being handled, else now."""
        self._rt().emit(port, data or {}, arrays or {}, t=t, stream=stream)

    def every(self, period_s: float, callback: Callable[[], None]) -> None:
        """Call `callback` every `period_s` seconds without drift; 0 means on every turn of the loop."""
        self._rt().add_timer(period_s, callback)

    def count(self, counter: str, n: int = 1) -> None:
        """Add to a named counter that appears in this node's stats (e.g. faces seen, texts dropped)."""
        self._rt().count(counter, n)

    def stop(self) -> None:
        """End this node cleanly (a file source that reached its end). Exit code 0: not restarted on-failure."""
        self._rt().stop()

    def _rt(self) -> "Runtime":
        if self._runtime is None:
            raise RuntimeError(f"node '{self.name}' is not attached to a runtime")
        return self._runtime

    @classmethod
    def output_ports(cls, params: "Params") -> dict[str, Out]:
        """The output ports for these params; override where the kind depends on a param."""
        return cls.outputs

    @classmethod
    def describe(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


Handler = Callable[[Message], None]
