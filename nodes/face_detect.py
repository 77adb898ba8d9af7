"""Faces in each frame: MTCNN or OpenCV's Haar cascade every N frames, an IoU tracker in between."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from graph.message import Message
from graph.node import In, Node, NodeError, Out, Params
from nodes.model_check import loading, require


class FaceDetect(Node):
    """Detects faces every `every` frames and follows them between, so each face keeps an `id`."""

    inputs = {"frames": In("video/frame", policy="latest")}
    outputs = {"faces": Out("faces", "boxes, landmarks, score and id per face; crops (N, S, S, 3) for the classifier")}

    class Params(Params):
        detector: Literal["mtcnn", "haar"] = "mtcnn"
        every: int = Field(1, ge=1, description="detect on every Nth frame; track in between (frame skipping)")
        min_face: int = Field(40, ge=12, description="smallest face side in pixels (smaller is slower)")
        min_score: float = Field(0.9, ge=0, le=1)
        crop_size: int | None = Field(None, gt=0, description="crop side; default: the expression model's input size")
        max_missed: int = Field(5, ge=0, description="detections a face may miss before its id is dropped")
        providers: list[Literal["tensorrt", "cuda", "cpu"]] = ["cpu"]

        @model_validator(mode="after")
        def _model_made(self) -> "FaceDetect.Params":
            if self.detector == "mtcnn":
                require("mtcnn", note=" (or use detector: haar)")
            return self

    def setup(self) -> None:
        from models.catalog import model_config
        from models.expression import default_model
        from models.face_detector import FaceDetector
        from models.tracker import IoUTracker

        p = self.params
        with loading():
            try:
                self.detector = FaceDetector(p.detector, p.min_face, providers=p.providers)
            except RuntimeError as exc:  # an OpenCV without Haar cascades
                raise NodeError(str(exc)) from None
            self.crop = p.crop_size or model_config(default_model()).input.size
        self.tracker = IoUTracker(max_missed=p.max_missed)
        self.frames = 0
        self.faces: list = []

    def on_frames(self, msg: Message) -> None:
        from models.face_detector import crop_faces

        image = msg.arrays["image"]
        detect = self.frames % self.params.every == 0
        if detect:
            self.faces = [f for f in self.detector.detect(image) if f.score >= self.params.min_score]
            for face, fid in zip(self.faces, self.tracker.update([f.box for f in self.faces])):
                face.id = fid
            self.count("detections")
        self.frames += 1
        boxes = [f.box for f in self.faces]
        crops = crop_faces(image, boxes, self.crop) if boxes else np.zeros((0, self.crop, self.crop, 3), np.uint8)
        faces = [
            {"id": f.id, "box": [round(float(v), 1) for v in f.box], "score": round(f.score, 4),
             "landmarks": None if f.landmarks is None else np.round(f.landmarks, 1).tolist()}
            for f in self.faces
        ]
        self.count("faces", len(faces))
        data = {k: msg.data.get(k) for k in ("index", "width", "height")}
        self.emit("faces", {**data, "detected": detect, "faces": faces},
                  {"crops": crops})
