"""Video runners on real photos with models exported in this session: faces, expressions, ids, providers, errors."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.catalog import ModelMissing, entry, load_catalog, model_path
from models.expression import EMOTIONS, ExpressionClassifier, default_model, softmax
from models.face_detector import FaceDetector, crop_faces
from models.onnx_session import ModelLoadError, open_session
from models.tracker import IoUTracker, iou

# Where the faces are (FINDINGS.md: MTCNN with facenet-pytorch's weights).
GRACE_HOPPER_FACE = [175, 110, 352, 329]
ASTRONAUT_FACE = [180, 61, 267, 174]


def letterbox(image: np.ndarray, w: int = 640, h: int = 480) -> tuple[np.ndarray, float, int, int]:
    """The image scaled into a black w x h frame, as a 640x480 camera would deliver it; returns scale and offsets."""
    import cv2

    s = min(w / image.shape[1], h / image.shape[0])
    small = cv2.resize(image, (round(image.shape[1] * s), round(image.shape[0] * s)), interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w, 3), np.uint8)
    x0, y0 = (w - small.shape[1]) // 2, (h - small.shape[0]) // 2
    out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    return out, s, x0, y0


@pytest.fixture(scope="module")
def mtcnn(mtcnn_model: Path) -> FaceDetector:
    return FaceDetector("mtcnn", min_face=40)


@pytest.fixture(scope="module")
def haar() -> FaceDetector:
    return FaceDetector("haar")


@pytest.fixture(scope="module")
def photos(grace_hopper: np.ndarray, astronaut: np.ndarray) -> dict[str, tuple[np.ndarray, list[int]]]:
    boxed, s, x0, y0 = letterbox(astronaut)
    moved = [ASTRONAUT_FACE[0] * s + x0, ASTRONAUT_FACE[1] * s + y0, ASTRONAUT_FACE[2] * s + x0, ASTRONAUT_FACE[3] * s + y0]
    return {"grace_hopper": (grace_hopper, GRACE_HOPPER_FACE), "astronaut": (astronaut, ASTRONAUT_FACE),
            "astronaut_640x480": (boxed, moved)}


@pytest.mark.parametrize("name", ["grace_hopper", "astronaut", "astronaut_640x480"])
def test_mtcnn_finds_the_one_face_with_its_landmarks_inside(mtcnn: FaceDetector, photos: dict, name: str) -> None:
    image, where = photos[name]
    faces = mtcnn.detect(image)
    assert len(faces) == 1, [f.box for f in faces]
    face = faces[0]
    assert face.score > 0.99
    assert iou(face.box, np.array(where))[0, 0] > 0.75, face.box
    x1, y1, x2, y2 = face.box
    marks = face.landmarks
    assert marks.shape == (5, 2)
    assert ((marks[:, 0] > x1) & (marks[:, 0] < x2) & (marks[:, 1] > y1) & (marks[:, 1] < y2)).all(), (face.box, marks)
    eyes, nose, mouth = marks[:2], marks[2], marks[3:]
    assert eyes[0, 0] < eyes[1, 0] and mouth[0, 0] < mouth[1, 0]  # left before right, as seen
    assert eyes[:, 1].max() < nose[1] < mouth[:, 1].min()  # eyes above the nose above the mouth


@pytest.mark.parametrize("kind", ["noise", "plain"])
def test_no_face_in_a_frame_without_one(mtcnn: FaceDetector, haar: FaceDetector, kind: str) -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) if kind == "noise" else np.full((480, 640, 3), 90, np.uint8)
    assert mtcnn.detect(frame) == []
    assert haar.detect(frame) == []


@pytest.mark.parametrize("name", ["grace_hopper", "astronaut", "astronaut_640x480"])
def test_haar_finds_the_same_face(haar: FaceDetector, mtcnn: FaceDetector, photos: dict, name: str) -> None:
    image, _ = photos[name]
    faces = haar.detect(image)
    assert len(faces) == 1
    assert faces[0].landmarks is None
    assert iou(faces[0].box, mtcnn.detect(image)[0].box)[0, 0] > 0.6


def test_detector_rejects_a_grey_frame_with_a_clear_error(mtcnn: FaceDetector) -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 RGB image, got \(48, 64\) uint8"):
        mtcnn.detect(np.zeros((48, 64), np.uint8))


def test_crops_are_square_and_black_outside_the_frame(astronaut: np.ndarray) -> None:
    crops = crop_faces(astronaut, [np.array([-20, -20, 60, 60], np.float32), np.array(ASTRONAUT_FACE, np.float32)], 48)
    assert crops.shape == (2, 48, 48, 3) and crops.dtype == np.uint8
    assert crops[0, :10, :10].max() == 0 and crops[0, 30:, 30:].max() > 0
    assert crop_faces(astronaut, [], 48).shape == (0, 48, 48, 3)


def test_minixception_reads_the_astronauts_smile(fer_model: Path, mtcnn: FaceDetector, photos: dict) -> None:
    clf = ExpressionClassifier("fer-minixception")
    assert clf.labels == EMOTIONS and clf.size == 64 and clf.grey
    crops = [crop_faces(photos[n][0], [mtcnn.detect(photos[n][0])[0].box], clf.size)[0] for n in photos]
    probs = clf.predict(crops)  # all faces in one run
    assert probs.shape == (3, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
    top = [EMOTIONS[i] for i in probs.argmax(1)]
    assert top == ["neutral", "happy", "happy"], probs.round(3)
    assert probs[1, EMOTIONS.index("happy")] > 0.9
    one_by_one = np.concatenate([clf.predict([c]) for c in crops])
    assert np.abs(one_by_one - probs).max() < 1e-5
    assert next(iter(clf.classify(crops[1:2])[0])) == "happy"


def test_classifier_reorders_the_vits_labels(tiny_vit_model: Path, astronaut: np.ndarray) -> None:
    """trpakov's order puts neutral 5th; probabilities come out in EMOTIONS order, matching the raw logits."""
    clf = ExpressionClassifier("vit-face-expression", variant="fp32")
    assert clf.labels == EMOTIONS and clf.size == 32
    crops = crop_faces(astronaut, [np.array(ASTRONAUT_FACE), np.array([0, 0, 200, 200])], 80)
    probs = clf.predict(crops)
    raw = softmax(clf.session.run(None, {clf.input_name: clf.preprocess(crops)})[0])
    own = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    for j, label in enumerate(EMOTIONS):
        assert np.allclose(probs[:, j], raw[:, own.index(label)])
    assert clf.predict([]).shape == (0, 7)


