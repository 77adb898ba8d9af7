"""Local Whisper (faster-whisper, CTranslate2) on each utterance; text hallucinated on silence is dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from graph.message import Message
from graph.node import In, Node, NodeError, Out, Params
from nodes.model_check import loading, require


class Transcribe(Node):
    """Transcribes each utterance with a Whisper model from the store, loaded and warmed up before the first one."""

    inputs = {"speech": In("speech/segment")}
    outputs = {"text": Out("text", "text, start_ns, end_ns, language, confidence, words")}

    class Params(Params):
        model: str = Field("whisper-small", description="a catalog name (whisper-tiny ... large-v3, distil-*) or a folder")
        device: Literal["auto", "cpu", "cuda"] = "auto"
        compute_type: str = Field("auto", description="auto: float16 on CUDA, int8 on CPU")
        language: str | None = Field(None, description="fix the language (e.g. en); None detects it per utterance")
        beam_size: int = Field(1, ge=1)
        temperature: float = Field(0.0, ge=0)
        max_new_tokens: int | None = Field(None, gt=0)
        word_timestamps: bool = Field(False, description="per-word times; costs a second decoding pass per utterance")
        no_speech_threshold: float | None = 0.6
        logprob_threshold: float | None = -1.0
        compression_ratio_threshold: float | None = 2.4
        cpu_threads: int = Field(0, ge=0)

        @model_validator(mode="after")
        def _model_made(self) -> "Transcribe.Params":
            if not Path(self.model).expanduser().is_dir():
                require(self.model, note=" (transcribe never falls back to another engine)")
            return self

    def setup(self) -> None:
        from models.transcriber import Transcriber, TranscriberError

        p = self.params.model_dump()
        with loading():
            try:
                self.transcriber = Transcriber(p.pop("model"), warmup=True, **p)
            except TranscriberError as exc:
                raise NodeError(str(exc)) from None

    def on_speech(self, msg: Message) -> None:
        d = msg.data
        result = self.transcriber.transcribe(msg.arrays["samples"], int(d["rate"]), offset=d["offset_ns"] / 1e9)
        if result.dropped:
            self.count("dropped", len(result.dropped))
            self.log.info("dropped as hallucinated: %s", "; ".join(result.dropped))
        if not result.text:
            return
        words = [{"word": w.text, "start_ns": int(w.start * 1e9), "end_ns": int(w.end * 1e9), "p": round(w.probability, 4)}
                 for w in result.words]
        self.emit("text", {
            "text": result.text, "start_ns": d["start_ns"], "end_ns": d["end_ns"], "language": result.language,
            "confidence": round(result.confidence, 4), "words": words, "elapsed_s": round(result.elapsed_s, 3),
        })
