"""Whisper on one utterance at a time, with faster-whisper (CTranslate2), from the local store only.

The model is loaded from a folder and never looked up on the hub. Precision: float16 on CUDA, int8 on a CPU (where
CTranslate2 quantizes the stored weights as it loads them), unless set. A warm-up pass at load pays the first
call's one-off costs, so the first utterance is as quick as the next. The VAD has already cut the utterance, so by
default it is decoded as one window without timestamp tokens: its times are the VAD's. Word timestamps turn Whisper's
timestamp tokens back on, because without them faster-whisper decodes again from the last word's end, a second
encoder pass over the utterance's trailing padding (about 2 s for whisper-small on a CPU).

Whisper invents text for silence and noise ("Thank you."): a segment is dropped when it is probably not speech
(no-speech probability over its threshold while the decoder was unsure), when the decoder was unsure of it (mean
token log-probability under its threshold: such text feeds sentiment with guesses), or when it loops (gzip
compression ratio over its threshold).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.audio_io import SAMPLE_RATE, Resampler, to_float32
from models.catalog import model_path

log = logging.getLogger("emograph.transcriber")


class TranscriberError(RuntimeError):
    """A model that cannot be loaded or run as asked; the message says which and why."""


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Transcript:
    text: str  # empty when nothing was said, or all of it was dropped as hallucinated
    language: str
    language_probability: float
    confidence: float  # exp of the mean token log-probability of the kept text; 0 when there is none
    start: float  # of the kept speech, in the clock of `offset` (seconds)
    end: float
    words: list[Word] = field(default_factory=list)
    no_speech_prob: float = 0.0  # the highest among the decoded windows
    dropped: list[str] = field(default_factory=list)  # text judged hallucinated, with the reason
    tokens: int = 0  # decoded, kept or not
    elapsed_s: float = 0.0  # time spent transcribing


def resolve_device(device: str = "auto", compute_type: str = "auto") -> tuple[str, str]:
    """("cuda", "float16") where CTranslate2 sees a GPU, else ("cpu", "int8"); explicit values are kept."""
    import ctranslate2

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    supported = ctranslate2.get_supported_compute_types(device)
    if compute_type not in supported and compute_type != "default":
        raise TranscriberError(f"compute type {compute_type!r} is not supported on {device}; "
                               f"it supports: {', '.join(sorted(supported))}")
    return device, compute_type


class Transcriber:
    """faster-whisper over a CTranslate2 folder from the store (a catalog name) or a folder path."""

    def __init__(self, model: str = "whisper-small", *, device: str = "auto", compute_type: str = "auto",
                 language: str | None = None, task: str = "transcribe", beam_size: int = 1,
                 temperature: float | Sequence[float] = 0.0, max_new_tokens: int | None = None,
                 word_timestamps: bool = False, no_speech_threshold: float | None = 0.6,
                 logprob_threshold: float | None = -1.0, compression_ratio_threshold: float | None = 2.4,
                 initial_prompt: str | None = None, suppress_tokens: Sequence[int] = (-1,), cpu_threads: int = 0,
                 warmup: bool = True) -> None:
        from faster_whisper import WhisperModel

        folder = Path(model).expanduser() if Path(model).expanduser().is_dir() else model_path(model)
        missing = [f for f in ("model.bin", "tokenizer.json") if not (folder / f).is_file()]
        if missing:  # without tokenizer.json faster-whisper would fetch one from the hub
            raise TranscriberError(f"{folder}: not a faster-whisper model folder, it lacks {', '.join(missing)}; "
                                   f"make one with `emograph export whisper-small --from FOLDER`")
        self.name, self.folder = model, folder
        self.device, self.compute_type = resolve_device(device, compute_type)
        started = time.perf_counter()
        try:  # a folder path: faster-whisper never goes to the hub for it
            self._model = WhisperModel(str(folder), device=self.device, compute_type=self.compute_type,
                                       cpu_threads=cpu_threads, local_files_only=True)
        except Exception as exc:
            raise TranscriberError(f"{folder}: faster-whisper cannot load it on {self.device}/{self.compute_type} "
                                   f"({type(exc).__name__}: {exc}); export it again") from exc
        # large-v3 added "yue": a model has the languages its vocabulary has
        has = self._model.hf_tokenizer.token_to_id
        self.languages: list[str] = [c for c in self._model.supported_languages
                                     if not self._model.model.is_multilingual or has(f"<|{c}|>") is not None]
        if language is not None and language not in self.languages:
            raise TranscriberError(f"language {language!r} is not one of {model}'s: {', '.join(self.languages)}")
        self.language, self.multilingual = language, self._model.model.is_multilingual
        self.no_speech_threshold, self.logprob_threshold = no_speech_threshold, logprob_threshold
        self.compression_ratio_threshold = compression_ratio_threshold
        self._options: dict[str, Any] = dict(
            task=task, beam_size=beam_size, temperature=temperature, max_new_tokens=max_new_tokens,
            word_timestamps=word_timestamps, without_timestamps=not word_timestamps,
            no_speech_threshold=no_speech_threshold,
            log_prob_threshold=logprob_threshold, compression_ratio_threshold=compression_ratio_threshold,
            initial_prompt=initial_prompt, suppress_tokens=list(suppress_tokens), condition_on_previous_text=False,
            vad_filter=False)
        self.load_s = time.perf_counter() - started
        self.warmup_s = self._warmup() if warmup else 0.0
        log.info("%s: %s on %s/%s, loaded in %.2f s, warmed up in %.2f s", model, folder, self.device,
                 self.compute_type, self.load_s, self.warmup_s)

    def _warmup(self) -> float:
        """One short decode of quiet noise: allocations, kernels and caches are made now, not on the first words."""
        started = time.perf_counter()
        noise = np.random.default_rng(0).normal(0, 1e-3, SAMPLE_RATE).astype(np.float32)
        segments, _ = self._model.transcribe(noise, **{**self._options, "language": self.language or "en",
                                                       "max_new_tokens": 4, "temperature": 0.0,
                                                       "word_timestamps": False})
        list(segments)
        return time.perf_counter() - started

    def transcribe(self, audio: np.ndarray, rate: int = SAMPLE_RATE, offset: float = 0.0) -> Transcript:
        """Text of one utterance; times are `offset` (the capture time of audio[0]) plus seconds into it."""
        started = time.perf_counter()
        samples = np.asarray(audio).reshape(-1)
        if rate != SAMPLE_RATE:
            resample = Resampler(rate, SAMPLE_RATE)
            samples = np.concatenate([resample(samples), resample.flush()])
        samples = to_float32(samples)
        duration = samples.size / SAMPLE_RATE
        segments, info = self._model.transcribe(samples, language=self.language, **self._options)
        kept, dropped, logprobs, no_speech, tokens = [], [], [], 0.0, 0
        for seg in segments:
            no_speech, tokens = max(no_speech, seg.no_speech_prob), tokens + len(seg.tokens)
            reason = self._hallucinated(seg)
            if reason:
                dropped.append(f"{seg.text.strip()!r}: {reason}")
                continue
            kept.append(seg)
            logprobs.append(seg.avg_logprob)
        words = [Word(w.word.strip(), offset + float(w.start), offset + float(w.end), float(w.probability))
                 for seg in kept for w in (seg.words or [])]
        text = " ".join(s.text.strip() for s in kept if s.text.strip())
        start = offset + (float(kept[0].start) if kept else 0.0)
        end = offset + (min(float(kept[-1].end), duration) if kept else duration)
        return Transcript(text=text, language=info.language, language_probability=float(info.language_probability),
                          confidence=math.exp(float(np.mean(logprobs))) if logprobs else 0.0, start=start, end=end,
                          words=words, no_speech_prob=float(no_speech), dropped=dropped, tokens=tokens,
                          elapsed_s=time.perf_counter() - started)

    def _hallucinated(self, seg: Any) -> str:
        """Why a decoded segment is not to be trusted, or "" when it is."""
        if not seg.text.strip():
            return "empty"
        if (self.no_speech_threshold is not None and seg.no_speech_prob > self.no_speech_threshold
                and (self.logprob_threshold is None or seg.avg_logprob < self.logprob_threshold)):
            return f"no_speech_prob {seg.no_speech_prob:.2f} > {self.no_speech_threshold}"
        if self.logprob_threshold is not None and seg.avg_logprob < self.logprob_threshold:
            return f"avg_logprob {seg.avg_logprob:.2f} < {self.logprob_threshold}"
        if self.compression_ratio_threshold is not None and seg.compression_ratio > self.compression_ratio_threshold:
            return f"compression ratio {seg.compression_ratio:.2f} > {self.compression_ratio_threshold}"
        return ""
