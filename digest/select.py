"""Selection: which candidates make the next digest, and why each of the others does not.

`select(candidates, history, config)` is a pure read: it never writes to the state file.

Order. Candidates are taken newest first: the articles of the newest page in page order,
then the other pages by date, newest first, each in page order (pages of the same date in
the order they were read). An article without a date counts as dated on the reference day
(below), so it sorts with the newest page.

Window. `lookback_days` counts back from the reference day: `as_of` when given, else the
newest article date among the candidates. Articles dated before it are `too-old`;
articles without a date count as new. Articles dated after `as_of` are kept.

Duplicates, checked in this order for each candidate that is not too old:
  already-sent    the same text (after normalising case, quotes, punctuation and
                  whitespace), the same feed GUID or the same URL as an article sent before.
  near-duplicate  a changed copy (re-wrapped, a paragraph added or dropped, cut to an
                  excerpt, a new title, boilerplate added, a few words changed) of an article
                  sent before or of one chosen earlier in this batch. Word 3-shingles of the
                  body, MinHash (datasketch's affine32 permutations) and LSH band keys find the
                  pairs; Jaccard or containment (an excerpt lies inside the full article)
                  decides them.
  duplicate       the same text as an article chosen earlier in this batch.
  same-story      a different article about the same event: they share specific facts
                  (dates, amounts with units, names of people and organisations, weighted by
                  how rare they are) and their content words agree (TF-IDF cosine). Compared
                  with the batch and with articles sent for stories dated within
                  STORY_WINDOW_DAYS of the reference day.
Inside the batch the fuller copy wins (the whole article over an excerpt, else a text at
least a tenth longer; otherwise the first) and takes the place of the first copy; for
same-story the first article wins.
`duplicate_of` names the article the skipped one lost to: the history title, or the title
of the batch article kept in its place.

Cap. The first `max_articles` survivors are chosen; the rest are `over-limit`.

Sections. With `sections` configured, an article goes to the first section (config order)
whose keyword appears as a whole word in its title, else to the section whose keywords
occur most often in its body (ties: config order); articles matching no section, and every
article when no sections are configured, go to DEFAULT_SECTION ("Top stories").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import string
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from datasketch import MinHash

from .config import SelectionConfig
from .models import (
    ALREADY_SENT,
    DEFAULT_SECTION,
    DUPLICATE,
    NEAR_DUPLICATE,
    OVER_LIMIT,
    SAME_STORY,
    TOO_OLD,
    Article,
    Chosen,
    Selection,
    Skipped,
)

if TYPE_CHECKING:
    from .history import History

# --- fingerprints ----------------------------------------------------------------------------

NUM_PERM = 64  # MinHash size: 64 keeps one 10k-candidate selection within its time budget
MINHASH_SEED = 1
SHINGLE_WORDS = 3
LEAD_WORDS = 24  # the opening words, signed apart: an excerpt opens like its full article
FULL_BANDS, FULL_ROWS = 21, 3  # LSH over the body: P(pair found) 0.87 at J=0.45, 0.99 at 0.6
LEAD_BANDS, LEAD_ROWS = 4, 4  # LSH over the opening (its first 16 MinHash values)
LEAD_PERM = LEAD_BANDS * LEAD_ROWS
FACT_CHARS = 3000  # facts come from the title and the opening of the body
TERMS_KEPT = 48  # content words stored per sent article for the cosine

_PERM_A, _PERM_B = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, scheme="affine32").permutations
_MAX32 = np.uint32(0xFFFFFFFF)

_UNICODE_PUNCT = re.compile(
    r"[\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a"
    r"\u2010-\u2015\u2026\u2022\u00b7\u00a0]"
)
_ASCII_PUNCT = bytes.maketrans(string.punctuation.encode(), b" " * len(string.punctuation))


def tokens(text: str) -> list[bytes]:
    """Words of `text` for comparison: lower case, punctuation and quotes dropped."""
    return _UNICODE_PUNCT.sub(" ", text.lower()).encode().translate(_ASCII_PUNCT).split()


def key64(*parts: bytes | str) -> int:
    """A stable signed 64-bit key (SQLite INTEGER) for a tuple of strings."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\x1f")
    return int.from_bytes(h.digest(), "little", signed=True)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer, as datasketch applies it before its affine32 permutations."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def word_hashes(words: Sequence[bytes]) -> np.ndarray:
    return np.fromiter(map(zlib.crc32, words), np.uint32, len(words))


