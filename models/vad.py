"""Utterances from a stream of audio chunks: webrtcvad per frame, a padded ring buffer for start and end.

A single frame's verdict flickers, so an utterance starts when `start_ratio` of the last `padding_ms` of frames are
voiced and ends when `end_ratio` of them are not; pauses shorter than about `padding_ms` (300 ms: in noise webrtcvad
splits sentences at word pauses) stay inside one utterance, and `padding_ms` is also the end-of-utterance delay.
Reported times are those of the first and last voiced frames; the segment's audio keeps the padding around them,
which Whisper likes. Utterances shorter than `min_speech_s` are dropped (clicks, coughs) and announce nothing.
An utterance longer than `max_speech_s` is delivered in segments of at most that length, so none outgrows Whisper's
30 s window or waits too long for its text; start and end still bracket the whole utterance.
webrtcvad judges energy and spectrum, not words: white noise louder than about -26 dBFS is "speech" to it at
every aggressiveness (measured), so a noisy input needs a gate or a denoiser before it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from models.audio_io import AudioError, to_int16

RATES = (8000, 16000, 32000, 48000)
FRAME_MS = (10, 20, 30)
OVERHANG_S = 0.15  # the longest "speech" tail webrtcvad adds after speech stops (mode 0, 10 ms frames)


@dataclass(frozen=True)
class SpeechStart:
    time: float  # capture time of the first voiced frame, in the clock of the chunks fed


@dataclass(frozen=True)
class SpeechEnd:
    time: float  # capture time just after the last voiced frame


@dataclass(frozen=True)
class SpeechSegment:
    audio: np.ndarray  # int16 mono, including the padding around the speech
    rate: int
    start: float
    end: float
    offset: float  # capture time of audio[0]

    @property
    def duration(self) -> float:
        return self.end - self.start


VadEvent = SpeechStart | SpeechEnd | SpeechSegment


@dataclass
class _Frame:
    pcm: np.ndarray
    time: float
    voiced: bool

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(self.pcm.astype(np.float32) ** 2)))


class Segmenter:
    """Feed chunks of any size with their capture time; get `SpeechStart`, `SpeechEnd` and `SpeechSegment` events."""

    def __init__(self, rate: int = 16000, aggressiveness: int = 2, frame_ms: int = 30, padding_ms: int = 300,
                 start_ratio: float = 0.9, end_ratio: float = 0.9, min_speech_s: float = 0.25,
                 max_speech_s: float = 20.0) -> None:
        import webrtcvad

        if rate not in RATES:
            raise AudioError(f"webrtcvad needs a rate of {', '.join(map(str, RATES))} Hz, not {rate}")
        if frame_ms not in FRAME_MS:
            raise AudioError(f"webrtcvad frames are 10, 20 or 30 ms, not {frame_ms}")
        if aggressiveness not in (0, 1, 2, 3):
            raise AudioError(f"webrtcvad aggressiveness is 0..3, not {aggressiveness}")
        if not (0 < start_ratio <= 1 and 0 < end_ratio <= 1):
            raise AudioError(f"start_ratio and end_ratio must be in (0, 1], got {start_ratio}, {end_ratio}")
        if padding_ms < frame_ms or max_speech_s <= min_speech_s:
            raise AudioError(f"need padding_ms >= frame_ms and max_speech_s > min_speech_s, got "
                             f"{padding_ms} < {frame_ms} or {max_speech_s} <= {min_speech_s}")
        self.rate, self.frame_s = rate, frame_ms / 1000
        self.start_ratio, self.end_ratio = start_ratio, end_ratio
        self.min_speech_s, self.max_speech_s = min_speech_s, max_speech_s
        self._vad = webrtcvad.Vad(aggressiveness)
        self._frame_len = rate * frame_ms // 1000
        self._ring: deque[_Frame] = deque(maxlen=max(1, padding_ms // frame_ms))
        self._pending = np.zeros(0, np.int16)
        self._clock = 0.0  # capture time of the next sample when chunks come without one
        self._speech: list[_Frame] | None = None  # frames of the utterance in progress
        self._start = self._last_voiced_end = 0.0
        self._announced = False

    @property
    def speaking(self) -> bool:
        """An utterance is in progress (possibly not yet announced)."""
        return self._speech is not None

    def feed(self, chunk: np.ndarray, t: float | None = None) -> Iterator[VadEvent]:
        """Events this chunk completes. `t` is the capture time of chunk[0] in seconds (default: continue the clock)."""
        pcm = to_int16(np.asarray(chunk).reshape(-1))
        t = self._clock if t is None else float(t)
        self._clock = t + pcm.size / self.rate
        base = t - self._pending.size / self.rate  # capture time of the first pending sample, anchored on this chunk
        buf = np.concatenate([self._pending, pcm]) if self._pending.size else pcm
        n = buf.size // self._frame_len * self._frame_len
        for i in range(0, n, self._frame_len):
            pcm_frame = buf[i:i + self._frame_len]
            voiced = self._vad.is_speech(pcm_frame.tobytes(), self.rate)
            yield from self._step(_Frame(pcm_frame, base + i / self.rate, voiced))
        self._pending = buf[n:].copy()

    def flush(self) -> Iterator[VadEvent]:
        """End the utterance in progress, if any (end of a file or a stream)."""
        if self._speech is not None:
            yield from self._finish()
        self._ring.clear()
        self._pending = np.zeros(0, np.int16)

    def _step(self, frame: _Frame) -> Iterator[VadEvent]:
        ring = self._ring
        ring.append(frame)
        if frame.voiced:
            self._last_voiced_end = frame.time + self.frame_s
        if self._speech is None:
            if sum(f.voiced for f in ring) >= self.start_ratio * ring.maxlen:
                self._speech = list(ring)
                self._start = next(f.time for f in ring if f.voiced)
            return
        self._speech.append(frame)
        if not self._announced and self._last_voiced_end - self._start >= self.min_speech_s:
            self._announced = True
            yield SpeechStart(self._start)
        if sum(not f.voiced for f in ring) >= self.end_ratio * ring.maxlen:
            yield from self._finish()
        elif frame.time + 2 * self.frame_s - self._start > self.max_speech_s + 1e-9:  # one more frame would be too long
            yield from self._cut()

    def _cut(self) -> Iterator[VadEvent]:
        """A segment of the utterance so far; the utterance itself (start and end events) goes on."""
        frames = self._speech or []
        end = frames[-1].time + self.frame_s
        if not self._announced:
            self._announced = True
            yield SpeechStart(self._start)
        yield SpeechSegment(np.concatenate([f.pcm for f in frames]), self.rate, self._start, end, frames[0].time)
        self._speech, self._start = [], end

    def _finish(self) -> Iterator[VadEvent]:
        frames, start, announced = self._speech or [], self._start, self._announced
        frame_end = frames[-1].time + self.frame_s if frames else start
        end = max(start, self._trim_overhang(frames, min(self._last_voiced_end, frame_end)))
        self._speech, self._announced = None, False
        self._ring.clear()
        if not announced and end - start < self.min_speech_s:
            return
        if not announced:
            yield SpeechStart(start)
        yield SpeechEnd(end)
        if end > start:  # after a cut, the rest may hold no speech
            yield SpeechSegment(np.concatenate([f.pcm for f in frames]), self.rate, start, end, frames[0].time)

    def _trim_overhang(self, frames: list[_Frame], end: float) -> float:
        """webrtcvad keeps saying "speech" for up to ~100 ms after it stops (its overhang): move the end back over
        trailing voiced frames 20 dB quieter than the utterance's typical voiced frame."""
        voiced = [f for f in frames if f.voiced and f.time < end]
        if len(voiced) < 3:
            return end
        floor = 0.1 * float(np.median([f.rms for f in voiced]))
        for f in reversed(voiced[-int(round(OVERHANG_S / self.frame_s)):]):
            if f.rms >= floor:
                break
            end = f.time
        return end


def segment_audio(audio: np.ndarray, rate: int = 16000, **params: float) -> list[SpeechSegment]:
    """Every utterance in a whole recording (times in seconds from its start)."""
    seg = Segmenter(rate, **params)  # type: ignore[arg-type]
    events = [*seg.feed(audio, 0.0), *seg.flush()]
    return [e for e in events if isinstance(e, SpeechSegment)]
