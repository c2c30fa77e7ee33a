"""Selection: which candidates make the next digest, and why each of the others does not.

`select(candidates, history, config, as_of)` is a pure read: it never writes to the state
file (preview passes a read-only connection).

Order. Newest page first: the articles of the newest page in page order, then the other
pages by date, newest first, each in page order; pages of one date in the order they were
read. An undated article sorts as if dated on the reference day.

Window. `lookback_days` counts back from the reference day: `as_of` when given, else the
newest article date among the candidates; articles dated earlier are `too-old`. Articles
without a date count as new; articles dated after `as_of` are kept.

Duplicates. For each candidate in that order, the first that applies:
  already-sent    the same text as an article sent before (case, quotes, punctuation and
                  whitespace do not count), or the same feed GUID, or the same URL (scheme,
                  `www.`, fragment and tracking parameters do not count).
  near-duplicate  a changed copy (re-wrapped, new title, paragraph added or dropped, cut to
                  an excerpt, boilerplate added, a few words changed) of an article sent
                  before: a copy that changed is `near-duplicate` against history as in the
                  batch; `already-sent` is kept for the same text, GUID or URL.
  same-story      another article about an event reported in an article sent for a story
                  dated within STORY_WINDOW_DAYS.
  duplicate       the same text as an article earlier in this batch.
  near-duplicate  a changed copy of one earlier in this batch.
  same-story      another article about the event of one earlier in this batch.
Copies: word 3-shingles of the body, MinHash signatures (datasketch's affine32 permutations),
LSH band keys of the whole body and of its opening words to find pairs; shingle Jaccard, or
containment when both open alike (an excerpt), decides them (exact sets inside the batch,
MinHash estimates against history). Same story: the facts both articles state (dates,
amounts and numbers, names of people and organisations; each weighted by kind and by how
rare it is among the compared articles: a country or a president named everywhere counts for
little) must add up, make up a good share of the facts of the shorter one, and the two
articles' content words must agree (TF-IDF cosine, as a veto only: on its own it cannot tell
same-topic events apart). Thresholds, and what they were measured on, are below.

Inside the batch the fuller copy wins (the whole article over an excerpt, else a text at
least a tenth longer; otherwise the first) and takes the place of the first copy; for
same-story the first (newest) article wins. `duplicate_of` names the article the skipped
one lost to: the sent article's title, or the title of the batch article kept in its place.

Cap. The first `max_articles` survivors are chosen; the rest are `over-limit`.

Sections. With `sections` configured, an article goes to the first section (config order)
with a keyword in its title (case-insensitive, whole words), else to the section whose
keywords occur most often in its body (ties: config order). Articles matching no section,
and every article when none are configured, go to DEFAULT_SECTION ("Top stories").
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import hashlib
import itertools
import math
import re
import string
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

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
FACT_CHARS = 1500  # facts come from the title and the opening of the body
TERMS_KEPT = 48  # content words stored per sent article for the cosine

_PERM_A, _PERM_B = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, scheme="affine32").permutations
_MAX32 = np.uint32(0xFFFFFFFF)

# Quotes, dashes and spaces beyond ASCII: they separate words like their ASCII kin.
_UNICODE_PUNCT = (
    "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a"  # quotes
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2026\u2022\u00b7\u00a0"  # dashes, ..., bullets, nbsp
)
# One pass over the bytes: ASCII punctuation to spaces, ASCII capitals to lower case.
_ASCII_FOLD = bytes.maketrans(
    string.punctuation.encode() + string.ascii_uppercase.encode(),
    b" " * len(string.punctuation) + string.ascii_lowercase.encode(),
)


def _unicode_punct_to_spaces(text: str) -> str:
    if text.isascii():
        return text
    for ch in _UNICODE_PUNCT:  # a few fast scans beat one regex or str.translate here
        if ch in text:
            text = text.replace(ch, " ")
    return text


def tokens(text: str) -> list[bytes]:
    """Words of `text` for comparison: lower case, punctuation and quotes dropped."""
    text = _unicode_punct_to_spaces(text)
    if not text.isascii():  # most English text is ASCII once its quotes are gone
        text = text.lower()
    return text.encode().translate(_ASCII_FOLD).split()


def key64(kind: str, *parts: bytes | str) -> int:
    """A stable signed 64-bit key (SQLite INTEGER) for a kind of thing and its value."""
    data = b"\x1f".join(p.encode() if isinstance(p, str) else p for p in (kind, *parts))
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


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


def signatures(shingle_sets: Sequence[np.ndarray], num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash signatures (rows of `num_perm` uint32) of many texts, a few at a time.

    The same values as datasketch's `MinHash(num_perm, seed).update_batch(hashes)` with an
    identity hash function (tests/test_neardup.py checks it); an empty set keeps the maximum.
    Permutations run along rows into one reused buffer, so the minimum is taken over
    contiguous memory: many times faster than update_batch text by text.
    """
    a, b = _PERM_A[:num_perm, None], _PERM_B[:num_perm, None]
    out = np.full((len(shingle_sets), num_perm), _MAX32, np.uint32)
    lengths = np.fromiter(map(len, shingle_sets), np.int64, len(shingle_sets))
    buffer = np.empty(num_perm * max(_SIGN_CHUNK, int(lengths.max(initial=0))), np.uint32)
    start = 0
    while start < len(shingle_sets):
        end, size = start, 0
        while end < len(shingle_sets) and (end == start or size + lengths[end] <= _SIGN_CHUNK):
            size += lengths[end]
            end += 1
        rows = np.flatnonzero(lengths[start:end]) + start
        if len(rows):
            hashes = _fmix32(np.concatenate([shingle_sets[i] for i in rows]))
            permuted = buffer[: num_perm * len(hashes)].reshape(num_perm, len(hashes))
            with np.errstate(over="ignore"):
                np.multiply(a, hashes, out=permuted)
                np.add(permuted, b, out=permuted)
            offsets = np.concatenate([[0], np.cumsum(lengths[rows])[:-1]])
            out[rows] = np.minimum.reduceat(permuted, offsets, axis=1).T
        start = end
    return out