def shingle_hashes(h: np.ndarray) -> np.ndarray:
    """32-bit hashes of the word shingles (a text shorter than a shingle is one shingle)."""
    with np.errstate(over="ignore"):
        if len(h) == 0:
            return h
        k = min(SHINGLE_WORDS, len(h))
        n = len(h) - k + 1
        acc = h[:n].copy()
        for j in range(1, k):
            acc = acc * np.uint32(0x01000193) + h[j : j + n]
        return acc


def signatures(shingle_sets: Sequence[np.ndarray]) -> np.ndarray:
    """MinHash signatures (rows of NUM_PERM uint32), several texts per numpy call.

    The same values as datasketch's `MinHash(num_perm, seed).update_batch(hashes)` with an
    identity hash function (tests/test_neardup.py checks it); an empty set keeps the maximum.
    """
    out = np.full((len(shingle_sets), NUM_PERM), _MAX32, np.uint32)
    chunk: list[int] = []
    size = 0
    for i, s in enumerate(shingle_sets):
        if len(s):
            chunk.append(i)
            size += len(s)
        if size >= 20_000 or (i == len(shingle_sets) - 1 and chunk):
            parts = [shingle_sets[j] for j in chunk]
            offsets = np.cumsum([0] + [len(p) for p in parts[:-1]])
            with np.errstate(over="ignore"):
                permuted = _fmix32(np.concatenate(parts))[:, None] * _PERM_A + _PERM_B
            out[chunk] = np.minimum.reduceat(permuted, offsets, axis=0)
            chunk, size = [], 0
    return out


def band_keys(sigs: np.ndarray, bands: int, rows: int, salt: int) -> np.ndarray:
    """LSH band keys (signed 64-bit), one column per band; `salt` keeps families apart."""
    s = sigs[:, : bands * rows].reshape(len(sigs), bands, rows).astype(np.uint64)
    with np.errstate(over="ignore"):
        acc = np.arange(bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)
        acc = np.broadcast_to(acc, (len(sigs), bands)).copy()
        for j in range(rows):
            acc = _fmix64(acc ^ s[:, :, j]) + np.uint64(j)
    return acc.view(np.int64)


def normal_url(url: str) -> str:
    """A URL as feeds vary it: no scheme, `www.`, fragment, tracking parameters or final `/`."""
    url = url.strip()
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.I)
    url = url.split("#", 1)[0]
    host, _, rest = url.partition("/")
    host = host.lower().removeprefix("www.")
    path, _, query = rest.partition("?")
    params = [p for p in query.split("&") if p and not p.lower().startswith(("utm_", "fbclid="))]
    return host + "/" + path.rstrip("/") + ("?" + "&".join(params) if params else "")


# --- facts: same-story evidence --------------------------------------------------------------

DATE, AMOUNT, NAME, WEAK = "d", "n", "p", "w"
FACT_WEIGHTS = {DATE: 1.5, AMOUNT: 1.5, NAME: 1.0, WEAK: 0.25}

