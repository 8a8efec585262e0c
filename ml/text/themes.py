"""Friction themes: what the negative texts of each journey stage are about.

Per journey stage (the stage each text shows), the negative texts (sentiment below
``labels.NEGATIVE_BELOW``) are masked (``journeymap.privacy.mask_text``) and factorised with
non-negative matrix factorisation (NMF; Lee and Seung 1999, the usual topic model for short
texts, with the deterministic NNDSVDa start). Each text joins the theme of its largest
weight; its ``theme_weight`` is that weight's share of its weights. A stage with fewer than
``MIN_TEXTS`` negative texts gets no themes.

What is factorised: TF-IDF of single words (sublinear tf), without English stop words,
function words (contractions, negations, auxiliaries, vague verbs such as "tried" or "gave"),
customer-service pleasantries and words in more than 80% of the stage's texts; each word
counted as its family (``word_families``: "payment", "paying" -> "pay"; suffix stripping
that keeps a stem only when the stem is itself a word of the texts, Krovetz 1993). Word
pairs and word forms are left out of the factorisation on purpose: a pair mostly records one
way of phrasing a problem, and with pairs or separate forms NMF splits one problem into a
theme per wording ("can't pay in the app" apart from "the payment fails on mobile").

Number of themes, a stated criterion (``choose_theme_count``): cluster-wise stability
(Hennig 2007, "Cluster-wise assessment of cluster stability"), as the segments use it. For
each candidate k, NMF is refitted on ``SUBSAMPLES`` subsets of about 80% of the texts and
every text is assigned with each refit; a theme's stability is its mean Jaccard similarity
with the most similar theme of each refit (>= 0.75: the data reproduce it). k is the fewest
themes whose every theme is stable, searched from ``MIN_THEMES`` up to ``MAX_THEMES`` (and
at most one theme per ``TEXTS_PER_THEME_AT_LEAST`` texts). Fewest, because a theme that
splits further into stable parts is usually one problem in several wordings. From three,
because a split in two is reproducible for almost any data (Ben-David, von Luxburg and Pal
2006, "A sober look at clustering stability"), so two would always win and lump unrelated
problems; the page lists a stage's top three. When no k is stable, ``MIN_THEMES``: finer
themes the data do not reproduce only add noise, and the most stable of several unstable k
flips from run to run on near ties; such a stage is reported as not stable
(``theme_count_per_stage`` in the model report), and only the warm start below keeps its
themes from moving with the texts. A text
is in a subset by a hash of its key and the subset's number, and the stability is measured
on at most ``SELECTION_SAMPLE`` texts chosen by a hash of their key: removing a few texts
leaves the subsets the same but for them, so the choice of k does not flip with them.

Labels (``theme_terms``): the terms with the largest mean TF-IDF over the theme's texts,
words and pairs of adjacent content words; a pair stands in for its word when it carries at
least ``PAIR_SHARE`` of the word's weight ("payment failed" before "payment"), and each word
appears once. The label is the first three, ``theme_terms`` the first eight.

Themes that persist from run to run (``stage_themes`` with the previous run): a run reads
the previous ``ml.text_themes`` before it replaces it, and per stage follows the usual
temporal smoothing of dynamic/online topic models (warm start from the previous model, as in
online NMF, Cao et al. 2007, and dynamic NMF, Greene and Cross 2017):
- the previous number of themes is kept while it is stable, and when no number is stable
  (``choose_theme_count``, ``kept_theme_count``); another only when it is stable and the
  previous one is not: a stage does not flip between counts;
- in a stage with a stable k, a fresh (NNDSVDa) factorisation is used when it reproduces
  every previous theme (one-to-one Jaccard at least ``STABLE_AT``, ``carried_over``), so a
  re-run on the same texts repeats itself exactly; in a stage without a stable k (whose fresh
  fit re-forms its themes on any change), or when it does not, NMF starts from the previous
  themes (``init="custom"``: per previous
  theme the mean TF-IDF of its texts on this run's vocabulary, terms new to a theme at a
  small floor; ``previous_components``) and converges near them;
- a text themed before keeps its theme while that theme's weight is at least
  ``KEEP_SHARE`` of its largest weight (``sticky_assignment``): only a clear change moves
  it. New texts join their largest weight.
Ids (``theme_ids``): the themes are matched one-to-one to the previous ids by the texts they
share (``segments.stable_ids``: Jaccard at least ``MIN_ID_OVERLAP``, Hungarian
assignment). A theme without a predecessor gets a number above every number of the stage in
the previous run (the first run numbers by size). ``theme_id`` is ``<stage>-<number>``;
``theme_rank`` is the theme's size in the stage (1 = most texts). The figures per theme
(trend, outcomes) are SQL in the enriched layer.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF, non_negative_factorization
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from journeymap.ml.outputs import TEXT_THEMES, consented_tables, write_output
from journeymap.ml.segments import hash_sample, jaccard_stability, stable_ids
from journeymap.ml.text.labels import NEGATIVE_BELOW, STAGES
from journeymap.ml.text.normalise import prepare_text
from journeymap.ml.warehouse_io import query_frame, table_exists
from journeymap.privacy import mask_text
from journeymap.warehouse import Warehouse

MODEL_VERSION = "themes-nmf-v2"
MIN_TEXTS = 10
MIN_THEMES, MAX_THEMES = 3, 8
TEXTS_PER_THEME_AT_LEAST = 5
STABLE_AT = 0.75
SUBSAMPLES, SUBSAMPLE_SHARE = 20, 0.8
SELECTION_SAMPLE = 2_000
PAIR_SHARE = 0.5
LABEL_TERMS, LISTED_TERMS = 3, 8
MIN_ID_OVERLAP = 0.2
KEEP_SHARE = 0.5


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words of every support conversation: they tell nothing about what went wrong.
PLEASANTRIES = _word_set(
    """hi hello hey dear team support thanks thank thx cheers regards best wishes please
    advance sorry um yeah yes ok okay just really honestly today got get im ive dont email
    """
)
# Function words the English list lacks: contractions (with and without the apostrophe),
# negations, auxiliaries, and verbs and nouns too vague to name a problem.
FUNCTION_WORDS = _word_set(
    """i'm i've i'd i'll you're you've you'd you'll we're we've we'd we'll they're they've
    it's that's there's what's who's where's how's here's let's he's she's
    can't cannot won't wouldn't don't doesn't didn't isn't aren't wasn't weren't haven't
    hasn't hadn't shouldn't couldn't mustn't needn't
    cant wont wouldnt doesnt didnt isnt arent wasnt werent havent hasnt hadnt shouldnt
    couldnt youre theyre thats theres whats lets
    am is are was were be been being do does did doing done have has had having
    will would shall should can could may might must
    get gets got getting gotten give gives gave given giving go goes going went gone
    make makes made making take takes took taken try tries tried trying
    say says said saying tell tells told ask asked asking keep keeps kept
    want wants wanted need needs needed know knew think thought seem seems seemed
    let like look looks looking come came use used
    thing things stuff way lot bit time times day days week weeks still again already ago
    now yet even also ever since right wrong sure maybe actually basically literally
    """
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS | PLEASANTRIES | FUNCTION_WORDS)
_TOKENS = re.compile(r"(?u)\b[a-z][a-z']{2,}\b")
_PHRASE_BREAKS = re.compile(r"[.,;:!?()\[\]\"\n]+|\s[-–—]\s")
# The masking placeholders are not words of the customer ("[phone]" is not about phones).
_PLACEHOLDERS = re.compile(r"\[(?:email|phone|card)\]")


def _phrases(doc: str) -> list[list[str]]:
    """The words of ``doc`` phrase by phrase (punctuation ends a phrase), lower case, without
    possessive "'s" and edge apostrophes."""
    out = []
    for phrase in _PHRASE_BREAKS.split(doc.lower()):
        words = [w.strip("'") for w in _TOKENS.findall(phrase)]
        out.append([w[:-2] if w.endswith("'s") else w for w in words])
    return out


def content_words(doc: str) -> list[str]:
    """The words of ``doc`` that can name a problem (stop and function words left out)."""
    return [w for phrase in _phrases(doc) for w in phrase if w not in STOP_WORDS]


SUFFIXES = ("ments", "ment", "ings", "ing", "ed", "es", "s", "d")


def word_families(docs: list[str]) -> dict[str, str]:
    """Each content word of ``docs`` mapped to the shortest word of ``docs`` it derives from
    by a common English suffix ("payment", "payments" -> "pay"; "failed", "failing" ->
    "fail"; "charged" -> "charge"): suffix stripping that only accepts a stem that is itself
    a word of the texts (Krovetz 1993, "Viewing morphology as an inference process")."""
    vocabulary = {w for doc in docs for w in content_words(doc)}
    families: dict[str, str] = {}
    for word in sorted(vocabulary, key=len):
        families[word] = word
        for suffix in SUFFIXES:
            stem = word[: -len(suffix)]
            if word.endswith(suffix) and len(stem) >= 3:
                for candidate in (stem, stem + "e"):
                    if candidate in vocabulary and len(candidate) < len(word):
                        families[word] = families[candidate]
                        break
                if families[word] != word:
                    break
    return families


def words_and_pairs(doc: str) -> list[str]:
    """Content words and pairs of adjacent content words of one phrase ("payment failed"; a
    stop word or punctuation between two words breaks the pair)."""
    terms = content_words(doc)
    for words in _phrases(doc):
        for first, second in itertools.pairwise(words):
            if first not in STOP_WORDS and second not in STOP_WORDS:
                terms.append(f"{first} {second}")
    return terms


def _vectorizer(analyzer: Callable[[str], list[str]]) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=analyzer, min_df=2, max_df=0.8, sublinear_tf=True)


def readable_terms(
    ranked: list[str], k: int, families: Mapping[str, str] | None = None
) -> list[str]:
    """The first ``k`` of the ``ranked`` terms, each word once: a term sharing a word (or a
    word's family, see ``word_families``) with a term already chosen is skipped ("payment
    step" after "step", "pay" after "payment")."""
    families = families or {}
    chosen: list[str] = []
    used: set[str] = set()
    for term in ranked:
        words = {families.get(w, w) for w in term.split()}
        if words & used:
            continue
        chosen.append(term)
        used |= words
        if len(chosen) == k:
            break
    return chosen


def pairs_first(weights: pd.Series) -> list[str]:
    """Terms by weight (largest first), each word replaced by its heaviest pair when the pair
    carries at least ``PAIR_SHARE`` of the word's weight."""
    ranked = weights[weights > 0].sort_values(ascending=False, kind="stable")
    pairs = ranked[ranked.index.str.contains(" ")]
    out: list[str] = []
    for term, weight in ranked.items():
        if " " not in term:
            holding = pairs[[term in p.split() for p in pairs.index]]
            if len(holding) and holding.iloc[0] >= PAIR_SHARE * weight:
                term = holding.index[0]
        if term not in out:
            out.append(term)
    return out


def _factorise(matrix: sparse.spmatrix, k: int) -> tuple[NMF, np.ndarray]:
    nmf = NMF(n_components=k, init="nndsvda", random_state=0, max_iter=500)
    return nmf, nmf.fit_transform(matrix)


def previous_components(matrix: sparse.spmatrix, prior: np.ndarray, k: int) -> np.ndarray:
    """The previous run's themes as NMF components on this run's vocabulary: per previous
    theme (``prior``: 0..k-1 per row, -1 new text) the mean TF-IDF of its texts, every term at
    least a small floor (new terms, and terms of no member, can still grow)."""
    components = np.zeros((k, matrix.shape[1]))
    for theme in range(k):
        members = prior == theme
        if members.any():
            components[theme] = np.asarray(matrix[members].mean(axis=0)).ravel()
    floor = 0.01 * components[components > 0].mean() if (components > 0).any() else 1e-3
    return np.maximum(components, floor)


def _warm_factorise(matrix: sparse.spmatrix, start: np.ndarray) -> np.ndarray:
    """NMF started from the components ``start`` (weights solved for them first)."""
    k = start.shape[0]
    weights, _, _ = non_negative_factorization(
        matrix, H=start, n_components=k, update_H=False, max_iter=500, random_state=0
    )
    nmf = NMF(n_components=k, init="custom", random_state=0, max_iter=500)
    return nmf.fit_transform(matrix, W=np.ascontiguousarray(weights), H=start.copy())


def carried_over(assigned: np.ndarray, prior: np.ndarray, k: int) -> np.ndarray | None:
    """Per previous theme (0..k-1 in ``prior``) the theme of ``assigned`` that reproduces it
    (one-to-one by the Jaccard similarity of their texts, Hungarian assignment), or None when
    one of them is matched below ``STABLE_AT``."""
    known = prior >= 0
    new, old = assigned[known], prior[known]
    overlap = np.zeros((k, k))
    for j in range(k):
        for i in range(k):
            union = np.sum((old == j) | (new == i))
            overlap[j, i] = np.sum((old == j) & (new == i)) / union if union else 0.0
    rows, cols = linear_sum_assignment(-overlap)
    if overlap[rows, cols].min() < STABLE_AT:
        return None
    return cols[np.argsort(rows)]


def sticky_assignment(weights: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Each text's theme: its previous one (``prior``, -1 none) while that theme's weight is
    at least ``KEEP_SHARE`` of the text's largest weight, else the largest (-1: no weight)."""
    total = weights.sum(axis=1)
    best = weights.argmax(axis=1)
    rows = np.arange(len(weights))
    held = np.where(prior >= 0, weights[rows, np.maximum(prior, 0)], 0.0)
    keep = (prior >= 0) & (held > 0) & (held >= KEEP_SHARE * weights[rows, best])
    return np.where(total > 0, np.where(keep, prior, best), -1)


@dataclass
class ThemeCount:
    """The chosen number of themes and every candidate's per-theme stability."""

    k: int
    stability: dict[int, list[float]] = field(default_factory=dict)

    def min_stability(self, k: int) -> float:
        return min(self.stability[k], default=0.0)

    @property
    def stable(self) -> bool:
        """Whether the data reproduce every chosen theme (else the themes are the coarsest
        split of texts that hold no stable themes, and move with the texts)."""
        return self.min_stability(self.k) >= STABLE_AT

    def as_dict(self) -> dict[str, Any]:
        return {
            "themes": self.k,
            "min_theme_stability": round(self.min_stability(self.k), 3),
            "stable": self.stable,
        }


def subsamples(keys: pd.Index) -> list[np.ndarray]:
    """``SUBSAMPLES`` subsets of about ``SUBSAMPLE_SHARE`` of the texts, each text in or out
    by a hash of its key and the subset's number: removing a few texts leaves every subset
    the same but for them, so the stability figures hardly move."""
    out = []
    for number in range(SUBSAMPLES):
        digests = np.array([_unit_hash(f"{number}\x1f{key}") for key in keys])
        rows = np.flatnonzero(digests < SUBSAMPLE_SHARE)
        out.append(rows if len(rows) >= 2 else np.arange(len(keys)))
    return out


def _unit_hash(text: str) -> float:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") / 2**64


def _theme_stability(matrix: sparse.spmatrix, subsets: list[np.ndarray], k: int) -> list[float]:
    """Per theme of a k-theme fit, how well the refits on ``subsets`` reproduce it."""
    _, weights = _factorise(matrix, k)
    reference = weights.argmax(axis=1)
    others = []
    for rows in subsets:
        refit, _ = _factorise(matrix[rows], k)
        others.append(refit.transform(matrix).argmax(axis=1))
    stability = jaccard_stability(reference, others)
    # A theme no text joined is not reproduced by anything.
    return np.pad(stability, (0, k - len(stability))).tolist()


def choose_theme_count(matrix: sparse.spmatrix, keys: pd.Index, previous_k: int = 0) -> ThemeCount:
    """The number of themes by the module's criterion (fewest stable, from ``MIN_THEMES``);
    ``keys`` name the rows (they choose the subsets). A ``previous_k`` that is still stable
    is kept (among stable counts, the one that keeps the themes from run to run)."""
    n, terms = matrix.shape
    k_max = max(1, min(MAX_THEMES, n // TEXTS_PER_THEME_AT_LEAST, terms))
    candidates = range(min(MIN_THEMES, k_max), k_max + 1)
    count = ThemeCount(k=candidates[0])
    subsets = subsamples(keys)
    if previous_k in candidates:
        count.stability[previous_k] = _theme_stability(matrix, subsets, previous_k)
        if count.min_stability(previous_k) >= STABLE_AT:
            count.k = previous_k
            return count
    for k in candidates:
        if k not in count.stability:
            count.stability[k] = _theme_stability(matrix, subsets, k)
        if count.min_stability(k) >= STABLE_AT:
            count.k = k
            return count
    return count  # none is stable: the fewest (finer themes the data do not reproduce)


@dataclass
class StageThemes:
    """One stage's themes: per text its theme (0..k-1, -1 none) and weight share, and per
    theme its ranked terms."""

    assigned: np.ndarray
    share: np.ndarray
    terms: list[list[str]]
    count: ThemeCount


def previous_themes(keys: pd.Index, previous: pd.Series | None) -> tuple[np.ndarray, int]:
    """Per text its previous theme as 0..k-1 in the order of the previous id numbers (-1: not
    themed before), and the previous number of themes (0: no previous run)."""
    if previous is None or previous.empty:
        return np.full(len(keys), -1), 0
    numbers = np.sort(previous.unique())
    known = previous.reindex(keys).to_numpy(dtype=float)
    prior = np.searchsorted(numbers, np.nan_to_num(known, nan=-1))
    return np.where(np.isnan(known), -1, prior), len(numbers)


def kept_theme_count(count: ThemeCount, previous_k: int) -> ThemeCount:
    """The previous run's number of themes, unless the stability criterion clearly prefers
    another (a stable k) or cannot compare it (not a candidate now)."""
    if previous_k and not count.stable and previous_k in count.stability:
        return ThemeCount(previous_k, count.stability)
    return count


def stage_themes(
    docs: list[str], keys: pd.Index, previous: pd.Series | None = None
) -> StageThemes | None:
    """Themes of one stage's prepared, masked, lower-case ``docs`` (None: too few words),
    kept close to the ``previous`` run's themes (text key -> id number) when their number is
    kept: a fresh fit that reproduces them in a stable stage, else a warm start (see the
    module docstring)."""
    families = word_families(docs)
    try:
        matrix = _vectorizer(lambda d: [families[w] for w in content_words(d)]).fit_transform(docs)
    except ValueError:  # no term left (e.g. every text is one word)
        return None
    sample = hash_sample(keys, SELECTION_SAMPLE)
    prior, previous_k = previous_themes(keys, previous)
    count = choose_theme_count(matrix[sample], keys[sample], previous_k)
    count = kept_theme_count(count, previous_k)
    if count.k == previous_k and (prior >= 0).any():
        weights, prior = _fit_near_previous(matrix, count, prior)
    else:
        _, weights = _factorise(matrix, count.k)
        prior = np.full(len(docs), -1)
    assigned = sticky_assignment(weights, prior)
    total = weights.sum(axis=1)
    held = weights[np.arange(len(docs)), np.maximum(assigned, 0)]
    share = np.divide(held, total, out=np.zeros(len(docs)), where=total > 0)
    terms = _theme_terms(docs, assigned, count.k, families)
    return StageThemes(assigned, share, terms, count)


def _fit_near_previous(
    matrix: sparse.spmatrix, count: ThemeCount, prior: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weights of a fit that keeps the previous themes (``prior``: 0..k-1 per text, -1 new),
    and ``prior`` in the fit's theme numbers. A stable stage's fresh fit when it reproduces
    them; else (an unstable stage's fresh fit re-forms its themes on any change, so it is not
    even tried) NMF started from the previous themes."""
    if count.stable:
        _, weights = _factorise(matrix, count.k)
        carried = carried_over(weights.argmax(axis=1), prior, count.k)
        if carried is not None:
            return weights, np.where(prior >= 0, carried[np.maximum(prior, 0)], -1)
    start = previous_components(matrix, prior, count.k)
    return _warm_factorise(matrix, start), prior


def _theme_terms(
    docs: list[str], assigned: np.ndarray, k: int, families: Mapping[str, str]
) -> list[list[str]]:
    """Per theme its terms, heaviest first (see the module docstring)."""
    vectorizer = _vectorizer(words_and_pairs)
    matrix = vectorizer.fit_transform(docs)
    names = vectorizer.get_feature_names_out()
    out = []
    for theme in range(k):
        members = assigned == theme
        if not members.any():
            out.append([])
            continue
        mean = np.asarray(matrix[members].mean(axis=0)).ravel()
        ranked = pairs_first(pd.Series(mean, index=names))
        out.append(readable_terms(ranked, LISTED_TERMS, families))
    return out


def theme_ids(keys: pd.Index, assigned: np.ndarray, previous: pd.Series | None) -> dict[int, int]:
    """Per theme (0..k-1) its id number: its predecessor's among ``previous`` (text key ->
    id number) by the texts both share, else a new one (``segments.stable_ids``)."""
    themed = assigned >= 0
    labels = assigned[themed]
    if not len(labels):
        return {}
    ids, _ = stable_ids(keys[themed], labels, previous, min_overlap=MIN_ID_OVERLAP)
    return {int(label): int(ids[labels == label][0]) for label in np.unique(labels)}


def text_keys(frame: pd.DataFrame) -> pd.Index:
    return pd.Index(frame["source"].astype(str) + "\x1f" + frame["source_text_id"].astype(str))


def _stage_rows(
    stage: str, texts: pd.DataFrame, previous: pd.Series | None
) -> tuple[pd.DataFrame, ThemeCount | None]:
    docs = [_PLACEHOLDERS.sub(" ", t).lower() for t in texts["masked_text"]]
    keys = text_keys(texts)
    found = stage_themes(docs, keys, previous)
    if found is None:
        return pd.DataFrame(), None
    ids = theme_ids(keys, found.assigned, previous)
    sizes = pd.Series(found.assigned[found.assigned >= 0]).value_counts()
    rank = {theme: r for r, theme in enumerate(sizes.index, start=1)}
    themed = found.assigned >= 0
    chosen = texts[themed]
    theme = found.assigned[themed]
    terms = [found.terms[t] for t in theme]
    rows = pd.DataFrame(
        {
            "source": chosen["source"].to_numpy(),
            "source_text_id": chosen["source_text_id"].to_numpy(),
            "journey_stage": stage,
            "theme_id": [f"{stage}-{ids[t]:02d}" for t in theme],
            "theme_rank": [rank[t] for t in theme],
            "theme_label": [" · ".join(t[:LABEL_TERMS]) for t in terms],
            "theme_terms": [", ".join(t) for t in terms],
            "theme_weight": found.share[themed],
            "masked_text": chosen["masked_text"].to_numpy(),
        }
    )
    return rows, found.count


def previous_ids(previous: pd.DataFrame | None, stage: str) -> pd.Series | None:
    """Text key -> theme id number of ``stage`` in a previous ml.text_themes."""
    if previous is None or previous.empty:
        return None
    rows = previous[previous["journey_stage"] == stage]
    number = rows["theme_id"].astype(str).str.extract(r"-(\d+)$", expand=False)
    known = number.notna().to_numpy()
    if not known.any():
        return None
    return pd.Series(number[known].astype(int).to_numpy(), index=text_keys(rows[known]))


@dataclass
class FrictionThemes:
    """ml.text_themes and, per stage with themes, how their number was chosen."""

    themes: pd.DataFrame
    counts: dict[str, ThemeCount] = field(default_factory=dict)

    def stages_report(self) -> dict[str, dict[str, Any]]:
        return {stage: count.as_dict() for stage, count in self.counts.items()}


def build_friction_themes(
    labelled: pd.DataFrame, now: datetime | None = None, previous: pd.DataFrame | None = None
) -> FrictionThemes:
    """ml.text_themes from labelled texts (source, source_text_id, journey_stage, sentiment,
    body): one row per negative text that joined a theme. ``previous`` is the last run's
    ml.text_themes (its ids carry over)."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    negative = labelled[labelled["sentiment"] < NEGATIVE_BELOW].copy()
    negative["masked_text"] = negative["body"].map(lambda t: mask_text(prepare_text(t)))
    negative = negative.sort_values(["source", "source_text_id"])
    parts, counts = [], {}
    for stage in STAGES:
        texts = negative[negative["journey_stage"] == stage].reset_index(drop=True)
        if len(texts) >= MIN_TEXTS:
            rows, count = _stage_rows(stage, texts, previous_ids(previous, stage))
            if len(rows) and count is not None:
                parts.append(rows)
                counts[stage] = count
    if not parts:
        return FrictionThemes(TEXT_THEMES.empty())
    themes = pd.concat(parts, ignore_index=True)
    themes["model_version"] = MODEL_VERSION
    themes["built_at"] = now
    return FrictionThemes(TEXT_THEMES.conform(themes), counts)


def friction_themes(
    labelled: pd.DataFrame, now: datetime | None = None, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The ml.text_themes rows of ``build_friction_themes``."""
    return build_friction_themes(labelled, now, previous).themes


def theme_summary(themes: pd.DataFrame) -> pd.DataFrame:
    """One row per theme: stage, rank, label and texts (for logs and metadata)."""
    columns = ["journey_stage", "theme_rank", "theme_id", "theme_label"]
    if themes.empty:
        return pd.DataFrame(columns=[*columns, "texts"])
    summary = themes.groupby(columns).size().rename("texts").reset_index()
    return summary.sort_values(["journey_stage", "theme_rank"]).reset_index(drop=True)


def read_previous_themes(warehouse: Warehouse, ml: str = "ml") -> pd.DataFrame | None:
    """The last run's ml.text_themes (text, stage and theme id), None before the first."""
    if not table_exists(warehouse, ml, TEXT_THEMES.table):
        return None
    return query_frame(
        warehouse,
        f"select source, source_text_id, journey_stage, theme_id from {ml}.{TEXT_THEMES.table}",
    )


def read_labelled_texts(warehouse: Warehouse, marts: str = "marts", ml: str = "ml") -> pd.DataFrame:
    """Every labelled text with its body: what ``friction_themes`` reads (none of a customer
    who refused analytics: ``consented_tables``)."""
    consented = consented_tables(warehouse, marts)
    return query_frame(
        warehouse,
        f"""
        select labels.source, labels.source_text_id, labels.journey_stage, labels.sentiment,
            texts.body
        from {consented(f"{ml}.text_labels")} as labels
        inner join {consented(f"{marts}.fct_customer_texts")} as texts
            on labels.source = texts.source and labels.source_text_id = texts.source_text_id
        """,
    )


def run_friction_themes(
    warehouse: Warehouse, marts: str = "marts", ml: str = "ml"
) -> FrictionThemes:
    """Read the labels, texts and the previous themes, build the themes and replace
    ml.text_themes."""
    frame = read_labelled_texts(warehouse, marts, ml)
    built = build_friction_themes(frame, previous=read_previous_themes(warehouse, ml))
    write_output(warehouse, TEXT_THEMES, built.themes, schema=ml)
    return built
