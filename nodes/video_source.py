"""Frames from a camera, a video file, an RTSP URL or a GStreamer pipeline (a Jetson's CSI camera)."""

from __future__ import annotations

import os
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # before cv2 is imported in setup()
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from graph.node import Node, NodeError, Out, Params


class VideoSource(Node):
    """Captures frames (RGB, converted once here) stamped with their capture time."""

    outputs = {"frames": Out("video/frame", "arrays: image (H, W, 3) uint8 RGB; data: index, width, height, pts")}

    class Params(Params):
        source: int | str = Field(0, description="camera index, file, rtsp:// URL, or a GStreamer pipeline with '!'")
        width: int | None = Field(None, gt=0, description="ask the camera for this width; resize files to it")
        height: int | None = Field(None, gt=0)
        fps: float | None = Field(None, gt=0, description="ask the camera for this rate; pace files at it")
        realtime: bool = Field(True, description="pace files at their frame rate; false reads as fast as possible")
        loop: bool = Field(False, description="start a file again at its end")
        stride: int = Field(1, ge=1, description="emit every Nth frame (frame skipping)")
        reopen: bool = Field(True, description="reopen a lost camera or stream with back-off")

    # -- setup -----------------------------------------------------------------------------------------------------
    def setup(self) -> None:
        import cv2

        self.cv2 = cv2
        self.is_file = isinstance(self.params.source, str) and Path(self.params.source).is_file()
        self.cap = self._open()
        file_fps = self.cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.period = 1.0 / (self.params.fps or file_fps) if self.is_file and self.params.realtime else 0.0
        self.index = 0
        self.read = 0
        self.backoff = 0.5
        self.every(self.period, self.grab)

    def _open(self) -> Any:
        cv2, src = self.cv2, self.params.source
        if isinstance(src, str) and "!" in src:
            cap = cv2.VideoCapture(src, cv2.CAP_GSTREAMER)
        else:
            cap = cv2.VideoCapture(src)
        if not cap.isOpened():
            raise NodeError(f"video source {src!r} cannot be opened: {self._why(src)}")
        if not self.is_file:
            for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, self.params.width), (cv2.CAP_PROP_FRAME_HEIGHT, self.params.height),
                                (cv2.CAP_PROP_FPS, self.params.fps)):
                if value:
                    cap.set(prop, value)
        return cap

    def _why(self, src: int | str) -> str:
        if isinstance(src, int):
            dev = Path(f"/dev/video{src}")
            if not dev.exists():
                return f"{dev} does not exist (no camera connected, or it has another index)"
            if not os.access(dev, os.R_OK):
                return f"no permission to read {dev} (add yourself to the 'video' group)"
            return f"{dev} exists but will not open (another program may be using it)"
        if "!" in src:
            return "OpenCV could not start this GStreamer pipeline (is OpenCV built with GStreamer?)"
        if "://" in src:
            return "the stream did not answer or its format is not supported"
        if not Path(src).exists():
            return "no such file"
        return "the file is not a video OpenCV can decode"

    # -- handlers --------------------------------------------------------------------------------------------------
    def grab(self) -> None:
        ok, bgr = self.cap.read()
        t = time.time_ns()
        if not ok:
            self._lost()
            return
        self.backoff = 0.5
        self.read += 1
        if (self.read - 1) % self.params.stride:
            return
        p = self.params
        if p.width and p.height and (bgr.shape[1], bgr.shape[0]) != (p.width, p.height):
            bgr = self.cv2.resize(bgr, (p.width, p.height), interpolation=self.cv2.INTER_AREA)
        rgb = self.cv2.cvtColor(bgr, self.cv2.COLOR_BGR2RGB)
        pts = self.cap.get(self.cv2.CAP_PROP_POS_MSEC) / 1000 if self.is_file else None
        self.emit("frames", {"index": self.index, "width": rgb.shape[1], "height": rgb.shape[0], "pts": pts},
                  {"image": rgb}, t=t)
        self.index += 1

    def _lost(self) -> None:
        if self.is_file:
            if self.params.loop and self.read:
                self.cap.set(self.cv2.CAP_PROP_POS_FRAMES, 0)
            else:
                self.log.info("end of %s after %d frames", self.params.source, self.read)
                self.stop()
            return
        if not self.params.reopen:
            raise NodeError(f"video source {self.params.source!r} stopped delivering frames")
        self.log.warning("video source %r lost; reopening in %.1f s", self.params.source, self.backoff)
        self.count("reopens")
        self.cap.release()
        time.sleep(self.backoff)
        self.backoff = min(self.backoff * 2, 10.0)
        try:
            self.cap = self._open()
        except NodeError as exc:
            self.log.warning("%s", exc)

    def teardown(self) -> None:
        if hasattr(self, "cap"):
            self.cap.release()