_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_MONTH_RE = "|".join(m.capitalize() for m in _MONTHS)
_DATE_RE = re.compile(rf"\b(?:({_MONTH_RE})\s+(\d{{1,2}})|(\d{{1,2}})\s+({_MONTH_RE}))\b")
_WORD = r"[A-Z][\w'\u2019.\-]*"
_NAME_RE = re.compile(rf"{_WORD}(?:\s+(?:(?:of|for|de|al)\s+)?{_WORD})+")
_NUMBER_RE = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
    r"(?:\s*(thousand|million|billion|trillion|mln|bn)\b)?(\s*%|\s+percent\b)?"
)
_SCALE = {"thousand": 1e3, "million": 1e6, "mln": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
# Capitalised only because they open a sentence.
_OPENERS = set(
    """the a an in on at as and but of for to by with from this that these those it its
their they he she we our according during following since while although after before under
over into among between why how what when where who still yet such both each some many most
other another meanwhile however also if unlike alongside notably inside behind looking then
there here new last next""".split()
)
# Titles before a person's name: the name starts after the last of them, so "Kazakh President
# Kassym-Jomart Tokayev" and "President Kassym-Jomart Tokayev" name the same person.
_ROLES = set(
    """president vice-president minister ministers chairman chairwoman chair ambassador
secretary secretary-general director director-general spokesman spokeswoman spokesperson
representative envoy governor mayor king queen emir senator commissioner ceo officer founder dr
mr mrs ms professor prof judge""".split()
)
_ABBREVIATIONS = {
    "dr.",
    "mr.",
    "mrs.",
    "ms.",
    "st.",
    "jr.",
    "inc.",
    "plc.",
    "co.",
    "ltd.",
    "corp.",
    "gen.",
    "gov.",
    "sen.",
    "prof.",
}
# Names every article of a region names: weak evidence that two articles tell one story.
_COMMON_PLACES = {
    "central asia",
    "central asian",
    "united states",
    "south caucasus",
    "middle east",
    "european union",
    "united nations",
    "united kingdom",
    "south asia",
    "east asia",
    "russian federation",
    "soviet union",
}


def facts(title: str, text: str) -> dict[int, str]:
    """The checkable facts of an article (key -> kind): dates, amounts, names.

    Names come from the body only: a title in Title Case would read as one long name.
    """
    out: dict[int, str] = {}
    body = text[:FACT_CHARS]
    for part in (title, body):
        in_dates = set()
        for m in _DATE_RE.finditer(part):
            month, day = (m[1], m[2]) if m[1] else (m[4], m[3])
            in_dates.update(range(*m.span()))
            if 1 <= int(day) <= 31:
                out[key64("date", month.lower(), str(int(day)))] = DATE
        for m in _NUMBER_RE.finditer(part):
            if m.start() in in_dates:
                continue
            value = float(m[1].replace(",", "") + (m[2] or ""))
            scale, percent = m[3], m[4]
            if scale:
                value *= _SCALE[scale]
            plain = not (scale or percent or m[2])
            if plain and 1900 <= value <= 2100:
                continue  # a year: the dates carry it
            kind = AMOUNT if not plain else NAME if value >= 100 else WEAK
            out.setdefault(key64("num", f"{value:g}{'%' if percent else ''}"), kind)
    for m in _NAME_RE.finditer(body):
        for name in _names(m[0]):
            out.setdefault(key64("name", name), WEAK if name in _COMMON_PLACES else NAME)
    return out


def _names(run: str) -> list[str]:
    """The names in a run of capitalised words: split where a sentence ends or at a
    possessive ("Tajikistan's Sipar Group"), without sentence openers and titles."""
    names: list[str] = []
    words: list[str] = []
    for word in run.split() + ["."]:
        end = (
            word.endswith(".")
            and word.lower() not in _ABBREVIATIONS
            and not re.fullmatch(r"(?:[A-Z]\.)+", word)
        )
        possessive = re.search(r"['\u2019]s?$", word.rstrip(".")) is not None
        word = re.sub(r"['\u2019]s?$", "", word.rstrip("."))
        if word:
            words.append(_plain(word))
        if end or possessive:  # the owner ends at its possessive: "Gideon Sa'ar's visit"
            _add_name(words, names)
            words = []
    return names


def _add_name(words: list[str], names: list[str]) -> None:
    roles = [n for n, w in enumerate(words) if w in _ROLES]
    if roles:
        del words[: roles[-1] + 1]
    while words and words[-1] in _OPENERS:  # "... Channels The documents"
        words.pop()
    while words and words[0] in _OPENERS:
        words.pop(0)
    if len(words) >= 2:
        names.append(" ".join(words))


def _plain(word: str) -> str:
    """Lower case without accents, so "Erdoğan" and "Erdogan" match."""
    word = word.lower().replace("\u2019", "'")
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


_STOPWORDS = set(
    """a about above after again against all also am an and any are as at be because
been before being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers him his how i if in into is it its itself just
me more most my no nor not now of off on once only or other our out over own same she should so
some such than that the their them then there these they this those through to too under until
up very was we were what when where which while who whom why will with would you your said says
say one two three per via may might must new year years including well according told
""".split()
)


def term_counts(title: str, text: str) -> Counter[int]:
    """Content-word counts (by word hash) for the TF-IDF cosine."""
    words = [
        w
        for w in tokens(title + " " + text)
        if len(w) > 2 and not w[0:1].isdigit() and w.decode() not in _STOPWORDS
    ]
    return Counter(map(zlib.crc32, words))


@dataclass
class Fingerprint:
    """What selection compares an article by; `remember` stores the same."""

    exact: int  # key of the normalised title and body
    ids: tuple[int, ...]  # keys of the feed GUID and the URL
    signature: np.ndarray  # MinHash of the body's shingles, NUM_PERM uint32
    shingles: np.ndarray  # the body's shingle hashes (kept in memory only)
    words: int
    lead: np.ndarray  # MinHash of the opening LEAD_WORDS, LEAD_PERM uint32
    bands: np.ndarray  # LSH keys: FULL_BANDS of the whole body, then LEAD_BANDS of its opening
    facts: dict[int, str]
    excerpt: bool
    _terms: Counter[int] | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.shingles)

    @property
    def fact_weight(self) -> float:
        return fact_weight(self.facts.values())


