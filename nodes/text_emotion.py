"""GoEmotions (28 labels) on what was said, for what VADER's single valence cannot say."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from graph.message import Message
from graph.node import In, Node, Out, Params
from nodes.model_check import loading, require


class TextEmotion(Node):
    """Multi-label emotion of each utterance's text with an ONNX RoBERTa (SamLowe/roberta-base-go_emotions)."""

    inputs = {"text": In("text")}
    outputs = {"emotions": Out("text/emotion", "labels and scores (sigmoid, need not sum to 1)")}

    class Params(Params):
        model: str = "go-emotions"
        precision: Literal["auto", "fp32", "int8"] = "auto"
        providers: list[Literal["tensorrt", "cuda", "cpu"]] = ["cuda", "cpu"]

        @model_validator(mode="after")
        def _model_made(self) -> "TextEmotion.Params":
            require(self.model, None if self.precision == "auto" else self.precision)
            return self

    def setup(self) -> None:
        from models.text_emotion import TextEmotion as Runner

        p = self.params
        with loading():
            self.runner = Runner(p.model, precision=None if p.precision == "auto" else p.precision, providers=p.providers)

    def on_text(self, msg: Message) -> None:
        scores = self.runner.scores(str(msg.data["text"]))
        self.emit("emotions", {"text": msg.data["text"], "start_ns": msg.data.get("start_ns"),
                               "end_ns": msg.data.get("end_ns"), "labels": self.runner.labels,
                               "scores": {k: round(v, 5) for k, v in scores.items()}})
