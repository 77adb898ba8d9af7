"""`make demo`: the whole graph on demo media, offline, with no camera, microphone or GPU.

It makes the models that can be made offline (MTCNN and mini-XCEPTION from the wheels that ship their weights),
builds the demo clip from packaged photos and espeak-ng speech, runs configs/demo.yaml as processes, prints the
fused events as a subscriber receives them, and leaves out/demo/overlay.mp4 and out/demo/timeline.png.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "demo"
OFFLINE_MODELS = ("mtcnn", "fer-minixception")


def real_whisper(name: str) -> bool:
    """A Whisper in the store that was made from real weights (a test's random model never counts)."""
    from models.catalog import is_present
    from models.store import read_manifest

    if not is_present(name):
        return False
    manifest = read_manifest(name)
    return manifest is not None and not manifest.config.get("random", False)


def demo_graph(whisper: str) -> Path:
    """configs/demo.yaml, without the words branch when no real Whisper is in the store."""
    spec = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    nodes = spec["nodes"]
    if real_whisper(whisper):
        nodes["asr"]["params"]["model"] = whisper
    else:
        print(f"demo: no Whisper model in the store, so speech is detected but not transcribed; "
              f"make one with `emograph export {whisper}` (needs the hub or a local copy of openai/{whisper})")
        for name in ("asr", "mood"):
            del nodes[name]
        del nodes["fusion"]["inputs"]["sentiment"]
        nodes["record"]["inputs"]["in"].remove("mood.sentiment")
        del nodes["overlay"]["inputs"]["text"]
    path = OUT / "graph.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def show(event: dict) -> str:
    faces = " ".join(f"#{f['id']} {f['emotion']}" for f in event["faces"]) or "no face"
    sp = event["speech"]
    words = f' said "{sp["text"]}" ({sp["sentiment"]["compound"]:+.2f})' if sp.get("text") else ""
    talking = " [speaking]" if sp.get("active") else ""
    shares = " ".join(f"{k} {v:.0%}" for k, v in event["sources"].items())
    return (f"#{event['seq']:<4} {event['emotion']:<8} valence {event['valence']:+.2f}  {faces}{talking}{words}"
            f"  | {shares} | latency {event['latency_ms'] or 0:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--whisper", default="whisper-small", help="the Whisper model to use when it is in the store")
    ap.add_argument("--every", type=int, default=5, help="print every Nth fused event")
    args = ap.parse_args(argv)

    from tools.demo_media import build
    from tools.export.cli import export_model
    from models.catalog import is_present

    for name in OFFLINE_MODELS:
        if not is_present(name):
            print(f"demo: making {name} (once)", flush=True)
            export_model(name)
    clip = build(OUT)
    duration = json.loads((OUT / "demo.json").read_text())["duration_s"]
    graph = demo_graph(args.whisper)
    for old in ("run.jsonl", "overlay.mp4"):
        (OUT / old).unlink(missing_ok=True)
    print(f"demo: {clip.relative_to(ROOT)} ({duration:.0f} s); the fused stream is on tcp://127.0.0.1:5560", flush=True)

    events: list[dict] = []

    def listen() -> None:
        from graph.client import subscribe

        for event in subscribe(timeout_s=duration + 30):
            events.append(event)
            if event["seq"] % args.every == 0 or event["speech"].get("text") != (events[-2]["speech"].get("text") if len(events) > 1 else None):
                print(show(event), flush=True)

    threading.Thread(target=listen, daemon=True).start()
    tail = 8 if real_whisper(args.whisper) else 2  # time for the last utterance to be transcribed
    run = subprocess.run([sys.executable, "-m", "tools.cli", "run", str(graph), "--duration", str(duration + tail)], cwd=ROOT)
    time.sleep(0.5)
    if run.returncode:
        return run.returncode
    timeline = OUT / "timeline.png"
    subprocess.run([sys.executable, "-m", "tools.cli", "plot", str(OUT / "run.jsonl"), "-o", str(timeline)], cwd=ROOT, check=True)
    print(f"demo: {len(events)} fused events; overlay video {(OUT / 'overlay.mp4').relative_to(ROOT)}, "
          f"timeline {timeline.relative_to(ROOT)}, snapshots {(OUT / 'snapshots').relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
