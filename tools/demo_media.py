"""Demo media made on the spot from what packages ship: real face photos and speech from espeak-ng.

Nothing is downloaded and nothing large is committed. The clip alternates a smiling face (scikit-image's
`astronaut`) and a calm one (matplotlib's `grace_hopper.jpg`), while three sentences are spoken at known times;
`demo.json` beside it records those times so tests can check what the pipeline heard against the truth.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

SIZE = (640, 480)
FPS = 15
ESPEAK_RATE = 22050  # what espeak-ng writes; the clip keeps it and the audio source resamples


@dataclass
class Utterance:
    text: str
    start_s: float
    end_s: float = 0.0


@dataclass
class Shot:
    face: str  # "astronaut" or "grace_hopper"
    start_s: float
    end_s: float


SCRIPT = [
    Utterance("I love this, it is wonderful.", 1.0),
    Utterance("This is terrible and I hate it.", 5.5),
    Utterance("What a great and happy day.", 10.0),
]
SHOTS = [Shot("astronaut", 0.0, 5.0), Shot("grace_hopper", 5.0, 10.0), Shot("astronaut", 10.0, 14.0)]


def face_photo(name: str) -> np.ndarray:
    """The photo letterboxed into a 640x480 RGB frame."""
    import cv2

    if name == "astronaut":
        from skimage import data

        img = data.astronaut()
    else:
        from matplotlib import cbook

        img = cv2.cvtColor(cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))), cv2.COLOR_BGR2RGB)
    w, h = SIZE
    scale = min(w / img.shape[1], h / img.shape[0])
    small = cv2.resize(img, (int(img.shape[1] * scale), int(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    frame = np.full((h, w, 3), 40, np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    frame[y : y + small.shape[0], x : x + small.shape[1]] = small
    return frame


def speak(text: str, voice: str = "en-us", rate: int = ESPEAK_RATE) -> np.ndarray:
    """espeak-ng speech as int16 mono at `rate`, trimmed to its audible part (espeak pads its own silence)."""
    from models.audio_io import decode_audio

    if not shutil.which("espeak-ng"):
        raise RuntimeError("espeak-ng is not installed: apt-get install espeak-ng (or run `make install`)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text], check=True, capture_output=True)
        samples = decode_audio(path, rate, dtype="int16")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 0.02 * np.abs(samples).max())
    return samples[loud[0] : loud[-1] + 1].copy()


def build(out_dir: Path) -> Path:
    """Write demo.mp4 (video + speech) and demo.json (the truth) into out_dir; reuse them if already there."""
    import av

    out_dir.mkdir(parents=True, exist_ok=True)
    clip, truth = out_dir / "demo.mp4", out_dir / "demo.json"
    if clip.exists() and truth.exists():
        return clip
    duration = SHOTS[-1].end_s
    speech = []
    rate = ESPEAK_RATE
    track = np.zeros(int(duration * rate), np.int16)
    for u in SCRIPT:
        samples = speak(u.text, rate=rate)
        start = int(u.start_s * rate)
        track[start : start + len(samples)] = samples[: len(track) - start]
        speech.append(Utterance(u.text, u.start_s, round(u.start_s + len(samples) / rate, 3)))
    photos = {s.face: face_photo(s.face) for s in SHOTS}

    tmp = clip.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as container:
        vs = container.add_stream("mpeg4", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        vs.bit_rate = 1_500_000
        aus = container.add_stream("aac", rate=rate)
        aus.layout = "mono"
        for i in range(int(duration * FPS)):
            t = i / FPS
            shot = next(s for s in SHOTS if s.start_s <= t < s.end_s)
            frame = av.VideoFrame.from_ndarray(photos[shot.face], format="rgb24")
            for packet in vs.encode(frame):
                container.mux(packet)
        for packet in vs.encode():
            container.mux(packet)
        step = 1024
        for i in range(0, len(track), step):
            chunk = track[i : i + step]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts, frame.time_base = i, Fraction(1, rate)
            for packet in aus.encode(frame):
                container.mux(packet)
        for packet in aus.encode():
            container.mux(packet)
    tmp.replace(clip)
    truth.write_text(json.dumps({"duration_s": duration, "fps": FPS, "size": SIZE,
                                 "speech": [asdict(u) for u in speech], "shots": [asdict(s) for s in SHOTS]}, indent=1))
    return clip


if __name__ == "__main__":
    print(build(Path("out/demo")))
