"""Whisper's tokenizer built offline: a byte-level BPE followed by Whisper's special tokens in Whisper's order.

faster-whisper and CTranslate2 find everything by token: `<|startoftranscript|>`, the language tokens, the task
tokens, and timestamps as the ids after `<|notimestamps|>`. Keep the order and any BPE works:

- `small_tokenizer()` trains a few hundred merges on a built-in paragraph: for tiny test models and benchmarks.
  With `text_vocab=50257` (filler tokens past the trained ones) the ids equal Whisper's and the vocabulary its size.
- `tiktoken_tokenizer(path)` is the real one, from `whisper/assets/multilingual.tiktoken` in the openai-whisper
  source archive (`pip download --no-deps openai-whisper`): its ids match OpenAI's and Hugging Face's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

N_TIMESTAMPS = 1501  # <|0.00|> .. <|30.00|> in steps of 0.02 s
N_TEXT_REAL = 50257  # byte-level BPE tokens of GPT-2 and Whisper
CORPUS = (
    "Good morning, I am very happy to see you today. We walked along the river and talked about the weather. "
    "Maybe we can meet again next week. This is terrible and I hate it. I love this, it is wonderful! "
    "The quick brown fox jumps over the lazy dog. Speech recognition turns sound into words, one window at a time. "
    "Numbers like 1, 2, 3 and 2026 appear too; so do questions? And quotes: \"yes\", 'no' (maybe)."
)


def languages(n: int = 99) -> list[str]:
    """Whisper's language codes in token order: 99 up to large-v2, 100 (with "yue") from large-v3."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    codes = list(LANGUAGES)
    if not 1 <= n <= len(codes):
        raise ValueError(f"Whisper has 1..{len(codes)} language tokens, not {n}")
    return codes[:n]


def special_tokens(n_languages: int = 99) -> list[str]:
    """Every token after the text vocabulary, in Whisper's order."""
    return ["<|endoftext|>", "<|startoftranscript|>", *(f"<|{c}|>" for c in languages(n_languages)),
            "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>",
            *(f"<|{i * 0.02:.2f}|>" for i in range(N_TIMESTAMPS))]


def _assemble(vocab: dict[str, int], merges: list[tuple[str, str]], n_languages: int) -> Tokenizer:
    tok = Tokenizer(models.BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens(special_tokens(n_languages))
    return tok


def small_tokenizer(corpus: Iterable[str] = (CORPUS,), text_vocab: int = 512, n_languages: int = 99,
                    multilingual: bool = True) -> Tokenizer:
    """A byte-level BPE trained on `corpus`, padded with unreachable filler tokens up to `text_vocab` ids.

    Multilingual Whisper vocabularies have an empty token as their last text token (id 50256); CTranslate2 takes
    it as the sign of a multilingual model (language detection, language tokens in the prompt), so it is kept.
    """
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=min(text_vocab, 2048), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(corpus, trainer)
    state = json.loads(bpe.to_str())["model"]
    vocab: dict[str, int] = state["vocab"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
    if len(vocab) + multilingual > text_vocab:
        raise ValueError(f"text_vocab={text_vocab} is below the byte alphabet plus merges ({len(vocab)})")
    vocab.update({f"<unused{i}>": i for i in range(len(vocab), text_vocab - multilingual)})
    if multilingual:
        vocab[""] = text_vocab - 1
    return _assemble(vocab, merges, n_languages)  # type: ignore[arg-type]


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters (what byte-level BPE vocabularies are written in)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return {b: chr(b) if b in keep else chr(next(extra)) for b in range(256)}


def tiktoken_tokenizer(path: str | Path, n_languages: int = 99) -> Tokenizer:
    """The real Whisper tokenizer from a `.tiktoken` rank file (base64 token, space, rank per line)."""
    ranks: dict[bytes, int] = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    byte_map = _bytes_to_unicode()
    text = {tok: "".join(byte_map[b] for b in tok) for tok in ranks}
    vocab = {text[tok]: rank for tok, rank in ranks.items()}
    merges: list[tuple[int, int, int, tuple[str, str]]] = []
    for tok, rank in ranks.items():  # a merge exists where both halves are tokens ranked before the whole
        for i in range(1, len(tok)):
            left, right = tok[:i], tok[i:]
            if left in ranks and right in ranks and ranks[left] < rank and ranks[right] < rank:
                merges.append((rank, ranks[left], ranks[right], (text[left], text[right])))
    merges.sort()
    return _assemble(vocab, [m[3] for m in merges], n_languages)


def ids(tok: Tokenizer, n_languages: int = 99) -> dict[str, Any]:
    """The ids generation_config and CTranslate2 look up, read back from the tokenizer."""
    get = tok.token_to_id
    return {
        "eot": get("<|endoftext|>"), "sot": get("<|startoftranscript|>"),
        "lang_to_id": {f"<|{c}|>": get(f"<|{c}|>") for c in languages(n_languages)},
        "task_to_id": {"translate": get("<|translate|>"), "transcribe": get("<|transcribe|>")},
        "no_timestamps": get("<|notimestamps|>"), "no_speech": get("<|nospeech|>"),
        "sot_prev": get("<|startofprev|>"), "sot_lm": get("<|startoflm|>"),
    }


def save_pretrained(tok: Tokenizer, folder: str | Path, n_languages: int = 99) -> Path:
    """Writes the tokenizer as transformers saves Whisper's (tokenizer.json, tokenizer_config.json, ...), which
    the CTranslate2 converter loads with AutoTokenizer and faster-whisper reads as tokenizer.json."""
    from transformers import WhisperTokenizerFast

    folder = Path(folder)
    specials = special_tokens(n_languages)
    fast = WhisperTokenizerFast(tokenizer_object=tok, additional_special_tokens=specials[1:-N_TIMESTAMPS],
                                model_max_length=448)
    fast.pad_token = "<|endoftext|>"
    fast.save_pretrained(str(folder))
    return folder
