"""Facial expression per face: all faces of a frame in one batch through an ONNX classifier."""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from graph.message import Message
from graph.node import In, Node, Out, Params
from nodes.model_check import loading, require


class Expression(Node):
    """Classifies every face crop of a frame in one batch; emits probabilities over the model's labels."""

    inputs = {"faces": In("faces", policy="latest")}
    outputs = {"expressions": Out("expressions", "per face: emotion and scores; probs (N, K) float32")}

    class Params(Params):
        model: str = Field("auto", description="a catalog classifier; auto: the ViT if exported, else mini-XCEPTION")
        precision: Literal["auto", "fp32", "fp16", "int8"] = Field("auto", description="auto: int8 on CPU, fp16 on GPU")
        providers: list[Literal["tensorrt", "cuda", "cpu"]] = ["tensorrt", "cuda", "cpu"]
        threads: int = Field(0, ge=0, description="onnxruntime intra-op threads; 0: one per core")

        @model_validator(mode="after")
        def _model_made(self) -> "Expression.Params":
            from models.catalog import CatalogError
            from models.expression import default_model

            try:
                name = default_model() if self.model == "auto" else self.model
            except CatalogError as exc:
                raise ValueError(str(exc)) from None
            require(name, None if self.precision == "auto" else self.precision)
            return self

    def setup(self) -> None:
        from models.expression import ExpressionClassifier

        p = self.params
        with loading():
            self.classifier = ExpressionClassifier(
                None if p.model == "auto" else p.model, None if p.precision == "auto" else p.precision,
                p.providers, p.threads or os.cpu_count() or 1,
            )
        self.labels = list(self.classifier.labels)
        self.log.info("%s (%s) on %s", self.classifier.model, self.classifier.variant, self.classifier.provider)

    def on_faces(self, msg: Message) -> None:
        crops = msg.arrays["crops"]
        probs = self.classifier.predict(crops).astype(np.float32)
        faces = []
        for face, p in zip(msg.data["faces"], probs):
            scores = {label: round(float(v), 5) for label, v in zip(self.labels, p)}
            faces.append({**face, "emotion": self.labels[int(p.argmax())], "scores": scores})
        data = {k: msg.data.get(k) for k in ("index", "width", "height")}
        self.emit("expressions", {**data, "labels": self.labels, "model": self.classifier.model, "faces": faces},
                  {"probs": probs})
