"""Sound from a microphone (sounddevice) or any audio or video file (PyAV), 16 kHz mono in fixed blocks."""

from __future__ import annotations

import queue
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from graph.node import Node, NodeError, Out, Params


class AudioSource(Node):
    """Captures audio blocks stamped with the capture time of their first sample."""

    outputs = {"audio": Out("audio/chunk", "arrays: samples (n,) int16 mono; data: rate, index")}

    class Params(Params):
        source: int | str = Field("default", description="'default', a device index or name, or an audio/video file")
        rate: int = Field(16000, description="sample rate (webrtcvad takes 8, 16, 32 or 48 kHz)")
        block_ms: Literal[10, 20, 30] = 30
        realtime: bool = Field(True, description="pace files in real time; false reads as fast as possible")
        loop: bool = Field(False, description="start a file again at its end")
        reopen: bool = Field(False, description="reopen a vanished device with back-off instead of stopping")

    # -- setup -----------------------------------------------------------------------------------------------------
    def setup(self) -> None:
        self.block = self.params.rate * self.params.block_ms // 1000
        self.index = 0
        self.is_file = isinstance(self.params.source, str) and self.params.source != "default"
        if self.is_file:
            if not Path(self.params.source).is_file():
                raise NodeError(f"audio source {self.params.source!r}: no such file")
            self.blocks = self._blocks()
            self.t0 = time.time_ns()
            self.every(self.params.block_ms / 1000 if self.params.realtime else 0.0, self.read_file)
        else:
            self.chunks: queue.Queue[tuple[int, np.ndarray]] = queue.Queue(maxsize=200)
            self.backoff = 0.5
            self.stream = self._open_device()
            self.every(0.0, self.read_device)

    def _blocks(self) -> Any:
        from models.audio_io import AudioError, iter_blocks

        try:
            return iter_blocks(self.params.source, self.block, self.params.rate, "int16")
        except AudioError as exc:
            raise NodeError(str(exc)) from None

    def _open_device(self) -> Any:
        try:
            import sounddevice as sd
        except OSError as exc:
            raise NodeError(f"no PortAudio for the microphone ({exc}); apt-get install libportaudio2, or use a file") from None
        inputs = [(i, d["name"]) for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
        if not inputs:
            raise NodeError("no audio input device: PortAudio lists none (is a microphone connected?); "
                            "use a file with source: PATH")
        src = self.params.source
        device = None if src == "default" else src
        if isinstance(src, int) and src not in [i for i, _ in inputs]:
            raise NodeError(f"audio device {src} is not an input; inputs: {', '.join(f'{i}: {n}' for i, n in inputs)}")
        try:
            stream = sd.InputStream(device=device, channels=1, samplerate=self.params.rate, blocksize=self.block,
                                    dtype="int16", callback=self._callback)
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise NodeError(f"audio device {src!r} cannot be opened: {exc}") from None
        return stream

    # -- handlers --------------------------------------------------------------------------------------------------
    def _callback(self, data: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        """PortAudio's thread: stamp the block and hand it over; the node's loop does the rest."""
        t = time.time_ns() - int(frames / self.params.rate * 1e9)
        try:
            self.chunks.put_nowait((t, data[:, 0].copy()))
        except queue.Full:
            pass

    def read_device(self) -> None:
        if not self.stream.active:
            self._lost()
            return
        try:
            t, samples = self.chunks.get(timeout=0.1)
        except queue.Empty:
            return
        self._send(samples, t)

    def read_file(self) -> None:
        samples = next(self.blocks, None)
        if samples is None:
            if not self.params.loop:
                self.log.info("end of %s after %.1f s", self.params.source, self.index * self.block / self.params.rate)
                self.stop()
                return
            self.blocks = self._blocks()
            samples = next(self.blocks)
        # the file's own clock, anchored at start: utterance times stay right even when read faster than real time
        self._send(samples, self.t0 + int(self.index * self.block * 1e9 / self.params.rate))

    def _send(self, samples: np.ndarray, t: int) -> None:
        self.emit("audio", {"rate": self.params.rate, "index": self.index}, {"samples": samples}, t=t)
        self.index += 1

    def _lost(self) -> None:
        if not self.params.reopen:
            raise NodeError(f"audio device {self.params.source!r} stopped (unplugged?)")
        self.log.warning("audio device %r lost; reopening in %.1f s", self.params.source, self.backoff)
        time.sleep(self.backoff)
        self.backoff = min(self.backoff * 2, 10.0)
        try:
            self.stream = self._open_device()
            self.backoff = 0.5
        except NodeError as exc:
            self.log.warning("%s", exc)

    def teardown(self) -> None:
        if getattr(self, "stream", None) is not None:
            self.stream.close()
