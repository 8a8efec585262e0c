"""The small slips people make when they type: a typo, no capitals, no full stop.

Used by the sample data generator (its customers type imperfectly) and by the text model's
training (each corpus text is also learnt with slips, so real typing does not throw it).
Every choice is one draw of ``r`` (a ``random.Random().random``), so the result is fixed by
the stream that drives it.
"""

from __future__ import annotations

from collections.abc import Callable

Draw = Callable[[], float]


def typo(r: Draw, text: str) -> str:
    """One slip in one word of four letters or more: two letters swapped, one dropped or one
    doubled. Texts without such a word come back as they are."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    i = candidates[int(r() * len(candidates))]
    word = words[i]
    at = 1 + int(r() * (len(word) - 2))  # never the first letter
    kind = r()
    if kind < 0.4:
        word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    elif kind < 0.7:
        word = word[:at] + word[at + 1 :]
    else:
        word = word[:at] + word[at] + word[at:]
    words[i] = word
    return " ".join(words)


def sloppy(r: Draw, text: str, typo_p: float, lower_p: float, unpunctuated_p: float) -> str:
    """``text`` with a typo, in lower case and without its final full stop, each with its
    probability."""
    if r() < typo_p:
        text = typo(r, text)
    if r() < lower_p:
        text = text.lower()
    if r() < unpunctuated_p and text.endswith("."):
        text = text[:-1]
    return text
