"""Facial expression from face crops with any catalog image classifier (ViT, mini-XCEPTION), on onnxruntime.

Preprocessing comes from the model's own config in the store (size, grey or RGB, mean and std), so a fine-tuned or
differently normalised model needs no code. All faces of a frame go through in one `session.run`. Probabilities come
out in `EMOTIONS` order whatever the model's own label order, so fusion and consumers see one vocabulary.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from models.catalog import ModelMissing, choose_variant, entry, is_present, model_config, model_path
from models.labels import EMOTIONS, normalise_label
from models.onnx_session import PROVIDERS, open_session

DEFAULT_MODELS = ("vit-face-expression", "fer-minixception")


def default_model() -> str:
    """The ViT when it was exported, else mini-XCEPTION; raises ModelMissing naming both exports when neither is."""
    for name in DEFAULT_MODELS:
        if is_present(name):
            return name
    raise ModelMissing(f"no expression model in the store: make one with `emograph export {DEFAULT_MODELS[0]}` "
                       f"(needs the model or a local copy) or `emograph export {DEFAULT_MODELS[1]}` (offline, small)")


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class ExpressionClassifier:
    """`predict(crops)` -> (N, len(labels)) probabilities; crops are (H, W, 3) uint8 RGB, any size."""

    def __init__(self, model: str | None = None, variant: str | None = None, providers: Sequence[str] = ("cpu",),
                 threads: int = 1) -> None:
        self.model = model or default_model()
        if entry(self.model).task != "image-classification":
            raise ValueError(f"model {self.model!r} is a {entry(self.model).task} model, not an image classifier")
        gpu = any(p != "cpu" for p in providers)
        self.variant = variant or choose_variant(self.model, gpu=gpu)
        self.path = model_path(self.model, self.variant)
        cfg = model_config(self.model)
        if cfg.input is None:
            raise ValueError(f"model {self.model!r} has no input size or normalisation in its config")
        self.size, self.grey = cfg.input.size, cfg.input.color == "grey"
        self.mean = np.asarray(cfg.input.mean, np.float32).reshape(1, -1, 1, 1)
        self.std = np.asarray(cfg.input.std, np.float32).reshape(1, -1, 1, 1)
        own = [normalise_label(x) for x in cfg.labels]
        # Reorder to EMOTIONS when the model has exactly those classes; otherwise keep its own.
        self.order = np.asarray([own.index(x) for x in EMOTIONS]) if sorted(own) == sorted(EMOTIONS) else None
        self.labels: tuple[str, ...] = EMOTIONS if self.order is not None else tuple(own)
        self.session = open_session(self.path, providers, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.provider = next(k for k, v in PROVIDERS.items() if v == self.session.get_providers()[0])

    def preprocess(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """(N, C, size, size) float32: resized, grey if the model wants it, scaled to [0, 1], normalised."""
        import cv2

        batch = []
        for crop in crops:
            if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
                raise ValueError(f"a face crop must be (H, W, 3) uint8 RGB, got {crop.shape} {crop.dtype}")
            if crop.shape[:2] != (self.size, self.size):
                shrink = crop.shape[0] > self.size
                crop = cv2.resize(crop, (self.size, self.size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            batch.append(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[..., None] if self.grey else crop)
        x = np.stack(batch).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        return ((x - self.mean) / self.std).astype(np.float32)

    def predict(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        logits = self.session.run(None, {self.input_name: self.preprocess(crops)})[0].astype(np.float32)
        probs = softmax(logits)
        return probs[:, self.order] if self.order is not None else probs

    def classify(self, crops: Sequence[np.ndarray] | np.ndarray) -> list[dict[str, float]]:
        """Per crop, {label: probability}, most likely first."""
        return [dict(sorted(zip(self.labels, map(float, p)), key=lambda kv: -kv[1])) for p in self.predict(crops)]
