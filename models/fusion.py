"""Late fusion of faces and words on a common ground: the 7 expression classes plus valence (docs/fusion.md).

Pure and transport-free: the fusion node feeds it message data and publishes `to_event(...)`; tests drive it with
plain numbers. Every time is ns since the epoch, the same clock as a message's `t`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from models.labels import EMOTIONS, normalise_label

K = len(EMOTIONS)

# Valence of each class's prototypical expression, on [-1, 1]; the table is fixed, not tuned (docs/fusion.md).
VALENCE: dict[str, float] = {
    "angry": -0.5, "disgust": -0.6, "fear": -0.5, "happy": 0.8, "sad": -0.7, "surprise": 0.2, "neutral": 0.0,
}
VALENCE_VEC = np.array([VALENCE[e] for e in EMOTIONS])

# GoEmotions' own Ekman grouping of its 28 labels (Demszky et al. 2020, data/ekman_mapping.json), neutral kept.
GOEMOTIONS_TO_EMOTION: dict[str, str] = {
    **dict.fromkeys(["anger", "annoyance", "disapproval"], "angry"),
    "disgust": "disgust",
    **dict.fromkeys(["fear", "nervousness"], "fear"),
    **dict.fromkeys(["joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism", "relief", "pride",
                     "admiration", "desire", "caring"], "happy"),
    **dict.fromkeys(["sadness", "disappointment", "embarrassment", "grief", "remorse"], "sad"),
    **dict.fromkeys(["surprise", "realization", "confusion", "curiosity"], "surprise"),
    "neutral": "neutral",
}

EPS = 1e-6  # probability floor before taking logs, so one model's hard zero cannot veto a class forever


@dataclass(frozen=True)
class FusionParams:
    """Every knob of the fusion, with the defaults documented in docs/fusion.md."""

    smooth_s: float = 0.3  # time constant of the per-face moving average; 0 turns smoothing off
    face_half_life_s: float = 1.0  # a face observation's weight halves every this many seconds
    face_forget_s: float = 2.0  # a face id not seen for longer is dropped
    text_half_life_s: float = 5.0  # an utterance's weight halves every this many seconds after it ends
    text_forget_s: float = 30.0  # an utterance older than this (from its end) is dropped
    text_gain: float = 1.5  # how hard text valence pulls the classes: factor exp(gain * valence * class valence)

    def __post_init__(self) -> None:
        for name in ("face_half_life_s", "face_forget_s", "text_half_life_s", "text_forget_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"fusion param {name} must be > 0, got {getattr(self, name)!r}")
        if self.smooth_s < 0 or self.text_gain < 0:
            raise ValueError(f"fusion params smooth_s and text_gain must be >= 0, got {self.smooth_s!r}, {self.text_gain!r}")


@dataclass(frozen=True)
class FaceObservation:
    """One face's expression probabilities from one frame."""

    id: int
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    scores: np.ndarray  # (7,) in EMOTIONS order, sums to 1
    t_ns: int  # capture time of the frame


@dataclass(frozen=True)
class Utterance:
    """What was said and how it sounds to VADER (and GoEmotions when a graph runs it)."""

    text: str
    start_ns: int
    end_ns: int
    compound: float  # VADER compound, [-1, 1]
    neg: float = 0.0
    neu: float = 1.0
    pos: float = 0.0
    goemotions: Mapping[str, float] | None = None  # 28 labels -> probability (multi-label, need not sum to 1)


@dataclass
class FaceState:
    """A tracked face: the smoothed probabilities of its id."""

    id: int
    box: tuple[float, float, float, float]
    scores: np.ndarray
    t_ns: int  # capture time of its newest observation
    age_s: float = 0.0

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.scores))]

    @property
    def valence(self) -> float:
        return float(self.scores @ VALENCE_VEC)


@dataclass
class SpeechState:
    active: bool = False
    utterance: Utterance | None = None
    age_s: float | None = None  # seconds since the utterance ended


@dataclass
class FusedState:
    """The fusion's answer at one instant; `to_event` turns it into the public JSON (docs/stream.md)."""

    t_ns: int  # capture time of the newest contributing input (0 when there is none)
    emotion: str
    scores: np.ndarray  # (7,) in EMOTIONS order, sums to 1
    valence: float
    confidence: float
    sources: dict[str, float]  # share of each present source, sums to 1
    faces: list[FaceState] = field(default_factory=list)
    speech: SpeechState = field(default_factory=SpeechState)
    weights: dict[str, float] = field(default_factory=dict)  # w = conf * 0.5 ** (age / half_life), before sharing


def label_index(label: str) -> int:
    """Index of a class name in EMOTIONS, accepting the usual other spellings."""
    name = normalise_label(label)
    try:
        return EMOTIONS.index(name)
    except ValueError:
        raise ValueError(f"unknown emotion label {label!r}: expected one of {', '.join(EMOTIONS)}") from None


