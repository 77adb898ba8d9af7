"""Overlays and snapshots drawn on real photos: colours, bar lengths, placement, and a copy left untouched."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image
from skimage import data as skdata

from models.fusion import EMOTIONS
from models.visual import EMOTION_COLORS, draw_overlay, face_card, mpl_color, snapshot, write_png

GRACE_BOX = [175, 110, 352, 329]  # where MTCNN finds the face (docs FINDINGS)
ASTRONAUT_BOX = [180, 61, 267, 174]
SCORES = dict(zip(EMOTIONS, [0.1, 0.05, 0.05, 0.6, 0.1, 0.05, 0.05]))


@pytest.fixture(scope="module")
def grace() -> np.ndarray:
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


def count(img: np.ndarray, color: tuple[int, int, int]) -> int:
    return int(np.all(img == np.array(color, np.uint8), axis=-1).sum())


def test_colours_are_distinct_and_cover_every_class():
    assert list(EMOTION_COLORS) == list(EMOTIONS)
    assert len(set(EMOTION_COLORS.values())) == 7
    assert mpl_color("sad") == pytest.approx((31 / 255, 119 / 255, 180 / 255))


def test_overlay_draws_box_label_and_bars_on_a_copy(grace: np.ndarray):
    before = grace.copy()
    out = draw_overlay(grace, [{"id": 4, "box": GRACE_BOX, "scores": SCORES}], "hello")
    assert np.array_equal(grace, before) and out.shape == grace.shape and out.dtype == np.uint8
    x1, y1, x2, y2 = GRACE_BOX
    assert tuple(out[(y1 + y2) // 2, x1]) == EMOTION_COLORS["happy"]  # the box's left edge, in the top class's colour
    assert tuple(out[(y1 + y2) // 2, x2]) == EMOTION_COLORS["happy"]
    # bar areas follow the probabilities: angry (0.10) twice fear (0.05); surprise and fear equal
    angry, fear, surprise = (count(out, EMOTION_COLORS[e]) for e in ("angry", "fear", "surprise"))
    assert fear > 0 and angry == pytest.approx(2 * fear, rel=0.25) and surprise == fear
    assert count(grace, EMOTION_COLORS["angry"]) == 0  # the photo itself has none of that exact red


def test_bars_go_left_when_the_face_is_at_the_right_edge():
    frame = np.full((480, 640, 3), 200, np.uint8)
    box = [520, 100, 630, 230]
    out = draw_overlay(frame, [{"id": 1, "box": box, "scores": SCORES}])
    left, right = out[110:200, 300:510], out[110:200, 634:]
    assert (left < 200).any() and (right == 200).all()  # the translucent panel darkens the left side only


def test_transcript_band_keeps_the_newest_words(grace: np.ndarray):
    long = "Ça va? " + "word " * 60 + "END"  # non-ASCII and far too long for one line
    out = draw_overlay(grace, [], long)
    h = grace.shape[0]
    band, above = out[h - 20 :], out[: h - 40]
    assert np.array_equal(above, grace[: h - 40])  # nothing drawn above the band without faces
    assert (out[h - 3 :] <= grace[h - 3 :]).all() and out[h - 3 :].mean() < grace[h - 3 :].mean()  # darkened
    assert (band > 240).all(axis=-1).any()  # white text on it
    # the line is cut at its start: the last columns carry text ("END"), the first start with "..."
    assert (band[:, -80:] > 240).all(axis=-1).any()


def test_overlay_accepts_event_faces_and_rejects_bad_frames(grace: np.ndarray):
    event_face = {"id": 1, "box": [175.0, 110.0, 352.0, 329.0], "emotion": "neutral", "scores": list(SCORES.values()),
                  "valence": 0.1, "age_ms": 12.0}
    out = draw_overlay(grace, [event_face], None, bars=False)
    assert tuple(out[200, 175]) == EMOTION_COLORS["neutral"]  # the given emotion wins over argmax
    with pytest.raises(ValueError, match=r"expected an RGB image \(H, W, 3\) uint8, got float64 \(4, 4\)"):
        draw_overlay(np.zeros((4, 4)), [])
    with pytest.raises(ValueError, match="unknown emotion label 'joyful'"):
        draw_overlay(grace, [{"id": 1, "box": GRACE_BOX, "scores": {"joyful": 1.0}}])


def test_face_card_and_snapshot(grace: np.ndarray):
    astronaut = skdata.astronaut()
    card = face_card(astronaut, {"id": 7, "box": ASTRONAUT_BOX, "scores": SCORES}, size=160)
    assert card.shape == (160, 440, 3)
    crop = astronaut[61:174, 180:267].astype(float)
    assert abs(card[30:130, 30:130].mean() - crop.mean()) < 25  # the left square is the face
    chart = card[:, 160:]
    happy, sad = count(chart, EMOTION_COLORS["happy"]), count(chart, EMOTION_COLORS["sad"])
    assert happy == pytest.approx(6 * sad, rel=0.15)

    shot = snapshot(grace, [{"id": 1, "box": GRACE_BOX, "scores": SCORES}, {"id": 2, "box": [0, 0, 50, 50], "scores": SCORES}])
    assert shot.shape == (2 * 160 + 4, 440, 3)
    assert snapshot(grace, []).shape == (160, 440, 3)


def test_write_png_round_trips_rgb(tmp_path, grace: np.ndarray):
    import cv2

    path = write_png(tmp_path / "sub" / "g.png", grace)
    assert np.array_equal(cv2.imread(str(path))[..., ::-1], grace)