def fingerprint(articles: Sequence[Article]) -> list[Fingerprint]:
    shingle_sets, leads, partial = [], [], []
    for a in articles:
        title_words, body_words = tokens(a.title), tokens(a.text)
        exact = key64("text", b" ".join(title_words), b"\n", b" ".join(body_words))
        ids = tuple(
            key64(kind, value)
            for kind, value in (
                ("guid", (a.guid or "").strip()),
                ("url", normal_url(a.url) if a.url else ""),
            )
            if value
        )
        h = word_hashes(body_words or title_words)
        sh = shingle_hashes(h)
        shingle_sets.append(sh)
        leads.append(sh[: LEAD_WORDS - SHINGLE_WORDS + 1])
        partial.append((exact, ids, len(h), facts(a.title, a.text), a.excerpt))
    sigs = signatures(shingle_sets)
    lead_sigs = signatures(leads)[:, :LEAD_PERM]
    bands = np.hstack(
        [band_keys(sigs, FULL_BANDS, FULL_ROWS, 1), band_keys(lead_sigs, LEAD_BANDS, LEAD_ROWS, 2)]
    )
    return [
        Fingerprint(exact, ids, sigs[i], shingle_sets[i], n, lead_sigs[i], bands[i], fs, excerpt)
        for i, (exact, ids, n, fs, excerpt) in enumerate(partial)
    ]


def top_terms(counts: Counter[int]) -> Counter[int]:
    """The TERMS_KEPT most frequent content words: what history keeps for the cosine."""
    return Counter(dict(counts.most_common(TERMS_KEPT)))


def terms(fp: Fingerprint, article: Article) -> Counter[int]:
    if fp._terms is None:
        fp._terms = top_terms(term_counts(article.title, article.text))
    return fp._terms


# --- deciding a pair -------------------------------------------------------------------------

