"""What a physio's question asks, recognised from its meaning: one of the chat's intents, or out of scope.

Intents (INTENTS, each with a description and example phrasings):
why_score, why_review, is_test, what_to_film, left_right, change_since,
criterion_meaning, and out_of_scope.

Recognition: the question is embedded with the offline sentence-transformers
model FormScout ships (all-MiniLM-L6-v2, index.embedders.text) and compared
with every example phrasing (cosine similarity); the intent of the nearest
examples wins (the mean of its best `TOP_K` similarities). Below
`MIN_SIMILARITY` the question is out of scope. A question about injury,
diagnosis or treatment (agent.chat.question.OUTSIDE_RE) is out of scope
whatever it resembles. With a VLM brain (`brain`), the brain is asked to pick
one intent name from the list; an answer that is not one of the names falls
back to the embedding. The examples are for recognition only: the chat's
question set (tests/chat_corpus.py) is worded independently and measures it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

TOP_K = 3
MIN_SIMILARITY = 0.30


@dataclass(frozen=True)
class Intent:
    name: str
    says: str                    # what the chat can answer, as listed to the physio
    examples: tuple[str, ...]


INTENTS: tuple[Intent, ...] = (
    Intent("why_score", "why a clip got its score (the criterion that decided it, measured against its threshold)", (
        "why this score", "why did it get that score", "explain the score", "why a 2", "why only a 1",
        "what decided the score", "which criterion decided it", "what was measured", "how was it scored",
        "why did he score 3", "what made it a two", "break down the result for me", "why not a 3",
        "who was scored and why", "walk me through the result", "tell me about this result",
        "what caused the low score", "what pulled the score down", "how did it arrive at that number",
        "what is behind this score", "summarise the result", "what happened on this clip",
    )),
    Intent("why_review", "why a clip went to physio review", (
        "why review", "why was it flagged", "why does a physio need to look at it", "why is it provisional",
        "why no score", "why was it sent for review", "what is uncertain about this result",
        "why can't you give a score", "why the review flag", "why is the confidence low", "should I double check this result",
        "what is it unsure about", "why does it need a second look", "can I trust this score",
        "why was it not scored cleanly",
    )),
    Intent("is_test", "whether the movement is the test that was asked for (and the right person)", (
        "is this even a deep squat", "is this the right test", "does the clip show the test",
        "did it recognise the movement", "is that really a hurdle step", "was the wrong test chosen",
        "what movement does it look like", "who was scored", "were there other people in the frame",
        "is it the right athlete", "does this look like a lunge",
        "did it confuse the movement with another test", "did it pick up the wrong exercise",
        "are you sure this is the test", "was the wrong person tracked",
    )),
    Intent("what_to_film", "what to film next (view, repetition, side, set-up)", (
        "what should I film next", "what should I record next", "how should I film it", "which camera view",
        "should I film it again", "what do I need to retake", "how do I get a score instead of review",
        "what is missing from the recording", "where should the camera go", "what to capture next",
        "what should I change in the recording", "how do I film this better", "what do I need for a proper score",
        "which angle should I film from", "what set-up do you need",
    )),
    Intent("left_right", "left against right on a test scored per side (asymmetry)", (
        "left vs right", "compare left and right", "is there an asymmetry", "which side is worse",
        "how do the two sides differ", "left side compared with right side", "is one side weaker",
        "difference between sides", "are both sides the same", "is it symmetrical",
        "how do the sides compare", "is the left worse than the right",
    )),
    Intent("change_since", "what changed since the athlete's earlier screens", (
        "change since last screen", "has it improved", "compared with last time", "progress since the baseline",
        "is it better than before", "what changed since the previous session", "how has the score changed",
        "trend over the screens", "any change from last month", "did it get better or worse", "has she progressed",
        "compare with the first screen", "how does this compare to the earlier result", "is there improvement over time",
    )),
    Intent("criterion_meaning", "what a criterion means, how it is measured, its sign and unit", (
        "what does knee valgus mean", "what is torso parallel to tibia", "how is dowel over feet measured",
        "what does this criterion mean", "explain the criterion", "what does a negative value mean",
        "what unit is that", "what is the threshold for heel rise", "how do you measure squat depth",
        "what does the ratio mean", "define lumbar stability", "what is that criterion", "what does that measurement mean",
        "explain what this term means", "what does that number mean", "how is that angle defined",
    )),
    Intent("out_of_scope", "", (
        "will she get injured", "what is the injury risk", "can you diagnose the knee", "what treatment",
        "what exercises should he do", "what is the weather", "what is the capital of France",
        "tell me a joke", "should he play on saturday", "book an appointment",
        "who won the match", "what time is training", "should she rest", "how long until he recovers",
        "what is the best warm-up", "recommend a physiotherapy programme", "what is your name",
    )),
)
INTENT_NAMES = tuple(i.name for i in INTENTS)


def can_answer() -> str:
    """The "I can answer ..." list shown when a question is out of scope."""
    items = [i.says for i in INTENTS if i.says]
    return "I can answer questions about a screening run: " + "; ".join(items) + "."


@lru_cache(maxsize=1)
def _examples() -> tuple[np.ndarray, tuple[str, ...]]:
    """The example phrasings embedded once per process (MiniLM, offline): (vectors [N, D], intent per row)."""
    texts, names = [], []
    for intent in INTENTS:
        for ex in intent.examples:
            texts.append(neutral(ex))
            names.append(intent.name)
    return _embedder().embed(texts), tuple(names)


@lru_cache(maxsize=1)
def _embedder():
    from index.embedders.text import MiniLMTextEmbedder
    return MiniLMTextEmbedder()


def neutral(text: str) -> str:
    """The question with what it names made neutral, so that its form decides the intent: test names are
    dropped, so is a single side (left and right named together stay: that is a comparison), and
    scores become "score"."""
    import re

    from agent.chat.question import SIDE_RIGHT, TEST_SYNONYMS
    out = " " + re.sub(r"\s+", " ", text.lower()) + " "
    left, right = re.search(r"\bleft\b", out), re.search(SIDE_RIGHT, out)
    if bool(left) != bool(right):
        out = re.sub(r"\bleft\b( side)?", " ", out)
        out = re.sub(SIDE_RIGHT + "( side)?", " ", out)
    for phrase in sorted(TEST_SYNONYMS, key=len, reverse=True):
        out = re.sub(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", " ", out)
    out = re.sub(r"\b([0-3]|zero|two|three)\b", "score", out)
    return re.sub(r"\s+", " ", out).strip()


def classify(text: str, outside: bool = False, brain=None) -> tuple[str, float | None, str]:
    """(intent, similarity or None, who decided: "rules" | "minilm" | a brain's model id) for one question."""
    if outside:
        return "out_of_scope", None, "rules"
    if brain is not None:
        picked = _ask_brain(text, brain)
        if picked:
            return picked, None, getattr(brain, "model_id", type(brain).__name__)
    vectors, names = _examples()
    q = _embedder().embed([neutral(text)])[0]
    sims = vectors @ q
    best_name, best = "out_of_scope", -1.0
    for name in INTENT_NAMES:
        s = np.sort(sims[[i for i, n in enumerate(names) if n == name]])[::-1][:TOP_K]
        score = float(s.mean())
        if score > best:
            best_name, best = name, score
    if best < MIN_SIMILARITY:
        return "out_of_scope", round(best, 3), "minilm"
    return best_name, round(best, 3), "minilm"


def _ask_brain(text: str, brain) -> str | None:
    """A VLM brain's pick of one intent name (None when it names none of them or cannot answer)."""
    from tools.core.errors import InputError
    menu = "\n".join(f"- {i.name}: {i.says or 'anything else (injury, diagnosis, treatment, other topics)'}"
                     for i in INTENTS)
    try:
        reply = brain.complete("You sort a physiotherapist's question about a movement screen into exactly one "
                               "category. Reply with the category name only.",
                               f"Categories:\n{menu}\n\nQuestion: {text}\nCategory:")
    except InputError as exc:
        log.info("intent: the brain could not answer (%s); using the text embedding", exc)
        return None
    word = str(reply or "").strip().strip(".`'\"").lower()
    return word if word in INTENT_NAMES else None
