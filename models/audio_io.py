"""Audio in: any file PyAV opens (or a video's audio track) decoded to mono at the rate the speech models want.

Everything downstream (webrtcvad, Whisper) wants 16 kHz mono; files and microphones come at 22.05, 44.1 or 48 kHz,
in stereo, as floats or ints. `Resampler` converts a stream block by block, `decode_audio` a whole file, `iter_blocks`
yields equal blocks so a file can be played at the pace a microphone would deliver it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np

SAMPLE_RATE = 16_000
Dtype = Literal["int16", "float32"]


class AudioError(ValueError):
    """An audio source that cannot be read; the message names it."""


def to_int16(audio: np.ndarray) -> np.ndarray:
    """float in [-1, 1] to int16 (clipped); int16 passes through."""
    if audio.dtype == np.int16:
        return audio
    if not np.issubdtype(audio.dtype, np.floating):
        raise AudioError(f"audio samples must be int16 or float, not {audio.dtype}")
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def to_float32(audio: np.ndarray) -> np.ndarray:
    """int16 to float32 in [-1, 1); float passes through as float32."""
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / 32768.0
    if not np.issubdtype(audio.dtype, np.floating):
        raise AudioError(f"audio samples must be int16 or float, not {audio.dtype}")
    return audio.astype(np.float32, copy=False)


def _cast(audio: np.ndarray, dtype: Dtype) -> np.ndarray:
    return to_int16(audio) if dtype == "int16" else to_float32(audio)


class Resampler:
    """Streaming conversion of (samples,) or (samples, channels) blocks to mono int16 at `rate`.

    Stateful, so block edges leave no clicks; call `flush()` at the end of the stream for the filter's tail.
    """

    def __init__(self, in_rate: int, rate: int = SAMPLE_RATE) -> None:
        import av

        if in_rate <= 0 or rate <= 0:
            raise AudioError(f"sample rates must be positive, got {in_rate} -> {rate}")
        self.in_rate, self.rate = in_rate, rate
        self._av = av
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        self._pts = 0

    def __call__(self, block: np.ndarray) -> np.ndarray:
        pcm = to_int16(block)
        if pcm.ndim == 1:
            pcm = pcm[:, None]
        if pcm.ndim != 2 or not pcm.shape[0]:
            return np.zeros(0, np.int16)
        channels = pcm.shape[1]
        layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
        frame = self._av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm.reshape(1, -1)), format="s16", layout=layout)
        frame.sample_rate, frame.pts = self.in_rate, self._pts
        self._pts += pcm.shape[0]
        return _join(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        return _join(self._resampler.resample(None))


def _join(frames: list) -> np.ndarray:
    if not frames:
        return np.zeros(0, np.int16)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])


def _decode(source: str | Path, rate: int) -> Iterator[np.ndarray]:
    """Mono int16 pieces at `rate` from the first audio track of `source`, as PyAV decodes them."""
    import av

    try:
        container = av.open(str(source))
    except (av.error.FFmpegError, OSError) as exc:
        raise AudioError(f"{source}: cannot open as audio: {exc}") from exc
    with container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioError(f"{source}: has no audio track")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        try:
            for frame in container.decode(stream):
                frame.pts = None  # let the resampler count samples; some containers carry odd timestamps
                yield _join(resampler.resample(frame))
        except av.error.FFmpegError as exc:
            raise AudioError(f"{source}: audio cannot be decoded: {exc}") from exc
        yield _join(resampler.resample(None))


def decode_audio(source: str | Path, rate: int = SAMPLE_RATE, dtype: Dtype = "float32") -> np.ndarray:
    """The whole first audio track of `source`, mono at `rate`."""
    pieces = list(_decode(source, rate))
    return _cast(np.concatenate(pieces) if pieces else np.zeros(0, np.int16), dtype)


def iter_blocks(source: str | Path, block: int, rate: int = SAMPLE_RATE,
                dtype: Dtype = "int16") -> Iterator[np.ndarray]:
    """Equal blocks of `block` samples, decoded as they are needed; the last one is padded with silence."""
    if block <= 0:
        raise AudioError(f"block size must be positive, got {block}")
    pending = np.zeros(0, np.int16)
    for piece in _decode(source, rate):
        pending = np.concatenate([pending, piece]) if pending.size else piece
        full = pending.size // block * block
        for i in range(0, full, block):
            yield _cast(pending[i:i + block], dtype)
        pending = pending[full:]
    if pending.size:
        yield _cast(np.concatenate([pending, np.zeros(block - pending.size, np.int16)]), dtype)
