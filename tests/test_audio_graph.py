"""The audio branch as processes: espeak-ng speech -> audio_source -> vad -> transcribe -> sentiment."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_graph_runtime import records, run, write


def test_vad_finds_each_utterance_with_its_times(tmp_path: Path, speech_wav: tuple[Path, list]) -> None:
    wav, truth = speech_wav
    speech, activity, audio = tmp_path / "speech.jsonl", tmp_path / "activity.jsonl", tmp_path / "audio.jsonl"
    g = write(tmp_path, f"""
name: vad
nodes:
  mic:  {{type: audio_source, params: {{source: "{wav}", realtime: false}}}}
  vad:  {{type: vad, inputs: {{audio: mic.audio}}, params: {{aggressiveness: 2}}}}
  segs: {{type: jsonl_sink, inputs: {{in: vad.speech}}, params: {{path: "{speech}"}}}}
  acts: {{type: jsonl_sink, inputs: {{in: vad.activity}}, params: {{path: "{activity}"}}}}
  raw:  {{type: jsonl_sink, inputs: {{in: mic.audio}}, params: {{path: "{audio}"}}}}
""")
    res = run(["run", str(g), "--duration", "12"])
    assert res.returncode == 0, res.stderr
    segs, acts = records(speech), records(activity)
    origin = records(audio)[0]["t"]  # the file's clock: every time is the first block's time plus seconds into the file
    assert len(segs) == len(truth) == 3
    for seg, (start, end) in zip(segs, truth):
        assert abs((seg["data"]["start_ns"] - origin) / 1e9 - start) < 0.15
        assert abs((seg["data"]["end_ns"] - origin) / 1e9 - end) < 0.15
        assert seg["t"] == seg["data"]["start_ns"] and seg["arrays"]["samples"]["dtype"] == "<i2"
    assert [a["data"]["event"] for a in acts] == ["start", "end"] * 3
    assert [a["data"]["start_ns"] for a in acts[::2]] == [s["data"]["start_ns"] for s in segs]


def test_silence_and_noise_give_no_utterance(tmp_path: Path, silence_wav: Path, noise_wav: Path) -> None:
    out = tmp_path / "speech.jsonl"
    g = write(tmp_path, f"""
name: quiet
nodes:
  a:    {{type: audio_source, params: {{source: "{silence_wav}", realtime: false}}}}
  b:    {{type: audio_source, params: {{source: "{noise_wav}", realtime: false}}}}
  va:   {{type: vad, inputs: {{audio: a.audio}}, params: {{aggressiveness: 3}}}}
  vb:   {{type: vad, inputs: {{audio: b.audio}}, params: {{aggressiveness: 3}}}}
  sink: {{type: jsonl_sink, inputs: {{in: [va.speech, vb.speech, va.activity, vb.activity]}}, params: {{path: "{out}"}}}}
""")
    res = run(["run", str(g), "--duration", "8"])
    assert res.returncode == 0, res.stderr
    assert records(out) == []
    assert "node 'a' finished" in res.stderr and "node 'b' finished" in res.stderr  # both files were read to the end


def test_each_utterance_is_transcribed_in_a_running_graph(tmp_path: Path, speech_wav: tuple[Path, list],
                                                          tiny_whisper_model: Path) -> None:
    """The tiny Whisper has random weights: its words are noise. This checks the plumbing and the times, not words."""
    wav, truth = speech_wav
    out = tmp_path / "text.jsonl"
    g = write(tmp_path, f"""
name: asr
nodes:
  mic:  {{type: audio_source, params: {{source: "{wav}", realtime: false}}}}
  vad:  {{type: vad, inputs: {{audio: mic.audio}}}}
  asr:
    type: transcribe
    inputs: {{speech: vad.speech}}
    params: {{model: whisper-tiny, language: en, max_new_tokens: 8, no_speech_threshold: null, logprob_threshold: null,
              compression_ratio_threshold: null, word_timestamps: false}}
  sink: {{type: jsonl_sink, inputs: {{in: asr.text}}, params: {{path: "{out}"}}}}
""")
    res = run(["run", str(g), "--duration", "25"])
    assert res.returncode == 0, res.stderr
    got = records(out)
    assert len(got) == 3, res.stderr
    for rec, (start, end) in zip(got, truth):
        d = rec["data"]
        assert d["text"] and d["language"] == "en" and 0 <= d["confidence"] <= 1
        assert abs((d["end_ns"] - d["start_ns"]) / 1e9 - (end - start)) < 0.3
        assert rec["t"] == d["start_ns"]
    assert "loaded in" in res.stderr and "warmed up" in res.stderr


def test_transcribe_refuses_to_start_without_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOGRAPH_MODELS", str(tmp_path / "empty"))
    res = run(["launch", "test_source kind=audio ! vad ! transcribe model=whisper-small ! print_sink"])
    assert res.returncode == 2
    assert "`emograph export whisper-small`" in res.stderr and "never falls back" in res.stderr


@pytest.mark.parametrize("sentence, positive", [("I love this, it is wonderful.", True), ("This is terrible and I hate it.", False)])
def test_sentiment_through_a_running_graph(tmp_path: Path, sentence: str, positive: bool) -> None:
    out = tmp_path / "sentiment.jsonl"
    g = write(tmp_path, f"""
name: words
nodes:
  words: {{type: test_source, params: {{kind: text, fps: 5, count: 3, text: "{sentence}"}}}}
  mood:  {{type: sentiment, inputs: {{text: words.out}}}}
  sink:  {{type: jsonl_sink, inputs: {{in: mood.sentiment}}, params: {{path: "{out}"}}}}
""")
    res = run(["run", str(g), "--duration", "6"])
    assert res.returncode == 0, res.stderr
    got = records(out)
    assert len(got) == 3
    compound = got[0]["data"]["compound"]
    assert (compound > 0.5) if positive else (compound < -0.5)
    assert len(got[0]["data"]["sentences"]) == 1


def test_no_microphone_is_a_one_line_error() -> None:
    res = run(["launch", "audio_source source=default ! vad ! print_sink", "--duration", "10"])
    assert res.returncode == 2
    lines = [line for line in res.stderr.splitlines() if "node 'audio_source':" in line]
    assert len(lines) == 1 and ("no audio input device" in lines[0] or "no PortAudio" in lines[0])


def test_text_emotion_through_a_running_graph(tmp_path: Path, go_emotions_model: Path) -> None:
    out = tmp_path / "emotions.jsonl"
    g = write(tmp_path, f"""
name: goemotions
nodes:
  words: {{type: test_source, params: {{kind: text, fps: 5, count: 2, text: "thank you so much"}}}}
  feel:  {{type: text_emotion, inputs: {{text: words.out}}}}
  sink:  {{type: jsonl_sink, inputs: {{in: feel.emotions}}, params: {{path: "{out}"}}}}
""")
    res = run(["run", str(g), "--duration", "8"])
    assert res.returncode == 0, res.stderr
    got = records(out)
    assert len(got) == 2 and len(got[0]["data"]["scores"]) == 28
    assert all(0 <= p <= 1 for p in got[0]["data"]["scores"].values())