NEAR_JACCARD = 0.3  # shingle Jaccard at or above which two texts are copies of one article
NEAR_CONTAINMENT = 0.6  # share of the smaller text's shingles inside the larger (excerpts) ...
NEAR_LEAD = 0.5  # ... when both open alike (MinHash Jaccard of the openings)
MIN_CONTAINED = 20  # fewer shingles than this is too little text to call it an excerpt
STORY_EVIDENCE = 2.5  # shared facts, weighted by kind and rarity, needed for same-story ...
STORY_OVERLAP = 0.3  # ... making up this share of the facts of the article with fewer ...
STORY_COSINE = 0.15  # ... and content words at least this close
STORY_WINDOW_DAYS = 90


def exact_similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Jaccard and containment of the smaller set, from the shingle sets themselves."""
    a, b = np.unique(a), np.unique(b)
    if not len(a) or not len(b):
        return 0.0, 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter), inter / min(len(a), len(b))


def estimated_similarity(
    sig_a: np.ndarray, sig_b: np.ndarray, size_a: int, size_b: int
) -> tuple[float, float]:
    """Jaccard from two MinHash signatures, containment from it and the set sizes."""
    j = float(np.count_nonzero(sig_a == sig_b)) / NUM_PERM
    small = min(size_a, size_b)
    if not small:
        return 0.0, 0.0
    return j, min(1.0, j * (size_a + size_b) / ((1 + j) * small))


def lead_similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / len(a)


def is_near_duplicate(jaccard: float, containment: float, lead: float, smaller: int) -> bool:
    return jaccard >= NEAR_JACCARD or (
        containment >= NEAR_CONTAINMENT and lead >= NEAR_LEAD and smaller >= MIN_CONTAINED
    )


def story_evidence(shared: Iterable[tuple[str, int]]) -> float:
    """Shared facts (kind, number of compared articles holding it), weighted by rarity."""
    return sum(FACT_WEIGHTS[kind] / math.log2(max(df, 2)) for kind, df in shared)


def fact_weight(kinds: Iterable[str]) -> float:
    return sum(FACT_WEIGHTS[kind] for kind in kinds)


def story_overlap(shared: Iterable[tuple[str, int]], weight_a: float, weight_b: float) -> float:
    """The shared facts' share of the facts of the article with fewer."""
    small = min(weight_a, weight_b)
    return fact_weight(kind for kind, _ in shared) / small if small else 0.0


def cosine(a: Counter[int], b: Counter[int], idf: dict[int, float]) -> float:
    def weights(c: Counter[int]) -> dict[int, float]:
        return {t: (1 + math.log(n)) * idf.get(t, 1.0) for t, n in c.items()}

    wa, wb = weights(a), weights(b)
    dot = sum(w * wb[t] for t, w in wa.items() if t in wb)
    norm = math.sqrt(sum(w * w for w in wa.values()) * sum(w * w for w in wb.values()))
    return dot / norm if norm else 0.0


def is_same_story(evidence: float, overlap: float, cos: float) -> bool:
    return evidence >= STORY_EVIDENCE and overlap >= STORY_OVERLAP and cos >= STORY_COSINE


# --- selection -------------------------------------------------------------------------------

ANCHOR_MAX_SHARE = 0.02  # a fact in more than this share of compared articles pairs nothing
ANCHOR_MIN_DF = 20  # ... unless it is in no more than this many
MAX_BUCKET = 50  # LSH bucket members compared with each other, beyond: only with the first
_STRENGTH = {DUPLICATE: 3, NEAR_DUPLICATE: 2, SAME_STORY: 1}


