"""Audio decoding and the webrtcvad segmenter, on real espeak-ng speech whose truth comes from how it was built."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from models.audio_io import AudioError, Resampler, decode_audio, iter_blocks, to_int16
from models.vad import Segmenter, SpeechEnd, SpeechSegment, SpeechStart, segment_audio
from tests.fixtures.media import make_clip, write_wav

TOLERANCE_S = 0.15


def test_decode_resamples_any_rate_to_16k_mono(tmp_path: Path) -> None:
    rate = 44100
    t = np.arange(rate) / rate
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], 1) * 0.5
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((stereo * 32767).astype(np.int16).tobytes())
    audio = decode_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - 16000) <= 32
    assert np.argmax(np.abs(np.fft.rfft(audio[:16000]))) == 440  # 1 Hz bins: the tone survived resampling
    assert decode_audio(path, dtype="int16").dtype == np.int16


def test_decode_reads_a_videos_audio_track_and_names_bad_files(tmp_path: Path) -> None:
    audio = decode_audio(make_clip(tmp_path / "clip.mp4", seconds=1.0))
    assert abs(audio.size / 16000 - 1.0) < 0.1
    assert np.argmax(np.abs(np.fft.rfft(audio[:16000]))) == 440
    silent = make_clip(tmp_path / "silent.mp4", audio_rate=None)
    with pytest.raises(AudioError, match=r"silent\.mp4: has no audio track"):
        decode_audio(silent)
    with pytest.raises(AudioError, match=r"nope\.wav: cannot open"):
        decode_audio(tmp_path / "nope.wav")


def test_blocks_are_fixed_size_and_stream_resampling_matches_whole_file(speech_wav: tuple[Path, list]) -> None:
    path, _ = speech_wav
    whole = decode_audio(path, dtype="int16")
    blocks = list(iter_blocks(path, 480))
    assert {b.shape for b in blocks} == {(480,)} and all(b.dtype == np.int16 for b in blocks)
    joined = np.concatenate(blocks)
    assert np.array_equal(joined[:whole.size], whole) and not joined[whole.size:].any()
    # the same audio at 48 kHz, resampled back block by block
    resampler = Resampler(16000, 48000)
    at48 = np.concatenate([resampler(whole), resampler.flush()])
    back = Resampler(48000)
    pieces = [back(at48[i:i + 1234]) for i in range(0, at48.size, 1234)] + [back.flush()]
    restored = np.concatenate(pieces)
    assert abs(restored.size - whole.size) <= 16
    n = min(restored.size, whole.size)
    corr = np.corrcoef(restored[:n].astype(float), whole[:n].astype(float))[0, 1]
    assert corr > 0.99


@pytest.mark.parametrize("aggressiveness", [1, 2, 3])
@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_three_sentences_give_three_utterances_at_the_true_times(speech_wav: tuple[Path, list], aggressiveness: int,
                                                                 frame_ms: int) -> None:
    path, truth = speech_wav
    segments = segment_audio(decode_audio(path, dtype="int16"), aggressiveness=aggressiveness, frame_ms=frame_ms)
    assert len(segments) == 3, [(s.start, s.end) for s in segments]
    for seg, (start, end) in zip(segments, truth):
        assert abs(seg.start - start) <= TOLERANCE_S, (seg.start, start)
        assert abs(seg.end - end) <= TOLERANCE_S, (seg.end, end)
        # the audio spans the speech plus its padding, and starts where `offset` says
        assert seg.offset <= seg.start and seg.offset + seg.audio.size / seg.rate >= seg.end


def test_streaming_chunks_with_capture_times_give_ordered_events(speech_wav: tuple[Path, list]) -> None:
    path, truth = speech_wav
    audio = decode_audio(path)  # float32 is accepted too
    t0, rng, pos, events = 1.7e9, np.random.default_rng(3), 0, []
    seg = Segmenter(aggressiveness=2)
    while pos < audio.size:
        n = int(rng.integers(1, 2500))  # arbitrary sizes, not multiples of a frame
        events += seg.feed(audio[pos:pos + n], t0 + pos / 16000)
        pos += n
    events += seg.flush()
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStart, SpeechEnd, SpeechSegment] * 3
    for i, (start, end) in enumerate(truth):
        s, e, segment = events[3 * i:3 * i + 3]
        assert abs(s.time - t0 - start) <= TOLERANCE_S and abs(e.time - t0 - end) <= TOLERANCE_S
        assert (segment.start, segment.end) == (s.time, e.time)


def test_end_of_utterance_is_reported_about_padding_ms_after_speech(speech_wav: tuple[Path, list]) -> None:
    path, truth = speech_wav
    audio = decode_audio(path, dtype="int16")
    for padding_ms in (150, 300, 600):
        seg, at = Segmenter(padding_ms=padding_ms), None
        for i in range(0, audio.size, 160):  # 10 ms chunks, as a microphone would deliver them
            if any(isinstance(e, SpeechEnd) for e in seg.feed(audio[i:i + 160], i / 16000)):
                at = (i + 160) / 16000
                break
        assert at is not None
        delay = at - truth[0][1]
        assert padding_ms / 1000 - 0.1 <= delay <= padding_ms / 1000 + 0.2, (padding_ms, delay)


def test_pauses_shorter_than_the_padding_stay_in_one_utterance(speech_wav: tuple[Path, list]) -> None:
    path, truth = speech_wav
    audio = decode_audio(path, dtype="int16")
    end1, start2 = int(truth[0][1] * 16000), int(truth[1][0] * 16000)
    squeezed = np.concatenate([audio[:end1 + 1600], audio[start2 - 1600:]])  # the 0.7 s pause made 0.2 s
    segments = segment_audio(squeezed)
    assert len(segments) == 2
    assert abs(segments[0].start - truth[0][0]) <= TOLERANCE_S


def test_long_speech_comes_in_segments_of_at_most_max_length(speech_wav: tuple[Path, list]) -> None:
    path, truth = speech_wav
    seg = Segmenter(max_speech_s=1.0)
    events = [*seg.feed(decode_audio(path, dtype="int16"), 0.0), *seg.flush()]
    starts = [e.time for e in events if isinstance(e, SpeechStart)]
    ends = [e.time for e in events if isinstance(e, SpeechEnd)]
    segments = [e for e in events if isinstance(e, SpeechSegment)]
    assert len(starts) == len(ends) == 3  # the utterances are still three
    assert len(segments) >= 8 and all(0 < s.duration <= 1.0 + 1e-9 for s in segments)  # each sentence is 2-3 s
    for start, end in zip(starts, ends):  # an utterance's segments tile it without gaps
        pieces = [s for s in segments if start <= s.start < end]
        assert pieces[0].start == start and pieces[-1].end == end
        assert all(a.end == b.start for a, b in zip(pieces, pieces[1:]))
    assert abs(starts[0] - truth[0][0]) <= TOLERANCE_S and abs(ends[-1] - truth[-1][1]) <= TOLERANCE_S


def test_too_short_sounds_announce_nothing(speech_wav: tuple[Path, list], tmp_path: Path) -> None:
    path, truth = speech_wav
    audio = decode_audio(path, dtype="int16")
    start = int(truth[0][0] * 16000)
    blip = np.concatenate([np.zeros(8000, np.int16), audio[start:start + 3200], np.zeros(16000, np.int16)])  # 0.2 s
    assert segment_audio(blip, min_speech_s=0.4) == []
    assert len(segment_audio(blip, min_speech_s=0.1)) == 1


def test_silence_and_noise_give_no_utterance(silence_wav: Path, noise_wav: Path) -> None:
    for path in (silence_wav, noise_wav):
        seg = Segmenter(aggressiveness=3)
        events = [e for chunk in iter_blocks(path, 320) for e in seg.feed(chunk)] + list(seg.flush())
        assert events == [], path.name


def test_bad_parameters_are_one_line_errors() -> None:
    with pytest.raises(AudioError, match="10, 20 or 30 ms, not 25"):
        Segmenter(frame_ms=25)
    with pytest.raises(AudioError, match="not 44100"):
        Segmenter(rate=44100)
    with pytest.raises(AudioError, match="aggressiveness is 0..3, not 5"):
        Segmenter(aggressiveness=5)
    with pytest.raises(AudioError, match="int16 or float"):
        to_int16(np.zeros(10, np.int32))


def test_write_wav_roundtrip(tmp_path: Path) -> None:
    tone = (np.sin(np.arange(16000) / 5) * 0.3).astype(np.float32)
    back = decode_audio(write_wav(tmp_path / "t.wav", tone))
    assert np.abs(back - tone).max() < 1e-3
