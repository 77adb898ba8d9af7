"""A Hugging Face Whisper folder with random weights at any size: for tests and benchmarks, made with no network.

It is what `openai/whisper-*` looks like on disk (config, generation config, weights, tokenizer, feature extractor),
so it goes through the same exporter as the real models. Random weights never stop decoding: bound the tokens.
"""

from __future__ import annotations

from pathlib import Path

from tools.export import whisper_tokenizer as wt

# openai/whisper-* dimensions (vocabulary 51865 with the default text_vocab=50257)
SIZES = {"tiny": {"d_model": 384, "layers": 4, "heads": 6}, "base": {"d_model": 512, "layers": 6, "heads": 8},
         "small": {"d_model": 768, "layers": 12, "heads": 12}, "medium": {"d_model": 1024, "layers": 24, "heads": 16}}


def random_whisper(folder: str | Path, *, d_model: int = 64, layers: int = 2, heads: int = 4, n_mels: int = 80,
                   text_vocab: int = wt.N_TEXT_REAL, n_languages: int = 99, seed: int = 0) -> Path:
    """Writes a random WhisperForConditionalGeneration with the offline tokenizer into `folder`."""
    import torch
    from transformers import GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    folder = Path(folder)
    tok = wt.small_tokenizer(text_vocab=text_vocab, n_languages=n_languages)
    ids = wt.ids(tok, n_languages)
    space = tok.token_to_id("Ġ")
    common = {"decoder_start_token_id": ids["sot"], "eos_token_id": ids["eot"], "pad_token_id": ids["eot"],
              "bos_token_id": ids["eot"]}
    config = WhisperConfig(vocab_size=tok.get_vocab_size(), num_mel_bins=n_mels, d_model=d_model,
                           encoder_layers=layers, decoder_layers=layers, encoder_attention_heads=heads,
                           decoder_attention_heads=heads, encoder_ffn_dim=4 * d_model, decoder_ffn_dim=4 * d_model,
                           max_source_positions=1500, max_target_positions=448, **common)
    config.emograph_random_weights = True  # the export marks the model random, so nothing passes its words off as speech
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        **common, max_length=448, begin_suppress_tokens=[space, ids["eot"]], suppress_tokens=[], is_multilingual=True,
        lang_to_id=ids["lang_to_id"], task_to_id=ids["task_to_id"],
        no_timestamps_token_id=ids["no_timestamps"], prev_sot_token_id=ids["sot_prev"], max_initial_timestamp_index=50,
        alignment_heads=[[layers - 1, h] for h in range(heads)])
    model.save_pretrained(str(folder))
    wt.save_pretrained(tok, folder, n_languages)
    WhisperFeatureExtractor(feature_size=n_mels).save_pretrained(str(folder))
    return folder
