"""Late fusion of faces, words and voice activity into one emotion (docs/fusion.md), as the public event."""

from __future__ import annotations

import time

from pydantic import Field

from graph.message import Message
from graph.node import In, Node, NodeError, Out, Params


class FusionNode(Node):
    """Fuses the sources into the public event (docs/stream.md) at a steady rate, and at once on new words."""

    inputs = {
        "faces": In("expressions", required=False),
        "sentiment": In("sentiment", required=False),
        "speech": In("speech/activity", required=False),
        "text_emotion": In("text/emotion", required=False),
    }
    outputs = {"fused": Out("fused", "the public fused event, version 1")}

    class Params(Params):
        rate_hz: float = Field(10.0, gt=0, le=200, description="events per second")
        smooth_s: float = Field(0.3, ge=0, description="time constant of each face's moving average")
        face_half_life_s: float = Field(1.0, gt=0)
        face_forget_s: float = Field(2.0, gt=0)
        text_half_life_s: float = Field(5.0, gt=0)
        text_forget_s: float = Field(30.0, gt=0)
        text_gain: float = Field(1.5, ge=0, description="how hard text valence reweights the seven classes")

    def setup(self) -> None:
        from models.fusion import Fusion, FusionParams

        p = self.params.model_dump()
        self.fusion = Fusion(FusionParams(**{k: v for k, v in p.items() if k != "rate_hz"}))
        self.seq = 0
        self.every(1.0 / self.params.rate_hz, self.tick)

    def on_faces(self, msg: Message) -> None:
        from models.fusion import faces_from_data

        try:
            faces = faces_from_data(msg.data, msg.t)
        except ValueError as exc:
            raise NodeError(f"cannot fuse these expressions: {exc}") from None
        for face in faces:
            if face.id >= 0:  # untracked faces would all merge into one smoothed track
                self.fusion.add_face(face)

    def on_sentiment(self, msg: Message) -> None:
        from models.fusion import utterance_from_data

        self.fusion.add_utterance(utterance_from_data(msg.data))
        self.tick()

    def on_speech(self, msg: Message) -> None:
        self.fusion.add_activity(msg.data["event"])

    def on_text_emotion(self, msg: Message) -> None:
        self.fusion.add_goemotions(int(msg.data["start_ns"]), int(msg.data["end_ns"]), msg.data["scores"])

    def tick(self) -> None:
        from models.fusion import to_event

        now = time.time_ns()
        state = self.fusion.fuse(now)
        self.emit("fused", to_event(state, self.seq, now), t=state.t_ns or now)
        self.seq += 1
