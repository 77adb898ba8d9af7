"""Whisper (faster-whisper over the exporter's CTranslate2 folder), VADER, GoEmotions: real runtimes on tiny random
models made by the exporters users run. Random Whisper words are noise: these tests check plumbing, not words."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.audio_io import decode_audio
from models.catalog import ModelMissing
from models.sentiment import SentimentAnalyzer
from models.store import model_dir, read_manifest
from models.transcriber import Transcriber, TranscriberError
from models.vad import segment_audio
from tools.export.base import ExportError
from tools.export.cli import export_model
from tools.export.whisper import convert
from tools.export.whisper_tokenizer import small_tokenizer
from tests.fixtures.audio import GO_EMOTIONS_LABELS, TINY_WHISPER

BOUNDED = {"temperature": 0.0, "max_new_tokens": 8}  # random weights never stop decoding on their own
NO_GUARD = {"no_speech_threshold": None, "logprob_threshold": None, "compression_ratio_threshold": None}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def utterance(speech_wav: tuple[Path, list]) -> tuple[np.ndarray, float, float]:
    """The second sentence as the VAD cuts it: (int16 audio, offset, duration)."""
    path, _ = speech_wav
    seg = segment_audio(decode_audio(path, dtype="int16"))[1]
    return seg.audio, seg.offset, seg.audio.size / seg.rate


def test_offline_tokenizer_has_whispers_ids() -> None:
    tok = small_tokenizer(text_vocab=50257)
    assert tok.get_vocab_size() == 51865  # openai/whisper-small's vocabulary size
    ids = {t: tok.token_to_id(t) for t in ("<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>",
                                            "<|transcribe|>", "<|nospeech|>", "<|notimestamps|>", "<|0.00|>",
                                            "<|30.00|>")}
    assert ids == {"<|endoftext|>": 50257, "<|startoftranscript|>": 50258, "<|en|>": 50259, "<|translate|>": 50358,
                   "<|transcribe|>": 50359, "<|nospeech|>": 50362, "<|notimestamps|>": 50363, "<|0.00|>": 50364,
                   "<|30.00|>": 51864}
    text = "We walked along the river, and talked!"
    assert tok.decode(tok.encode(text, add_special_tokens=False).ids) == text


def test_tiny_whisper_exports_and_transcribes_offline(tiny_whisper_model: Path, utterance: tuple) -> None:
    manifest = read_manifest(TINY_WHISPER)
    assert {"model.bin", "tokenizer.json", "preprocessor_config.json", "config.json"} <= set(manifest.files)
    assert manifest.config["multilingual"] and manifest.checks["model.bin"]["encoder_cosine_vs_pytorch"] >= 0.999
    audio, offset, duration = utterance
    asr = Transcriber(TINY_WHISPER, word_timestamps=True, **BOUNDED, **NO_GUARD)
    assert (asr.device, asr.compute_type) == ("cpu", "int8") and asr.warmup_s > 0
    result = asr.transcribe(audio, offset=1000.0 + offset)
    assert result.text and result.words  # noise words, but words with times
    assert 1000.0 + offset <= result.start <= result.end <= 1000.0 + offset + duration + 1e-6
    assert all(1000.0 + offset <= w.start <= w.end <= 1000.0 + offset + duration + 1e-6 for w in result.words)
    assert result.language in asr.languages and 0 < result.language_probability <= 1
    assert math.isfinite(result.confidence) and 0 < result.confidence <= 1
    assert result.elapsed_s > 0 and math.isfinite(result.no_speech_prob)


def test_guard_drops_what_the_decoder_is_unsure_of(tiny_whisper_model: Path, utterance: tuple) -> None:
    audio, offset, duration = utterance
    asr = Transcriber(TINY_WHISPER, language="en", **BOUNDED)  # default thresholds
    result = asr.transcribe(audio.astype(np.float32) / 32768, offset=offset)
    assert result.text == "" and result.words == [] and result.confidence == 0.0
    assert result.dropped and all("avg_logprob" in d for d in result.dropped)  # random words: log-prob ~ -6
    assert (result.language, result.language_probability) == ("en", 1.0)
    assert (result.start, result.end) == (offset, pytest.approx(offset + duration))


def test_other_sample_rates_are_resampled(tiny_whisper_model: Path, utterance: tuple) -> None:
    from models.audio_io import Resampler

    audio, _, duration = utterance
    up = Resampler(16000, 48000)
    at48 = np.concatenate([up(audio), up.flush()])
    result = Transcriber(TINY_WHISPER, language="en", warmup=False, **BOUNDED, **NO_GUARD).transcribe(at48, rate=48000)
    assert result.end <= duration + 0.01


def test_unknown_language_is_refused(tiny_whisper_model: Path) -> None:
    with pytest.raises(TranscriberError, match=r"language 'yue' is not one of whisper-tiny's: af, am, ar"):
        Transcriber(TINY_WHISPER, language="yue", warmup=False)  # 99 languages, as before large-v3


def test_missing_whisper_names_the_export_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMOGRAPH_MODELS", str(tmp_path))
    with pytest.raises(ModelMissing, match=r"make it with `emograph export whisper-small`"):
        Transcriber()
    with pytest.raises(ModelMissing, match=r"`emograph export distil-large-v3`"):
        Transcriber("distil-large-v3")


def test_folder_without_tokenizer_is_refused_not_fetched(tiny_whisper_model: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(model_dir(TINY_WHISPER), tmp_path / "no-tokenizer")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(TranscriberError, match=r"no-tokenizer: not a faster-whisper model folder, it lacks tokenizer"):
        Transcriber(str(folder))


def test_ready_faster_whisper_folder_is_taken_as_it_is(tiny_whisper_model: Path, tmp_path: Path) -> None:
    ready = shutil.copytree(model_dir(TINY_WHISPER), tmp_path / "faster-whisper-base")
    (ready / "preprocessor_config.json").unlink()  # Systran's folders before large-v3 have none
    (ready / "manifest.json").unlink()
    manifest = export_model("whisper-base", source=str(ready))
    assert manifest.files["model.bin"].sha256 == read_manifest(TINY_WHISPER).files["model.bin"].sha256
    feat = json.loads((model_dir("whisper-base") / "preprocessor_config.json").read_text())
    assert feat["feature_size"] == 80 and feat["sampling_rate"] == 16000
    assert Transcriber("whisper-base", language="en", warmup=False, **BOUNDED).multilingual


def test_int8_storage_and_bad_sources(tiny_whisper_folder: Path, tiny_roberta_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "int8"
    out.mkdir()
    result = convert(tiny_whisper_folder, out, quantization="int8")
    assert result.checks["model.bin"]["encoder_cosine_vs_pytorch"] >= 0.98
    fp16 = (model_dir(TINY_WHISPER) / "model.bin").stat().st_size if model_dir(TINY_WHISPER).is_dir() else None
    assert fp16 is None or (out / "model.bin").stat().st_size < fp16
    with pytest.raises(ExportError, match=r"tiny-roberta\d*/config\.json: model_type is 'roberta', not 'whisper'"):
        convert(tiny_roberta_folder, tmp_path)
    with pytest.raises(ExportError, match=r"neither a Hugging Face Whisper folder"):
        convert(tmp_path / "int8-missing", tmp_path)


def test_vader_polarity_per_utterance_and_sentence() -> None:
    vader = SentimentAnalyzer()
    assert vader.analyze("I love this, it is wonderful").compound > 0.5
    assert vader.analyze("This is terrible and I hate it").compound < -0.5
    mixed = vader.analyze("I love this song. But the ending was awful!  Okay.")
    assert [s.text for s in mixed.sentences] == ["I love this song.", "But the ending was awful!", "Okay."]
    assert mixed.sentences[0].label == "positive" and mixed.sentences[1].label == "negative"
    assert mixed.sentences[0].compound > 0 > mixed.sentences[1].compound
    assert vader.analyze("").sentences == [] and vader.analyze("").overall.label == "neutral"


def _torch_probs(folder: Path, texts: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoTokenizer, RobertaForSequenceClassification

    model = RobertaForSequenceClassification.from_pretrained(folder).eval()
    batch = AutoTokenizer.from_pretrained(folder)(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        return torch.sigmoid(model(**batch).logits).numpy()


def test_go_emotions_export_and_runner_match_pytorch(go_emotions_model: Path, tiny_roberta_folder: Path) -> None:
    from models.text_emotion import TextEmotion

    manifest = read_manifest("go-emotions")
    assert manifest.checks["model.onnx"]["max_abs_diff"] <= 1e-4
    assert manifest.config["labels"] == GO_EMOTIONS_LABELS and manifest.config["activation"] == "sigmoid"
    texts = ["I love this, it is wonderful!", "This is terrible and I hate it.", "ok"]
    want = _torch_probs(tiny_roberta_folder, texts)
    runner = TextEmotion(precision="fp32")
    got = runner.predict(texts)
    assert got.shape == (3, 28) and np.abs(got - want).max() < 1e-5
    scores = runner.scores(texts[0])
    assert list(scores) == [GO_EMOTIONS_LABELS[i] for i in np.argsort(-want[0])]
    assert TextEmotion(precision="int8").predict(texts).argmax(1).tolist() == want.argmax(1).tolist()


def test_runtime_runners_never_import_torch_or_transformers(go_emotions_model: Path, tiny_whisper_model: Path,
                                                            utterance: tuple) -> None:
    code = (
        "import sys, numpy as np\n"
        "from models.text_emotion import TextEmotion\n"
        "from models.transcriber import Transcriber\n"
        "from models.sentiment import SentimentAnalyzer\n"
        "from models.vad import segment_audio\n"
        "TextEmotion().predict(['hello there'])\n"
        "SentimentAnalyzer().analyze('fine. good!')\n"
        f"Transcriber('{TINY_WHISPER}', language='en', max_new_tokens=4).transcribe(np.zeros(16000, np.float32))\n"
        "segment_audio(np.zeros(16000, np.int16))\n"
        "heavy = sorted({'torch', 'transformers', 'optimum'} & {m.split('.')[0] for m in sys.modules})\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
