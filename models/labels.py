"""The seven expression classes every part speaks in (FER2013 order), and the other spellings models use for them."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

ALIASES: dict[str, str] = {
    "anger": "angry", "disgusted": "disgust", "fearful": "fear", "scared": "fear", "happiness": "happy",
    "joy": "happy", "sadness": "sad", "surprised": "surprise", "neutrality": "neutral", "calm": "neutral",
}


def normalise_label(label: str) -> str:
    """A model's class name in our vocabulary: lowercase, with the usual other spellings mapped."""
    name = label.strip().lower()
    return ALIASES.get(name, name)