def select(
    candidates: list[Article],
    history: History,
    config: SelectionConfig,
    as_of: dt.date | None = None,
) -> Selection:
    """Choose the next digest's articles; every other candidate is skipped with its reason."""
    if not candidates:
        return Selection([], [])
    dates = [a.date for a in candidates if a.date]
    ref = as_of or (max(dates) if dates else None)
    order = _stable_order(candidates, ref)
    cutoff = ref - dt.timedelta(days=config.lookback_days) if ref else None
    live = [i for i in order if not (cutoff and candidates[i].date and candidates[i].date < cutoff)]
    fps = dict(zip(live, fingerprint([candidates[i] for i in live]), strict=True))
    batch = _Batch(candidates, fps, ref)
    sent = _against_history(batch, history)
    relations = batch.relations()

    position = {i: n for n, i in enumerate(order)}
    kept: list[int] = []
    slot: dict[int, int] = {}  # kept candidate -> its place in `kept`
    lost_to: dict[int, int] = {}  # skipped in the batch -> the candidate it lost to
    reasons: dict[int, str] = {}
    for i in order:
        if i not in fps or i in sent:
            continue
        partners = []
        for j, kind in relations.get(i, {}).items():
            if position[j] < position[i] and j not in sent:
                # A copy of an article that lost as the same story is itself the same story.
                kind = min(kind, reasons.get(j, DUPLICATE), key=_STRENGTH.__getitem__)
                partners.append((_STRENGTH[kind], -position[j], kind, j))
        if not partners:
            slot[i] = len(kept)
            kept.append(i)
            continue
        *_, kind, j = max(partners)
        winner = _root(j, lost_to)
        if kind == NEAR_DUPLICATE and _fuller(fps[i], fps[winner]):
            kept[slot[winner]] = i
            slot[i] = slot.pop(winner)
            lost_to[winner], reasons[winner] = i, NEAR_DUPLICATE
        else:
            lost_to[i], reasons[i] = winner, kind

    chosen_ids = kept[: config.max_articles]
    sections = _compile_sections(config.sections)
    chosen = [Chosen(candidates[i], _section(candidates[i], sections)) for i in chosen_ids]
    skipped = []
    over = set(kept[config.max_articles :])
    for i in order:
        a = candidates[i]
        if i not in fps:
            skipped.append(Skipped(a, TOO_OLD))
        elif i in sent:
            skipped.append(Skipped(a, *sent[i]))
        elif i in lost_to:
            skipped.append(Skipped(a, reasons[i], candidates[_root(i, lost_to)].title))
        elif i in over:
            skipped.append(Skipped(a, OVER_LIMIT))
    return Selection(chosen, skipped)


def _stable_order(candidates: Sequence[Article], ref: dt.date | None) -> list[int]:
    """Newest page first, pages of one date in reading order, page order within each."""
    first_seen: dict[str, int] = {}
    for i, a in enumerate(candidates):
        first_seen.setdefault(a.source, i)

    def key(i: int) -> tuple[int, int, int]:
        a = candidates[i]
        day = a.date or ref
        return (-day.toordinal() if day else 0, first_seen[a.source], i)

    return sorted(range(len(candidates)), key=key)


def _root(i: int, lost_to: dict[int, int]) -> int:
    while i in lost_to:
        i = lost_to[i]
    return i


def _fuller(a: Fingerprint, b: Fingerprint) -> bool:
    """`a` is the fuller copy: the whole article over an excerpt, else a tenth longer."""
    if a.excerpt != b.excerpt:
        return b.excerpt
    return a.words > 1.1 * b.words


