"""MTCNN on numpy and onnxruntime: an image pyramid through P-Net, then R-Net and O-Net on the survivors' crops.

The same cascade as facenet-pytorch's `detect_face` (whose weights these are), with OpenCV's area resize and numpy NMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from models.onnx_session import open_session


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first; `min` divides by the smaller box (O-Net)."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)[::-1]
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        denom = np.minimum(area[i], area[rest]) if mode == "min" else area[i] + area[rest] - inter
        order = rest[inter / denom <= threshold]
    return np.asarray(keep, dtype=np.int64)


def _square(boxes: np.ndarray) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out = boxes.copy()
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2:4] = out[:, 0:2] + side[:, None]
    return out


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out = boxes.copy()
    out[:, :4] = boxes[:, :4] + reg * np.stack([w, h, w, h], axis=1)
    return out


@dataclass(frozen=True)
class Detections:
    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2 in pixels
    scores: np.ndarray  # (N,) float32
    landmarks: np.ndarray  # (N, 5, 2) float32 x, y: left eye, right eye, nose, mouth left, mouth right


class MTCNN:
    """Three ONNX sessions from the store's `mtcnn` folder; `detect` takes an (H, W, 3) uint8 RGB image."""

    def __init__(self, folder: Path, min_face: int = 40, thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709, providers: Sequence[str] = ("cpu",), threads: int = 1) -> None:
        import cv2

        self.cv2 = cv2
        self.pnet, self.rnet, self.onet = (open_session(folder / f"{net}.onnx", providers, threads)
                                           for net in ("pnet", "rnet", "onet"))
        self.min_face, self.thresholds, self.factor = min_face, tuple(thresholds), factor

    def scales(self, h: int, w: int) -> list[float]:
        m = 12.0 / self.min_face
        side, scales = min(h, w) * m, []
        while side >= 12:
            scales.append(m * self.factor ** len(scales))
            side *= self.factor
        return scales

    def detect(self, image: np.ndarray) -> Detections:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"MTCNN needs an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        img = (image.astype(np.float32) - 127.5) * 0.0078125
        h, w = img.shape[:2]
        empty = Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))

        # Stage 1: P-Net over the pyramid; each 12x12 window that passes proposes a box.
        found = []
        for scale in self.scales(h, w):
            small = self.cv2.resize(img, (int(w * scale + 1), int(h * scale + 1)), interpolation=self.cv2.INTER_AREA)
            reg, prob = self.pnet.run(None, {"image": small.transpose(2, 0, 1)[None]})
            ys, xs = np.nonzero(prob[0, 1] >= self.thresholds[0])
            if not ys.size:
                continue
            cells = np.stack([xs, ys], axis=1).astype(np.float32)
            boxes = np.concatenate([np.floor((2 * cells + 1) / scale), np.floor((2 * cells + 12) / scale),
                                    prob[0, 1, ys, xs, None], reg[0][:, ys, xs].T], axis=1)
            found.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
        if not found:
            return empty
        boxes = np.concatenate(found)
        boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
        w_, h_ = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        boxes = np.concatenate([boxes[:, :4] + boxes[:, 5:9] * np.stack([w_, h_, w_, h_], 1), boxes[:, 4:5]], axis=1)
        boxes = _square(boxes)

        # Stage 2: R-Net refines and rejects.
        reg, prob = self.rnet.run(None, {"image": self._crops(img, boxes, 24)})
        keep = prob[:, 1] > self.thresholds[1]
        boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1)
        reg = reg[keep]
        if not len(boxes):
            return empty
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
        boxes = _square(_regress(boxes[pick], reg[pick]))

        # Stage 3: O-Net gives the final boxes and five landmarks.
        reg, marks, prob = self.onet.run(None, {"image": self._crops(img, boxes, 48)})
        keep = prob[:, 1] > self.thresholds[2]
        boxes, reg, marks = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1), reg[keep], marks[keep]
        if not len(boxes):
            return empty
        bw = boxes[:, 2:3] - boxes[:, 0:1] + 1
        bh = boxes[:, 3:4] - boxes[:, 1:2] + 1
        points = np.stack([bw * marks[:, :5] + boxes[:, 0:1] - 1, bh * marks[:, 5:] + boxes[:, 1:2] - 1], axis=2)
        boxes = _regress(boxes, reg)
        pick = nms(boxes[:, :4], boxes[:, 4], 0.7, "min")
        return Detections(boxes[pick, :4].astype(np.float32), boxes[pick, 4].astype(np.float32),
                          points[pick].astype(np.float32))

    def _crops(self, img: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
        """Each box cut from the image (clamped to it, as MTCNN was trained) and resized to size x size, NCHW."""
        h, w = img.shape[:2]
        out = np.zeros((len(boxes), size, size, 3), np.float32)
        for k, (x1, y1, x2, y2) in enumerate(np.trunc(boxes[:, :4]).astype(np.int64)):
            x1c, y1c, x2c, y2c = max(x1, 1), max(y1, 1), min(x2, w), min(y2, h)
            if x2c > x1c - 1 and y2c > y1c - 1:
                out[k] = self.cv2.resize(img[y1c - 1:y2c, x1c - 1:x2c], (size, size), interpolation=self.cv2.INTER_AREA)
        return out.transpose(0, 3, 1, 2).copy()