def test_the_cpu_takes_the_int8_variant(tiny_vit_model: Path) -> None:
    assert ExpressionClassifier("vit-face-expression").variant == "int8"
    assert default_model() == "vit-face-expression"


def test_missing_models_name_their_export_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOGRAPH_MODELS", str(tmp_path))
    with pytest.raises(ModelMissing, match=r"model 'vit-face-expression' is not in the store \(.+\): make it with "
                                           r"`emograph export vit-face-expression`"):
        ExpressionClassifier("vit-face-expression")
    with pytest.raises(ModelMissing, match=r"`emograph export vit-face-expression --precision fp16`"):
        model_path("vit-face-expression", "fp16")
    with pytest.raises(ModelMissing, match="`emograph export mtcnn`"):
        FaceDetector("mtcnn")
    with pytest.raises(ModelMissing, match="emograph export vit-face-expression.+emograph export fer-minixception"):
        ExpressionClassifier()


def test_a_damaged_model_file_is_named(fer_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "store"
    shutil.copytree(fer_model / "fer-minixception", copy / "fer-minixception")
    monkeypatch.setenv("EMOGRAPH_MODELS", str(copy))
    onnx = copy / "fer-minixception" / "model.onnx"
    onnx.write_bytes(onnx.read_bytes()[:1000])  # truncated: the manifest's size no longer matches
    with pytest.raises(ModelMissing, match=r"model 'fer-minixception' is damaged in the store .+model.onnx is 1000 "
                                           r"bytes, the export made \d+.+`emograph export fer-minixception`"):
        ExpressionClassifier("fer-minixception")


def test_a_corrupt_onnx_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"this is not a protobuf" * 50)
    with pytest.raises(ModelLoadError) as err:
        open_session(bad)
    assert str(err.value).startswith(f"{bad}: not a valid ONNX model (")
    assert "\n" not in str(err.value)
    with pytest.raises(ModelLoadError, match=f"{tmp_path / 'nothing.onnx'}: model file not found"):
        open_session(tmp_path / "nothing.onnx")