def as_scores(scores: Mapping[str, float] | Sequence[float] | np.ndarray) -> np.ndarray:
    """A (7,) distribution in EMOTIONS order from {label: p} (any order, any spelling) or a 7-vector."""
    if isinstance(scores, Mapping):
        vec = np.zeros(K)
        for label, p in scores.items():
            vec[label_index(label)] += float(p)
    else:
        vec = np.asarray(scores, dtype=float).reshape(-1)
        if vec.shape != (K,):
            raise ValueError(f"expected {K} scores in the order {', '.join(EMOTIONS)}, got shape {vec.shape}")
    if not np.all(np.isfinite(vec)) or vec.min() < 0 or vec.sum() <= 0:
        raise ValueError(f"scores must be finite, >= 0 and not all 0, got {vec.tolist()}")
    return vec / vec.sum()


def goemotions_scores(probs: Mapping[str, float]) -> np.ndarray:
    """GoEmotions' 28 label probabilities pooled onto the 7 classes by its Ekman grouping, then normalised."""
    vec = np.zeros(K)
    for label, p in probs.items():
        try:
            vec[EMOTIONS.index(GOEMOTIONS_TO_EMOTION[label])] += float(p)
        except KeyError:
            raise ValueError(f"unknown GoEmotions label {label!r}") from None
    return vec / vec.sum() if vec.sum() > 0 else np.full(K, 1 / K)


def text_scores(utt: Utterance, gain: float = FusionParams.text_gain) -> np.ndarray:
    """The words' own 7-class distribution: exp(gain * compound * class valence), times GoEmotions when present."""
    logits = gain * utt.compound * VALENCE_VEC
    if utt.goemotions:
        logits = logits + np.log(np.maximum(goemotions_scores(utt.goemotions), EPS))
    return _softmax(logits)


def text_confidence(utt: Utterance) -> float:
    """How much the words say: |compound|, or GoEmotions' non-neutral mass where that is larger."""
    conf = abs(utt.compound)
    if utt.goemotions:
        conf = max(conf, 1.0 - float(goemotions_scores(utt.goemotions)[EMOTIONS.index("neutral")]))
    return min(conf, 1.0)


def decay(age_s: float, half_life_s: float) -> float:
    return 0.5 ** (max(age_s, 0.0) / half_life_s)


class Fusion:
    """Holds the latest evidence of each source and fuses it on demand; see docs/fusion.md for the maths."""

    def __init__(self, params: FusionParams | None = None) -> None:
        self.params = params or FusionParams()
        self.faces: dict[int, FaceState] = {}
        self.utterance: Utterance | None = None
        self.speaking = False
        self._pending_goemotions: dict[tuple[int, int], Mapping[str, float]] = {}

    # --- evidence -------------------------------------------------------------------------------------------------
    def add_face(self, obs: FaceObservation) -> None:
        """Smooths the face's probabilities into its id's moving average; older or repeated frames are ignored."""
        scores = as_scores(obs.scores)
        track = self.faces.get(obs.id)
        if track is None:
            self.faces[obs.id] = FaceState(obs.id, tuple(obs.box), scores, obs.t_ns)
            return
        if obs.t_ns <= track.t_ns:
            return
        dt = (obs.t_ns - track.t_ns) / 1e9
        alpha = 1.0 if self.params.smooth_s == 0 else 1.0 - math.exp(-dt / self.params.smooth_s)
        track.scores = track.scores + alpha * (scores - track.scores)
        track.box, track.t_ns = tuple(obs.box), obs.t_ns

    def add_utterance(self, utt: Utterance) -> None:
        """The newest utterance (by end time) is the text source; it replaces an older one."""
        if self.utterance is not None and utt.end_ns < self.utterance.end_ns:
            return
        pending = self._pending_goemotions.pop((utt.start_ns, utt.end_ns), None)
        if pending is not None and utt.goemotions is None:
            utt = replace(utt, goemotions=pending)
        self.utterance = utt

    def add_goemotions(self, start_ns: int, end_ns: int, probs: Mapping[str, float]) -> None:
        """GoEmotions of an utterance, which may arrive before or after its sentiment; matched by start and end."""
        goemotions_scores(probs)  # validate the labels now, where the error can say which message was bad
        u = self.utterance
        if u is not None and (u.start_ns, u.end_ns) == (start_ns, end_ns):
            self.utterance = replace(u, goemotions=dict(probs))
        else:
            self._pending_goemotions = {k: v for k, v in self._pending_goemotions.items() if k[1] > end_ns - 60 * 10**9}
            self._pending_goemotions[(start_ns, end_ns)] = dict(probs)

    def add_activity(self, event: str) -> None:
        """Voice activity: "start" while someone speaks, "end" when they stop."""
        if event not in ("start", "end"):
            raise ValueError(f"speech activity event must be 'start' or 'end', got {event!r}")
        self.speaking = event == "start"

    # --- fusion ---------------------------------------------------------------------------------------------------
    def fuse(self, now_ns: int) -> FusedState:
        """The fused emotion at `now_ns`; forgets faces and utterances that are too old first."""
        p = self.params
        for fid in [i for i, f in self.faces.items() if (now_ns - f.t_ns) / 1e9 > p.face_forget_s]:
            del self.faces[fid]
        if self.utterance is not None and (now_ns - self.utterance.end_ns) / 1e9 > p.text_forget_s:
            self.utterance = None

        logits = np.zeros(K)
        weights: dict[str, float] = {}
        valences: dict[str, float] = {}
        newest = 0
        faces = [replace(f, age_s=max(now_ns - f.t_ns, 0) / 1e9) for f in sorted(self.faces.values(), key=lambda f: f.id)]
        if faces:
            d = np.array([decay(f.age_s, p.face_half_life_s) for f in faces])
            w = d * np.array([f.scores.max() for f in faces])
            q_face = (w[:, None] * np.stack([f.scores for f in faces])).sum(0) / w.sum()
            logits += d.max() * np.log(np.maximum(q_face, EPS))
            weights["face"] = float(d.max() * q_face.max())
            valences["face"] = float(q_face @ VALENCE_VEC)
            newest = max(f.t_ns for f in faces)
        speech = SpeechState(active=self.speaking)
        if (u := self.utterance) is not None:
            age = max(now_ns - u.end_ns, 0) / 1e9
            d_text = decay(age, p.text_half_life_s)
            logits += d_text * np.log(np.maximum(text_scores(u, p.text_gain), EPS))
            weights["text"] = d_text * text_confidence(u)
            valences["text"] = float(u.compound)
            newest = max(newest, u.end_ns)
            speech = SpeechState(active=self.speaking, utterance=u, age_s=age)

        if not weights:
            return FusedState(0, "neutral", np.full(K, 1 / K), 0.0, 0.0, {}, [], speech)
        total = sum(weights.values())
        shares = {s: (w / total if total > 0 else 1 / len(weights)) for s, w in weights.items()}
        scores = _softmax(logits)
        return FusedState(
            t_ns=newest,
            emotion=EMOTIONS[int(np.argmax(scores))],
            scores=scores,
            valence=float(np.clip(sum(shares[s] * valences[s] for s in shares), -1.0, 1.0)),
            confidence=float((K * scores.max() - 1) / (K - 1)),
            sources=shares,
            faces=faces,
            speech=speech,
            weights=weights,
        )


