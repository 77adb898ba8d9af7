"""`emograph eval` with the exported mini-XCEPTION on real face crops, and the metric maths on a known matrix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tools.eval import confusion_matrix, format_report, metrics, read_csv, register, EvalResult

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
GRACE_BOX, ASTRONAUT_BOX = [175, 110, 352, 329], [180, 61, 267, 174]  # MTCNN's boxes (FINDINGS.md)

# Variations of each real crop; upside-down faces and a tight crop are what the model gets wrong.
VARIANTS = {
    "orig": lambda x: x,
    "flip": lambda x: x[:, ::-1],
    "dark": lambda x: (x * 0.6).astype(np.uint8),
    "bright": lambda x: np.clip(x.astype(int) + 50, 0, 255).astype(np.uint8),
    "upside": lambda x: x[::-1],
    "tight": lambda x: cv2.resize(x[20:76, 10:86], (96, 96)),
}
# class folder (in the spellings datasets use) -> (photo, variants)
LAYOUT = {
    "Happy": ("astronaut", ["orig", "flip", "dark", "upside"]),
    "neutral": ("grace", ["orig", "flip", "bright", "upside", "tight"]),
    "sadness": ("astronaut", ["orig", "tight"]),  # deliberately mislabelled smiles
}
FOLDER_LABEL = {"Happy": "happy", "neutral": "neutral", "sadness": "sad"}


def eval_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="emograph")
    register(parser.add_subparsers())
    args = parser.parse_args(["eval", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def crops(grace_hopper: np.ndarray, astronaut: np.ndarray) -> dict[str, np.ndarray]:
    from models.face_detector import crop_faces

    return {"grace": crop_faces(grace_hopper, [GRACE_BOX], 96)[0], "astronaut": crop_faces(astronaut, [ASTRONAUT_BOX], 96)[0]}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, crops: dict[str, np.ndarray]) -> Path:
    root = tmp_path_factory.mktemp("faces")
    for cls, (photo, variants) in LAYOUT.items():
        (root / cls).mkdir()
        for v in variants:
            Image.fromarray(np.ascontiguousarray(VARIANTS[v](crops[photo]))).save(root / cls / f"{photo}_{v}.png")
    (root / "notes.txt").write_text("not a class folder: ignored")
    (root / "Happy" / "README").write_text("not an image: ignored")
    return root


def printed_matrix(out: str) -> np.ndarray:
    lines = out.splitlines()
    start = lines.index("confusion matrix (rows: true class, columns: predicted class)") + 1
    assert lines[start].split()[-7:] == list(LABELS)
    rows = [line.split() for line in lines[start + 1 : start + 8]]
    assert [r[0] for r in rows] == list(LABELS)
    return np.array([[int(c) for c in r[1:]] for r in rows])


def test_eval_prints_the_confusion_matrix_of_the_models_own_predictions(fer_model: Path, folder: Path, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture):
    from models.expression import ExpressionClassifier

    png = tmp_path / "cm.png"
    assert eval_cli("fer-minixception", str(folder), "-o", str(png)) == 0
    out = capsys.readouterr().out

    # the expected matrix, counted here one image at a time through the classifier
    clf = ExpressionClassifier("fer-minixception")
    expected = np.zeros((7, 7), int)
    predicted: dict[str, str] = {}
    for cls in LAYOUT:
        for f in sorted((folder / cls).glob("*.png")):
            p = clf.predict(np.asarray(Image.open(f).convert("RGB"))[None])[0]
            expected[LABELS.index(FOLDER_LABEL[cls]), int(p.argmax())] += 1
            predicted[f"{cls}/{f.stem}"] = LABELS[int(p.argmax())]
    assert np.array_equal(printed_matrix(out), expected)
    # what the model is known to say on the untouched photos (FINDINGS.md)
    assert predicted["Happy/astronaut_orig"] == "happy" and predicted["neutral/grace_orig"] == "neutral"
    assert predicted["sadness/astronaut_orig"] == "happy"  # mislabelled: an off-diagonal count
    assert expected.sum() == 11 and 0 < np.trace(expected) < 11

    correct = int(np.trace(expected))
    assert f"accuracy {correct / 11:.4f} ({correct}/11)" in out
    assert "fer-minixception (fp32, cpu) on" in out and "11 images, detect none" in out
    assert np.asarray(Image.open(png)).shape[2] in (3, 4) and f"wrote {png}" in out


def test_eval_json_and_limit(fer_model: Path, folder: Path, capsys: pytest.CaptureFixture):
    assert eval_cli("fer-minixception", str(folder), "--json", "--limit", "4", "--batch", "3") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 4 and report["labels"] == list(LABELS)
    assert sum(map(sum, report["confusion"])) == 4 and report["per_class"]["happy"]["support"] == 4


def test_eval_detects_faces_first_and_reports_images_without_one(fer_model: Path, grace_hopper: np.ndarray,
                                                                 astronaut: np.ndarray, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture):
    for cls, img in (("happy", astronaut), ("neutral", grace_hopper)):
        (tmp_path / cls).mkdir()
        Image.fromarray(img).save(tmp_path / cls / "whole.png")
    Image.fromarray(np.full((200, 200, 3), 120, np.uint8)).save(tmp_path / "neutral" / "blank.png")
    assert eval_cli("fer-minixception", str(tmp_path), "--detect", "haar") == 0
    out = capsys.readouterr().out
    m = printed_matrix(out)
    assert m[LABELS.index("happy"), LABELS.index("happy")] == 1 and m[LABELS.index("neutral"), LABELS.index("neutral")] == 1
    assert m.sum() == 2 and "accuracy 1.0000 (2/2)" in out
    assert f"no face found in 1 image(s), left out: {tmp_path / 'neutral' / 'blank.png'}" in out


def test_eval_reads_a_fer2013_csv(fer_model: Path, crops: dict[str, np.ndarray], tmp_path: Path,
                                  capsys: pytest.CaptureFixture):
    def row(label: str, crop: np.ndarray, usage: str) -> str:
        grey = cv2.resize(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (48, 48), interpolation=cv2.INTER_AREA)
        return f"{LABELS.index(label)},{' '.join(map(str, grey.reshape(-1)))},{usage}"

    csv = tmp_path / "fer2013.csv"
    csv.write_text("\n".join(["emotion,pixels,Usage", row("happy", crops["astronaut"], "PrivateTest"),
                              row("neutral", crops["grace"], "PrivateTest"), row("angry", crops["grace"], "Training")]) + "\n")
    assert [s.label for s in read_csv(csv)] == ["happy", "neutral", "angry"]
    assert eval_cli("fer-minixception", str(csv), "--usage", "PrivateTest") == 0
    out = capsys.readouterr().out
    m = printed_matrix(out)
    assert m.sum() == 2 and m[3, 3] == 1 and m[6, 6] == 1  # 48x48 grey still reads as happy and neutral


@pytest.mark.parametrize("content, message", [
    ("emotion,pixels\n9,1 2 3\n", "fer.csv:2: emotion must be an index 0..6 in FER order, got '9'"),
    ("emotion,pixels\n3,1 2 3\n", "fer.csv:2: pixels must be 2304 integers 0..255 (48x48), got 3"),
    ("label,image\n3,1\n", "fer.csv: missing column(s) emotion, pixels; a FER2013 CSV has emotion,pixels[,Usage]"),
])
def test_bad_csv_rows_are_named(tmp_path: Path, capsys: pytest.CaptureFixture, content: str, message: str):
    (tmp_path / "fer.csv").write_text(content)
    assert eval_cli("fer-minixception", str(tmp_path / "fer.csv")) == 2
    assert capsys.readouterr().err.strip() == f"emograph eval: {tmp_path}/{message}"


def test_bad_data_and_models_are_one_line_errors(fer_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    (tmp_path / "contempt").mkdir()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "contempt" / "x.png")
    assert eval_cli("fer-minixception", str(tmp_path)) == 2
    assert capsys.readouterr().err.strip() == (
        "emograph eval: class(es) contempt in the data are not labels of model 'fer-minixception' "
        "(angry, disgust, fear, happy, sad, surprise, neutral)")
    assert eval_cli("no-such-model", str(tmp_path)) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    assert eval_cli("fer-minixception", str(tmp_path / "nowhere")) == 2
    assert capsys.readouterr().err.strip() == f"emograph eval: {tmp_path / 'nowhere'}: no such file or folder"


def test_metric_maths_on_a_hand_made_prediction_set():
    # 3 classes. true: a a a a b b b c c c ; predicted: a a a b b b c c c a
    y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    y_pred = [0, 0, 0, 1, 1, 1, 2, 2, 2, 0]
    cm = confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[3, 1, 0], [0, 2, 1], [1, 0, 2]]
    m = metrics(cm)
    assert m.accuracy == pytest.approx(0.7)
    assert m.precision == pytest.approx([3 / 4, 2 / 3, 2 / 3])
    assert m.recall == pytest.approx([3 / 4, 2 / 3, 2 / 3])
    assert m.f1 == pytest.approx([3 / 4, 2 / 3, 2 / 3])
    assert m.support.tolist() == [4, 3, 3]
    assert m.macro_f1 == pytest.approx((3 / 4 + 4 / 3) / 3)

    # a class never predicted and one never present: zeros, not NaN; macro F1 over present classes only
    cm = confusion_matrix([0, 0, 1], [0, 1, 1], 3)
    m = metrics(cm)
    assert m.precision == pytest.approx([1.0, 0.5, 0.0]) and m.recall == pytest.approx([0.5, 1.0, 0.0])
    assert m.f1 == pytest.approx([2 / 3, 2 / 3, 0.0]) and m.macro_f1 == pytest.approx(2 / 3)

    report = format_report(EvalResult(("a", "b", "c"), cm), m)
    assert report.splitlines()[-4:] == [
        "true \\ pred    a  b  c",
        "a              1  1  0",
        "b              0  1  0",
        "c              0  0  0",
    ]