def test_providers_fall_back_quietly_and_say_which_runs(fer_model: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = model_path("fer-minixception", "fp32")
    with caplog.at_level(logging.INFO, logger="emograph.models"):
        session = open_session(path, ["tensorrt", "cuda", "cpu"])
    assert session.get_providers() == ["CPUExecutionProvider"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "fer-minixception/model.onnx runs on cpu, not tensorrt" in lines[0], lines
    with pytest.raises(ModelLoadError, match=r"none of the providers \['cuda'\] is in this onnxruntime build .+add 'cpu'"):
        open_session(path, ["cuda"])
    with pytest.raises(ValueError, match="unknown execution provider.+'gpu'.+tensorrt, cuda, cpu"):
        open_session(path, ["gpu"])


def test_tracker_keeps_ids_through_motion_and_missed_frames() -> None:
    tracker = IoUTracker(iou_threshold=0.3, max_missed=3)
    a, b = np.array([100, 100, 200, 200.0]), np.array([400, 120, 480, 220.0])
    first = tracker.update([a, b])
    assert first == [1, 2]
    for step in range(1, 6):  # both move 6 px a frame; the detector lists them in the other order
        assert tracker.update([b + [-6 * step, 0, -6 * step, 0], a + 6 * step]) == [2, 1]
    assert tracker.update([a + 36]) == [1]  # b missed for a frame
    assert tracker.update([]) == []
    assert tracker.update([b - [42, 0, 42, 0], a + 42]) == [2, 1]  # both back after two missed frames
    assert [t.id for t in tracker.active()] == [1, 2]
    for _ in range(4):  # gone longer than max_missed: a face found there later is a new one
        tracker.update([])
    assert tracker.update([a]) == [3]
    assert tracker.update([np.array([0, 0, 10, 10.0]), a]) == [4, 3]


def test_catalog_entries_and_exporters() -> None:
    catalog = load_catalog()
    assert {"mtcnn", "vit-face-expression", "fer-minixception"} <= set(catalog)
    for name in ("mtcnn", "vit-face-expression", "fer-minixception"):
        module, func = entry(name).exporter.split(":")
        assert callable(getattr(__import__(module, fromlist=[func]), func))
    assert catalog["fer-minixception"].labels == list(EMOTIONS)


def test_the_runtime_needs_no_torch(mtcnn_model: Path, fer_model: Path) -> None:
    """An edge device runs detection and expression with numpy, onnxruntime and OpenCV alone; importing is cheap."""
    code = """
import sys
import models.catalog, models.face_detector, models.expression, models.tracker, models.onnx_session
assert not {"onnxruntime", "cv2"} & set(sys.modules), "heavy imports at import time"
from skimage import data
from models.face_detector import FaceDetector, crop_faces
from models.expression import ExpressionClassifier
image = data.astronaut()
faces = FaceDetector("mtcnn").detect(image)
clf = ExpressionClassifier("fer-minixception")
clf.predict(crop_faces(image, [f.box for f in faces], clf.size))
heavy = {"torch", "transformers", "optimum", "h5py"} & {m.split(".")[0] for m in sys.modules}
assert not heavy, heavy
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