# --- message data in, public event out ------------------------------------------------------------------------------
def faces_from_data(data: Mapping[str, Any], t_ns: int) -> list[FaceObservation]:
    """Observations from an `expressions` message's data (docs/messages.md)."""
    try:
        return [FaceObservation(int(f["id"]), tuple(float(x) for x in f["box"]), as_scores(f["scores"]), t_ns)
                for f in data.get("faces", [])]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"expressions data: each face needs id, box and scores ({exc!r})") from None


def utterance_from_data(data: Mapping[str, Any]) -> Utterance:
    """An utterance from a `sentiment` message's data (docs/messages.md)."""
    try:
        return Utterance(
            text=str(data.get("text", "")), start_ns=int(data["start_ns"]), end_ns=int(data["end_ns"]),
            compound=float(data["compound"]), neg=float(data.get("neg", 0.0)), neu=float(data.get("neu", 1.0)),
            pos=float(data.get("pos", 0.0)), goemotions=data.get("goemotions"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"sentiment data needs start_ns, end_ns and compound ({exc!r})") from None


def to_event(state: FusedState, seq: int, now_ns: int) -> dict[str, Any]:
    """The public fused event, version 1, exactly as docs/stream.md specifies (floats rounded to 4 places)."""
    u, sp = state.speech.utterance, state.speech
    return {
        "v": 1,
        "seq": int(seq),
        "t": int(state.t_ns),
        "emotion": state.emotion,
        "scores": _score_dict(state.scores),
        "valence": round(state.valence, 4),
        "confidence": round(state.confidence, 4),
        "sources": {s: round(v, 4) for s, v in state.sources.items()},
        "faces": [
            {"id": f.id, "box": [round(float(x), 1) for x in f.box], "emotion": f.emotion, "scores": _score_dict(f.scores),
             "valence": round(f.valence, 4), "age_ms": round(f.age_s * 1e3, 1)}
            for f in state.faces
        ],
        "speech": {
            "active": sp.active,
            "text": u.text if u else None,
            "start_ns": u.start_ns if u else None,
            "end_ns": u.end_ns if u else None,
            "sentiment": {k: round(getattr(u, k), 4) for k in ("compound", "neg", "neu", "pos")} if u else None,
            "age_ms": round(sp.age_s * 1e3, 1) if sp.age_s is not None else None,
        },
        "latency_ms": round((now_ns - state.t_ns) / 1e6, 3) if state.t_ns else None,
    }


def _score_dict(scores: np.ndarray) -> dict[str, float]:
    return {e: round(float(p), 4) for e, p in zip(EMOTIONS, scores)}


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()
