"""VADER polarity of what was said, for the utterance and for each of its sentences."""

from __future__ import annotations

from graph.message import Message
from graph.node import In, Node, Out


class Sentiment(Node):
    """VADER (neg, neu, pos, compound) per utterance and per sentence."""

    inputs = {"text": In("text")}
    outputs = {"sentiment": Out("sentiment", "compound, neg, neu, pos, sentences, and the text's times")}

    def setup(self) -> None:
        from models.sentiment import SentimentAnalyzer

        self.analyzer = SentimentAnalyzer()

    def on_text(self, msg: Message) -> None:
        result = self.analyzer.analyze(str(msg.data["text"]))
        polarity = lambda p: {"compound": p.compound, "neg": p.neg, "neu": p.neu, "pos": p.pos}  # noqa: E731
        self.emit("sentiment", {
            "text": result.overall.text, "start_ns": msg.data.get("start_ns"), "end_ns": msg.data.get("end_ns"),
            **polarity(result.overall), "sentences": [{"text": s.text, **polarity(s)} for s in result.sentences],
        })
