"""Faces in an RGB frame: MTCNN (exported to the store, boxes + 5 landmarks) or OpenCV's bundled Haar cascade.

Haar needs no export and no weights of ours, so it is the zero-setup fallback; it gives no landmarks and no
probability (its faces score 1.0). Its settings (scale 1.2, minimum 40 px) were the ones clean on our test photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from models.catalog import model_path

Method = Literal["mtcnn", "haar"]


@dataclass
class Face:
    box: np.ndarray  # (4,) float32 x1, y1, x2, y2 in pixels of the frame
    score: float
    landmarks: np.ndarray | None = None  # (5, 2) float32 x, y: eyes, nose, mouth corners (MTCNN only)
    id: int = -1  # a stable id across frames, set by the tracker


class FaceDetector:
    """`detect(image)` on (H, W, 3) uint8 RGB frames; `min_face` is the smallest face side in pixels it looks for."""

    def __init__(self, method: Method = "mtcnn", min_face: int = 40, thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                 providers: Sequence[str] = ("cpu",), threads: int = 1, model: str = "mtcnn") -> None:
        self.method = method
        if method == "mtcnn":
            from models.mtcnn import MTCNN

            self._mtcnn = MTCNN(model_path(model), min_face, thresholds, providers=providers, threads=threads)
        elif method == "haar":
            import cv2

            if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
                raise RuntimeError(f"OpenCV {cv2.__version__} has no Haar cascades (5.x dropped them): "
                                   "pip install 'opencv-python-headless<5', or use the mtcnn detector")
            self._cv2, self._min_face = cv2, min_face
            self._haar = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        else:
            raise ValueError(f"unknown face detector {method!r}; choose mtcnn or haar")

    def detect(self, image: np.ndarray) -> list[Face]:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"face detection needs an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        if self.method == "mtcnn":
            d = self._mtcnn.detect(image)
            return [Face(b, float(s), m) for b, s, m in zip(d.boxes, d.scores, d.landmarks)]
        grey = self._cv2.cvtColor(image, self._cv2.COLOR_RGB2GRAY)
        found = self._haar.detectMultiScale(grey, scaleFactor=1.2, minNeighbors=5, minSize=(self._min_face, self._min_face))
        return [Face(np.array([x, y, x + w, y + h], np.float32), 1.0) for x, y, w, h in np.reshape(found, (-1, 4))]


def crop_faces(image: np.ndarray, boxes: Sequence[np.ndarray] | np.ndarray, size: int, margin: float = 0.1) -> np.ndarray:
    """Square crops (N, size, size, 3) uint8 centred on each box, its longer side widened by `margin` on each side.

    Parts of a crop outside the frame are black, so a face at the border is not stretched.
    """
    import cv2

    h, w = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, np.float32).reshape(-1, 4)):
        side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
        if side < 1:
            continue
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        l, t = int(round(cx - side / 2)), int(round(cy - side / 2))
        s = int(round(side))
        patch = np.zeros((s, s, 3), np.uint8)
        sx1, sy1, sx2, sy2 = max(l, 0), max(t, 0), min(l + s, w), min(t + s, h)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - t:sy2 - t, sx1 - l:sx2 - l] = image[sy1:sy2, sx1:sx2]
        out[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA if s > size else cv2.INTER_LINEAR)
    return out