_SIGN_CHUNK = 16_384  # shingles per numpy call: the buffer stays in cache


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

_MONTHS = {
    m: n
    for n, m in enumerate(
        "January February March April May June July August "
        "September October November December".split(),
        1,
    )
}
_WORD = r"[A-Z][\w'\u2019.\-]*"
_NAME_RE = re.compile(rf"{_WORD}(?:\s+(?:(?:of|for|de|al)\s+)?{_WORD})+")
# Starts with a character class so the scan is fast; what precedes is checked in Python.
_NUMBER_RE = re.compile(
    r"[0-9][0-9,]*(?:\.[0-9]+)?(?:\s*(thousand|million|billion|trillion|mln|bn)\b)?"
    r"(\s*%|\s+percent\b)?"
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
_ABBREVIATIONS = set(
    "dr. mr. mrs. ms. st. jr. inc. plc. co. ltd. corp. gen. gov. sen. prof.".split()
)
# Names every article of a region names: weak evidence that two articles tell one story.
_COMMON_PLACES = {
    "central asia", "central asian", "united states", "south caucasus", "middle east",
    "european union", "united nations", "united kingdom", "south asia", "east asia",
    "russian federation", "soviet union",
}  # fmt: skip


def facts(title: str, text: str) -> dict[int, str]:
    """The checkable facts of an article (key -> kind): dates, amounts, names.

    Names come from the body only: a title in Title Case would read as one long name.
    """
    out: dict[int, str] = {}
    body = text[:FACT_CHARS]
    for part in (title, body):
        for m in _NUMBER_RE.finditer(part):
            start, number = m.start(), m[0]
            if start and (part[start - 1].isalnum() or part[start - 1] in ".,"):
                continue  # inside a word or a longer number
            scale, percent = m[1], m[2]
            digits = number[: len(number) - len(percent or "")].split()[0].rstrip(".,")
            plain = not (scale or percent or "." in digits)
            value = float(digits.replace(",", "") or 0)
            if plain and value <= 31:
                month = _month_near(part, start, m.end())
                if month:
                    out[_fact_key("date", f"{month}-{int(value)}")] = DATE
                    continue
            if plain and 1900 <= value <= 2100:
                continue  # a year: the dates carry it
            value *= _SCALE[scale] if scale else 1
            kind = AMOUNT if not plain else NAME if value >= 100 else WEAK
            out.setdefault(_fact_key("num", f"{value:g}{'%' if percent else ''}"), kind)
    for m in _NAME_RE.finditer(body):
        for name in _names(m[0]):
            out.setdefault(_fact_key("name", name), WEAK if name in _COMMON_PLACES else NAME)
    return out


def _month_near(text: str, start: int, end: int) -> int | None:
    """The month named just before ("January 27") or after ("27 January") a day number."""
    before = text[max(0, start - 10) : start].split()
    if before and before[-1] in _MONTHS and text[start - 1].isspace():
        return _MONTHS[before[-1]]
    after = text[end : end + 11].split()
    if after and text[end : end + 1].isspace():
        return _MONTHS.get(after[0].rstrip(".,;:"))
    return None


@functools.lru_cache(maxsize=1 << 16)
def _fact_key(kind: str, value: str) -> int:
    return key64(kind, value)


@functools.lru_cache(maxsize=1 << 16)  # the same names recur from article to article
def _names(run: str) -> tuple[str, ...]:
    """The names in a run of capitalised words: split where a sentence ends or at a
    possessive ("Tajikistan's Sipar Group"), without sentence openers and titles."""
    names: list[str] = []
    words: list[str] = []
    for word in run.split():
        end = word.endswith(".") and not _is_abbreviation(word)
        word = word.rstrip(".")
        possessive = word.endswith(_POSSESSIVES)
        if possessive:
            word = word[: -2 if word[-1] == "s" else -1]
        if word:
            words.append(_plain(word))
        if end or possessive:  # the owner ends at its possessive: "Gideon Sa'ar's visit"
            _add_name(words, names)
            words = []
    _add_name(words, names)
    return tuple(names)


_POSSESSIVES = ("'s", "\u2019s", "'", "\u2019")


def _is_abbreviation(word: str) -> bool:
    """ "U.S." or "Dr.": a full stop that does not end the sentence."""
    return word.lower() in _ABBREVIATIONS or (
        len(word) <= 6 and word[::2].isupper() and word[1::2] == "." * (len(word) // 2)
    )


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


_STOPWORDS = frozenset(
    b"""a about above after again against all also am an and any are as at be because
been before being below between both but by can could did do does doing down during each few for
from further had has have having he her here hers him his how i if in into is it its itself just
me more most my no nor not now of off on once only or other our out over own same she should so
some such than that the their them then there these they this those through to too under until
up very was we were what when where which while who whom why will with would you your said says
say one two three per via may might must new year years including well according told
b c d e f g h j k l m n o p q r s t u v w x y z
""".split()
)


_STOP_HASHES = np.array(sorted({zlib.crc32(w) for w in _STOPWORDS}), np.uint32)


def term_counts(title: str, text: str) -> Counter[int]:
    """Content-word counts (by word hash) for the TF-IDF cosine."""
    words, counts = np.unique(word_hashes(tokens(title + " " + text)), return_counts=True)
    keep = ~np.isin(words, _STOP_HASHES)
    return Counter(dict(zip(words[keep].tolist(), counts[keep].tolist(), strict=True)))


@dataclass
class Fingerprint:
    """What selection compares an article by; `remember` stores the same."""

    exact: int  # key of the normalised title and body
    ids: tuple[int, ...]  # keys of the feed GUID and the URL
    words: int
    size: int  # number of body shingles
    signature: np.ndarray  # MinHash of the body's shingles, NUM_PERM uint32
    lead: np.ndarray  # MinHash of the opening LEAD_WORDS, LEAD_PERM uint32
    bands: np.ndarray  # LSH keys: FULL_BANDS of the whole body, then LEAD_BANDS of its opening
    facts: dict[int, str]
    fact_weight: float  # all its facts, weighted by kind
    excerpt: bool
    _terms: Counter[int] | None = field(default=None, repr=False)


def body_shingles(article: Article) -> np.ndarray:
    """The body's shingle hashes (the title's when there is no body)."""
    return shingle_hashes(word_hashes(tokens(article.text) or tokens(article.title)))


def fingerprint(articles: Sequence[Article]) -> list[Fingerprint]:
    """Fingerprints of many articles. Shingles are signed a batch at a time and dropped:
    memory stays small however many articles there are."""
    sigs = np.empty((len(articles), NUM_PERM), np.uint32)
    leads = np.empty((len(articles), LEAD_PERM), np.uint32)
    pending: list[np.ndarray] = []
    pending_size = 0
    partial = []

    def sign(end: int) -> None:
        start = end - len(pending)
        sigs[start:end] = signatures(pending)
        openings = [s[: LEAD_WORDS - SHINGLE_WORDS + 1] for s in pending]
        leads[start:end] = signatures(openings, LEAD_PERM)
        pending.clear()

    for n, a in enumerate(articles):
        text = a.text
        title_hashes, body_hashes = word_hashes(tokens(a.title)), word_hashes(tokens(text))
        exact = key64("text", title_hashes.tobytes(), body_hashes.tobytes())
        ids = [key64("guid", a.guid.strip())] if a.guid and a.guid.strip() else []
        if a.url:
            ids.append(key64("url", normal_url(a.url)))
        h = body_hashes if len(body_hashes) else title_hashes
        shingles = shingle_hashes(h)
        pending.append(shingles)
        pending_size += len(shingles)
        if pending_size >= 4 * _SIGN_CHUNK:
            sign(n + 1)
            pending_size = 0
        fs = facts(a.title, text)
        partial.append(
            (exact, tuple(ids), len(h), len(shingles), fs, fact_weight(fs.values()), a.excerpt)
        )
    sign(len(articles))
    bands = np.hstack(
        [band_keys(sigs, FULL_BANDS, FULL_ROWS, 1), band_keys(leads, LEAD_BANDS, LEAD_ROWS, 2)]
    )
    return [
        Fingerprint(exact, ids, words, size, sigs[i], leads[i], bands[i], *rest)
        for i, (exact, ids, words, size, *rest) in enumerate(partial)
    ]


def top_terms(counts: Counter[int]) -> Counter[int]:
    """The TERMS_KEPT most frequent content words: what history keeps for the cosine."""
    return Counter(dict(counts.most_common(TERMS_KEPT)))


def terms(fp: Fingerprint, article: Article) -> Counter[int]:
    if fp._terms is None:
        fp._terms = top_terms(term_counts(article.title, article.text))
    return fp._terms


# --- deciding a pair -------------------------------------------------------------------------

# Thresholds measured on tests/test_neardup.py's labelled set (real articles, their changed
# copies, other outlets' reports of the same events, same-topic different events):
# - changed copies other than excerpts have shingle Jaccard >= 0.49 (>= 0.45 estimated from
#   64-value MinHashes); different articles <= 0.11 (<= 0.14 estimated).
NEAR_JACCARD = 0.3
# - excerpts hold >= 0.92 of their shingles inside the full article (>= 0.66 estimated);
#   different articles reach 0.44 (0.67 estimated, short rewrites of one story) but do not
#   open with the same words, as an excerpt does.
NEAR_CONTAINMENT = 0.6
NEAR_LEAD = 0.5  # MinHash Jaccard of the opening words
MIN_CONTAINED = 20  # fewer shingles than this is too little text to call it an excerpt
# - same-story pairs share facts worth >= 3.75 taken two by two (>= 3.2 weighted by rarity
#   among all 49 articles), same-topic different events <= 2.0 (<= 1.6);
STORY_EVIDENCE = 2.5
# - ... making up >= 0.52 of the facts of the article with fewer; different events <= 0.42;
STORY_OVERLAP = 0.3
# - content-word cosine of same-story pairs >= 0.30, but same-topic different events reach
#   0.38: the cosine cannot tell them apart alone; it only vetoes pairs whose shared facts are
#   a coincidence (unrelated articles sharing two facts stay below 0.07).
STORY_COSINE = 0.15
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


class HasFacts(Protocol):
    fact_weight: float


def story_evidence(shared: Iterable[tuple[str, int]], total: int) -> float:
    """Shared facts (kind, how many of the `total` compared articles hold it), each weighted
    by its kind and its rarity: 1 when only the two hold it, falling like its IDF."""
    if total <= 2:
        return sum(FACT_WEIGHTS[kind] for kind, _ in shared)
    top = math.log(total / 2)
    return sum(
        FACT_WEIGHTS[kind] * min(1.0, max(0.0, math.log(total / df) / top)) for kind, df in shared
    )


def fact_weight(kinds: Iterable[str]) -> float:
    return sum(FACT_WEIGHTS[kind] for kind in kinds)


def story_overlap(shared: Iterable[tuple[str, int]], a: HasFacts, b: HasFacts) -> float:
    """The shared facts' share of the facts of the article with fewer (by weight)."""
    small = min(a.fact_weight, b.fact_weight)
    return fact_weight(kind for kind, _ in shared) / small if small else 0.0


def cosine(a: Counter[int], b: Counter[int], idf: dict[int, float]) -> float:
    def weights(c: Counter[int]) -> dict[int, float]:
        return {t: (1 + math.log(n)) * idf.get(t, 1.0) for t, n in c.items()}

    wa, wb = weights(a), weights(b)
    dot = sum(w * wb[t] for t, w in wa.items() if t in wb)
    norm = math.sqrt(sum(w * w for w in wa.values()) * sum(w * w for w in wb.values()))
    return dot / norm if norm else 0.0


def facts_agree(evidence: float, overlap: float) -> bool:
    return evidence >= STORY_EVIDENCE and overlap >= STORY_OVERLAP


# --- selection -------------------------------------------------------------------------------

# Two articles are compared for same-story only when they share two anchors: facts (not weak
# ones) held by at most ANCHOR_MIN_DF, or ANCHOR_SHARE of, the compared articles. A fact in
# more is no sign of one story, and pairing on it would cost quadratic time.
ANCHOR_MIN_DF = 20
ANCHOR_SHARE = 0.002
EVIDENCE_MAX_DF = 200  # a fact in more compared articles is left out of the evidence
MAX_BUCKET = 50  # LSH bucket members compared with each other, beyond: only with the first
_STRENGTH = {DUPLICATE: 3, NEAR_DUPLICATE: 2, SAME_STORY: 1}


def select(
    candidates: list[Article],
    history: History,
    config: SelectionConfig,
    as_of: dt.date | None = None,
) -> Selection:
    """Choose the next digest's articles; every other candidate is skipped with its reason."""
    with paused_gc():
        return _select(candidates, history, config, as_of)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: selection makes many small acyclic objects, and
    with thousands of candidates in memory each full collection walks them all (a fifth of
    the time of a 10,000-candidate selection)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _select(
    candidates: list[Article], history: History, config: SelectionConfig, as_of: dt.date | None
) -> Selection:
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
        self.live = list(fps)
        self.bands = (
            np.vstack([fp.bands for fp in fps.values()])
            if fps
            else np.zeros((0, FULL_BANDS + LEAD_BANDS), np.int64)
        )
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

        for i, j in _bucket_pairs(self.live, self.bands):
            if j in rel[i]:
                continue
            a, b = self.fps[i], self.fps[j]
            jac, cont = exact_similarity(
                body_shingles(self.candidates[i]), body_shingles(self.candidates[j])
            )
            lead = lead_similarity(a.lead, b.lead)
            if is_near_duplicate(jac, cont, lead, min(a.size, b.size)):
                link(i, j, NEAR_DUPLICATE)

        limit = _anchor_limit(len(self.fps))
        anchors: Counter[tuple[int, int]] = Counter()
        for k, holders in self.fact_holders.items():
            if 1 < len(holders) <= limit and self.fps[holders[0]].facts[k] != WEAK:
                anchors.update(itertools.combinations(holders, 2))
        agree = []
        for (i, j), n in anchors.items():
            if n < 2 or j in rel[i] or not self._close_in_time(self.day(i), self.day(j)):
                continue
            a, b = self.fps[i], self.fps[j]
            shared = [
                (a.facts[k], len(self.fact_holders[k]))
                for k in a.facts.keys() & b.facts
                if len(self.fact_holders[k]) <= EVIDENCE_MAX_DF
            ]
            evidence = story_evidence(shared, len(self.fps))
            if facts_agree(evidence, story_overlap(shared, a, b)):
                agree.append((i, j))
        if agree:
            idf = self._idf({i for p in agree for i in p}, {}, 0)
            for i, j in agree:
                if cosine(self.terms(i), self.terms(j), idf) >= STORY_COSINE:
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


def _anchor_limit(total: int) -> float:
    return max(ANCHOR_MIN_DF, ANCHOR_SHARE * total)


def _pairs(members: list[int]) -> Iterable[tuple[int, int]]:
    for n, i in enumerate(members):
        for j in members[n + 1 : MAX_BUCKET if n else None]:
            yield (i, j)


def _bucket_pairs(live: list[int], bands: np.ndarray) -> set[tuple[int, int]]:
    """Pairs of candidates that share an LSH band key (most keys are unique: numpy finds
    the shared ones, Python only walks those)."""
    flat = bands.ravel()
    order = np.argsort(flat, kind="stable")
    keys = flat[order]
    same = keys[1:] == keys[:-1]
    shared = np.zeros(len(keys), bool)
    shared[1:] |= same
    shared[:-1] |= same
    buckets: dict[int, list[int]] = defaultdict(list)
    for key, row in zip(
        keys[shared].tolist(), (order[shared] // bands.shape[1]).tolist(), strict=True
    ):
        buckets[key].append(live[row])
    return {p for members in buckets.values() for p in _pairs(members)}


def _against_history(batch: _Batch, history: History) -> dict[int, tuple[str, str]]:
    """Candidates already sent, as copies or as the same story: (reason, sent title)."""
    fps = batch.fps
    if not fps or not history.count():
        return {}
    identity: dict[int, list[int]] = defaultdict(list)  # exact text, GUID, URL
    for i, fp in fps.items():
        for k in (fp.exact, *fp.ids):
            identity[k].append(i)
    keys = np.concatenate([batch.bands.ravel(), np.fromiter(identity, np.int64, len(identity))])
    sent_with: dict[int, list[int]] = defaultdict(list)
    for key, aid in history.matching_keys(keys):
        sent_with[key].append(aid)
    exact_hits: dict[int, set[int]] = defaultdict(set)
    band_hits: dict[int, set[int]] = defaultdict(set)
    for key, aids in sent_with.items():
        for i in identity.get(key, ()):
            exact_hits[i].update(aids)
    found = np.isin(batch.bands, np.fromiter(sent_with, np.int64, len(sent_with)))
    for row, col in zip(*np.nonzero(found), strict=True):
        band_hits[batch.live[row]].update(sent_with[int(batch.bands[row, col])])
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
    counts = history.fact_counts(batch.fact_holders, since)  # articles holding each fact

    def df(key: int) -> int:
        return counts.get(key, 0) + len(batch.fact_holders[key])

    compared = len(fps) + history.count_since(since)
    limit = _anchor_limit(compared)
    anchor_keys = [
        k for k in counts if df(k) <= limit and fps[batch.fact_holders[k][0]].facts[k] != WEAK
    ]
    anchors: Counter[tuple[int, int]] = Counter()
    sent_holders: dict[int, list[int]] = defaultdict(list)
    for key, aid in history.facts_since(anchor_keys, since):
        sent_holders[key].append(aid)
    for key, aids in sent_holders.items():
        mine = [i for i in batch.fact_holders[key] if i not in settled]
        anchors.update(itertools.product(mine, aids))
    pairs = [p for p, n in anchors.items() if n >= 2]
    if not pairs:
        return {}
    sent = history.articles({aid for _, aid in pairs})
    agree = []
    for i, aid in pairs:
        fp = fps[i]
        shared = [
            (fp.facts[k], df(k))
            for k in fp.facts.keys() & sent[aid].facts
            if df(k) <= EVIDENCE_MAX_DF
        ]
        evidence = story_evidence(shared, compared)
        if facts_agree(evidence, story_overlap(shared, fp, sent[aid])):
            agree.append((evidence, i, aid))
    if not agree:
        return {}
    involved = {i for _, i, _ in agree}
    words = {t for _, _, aid in agree for t in sent[aid].terms}
    words.update(t for i in involved for t in batch.terms(i))
    idf = batch._idf(involved, history.term_frequencies(words), history.count())
    out: dict[int, tuple[str, str]] = {}
    for _, i, aid in sorted(agree, reverse=True):
        h = sent[aid]
        if i not in out and cosine(batch.terms(i), h.terms, idf) >= STORY_COSINE:
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
    if not sections:
        return DEFAULT_SECTION
    title = _unicode_punct_to_spaces(article.title)
    for name, pattern in sections:
        if pattern.search(title):
            return name
    body = _unicode_punct_to_spaces(article.text)
    best, hits = DEFAULT_SECTION, 0
    for name, pattern in sections:
        n = len(pattern.findall(body))
        if n > hits:
            best, hits = name, n
    return best
