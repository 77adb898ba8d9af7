"""Stable face ids across frames: greedy IoU matching of each detection to the tracks of the frames before.

Detection may run every N frames and miss a face for a frame or two (a turned head, motion blur); a track survives
`max_missed` updates without a match, so the face keeps its id when it is found again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection over union of x1, y1, x2, y2 boxes."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


@dataclass
class Track:
    id: int
    box: np.ndarray  # (4,) float32, the last matched box
    missed: int = 0  # updates since it was last matched
    hits: int = 1


class IoUTracker:
    """`update(boxes)` -> an id per box; ids are never reused within a tracker's life."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 5) -> None:
        self.iou_threshold, self.max_missed = iou_threshold, max_missed
        self.tracks: list[Track] = []
        self._next = 1

    def update(self, boxes: np.ndarray | list[np.ndarray]) -> list[int]:
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        ids = [-1] * len(boxes)
        matched: set[int] = set()
        if self.tracks and len(boxes):
            overlap = iou(np.stack([t.box for t in self.tracks]), boxes)
            for ti, bi in sorted(zip(*np.nonzero(overlap >= self.iou_threshold)), key=lambda p: -overlap[p]):
                if ti in matched or ids[bi] != -1:
                    continue
                track = self.tracks[ti]
                track.box, track.missed, track.hits = boxes[bi].copy(), 0, track.hits + 1
                ids[bi] = track.id
                matched.add(ti)
        for ti, track in enumerate(self.tracks):
            if ti not in matched:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for bi, box in enumerate(boxes):
            if ids[bi] == -1:
                self.tracks.append(Track(self._next, box.copy()))
                ids[bi] = self._next
                self._next += 1
        return ids

    def active(self) -> list[Track]:
        """Tracks matched in the last update: the faces to carry over frames where detection did not run."""
        return [t for t in self.tracks if t.missed == 0]
