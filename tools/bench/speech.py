"""Speech speed on this machine: the VAD as a multiple of real time, Whisper's time from end of utterance to text.

VAD: the Segmenter over espeak-ng speech (three sentences, about 10.6 s) fed in 20 ms chunks as a microphone delivers
them, at each frame length; and its end-of-utterance delay (the SpeechEnd event after the true end of speech).
Whisper: a model with random weights at openai/whisper-small's dimensions (d_model 768, 12 + 12 layers, 12 heads,
80 mels, vocabulary 51865; --size picks another), converted by tools/export/whisper.py, run by the Transcriber (int8
on a CPU, float16 on CUDA where there is one) on utterances of 2, 5 and 10 s as the pipeline runs it (one window, no
timestamp tokens), greedy at temperature 0, decoding bounded to about 4 tokens per second of speech (random weights
never stop on their own, and favour special tokens, which are suppressed here). End of utterance to text is the
VAD's end delay plus the transcription. Speed only: the weights are random.

    python tools/bench/speech.py [--json] [--repeats 3] [--durations 2,5,10] [--size small] [--threads N] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TOKENS_PER_S = 4  # about 2.5 words a second of speech, 1.3-1.6 tokens a word


def speech(work: Path) -> tuple[np.ndarray, list[tuple[float, float]]]:
    from models.audio_io import decode_audio
    from tests.fixtures.media import PAUSES_S, SENTENCES, make_speech

    path, truth = make_speech(SENTENCES, PAUSES_S, work / "speech.wav")
    return decode_audio(path, dtype="int16"), truth


def bench_vad(audio: np.ndarray, truth: list[tuple[float, float]], repeats: int) -> dict[str, Any]:
    from models.vad import Segmenter, SpeechEnd

    out: dict[str, Any] = {"audio_s": audio.size / 16000}
    chunk = 320  # 20 ms
    for frame_ms in (10, 20, 30):
        times = []
        for _ in range(repeats):
            seg = Segmenter(aggressiveness=2, frame_ms=frame_ms)
            t = time.perf_counter()
            for i in range(0, audio.size, chunk):
                for _ in seg.feed(audio[i:i + chunk], i / 16000):
                    pass
            times.append(time.perf_counter() - t)
        out[f"frame_{frame_ms}ms_x_realtime"] = round(out["audio_s"] / statistics.median(times))
    seg, delays = Segmenter(aggressiveness=2), []
    ends = iter(end for _, end in truth)
    for i in range(0, audio.size, chunk):
        for event in seg.feed(audio[i:i + chunk], i / 16000):
            if isinstance(event, SpeechEnd):
                delays.append((i + chunk) / 16000 - next(ends))
    out["end_delay_s"] = [round(d, 3) for d in delays]
    out["end_delay_s_median"] = round(statistics.median(delays), 3)
    return out


def utterance(audio: np.ndarray, truth: list[tuple[float, float]], seconds: float) -> np.ndarray:
    """`seconds` of speech (the sentences back to back, repeated as needed) with 0.2 s of padding each side."""
    voiced = np.concatenate([audio[int(s * 16000):int(e * 16000)] for s, e in truth])
    voiced = np.tile(voiced, int(np.ceil(seconds * 16000 / voiced.size)))[:int(seconds * 16000)]
    pad = np.zeros(3200, np.int16)
    return np.concatenate([pad, voiced, pad])


def bench_whisper(audio: np.ndarray, truth: list[tuple[float, float]], durations: list[float], repeats: int,
                  threads: int, work: Path, size: str = "small") -> dict[str, Any]:
    import ctranslate2

    from models.transcriber import Transcriber
    from tools.export.whisper import convert
    from tools.export.whisper_random import SIZES, random_whisper

    dims = SIZES[size]
    out: dict[str, Any] = {"model": f"random weights at whisper-{size}'s dimensions ({dims}, vocabulary 51865)",
                           "threads": threads}
    hf, ct2 = work / f"whisper-{size}-random-hf", work / f"whisper-{size}-random-ct2"
    if not (ct2 / "model.bin").is_file():
        t = time.perf_counter()
        random_whisper(hf, **dims)
        out["build_hf_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        ct2.mkdir(parents=True, exist_ok=True)
        out["export_checks"] = convert(hf, ct2).checks
        out["export_s"] = round(time.perf_counter() - t, 1)
        shutil.rmtree(hf)
    out["model_bin_mb"] = round((ct2 / "model.bin").stat().st_size / 1e6, 1)
    setups = [("cpu", "int8")] + ([("cuda", "float16")] if ctranslate2.get_cuda_device_count() > 0 else [])
    for device, compute in setups:
        name = f"{device}_{compute}"
        res: dict[str, Any] = {}
        for seconds in durations:
            tokens = TOKENS_PER_S * seconds
            # ctranslate2 stops at about (prompt + max_new_tokens) / 2 for a 4-token prompt: ask for twice as many
            # random weights favour special and timestamp tokens, which a trained model does not emit here
            asr = Transcriber(str(ct2), device=device, compute_type=compute, language="en", beam_size=1,
                              temperature=0.0, max_new_tokens=int(2 * tokens + 4), no_speech_threshold=None,
                              logprob_threshold=None, compression_ratio_threshold=None,
                              suppress_tokens=[-1, *range(50257, 51865)], cpu_threads=threads if device == "cpu" else 0)
            clip = utterance(audio, truth, seconds)
            runs = [asr.transcribe(clip) for _ in range(repeats)]
            transcribe = statistics.median(r.elapsed_s for r in runs)
            res[f"{seconds:g}s"] = {"transcribe_s": round(transcribe, 3), "tokens": runs[0].tokens,
                                    "ms_per_token_upper": round(1e3 * transcribe / max(1, runs[0].tokens), 1),
                                    "load_s": round(asr.load_s, 2), "warmup_s": round(asr.warmup_s, 2)}
        out[name] = res
    if len(setups) == 1:
        out["cuda_float16"] = "no CUDA device here"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--durations", default="2,5,10", help="utterance lengths in seconds")
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1), help="CPU threads for CTranslate2")
    parser.add_argument("--size", default="small", choices=["tiny", "base", "small", "medium"])
    parser.add_argument("--work", type=Path, help="keep the converted model here between runs (default: a temp dir)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    durations = [float(d) for d in args.durations.split(",")]
    with tempfile.TemporaryDirectory(prefix="emograph-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        audio, truth = speech(work)
        result: dict[str, Any] = {"vad": bench_vad(audio, truth, args.repeats)}
        result["whisper"] = bench_whisper(audio, truth, durations, args.repeats, args.threads, work, args.size)
    delay = result["vad"]["end_delay_s_median"]
    for setup in ("cpu_int8", "cuda_float16"):
        if isinstance(result["whisper"].get(setup), dict):
            result[f"end_of_utterance_to_text_s_{setup}"] = {
                k: round(delay + v["transcribe_s"], 3) for k, v in result["whisper"][setup].items()}
    print(json.dumps(result) if args.json else table(result))
    return 0


def table(result: dict[str, Any]) -> str:
    vad, w = result["vad"], result["whisper"]
    lines = [f"VAD on {vad['audio_s']:.1f} s of speech: " + ", ".join(
        f"{ms} ms frames {vad[f'frame_{ms}ms_x_realtime']}x real time" for ms in (10, 20, 30))
        + f"; end delay {vad['end_delay_s_median']:.2f} s", w["model"]]
    for setup in ("cpu_int8", "cuda_float16"):
        runs = w.get(setup)
        if not isinstance(runs, dict):
            lines.append(f"{setup}: {runs}")
            continue
        ends = result[f"end_of_utterance_to_text_s_{setup}"]
        for k, v in runs.items():
            lines.append(f"{setup} {k:>4} utterance: transcribe {v['transcribe_s']:.2f} s ({v['tokens']} tokens), "
                         f"end of utterance to text {ends[k]:.2f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