class _Batch:
    """The live candidates with their fingerprints, and the facts they hold."""

    def __init__(
        self, candidates: Sequence[Article], fps: dict[int, Fingerprint], ref: dt.date | None
    ):
        self.candidates = candidates
        self.fps = fps
        self.ref = ref
        self.fact_holders: dict[int, list[int]] = defaultdict(list)
        for i, fp in fps.items():
            for k in fp.facts:
                self.fact_holders[k].append(i)

    def day(self, i: int) -> int | None:
        d = self.candidates[i].date or self.ref
        return d.toordinal() if d else None

    def terms(self, i: int) -> Counter[int]:
        return terms(self.fps[i], self.candidates[i])

    def relations(self) -> dict[int, dict[int, str]]:
        """For each candidate, the batch candidates it copies or shares its story with."""
        rel: dict[int, dict[int, str]] = defaultdict(dict)

        def link(i: int, j: int, kind: str) -> None:
            if _STRENGTH[kind] > _STRENGTH.get(rel[i].get(j, ""), 0):
                rel[i][j] = rel[j][i] = kind

        groups: dict[int, list[int]] = defaultdict(list)
        for i, fp in self.fps.items():
            groups[fp.exact].append(i)
        for members in groups.values():
            for j in members[1:]:
                link(members[0], j, DUPLICATE)

        buckets: dict[int, list[int]] = defaultdict(list)
        for i, fp in self.fps.items():
            for k in fp.bands.tolist():
                buckets[k].append(i)
        for i, j in _bucket_pairs(buckets.values()):
            if j in rel[i]:
                continue
            a, b = self.fps[i], self.fps[j]
            jac, cont = exact_similarity(a.shingles, b.shingles)
            lead = lead_similarity(a.lead, b.lead)
            if is_near_duplicate(jac, cont, lead, min(a.size, b.size)):
                link(i, j, NEAR_DUPLICATE)

        total = len(self.fps)
        anchors = {
            k: holders
            for k, holders in self.fact_holders.items()
            if len(holders) > 1 and _is_anchor(len(holders), total)
        }
        pairs = {
            p for holders in anchors.values() for p in _pairs(holders) if p[1] not in rel[p[0]]
        }
        if not pairs:
            return rel
        df = self._idf({i for p in pairs for i in p}, {}, 0)
        for i, j in pairs:
            if not self._close_in_time(self.day(i), self.day(j)):
                continue
            a, b = self.fps[i], self.fps[j]
            shared = [(a.facts[k], len(self.fact_holders[k])) for k in a.facts.keys() & b.facts]
            evidence = story_evidence(shared)
            overlap = story_overlap(shared, a.fact_weight, b.fact_weight)
            if is_same_story(evidence, overlap, 1.0) and is_same_story(
                evidence, overlap, cosine(self.terms(i), self.terms(j), df)
            ):
                link(i, j, SAME_STORY)
        return rel

    def _close_in_time(self, a: int | None, b: int | None) -> bool:
        return a is None or b is None or abs(a - b) <= STORY_WINDOW_DAYS

    def _idf(
        self, involved: set[int], sent_df: dict[int, int], sent_count: int
    ) -> dict[int, float]:
        """Inverse document frequency over the sent articles and the involved candidates."""
        df: Counter[int] = Counter(sent_df)
        for i in involved:
            df.update(self.terms(i).keys())
        n = sent_count + len(involved)
        return {t: math.log((n + 1) / (c + 1)) + 1 for t, c in df.items()}


def _is_anchor(df: int, total: int) -> bool:
    return df <= max(ANCHOR_MIN_DF, ANCHOR_MAX_SHARE * total)


def _pairs(members: list[int]) -> Iterable[tuple[int, int]]:
    for n, i in enumerate(members):
        for j in members[n + 1 : MAX_BUCKET if n else None]:
            yield (i, j)


def _bucket_pairs(buckets: Iterable[list[int]]) -> set[tuple[int, int]]:
    return {p for members in buckets if len(members) > 1 for p in _pairs(members)}


