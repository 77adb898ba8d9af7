"""Frames with face boxes, ids, labels, per-face probability bars and the latest words: to a window or an mp4."""

from __future__ import annotations

import collections
import os
import time
from pathlib import Path

from pydantic import Field, model_validator

from graph.message import Message
from graph.node import In, Node, NodeError, Params


class OverlaySink(Node):
    """Draws what the graph sees on each frame; frames wait `sync_ms` for their faces so boxes sit on the right frame."""

    inputs = {
        "frames": In("video/frame", policy="queue"),
        "faces": In(("expressions", "fused"), required=False),
        "text": In("text", required=False),
    }

    class Params(Params):
        path: Path | None = Field(None, description="write an mp4 here")
        window: bool = Field(False, description="show a window (needs a display and a GUI build of OpenCV)")
        fps: float = Field(15.0, gt=0, description="frame rate written into the mp4")
        sync_ms: float = Field(300.0, ge=0, description="how long a frame waits for the faces found in it")
        snapshots: Path | None = Field(None, description="folder for PNG snapshots: each face with its bars")
        snapshot_every_s: float = Field(5.0, gt=0)
        max_face_age_ms: float = Field(400.0, gt=0, description="fused faces not seen for longer are not drawn")

        @model_validator(mode="after")
        def _somewhere(self) -> "OverlaySink.Params":
            if not (self.path or self.window or self.snapshots):
                raise ValueError("set path (an mp4), window: true, or snapshots (a folder)")
            return self

    def setup(self) -> None:
        import cv2

        self.cv2 = cv2
        if self.params.window:
            if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
                raise NodeError("window: true needs a display (DISPLAY is not set); write an mp4 with path: instead")
            try:
                cv2.namedWindow(self.name, cv2.WINDOW_NORMAL)
            except cv2.error:
                raise NodeError("this OpenCV has no GUI (opencv-python-headless): pip install opencv-python, "
                                "or write an mp4 with path: instead") from None
        self.pending: collections.deque[Message] = collections.deque()
        self.faces: collections.deque[tuple[int, list]] = collections.deque(maxlen=256)  # (capture t, faces)
        self.transcript = ""
        self.writer = None
        self.next_snapshot = 0.0
        self.written = 0
        self.every(0.05, self.flush)

    # -- handlers ----------------------------------------------------------------------------------------------------
    def on_faces(self, msg: Message) -> None:
        self.faces.append((msg.t, msg.data.get("faces", [])))
        speech = msg.data.get("speech")
        if msg.kind == "fused" and speech and speech.get("text"):
            self.transcript = speech["text"]

    def on_text(self, msg: Message) -> None:
        self.transcript = msg.data.get("text", "")

    def on_frames(self, msg: Message) -> None:
        self.pending.append(msg)
        self.flush()

    def flush(self, force: bool = False) -> None:
        deadline = time.time_ns() - int(self.params.sync_ms * 1e6)
        while self.pending and (force or self.pending[0].t <= deadline or self._answered(self.pending[0].t)):
            self._draw(self.pending.popleft())

    def teardown(self) -> None:
        if not hasattr(self, "pending"):
            return
        self.flush(force=True)
        if self.writer is not None:
            self.writer.release()
            self.log.info("wrote %d frames to %s", self.written, self.params.path)
        if self.params.window:
            self.cv2.destroyAllWindows()

    # -- drawing -----------------------------------------------------------------------------------------------------
    def _answered(self, t: int) -> bool:
        return any(ft >= t for ft, _ in self.faces)

    def _faces_at(self, t: int) -> list:
        """The faces of the newest result captured at or before this frame, if it is recent (else none)."""
        best = [(ft, f) for ft, f in self.faces if ft <= t and t - ft < 1e9]
        faces = max(best, key=lambda x: x[0])[1] if best else []
        return [f for f in faces if f.get("age_ms", 0) <= self.params.max_face_age_ms]

    def _draw(self, msg: Message) -> None:
        from models.visual import draw_overlay, snapshot, write_png

        frame, faces = msg.arrays["image"], self._faces_at(msg.t)
        img = draw_overlay(frame, faces, self.transcript or None)
        bgr = self.cv2.cvtColor(img, self.cv2.COLOR_RGB2BGR)
        if self.params.path:
            if self.writer is None:
                self.params.path.parent.mkdir(parents=True, exist_ok=True)
                fourcc = self.cv2.VideoWriter_fourcc(*"mp4v")
                self.writer = self.cv2.VideoWriter(str(self.params.path), fourcc, self.params.fps, (img.shape[1], img.shape[0]))
                if not self.writer.isOpened():
                    raise NodeError(f"cannot write {self.params.path} (mp4v codec missing?)")
            self.writer.write(bgr)
            self.written += 1
        if self.params.window:
            self.cv2.imshow(self.name, bgr)
            self.cv2.waitKey(1)
        now = time.monotonic()
        if self.params.snapshots and faces and now >= self.next_snapshot:
            self.next_snapshot = now + self.params.snapshot_every_s
            path = self.params.snapshots / f"{self.name}-{msg.data.get('index', 0):06d}.png"
            write_png(path, snapshot(frame, faces))
            write_png(path.with_name(path.stem + "-overlay.png"), img)
            self.count("snapshots")
        self.count("frames_drawn")
