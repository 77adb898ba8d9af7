"""VADER polarity of an utterance and of each of its sentences.

VADER is a lexicon with rules (negation, intensifiers, "but", caps, punctuation): no model to export, microseconds
per sentence, made for short informal text, which is what a transcribed utterance is. Per-sentence values let a
consumer see a mood turn inside one utterance; the utterance's own score is VADER's over the whole text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

POSITIVE, NEGATIVE = 0.05, -0.05  # VADER's customary thresholds on the compound score
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class Polarity:
    text: str
    compound: float  # -1 (most negative) .. +1 (most positive)
    pos: float
    neu: float
    neg: float

    @property
    def label(self) -> str:
        return "positive" if self.compound >= POSITIVE else "negative" if self.compound <= NEGATIVE else "neutral"


@dataclass(frozen=True)
class Sentiment:
    overall: Polarity
    sentences: list[Polarity] = field(default_factory=list)

    @property
    def compound(self) -> float:
        return self.overall.compound


def split_sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if s]


class SentimentAnalyzer:
    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()

    def polarity(self, text: str) -> Polarity:
        s = self._vader.polarity_scores(text)
        return Polarity(text, s["compound"], s["pos"], s["neu"], s["neg"])

    def analyze(self, text: str) -> Sentiment:
        text = text.strip()
        return Sentiment(self.polarity(text), [self.polarity(s) for s in split_sentences(text)])
