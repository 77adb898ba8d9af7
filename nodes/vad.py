"""Voice activity: webrtcvad over short frames, a padded ring buffer deciding where utterances start and end."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from graph.message import Message
from graph.node import In, Node, NodeError, Out, Params


class Vad(Node):
    """Announces speech start and end as they happen, and sends each whole utterance's audio when it ends."""

    inputs = {"audio": In("audio/chunk")}
    outputs = {
        "speech": Out("speech/segment", "one utterance: samples int16 with padding; start_ns, end_ns, offset_ns"),
        "activity": Out("speech/activity", "start and end events"),
    }

    class Params(Params):
        aggressiveness: int = Field(2, ge=0, le=3, description="webrtcvad mode: 3 rejects the most noise")
        frame_ms: Literal[10, 20, 30] = 30
        padding_ms: int = Field(300, ge=10, description="ring buffer before a start and after an end")
        start_ratio: float = Field(0.9, gt=0, le=1, description="share of voiced frames in the ring that starts speech")
        end_ratio: float = Field(0.9, gt=0, le=1, description="share of unvoiced frames in the ring that ends it")
        min_speech_s: float = Field(0.25, ge=0, description="shorter utterances are dropped")
        max_speech_s: float = Field(20.0, gt=0, description="longer utterances are cut here")

    def setup(self) -> None:
        self.segmenter = None
        self.start_ns: int | None = None

    def on_audio(self, msg: Message) -> None:
        from models.audio_io import AudioError
        from models.vad import Segmenter, SpeechEnd, SpeechSegment, SpeechStart

        if self.segmenter is None:
            try:
                self.segmenter = Segmenter(rate=int(msg.data["rate"]), **self.params.model_dump())
            except AudioError as exc:
                raise NodeError(str(exc)) from None
        for event in self.segmenter.feed(msg.arrays["samples"], t=msg.t / 1e9):
            if isinstance(event, SpeechStart):
                self.start_ns = int(event.time * 1e9)
                self.emit("activity", {"event": "start", "start_ns": self.start_ns, "end_ns": None}, t=self.start_ns)
            elif isinstance(event, SpeechEnd):
                end_ns = int(event.time * 1e9)
                self.emit("activity", {"event": "end", "start_ns": self.start_ns, "end_ns": end_ns}, t=self.start_ns or end_ns)
            elif isinstance(event, SpeechSegment):
                start_ns, end_ns = int(event.start * 1e9), int(event.end * 1e9)
                self.emit("speech", {"rate": event.rate, "start_ns": start_ns, "end_ns": end_ns,
                                     "offset_ns": int(event.offset * 1e9)}, {"samples": event.audio}, t=start_ns)
                self.count("utterances")
