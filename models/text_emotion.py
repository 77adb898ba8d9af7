"""GoEmotions (28 emotions, multi-label) on text with onnxruntime; tokenized by `tokenizers`, not transformers.

The exported folder holds the model's own tokenizer.json, and the manifest its labels, padding id, longest input and
activation (sigmoid: each emotion independently, so "gratitude" and "joy" can both be high).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.catalog import CatalogError, choose_variant, model_path
from models.onnx_session import available_providers, open_session
from models.store import read_manifest


class TextEmotion:
    def __init__(self, model: str = "go-emotions", *, precision: str | None = None,
                 providers: Sequence[str] = ("cpu",), threads: int = 1, max_length: int | None = None) -> None:
        from tokenizers import Tokenizer

        chain = [p for p in providers if p in available_providers()]
        gpu = bool(chain) and chain[0] != "cpu"  # int8 where it will run on the CPU, fp32/fp16 on a GPU
        path = model_path(model, precision or choose_variant(model, gpu=gpu))
        manifest = read_manifest(model)
        config = manifest.config if manifest else {}
        if not config.get("labels"):
            raise CatalogError(f"{path.parent}: the manifest has no labels; export {model!r} again")
        self.name, self.labels = model, list(config["labels"])
        self.sigmoid = config.get("activation", "sigmoid") == "sigmoid"
        self.max_length = min(max_length or 512, int(config.get("max_length", 512)))
        self._tokenizer = Tokenizer.from_file(str(Path(path).parent / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_length)
        pad_id = int(config.get("pad_id", 0))
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=self._tokenizer.id_to_token(pad_id) or "<pad>")
        self._session = open_session(path, providers, threads)
        self._inputs = [i.name for i in self._session.get_inputs()]

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), len(labels)) probabilities."""
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts; use scores() for one")
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        batch = self._tokenizer.encode_batch(list(texts))
        feeds = {"input_ids": np.array([e.ids for e in batch], np.int64),
                 "attention_mask": np.array([e.attention_mask for e in batch], np.int64),
                 "token_type_ids": np.array([e.type_ids for e in batch], np.int64)}
        logits = self._session.run(None, {k: feeds[k] for k in self._inputs})[0].astype(np.float32)
        if self.sigmoid:
            return 1.0 / (1.0 + np.exp(-logits))
        e = np.exp(logits - logits.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def scores(self, text: str) -> dict[str, float]:
        """Every label's probability for one text, highest first."""
        probs = self.predict([text])[0]
        return {self.labels[i]: float(probs[i]) for i in np.argsort(-probs)}
