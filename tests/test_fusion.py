"""The fusion maths, pinned to the worked example and formulas of docs/fusion.md."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from models.fusion import (
    EMOTIONS, VALENCE_VEC, FaceObservation, Fusion, FusionParams, Utterance, as_scores, faces_from_data,
    goemotions_scores, text_scores, to_event, utterance_from_data,
)

S = 10**9
T = 1_700_000_000 * S  # an arbitrary capture time
HAPPY_FACE = [0.02, 0.01, 0.02, 0.85, 0.03, 0.02, 0.05]
HAPPY = EMOTIONS.index("happy")


def face(fid: int = 1, scores=HAPPY_FACE, t: int = T, box=(100, 80, 220, 230)) -> FaceObservation:
    return FaceObservation(fid, tuple(map(float, box)), np.asarray(scores, dtype=float), t)


def awful(end: int = T, compound: float = -0.8, **kw) -> Utterance:
    return Utterance("this is awful", end - 2 * S, end, compound, 0.6, 0.4, 0.0, **kw)


def test_worked_example_happy_face_with_a_very_negative_utterance():
    fusion = Fusion()
    fusion.add_face(face())
    alone = fusion.fuse(T)
    assert alone.emotion == "happy" and alone.sources == {"face": 1.0}
    assert alone.scores == pytest.approx(HAPPY_FACE)
    assert alone.valence == pytest.approx(0.637)
    assert alone.confidence == pytest.approx((7 * 0.85 - 1) / 6)  # 0.825

    fusion.add_utterance(awful())
    fused = fusion.fuse(T)
    # docs/fusion.md, worked example: happy 0.85 -> 0.5874, valence 0.637 -> -0.0597, shares 17/33 and 16/33
    assert fused.scores == pytest.approx([0.0658, 0.0371, 0.0658, 0.5874, 0.1254, 0.0284, 0.0902], abs=5e-5)
    pulled = np.asarray(HAPPY_FACE) * np.exp(1.5 * -0.8 * VALENCE_VEC)  # P_face(k) * exp(g * v * V_k)
    assert fused.scores == pytest.approx(pulled / pulled.sum())
    assert fused.emotion == "happy"
    assert fused.valence == pytest.approx(-0.0597, abs=5e-5)
    assert fused.sources == pytest.approx({"face": 17 / 33, "text": 16 / 33})
    assert fused.weights == pytest.approx({"face": 0.85, "text": 0.8})
    assert fused.confidence == pytest.approx((7 * fused.scores.max() - 1) / 6)


def test_text_weight_and_pull_halve_with_each_half_life():
    params = FusionParams(text_half_life_s=4.0)
    for halves in (0, 1, 2):
        fusion = Fusion(params)
        fusion.add_utterance(awful(end=T))
        state = fusion.fuse(T + int(halves * 4.0 * S))
        assert state.weights["text"] == pytest.approx(0.8 * 0.5**halves)
        expected = np.exp(0.5**halves * 1.5 * -0.8 * VALENCE_VEC)
        assert state.scores == pytest.approx(expected / expected.sum())
    assert state.emotion == "sad" and state.valence == pytest.approx(-0.8)


def test_an_old_utterance_loses_its_share_to_a_fresh_face():
    fresh, old = Fusion(), Fusion()
    for f, end in ((fresh, T), (old, T - 5 * S)):
        f.add_face(face())
        f.add_utterance(awful(end=end))
    a, b = fresh.fuse(T), old.fuse(T)
    assert b.weights["text"] == pytest.approx(a.weights["text"] / 2)  # default half-life 5 s
    assert b.sources["text"] == pytest.approx(0.4 / 1.25) and b.sources["text"] < a.sources["text"]
    assert b.scores[HAPPY] > a.scores[HAPPY] and b.valence > a.valence


@pytest.mark.parametrize("seed", range(5))
def test_scores_and_shares_sum_to_one(seed: int):
    rng = np.random.default_rng(seed)
    fusion = Fusion()
    for i in range(3):
        fusion.add_face(face(fid=i, scores=rng.dirichlet(np.ones(7)), t=T - int(rng.uniform(0, 1.5) * S)))
    goemo = dict(zip(["joy", "anger", "fear", "neutral", "grief"], rng.uniform(0, 1, 5)))
    fusion.add_utterance(awful(end=T - int(rng.uniform(0, 10) * S), compound=rng.uniform(-1, 1), goemotions=goemo))
    state = fusion.fuse(T)
    assert state.scores.sum() == pytest.approx(1.0) and np.all(state.scores > 0)
    assert sum(state.sources.values()) == pytest.approx(1.0) and set(state.sources) == {"face", "text"}
    assert -1 <= state.valence <= 1 and 0 <= state.confidence <= 1
    event = to_event(state, 3, T)
    assert sum(event["scores"].values()) == pytest.approx(1.0, abs=1e-3)


def test_faces_are_smoothed_per_id():
    fusion = Fusion(FusionParams(smooth_s=0.3))
    sad = np.eye(7)[EMOTIONS.index("sad")]
    fusion.add_face(face(1, t=T))
    fusion.add_face(face(2, scores=sad, t=T))
    fusion.add_face(face(1, scores=sad, t=T + int(0.3 * S)))  # one time constant later: alpha = 1 - 1/e
    fusion.add_face(face(1, scores=HAPPY_FACE, t=T + int(0.2 * S)))  # an older frame changes nothing
    by_id = {f.id: f for f in fusion.fuse(T + int(0.3 * S)).faces}
    alpha = 1 - math.exp(-1)
    assert by_id[1].scores == pytest.approx(np.asarray(HAPPY_FACE) + alpha * (sad - np.asarray(HAPPY_FACE)))
    assert by_id[1].emotion == "sad"  # 0.85 * e^-1 = 0.31 < 0.03 + 0.97 * 0.63 = 0.64
    assert by_id[2].scores == pytest.approx(sad)  # the other id is untouched


def test_smoothing_off_takes_the_newest_frame():
    fusion = Fusion(FusionParams(smooth_s=0))
    fusion.add_face(face(1, t=T))
    fusion.add_face(face(1, scores=np.eye(7)[0], t=T + 1))
    assert fusion.fuse(T + 1).faces[0].scores == pytest.approx(np.eye(7)[0])


def test_vanished_faces_and_old_utterances_are_forgotten():
    fusion = Fusion(FusionParams(face_forget_s=2.0, text_forget_s=30.0))
    fusion.add_face(face(1, t=T))
    fusion.add_face(face(2, t=T + 1 * S))
    fusion.add_utterance(awful(end=T))
    assert [f.id for f in fusion.fuse(T + int(1.9 * S)).faces] == [1, 2]
    state = fusion.fuse(T + int(2.1 * S))
    assert [f.id for f in state.faces] == [2] and state.faces[0].age_s == pytest.approx(1.1)
    state = fusion.fuse(T + int(3.1 * S))
    assert state.faces == [] and state.sources == {"text": 1.0}
    state = fusion.fuse(T + 31 * S)
    assert state.sources == {} and state.emotion == "neutral" and state.confidence == 0.0
    assert state.scores == pytest.approx(np.full(7, 1 / 7)) and state.speech.utterance is None
    assert fusion.faces == {}  # forgotten, not hidden: a face coming back starts a fresh average


def test_goemotions_map_onto_the_seven_classes():
    scores = goemotions_scores({"amusement": 0.6, "joy": 0.2, "annoyance": 0.1, "neutral": 0.1})
    assert scores == pytest.approx([0.1, 0, 0, 0.8, 0, 0, 0.1])
    utt = awful(compound=0.0, goemotions={"fear": 0.7, "nervousness": 0.2, "neutral": 0.1})
    assert EMOTIONS[int(np.argmax(text_scores(utt)))] == "fear"
    with pytest.raises(ValueError, match="unknown GoEmotions label 'boredom'"):
        goemotions_scores({"boredom": 1.0})


def test_goemotions_arriving_before_the_sentiment_attach_to_it():
    fusion = Fusion()
    fusion.add_goemotions(T - 2 * S, T, {"sadness": 0.9, "neutral": 0.1})
    fusion.add_utterance(awful(compound=0.0))
    state = fusion.fuse(T)
    assert state.emotion == "sad" and state.weights["text"] == pytest.approx(0.9)


def test_labels_in_any_order_and_spelling():
    vit = {"anger": 0.1, "disgust": 0.0, "fear": 0.0, "happy": 0.6, "neutral": 0.2, "sad": 0.1, "surprise": 0.0}
    assert as_scores(vit) == pytest.approx([0.1, 0, 0, 0.6, 0.1, 0, 0.2])
    with pytest.raises(ValueError, match="unknown emotion label 'contempt'"):
        as_scores({"contempt": 1.0})
    with pytest.raises(ValueError, match="expected 7 scores"):
        as_scores([0.5, 0.5])


def test_message_data_adapters():
    data = {"index": 3, "labels": list(EMOTIONS), "faces": [
        {"id": 4, "box": [1, 2, 30, 40], "score": 0.99, "emotion": "happy", "scores": dict(zip(EMOTIONS, HAPPY_FACE))}]}
    (obs,) = faces_from_data(data, T)
    assert obs.id == 4 and obs.box == (1.0, 2.0, 30.0, 40.0) and obs.scores == pytest.approx(HAPPY_FACE)
    utt = utterance_from_data({"text": "hi", "start_ns": T - S, "end_ns": T, "compound": 0.4, "neg": 0, "neu": 0.6, "pos": 0.4})
    assert utt.compound == 0.4 and utt.end_ns == T
    with pytest.raises(ValueError, match="sentiment data needs start_ns, end_ns and compound"):
        utterance_from_data({"text": "hi", "compound": 0.1})
    with pytest.raises(ValueError, match="each face needs id, box and scores"):
        faces_from_data({"faces": [{"id": 1}]}, T)


def test_event_has_exactly_the_documented_shape():
    fusion = Fusion()
    fusion.add_face(face())
    fusion.add_utterance(awful(end=T - S))
    fusion.add_activity("start")
    event = to_event(fusion.fuse(T), seq=41, now_ns=T + 35_000_000)
    assert list(event) == ["v", "seq", "t", "emotion", "scores", "valence", "confidence", "sources", "faces", "speech",
                           "latency_ms"]
    assert event["v"] == 1 and event["seq"] == 41 and event["t"] == T and event["latency_ms"] == 35.0
    assert list(event["scores"]) == list(EMOTIONS)
    assert event["faces"] == [{"id": 1, "box": [100.0, 80.0, 220.0, 230.0], "emotion": "happy",
                               "scores": dict(zip(EMOTIONS, HAPPY_FACE)), "valence": 0.637, "age_ms": 0.0}]
    assert event["speech"] == {"active": True, "text": "this is awful", "start_ns": T - 3 * S, "end_ns": T - S,
                               "sentiment": {"compound": -0.8, "neg": 0.6, "neu": 0.4, "pos": 0.0}, "age_ms": 1000.0}
    assert json.loads(json.dumps(event)) == event


def test_bad_params_say_which():
    with pytest.raises(ValueError, match="face_half_life_s must be > 0"):
        FusionParams(face_half_life_s=0)
    with pytest.raises(ValueError, match="'start' or 'end'"):
        Fusion().add_activity("begin")


def test_the_documented_example_event_has_the_shape_to_event_makes():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "stream.md").read_text()
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    fusion = Fusion()
    fusion.add_face(face())
    fusion.add_utterance(awful())
    made = to_event(fusion.fuse(T), 0, T)

    def shape(x):
        if isinstance(x, dict):
            return {k: shape(v) for k, v in x.items()}
        if isinstance(x, list):
            return [shape(v) for v in x[:1]]
        return "number" if isinstance(x, (int, float)) and not isinstance(x, bool) else type(x).__name__

    assert shape(example) == shape(made)