def _against_history(batch: _Batch, history: History) -> dict[int, tuple[str, str]]:
    """Candidates already sent, as copies or as the same story: (reason, sent title)."""
    fps = batch.fps
    if not fps or not history.count():
        return {}
    by_key: dict[int, list[int]] = defaultdict(list)
    for i, fp in fps.items():
        for k in (fp.exact, *fp.ids, *fp.bands.tolist()):
            by_key[k].append(i)
    exact_hits: dict[int, set[int]] = defaultdict(set)
    band_hits: dict[int, set[int]] = defaultdict(set)
    for key, aid in history.matching_keys(by_key):
        for i in by_key[key]:
            fp = fps[i]
            (exact_hits if key == fp.exact or key in fp.ids else band_hits)[i].add(aid)
    sent = history.articles(
        {a for hits in (exact_hits, band_hits) for s in hits.values() for a in s}
    )
    out: dict[int, tuple[str, str]] = {}
    for i, aids in exact_hits.items():
        out[i] = (ALREADY_SENT, sent[min(aids)].title)
    for i, aids in band_hits.items():
        if i in out:
            continue
        fp = fps[i]
        best = None
        for aid in sorted(aids):
            h = sent[aid]
            jac, cont = estimated_similarity(fp.signature, h.signature, fp.size, h.shingles)
            lead = lead_similarity(fp.lead, h.lead)
            if is_near_duplicate(jac, cont, lead, min(fp.size, h.shingles)) and (
                best is None or jac > best[0]
            ):
                best = (jac, h.title)
        if best:
            out[i] = (NEAR_DUPLICATE, best[1])
    out.update(_same_story_in_history(batch, history, set(out)))
    return out


def _same_story_in_history(
    batch: _Batch, history: History, settled: set[int]
) -> dict[int, tuple[str, str]]:
    fps = batch.fps
    days = [d for d in map(batch.day, fps) if d is not None]
    since = (max(days) if days else dt.date.today().toordinal()) - STORY_WINDOW_DAYS
    rows = history.facts_since(batch.fact_holders, since)
    sent_holders: dict[int, set[int]] = defaultdict(set)
    for key, aid in rows:
        sent_holders[key].add(aid)
    total = len(fps) + len({aid for _, aid in rows})
    pairs: set[tuple[int, int]] = set()
    for key, aids in sent_holders.items():
        df = len(aids) + len(batch.fact_holders[key])
        if _is_anchor(df, total):
            pairs.update(
                (i, aid) for i in batch.fact_holders[key] if i not in settled for aid in aids
            )
    if not pairs:
        return {}
    facts_of: dict[int, set[int]] = defaultdict(set)
    for key, aid in rows:
        facts_of[aid].add(key)
    scored = []
    for i, aid in pairs:
        fp = fps[i]
        shared = [
            (fp.facts[k], len(sent_holders[k]) + len(batch.fact_holders[k]))
            for k in fp.facts.keys() & facts_of[aid]
        ]
        evidence = story_evidence(shared)
        if evidence >= STORY_EVIDENCE:
            scored.append((i, aid, evidence, shared))
    if not scored:
        return {}
    sent = history.articles({aid for _, aid, _, _ in scored})
    involved = {i for i, *_ in scored}
    words = {t for aid in sent for t in sent[aid].terms}
    words.update(t for i in involved for t in batch.terms(i))
    idf = batch._idf(involved, history.term_frequencies(words), history.count())
    out: dict[int, tuple[str, str]] = {}
    for i, aid, evidence, shared in sorted(scored, key=lambda s: -s[2]):
        h = sent[aid]
        overlap = story_overlap(shared, fps[i].fact_weight, h.fact_weight)
        if (
            i not in out
            and is_same_story(evidence, overlap, 1.0)
            and is_same_story(evidence, overlap, cosine(batch.terms(i), h.terms, idf))
        ):
            out[i] = (SAME_STORY, h.title)
    return out


# --- sections --------------------------------------------------------------------------------


def _compile_sections(
    sections: Sequence[tuple[str, Sequence[str]]],
) -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for name, keywords in sections:
        words = [r"\s+".join(map(re.escape, k.split())) for k in keywords if k.strip()]
        if words:
            out.append((name, re.compile(r"\b(?:" + "|".join(words) + r")\b", re.I)))
    return out


def _section(article: Article, sections: list[tuple[str, re.Pattern[str]]]) -> str:
    title = _UNICODE_PUNCT.sub(" ", article.title)
    for name, pattern in sections:
        if pattern.search(title):
            return name
    body = _UNICODE_PUNCT.sub(" ", article.text)
    best, hits = DEFAULT_SECTION, 0
    for name, pattern in sections:
        n = len(pattern.findall(body))
        if n > hits:
            best, hits = name, n
    return best
