"""What an article is compared by: word shingles, their MinHash, LSH band keys, identity keys.

Everything here is computed once per article per run (`fingerprint`), and the same values are
stored with what is sent, so a later run compares against them without recomputing.

MinHash is our own, value for value the same as datasketch's `MinHash(num_perm, seed,
scheme="affine32")` (tests/test_neardup.py checks it): datasketch's package import pulls in
scipy (about 0.5-1 s), and its `update_batch` is many times slower. The per-word loops (the
words' hashes, their shingles, the MinHash) are C, in kernels.c.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np

from ..models import BODY_KINDS, Article
from ..state.sent import NAME_BIT
from ..text import (
    HEADLINE_WORDS,
    STOP_WORD_BYTES,
    UNICODE_PUNCT,
    content_words,
    folded,
    headline,
    is_article_url,
    normal_url,
    without_dateline,
)
from . import kernels
from .facts import (
    CLASSES,
    FACT_CHARS,
    NAME_WORD,
    fact_classes,
    fact_weight,
    facts,
    name_word_key,
    name_words,
)
from .keys import KeySet, key64
from .ragged import Ragged

NUM_PERM = 64  # MinHash size: 64 keeps one 10k-candidate selection within its time budget
MINHASH_SEED = 1
SHINGLE_WORDS = 3
LEAD_WORDS = 24  # the opening words, signed apart: an excerpt opens like its full article
FULL_BANDS, FULL_ROWS = 21, 3  # LSH over the body: P(pair found) 0.87 at J=0.45, 0.99 at 0.6
LEAD_BANDS, LEAD_ROWS = 4, 4  # LSH over the opening (its first 16 MinHash values)
LEAD_PERM = LEAD_BANDS * LEAD_ROWS
TERMS_KEPT = 48  # content words stored per sent article for the cosine
NAMES_KEPT = 24  # name words stored with them
_TERMS_AT_ONCE = 1024  # articles whose terms (or bands) are made in one go: ~15 MB


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations (minhash.py `_init_permutations`): odd a, any b."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


_PERM_A, _PERM_B = _permutations(NUM_PERM, MINHASH_SEED)


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def word_hashes(words: Sequence[bytes]) -> np.ndarray:
    """CRC-32 of each word, as text_words hashes a text's words."""
    return np.fromiter(map(zlib.crc32, words), np.uint32, len(words))


def _ascii_folding() -> bytes:
    """The byte `folded` writes for each character it folds into one ASCII byte alone (ASCII
    and the quotes, dashes and spaces it makes spaces), by code point; 0xFF for the rest."""
    folding = bytearray([0xFF]) * (max(map(ord, UNICODE_PUNCT)) + 1)
    for c in (*map(chr, range(128)), *UNICODE_PUNCT):
        (folding[ord(c)],) = folded(c)
    return bytes(folding)


_ASCII_FOLDING = _ascii_folding()


def text_words(text: str) -> np.ndarray:
    """The word hashes of `tokens(text)`, made in one pass over its folded bytes; folded in
    C when each character folds alone (an English article in 3 us, not 8)."""
    ascii_folded = kernels.ascii_folded(text, _ASCII_FOLDING)
    return np.frombuffer(
        kernels.word_hashes(folded(text) if ascii_folded is None else ascii_folded), np.uint32
    )


def shingle_hashes(h: np.ndarray) -> np.ndarray:
    """32-bit hashes of the word shingles (a text shorter than a shingle is one shingle)."""
    return np.frombuffer(kernels.shingle_hashes(h, SHINGLE_WORDS), np.uint32)


def minhash(shingles: np.ndarray, out: np.ndarray) -> None:
    """The MinHash of a set of shingles into `out` (uint32, one value per permutation: the
    first len(out) permutations); an empty set keeps the maximum."""
    kernels.minhash(shingles, _PERM_A[: len(out)], _PERM_B[: len(out)], out)


def signatures(shingle_sets: Sequence[np.ndarray], num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash signatures (rows of `num_perm` uint32) of many texts."""
    out = np.empty((len(shingle_sets), num_perm), np.uint32)
    for shingles, row in zip(shingle_sets, out, strict=True):
        minhash(shingles, row)
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


def lsh_bands(sigs: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """The LSH keys of many articles: FULL_BANDS of the body, then LEAD_BANDS of the
    opening; a block of rows at a time (a whole batch's temporaries would be 1 KB an
    article)."""
    out = np.empty((len(sigs), FULL_BANDS + LEAD_BANDS), np.int64)
    for start in range(0, len(sigs), _TERMS_AT_ONCE):
        rows = slice(start, start + _TERMS_AT_ONCE)
        out[rows, :FULL_BANDS] = band_keys(sigs[rows], FULL_BANDS, FULL_ROWS, 1)
        out[rows, FULL_BANDS:] = band_keys(leads[rows], LEAD_BANDS, LEAD_ROWS, 2)
    return out


_WORD_MASK = np.uint32(NAME_BIT - 1)
STOP_WORD_HASHES = KeySet(
    np.array(sorted({zlib.crc32(w) & (NAME_BIT - 1) for w in STOP_WORD_BYTES}), np.uint32)
)


def opening_hashes(title: str, text: str) -> np.ndarray:
    """The word hashes of the title and the opening (FACT_CHARS) of the body."""
    return text_words(title + " " + text[:FACT_CHARS])


def story_terms(
    openings: Sequence[np.ndarray], names_used: Sequence[Sequence[str]]
) -> tuple[Ragged, Ragged]:
    """What the same-story score compares (similarity.py), for many articles at once: the
    TERMS_KEPT most frequent content words of the title and opening (`openings`: their
    opening_hashes), and the NAMES_KEPT most frequent words of the names it uses
    (`names_used`: its name_words; their hashes with NAME_BIT set, each counted once).
    History keeps the same. A row of term hashes per article, most frequent words first
    (the first seen first among equals) then its names; and a row of their counts."""
    if len(openings) > _TERMS_AT_ONCE:  # memory stays small
        parts = [
            story_terms(openings[at : at + _TERMS_AT_ONCE], names_used[at : at + _TERMS_AT_ONCE])
            for at in range(0, len(openings), _TERMS_AT_ONCE)
        ]
        return Ragged.concat([t for t, _ in parts]), Ragged.concat([c for _, c in parts])
    rows = np.repeat(np.arange(len(openings)), [len(h) for h in openings])
    flat = np.concatenate([np.zeros(0, np.uint32), *openings]) & _WORD_MASK
    content = ~STOP_WORD_HASHES.contains(flat)
    per_row = np.bincount(rows[content], minlength=len(openings))
    top_words, word_counts, word_lengths = _most_common(flat[content], per_row, TERMS_KEPT)
    names = word_hashes([w.encode() for n in names_used for w in n]) | np.uint32(NAME_BIT)
    per_row = np.array([len(n) for n in names_used], np.int64)
    top_names, _, name_lengths = _most_common(names, per_row, NAMES_KEPT)
    # Each article's words, then its names. A name counts once however often it recurs: a
    # place named again and again ("Aralsk") would outweigh the people who tell two events
    # there apart.
    rows = np.repeat(
        np.tile(np.arange(len(openings)), 2), np.concatenate([word_lengths, name_lengths])
    )
    order = np.argsort(rows, kind="stable")
    terms = np.concatenate([top_words, top_names])[order]
    counts = np.concatenate([word_counts, np.ones(len(top_names), np.uint32)])[order]
    counts = counts.astype(np.uint16)  # an opening (FACT_CHARS) holds far fewer words
    lengths = word_lengths + name_lengths
    return Ragged.of(terms, lengths), Ragged.of(counts, lengths)


def _most_common(
    values: np.ndarray, lengths: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's `n` most frequent `values` (uint32; rows of `lengths`, one after another)
    as Counter.most_common gives them (the first seen first among equals): the values kept,
    their counts (uint32) and how many each row kept."""
    kept, counts, kept_lengths = kernels.most_common(values, lengths, n)
    return (
        np.frombuffer(kept, np.uint32),
        np.frombuffer(counts, np.uint32),
        np.frombuffer(kept_lengths, np.int64),
    )


def headline_words(title: str) -> frozenset[int]:
    """The content words of a headline without its republishing labels."""
    return frozenset(map(zlib.crc32, content_words(headline(title))))


PARAGRAPH_WORDS = 8  # shorter paragraphs (datelines, one-line quotes) are not compared


def paragraph_keys(article: Article) -> list[int]:
    """The key of each body paragraph long enough to tell: the same paragraph in two
    articles that are not copies is a paragraph mixed in from another story."""
    return [key64("para", words) for words in _long_paragraphs(article)]


def paragraph_words(article: Article) -> dict[int, list[bytes]]:
    """The words of each paragraph `paragraph_keys` keys, by its key."""
    return {key64("para", words): words.split() for words in _long_paragraphs(article)}


def _long_paragraphs(article: Article) -> Iterator[bytes]:
    """The words (`tokens`) of each body paragraph of PARAGRAPH_WORDS or more, joined by
    single spaces (in C: splitting each paragraph into words was half of its key's time)."""
    for p in article.paragraphs:
        if p.kind in BODY_KINDS:
            words, count = kernels.squeezed(folded(p.text))
            if count >= PARAGRAPH_WORDS:
                yield words


def headline_key(words: frozenset[int]) -> int | None:
    """The key of a headline's content words, when there are enough of them to name a story:
    republished tellings keep the headline (less its labels) when their texts share little."""
    if len(words) < HEADLINE_WORDS:
        return None
    return key64("headline", struct.pack(f"<{len(words)}I", *sorted(words)))  # uint32 each


def identity_keys(article: Article) -> tuple[int, ...]:
    """Keys that name this article whatever its text: its GUID within its feed (another feed's
    GUID means nothing) and its link when that names an article."""
    ids = []
    if article.guid and article.guid.strip():
        ids.append(key64("guid", article.source, article.guid.strip()))
    if is_article_url(article.url):
        ids.append(key64("url", normal_url(article.url)))
    return tuple(ids)


@dataclass(eq=False)
class Fingerprints:
    """What selection compares many articles by, a row each; what is sent stores the same."""

    articles: Sequence[Article]
    exact: np.ndarray  # int64: key of the normalised title and body
    ids: Ragged  # int64 identity keys: GUID within its feed, article URL
    words: np.ndarray  # int64: words of the body (of the title when the body has none)
    size: np.ndarray  # int64: number of body shingles
    signature: np.ndarray  # (rows, NUM_PERM) uint32: MinHash of the body's shingles
    lead: np.ndarray  # (rows, LEAD_PERM) uint32: MinHash of the opening LEAD_WORDS
    bands: np.ndarray  # (rows, FULL_BANDS + LEAD_BANDS) int64 LSH keys: body, then opening
    facts: Ragged  # int64 fact keys (facts, then name words), in the order they were found
    kinds: np.ndarray  # uint8: the kind of each fact (facts.py's kinds are one ASCII letter)
    fact_weight: np.ndarray  # float: all its facts, weighted by kind
    classes: np.ndarray  # (rows, len(CLASSES)) int64: how many facts of each class it states
    headline: Ragged  # uint32 headline_words, sorted
    headline_key: np.ndarray  # int64 headline_key; 0 where the headline has too few words
    excerpt: np.ndarray  # bool
    terms: Ragged  # uint32 term hashes (story_terms)
    counts: Ragged  # uint16: the count of each term
    # the keys of its body paragraphs, made when first asked (of the few articles compared
    # as the same story, and of those remembered)
    _paragraphs: dict[int, frozenset[int]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.exact)

    @classmethod
    def joined(cls, parts: list[Fingerprints], articles: Sequence[Article]) -> Fingerprints:
        """The rows of `parts` (made apart: a chunk of articles each), in order, as one
        Fingerprints of `articles`. The parts are emptied a column at a time as it is
        joined: memory holds one column twice at most."""
        if not parts:
            return fingerprint([])
        if len(parts) == 1:
            return replace(parts[0], articles=articles)
        columns = {}
        for f in fields(cls):
            values = [getattr(part, f.name) for part in parts]
            if isinstance(values[0], np.ndarray):
                columns[f.name] = np.concatenate(values)
            elif isinstance(values[0], Ragged):
                columns[f.name] = Ragged.concat(values)
            else:
                continue  # the articles, given; the paragraphs, made again when asked
            del values
            for part in parts:
                setattr(part, f.name, None)
        return cls(articles=articles, **columns)

    def facts_of(self, row: int) -> dict[int, str]:
        """Its facts: key -> kind."""
        a, b = self.facts.starts[row], self.facts.starts[row + 1]
        return dict(zip(self.facts.values[a:b].tolist(), map(chr, self.kinds[a:b]), strict=True))

    def headline_of(self, row: int) -> frozenset[int]:
        return frozenset(self.headline[row].tolist())

    def key_of_headline(self, row: int) -> int | None:
        return int(self.headline_key[row]) if len(self.headline[row]) >= HEADLINE_WORDS else None

    def paragraphs(self, row: int) -> frozenset[int]:
        """The keys of its body paragraphs."""
        keys = self._paragraphs.get(row)
        if keys is None:
            keys = self._paragraphs[row] = frozenset(paragraph_keys(self.articles[row]))
        return keys


class _Columns:
    """Fingerprints, article by article, in flat arrays of machine numbers."""

    def __init__(self) -> None:
        self.exact, self.words, self.size = array("q"), array("q"), array("q")
        self.ids, self.id_counts = array("q"), array("q")
        self.facts, self.kinds, self.fact_counts = array("q"), bytearray(), array("q")
        self.fact_weight, self.classes = array("d"), array("q")
        self.headline, self.headline_counts = array("I"), array("q")
        self.headline_key, self.excerpt = array("q"), bytearray()

    def add(
        self,
        exact: int,
        ids: tuple[int, ...],
        words: int,
        size: int,
        facts: dict[int, str],
        heading: frozenset[int],
        excerpt: bool,
    ) -> None:
        self.exact.append(exact)
        self.ids.extend(ids)
        self.id_counts.append(len(ids))
        self.words.append(words)
        self.size.append(size)
        kinds = "".join(facts.values())  # a letter each
        self.facts.extend(facts)
        self.kinds += kinds.encode("ascii")
        self.fact_counts.append(len(facts))
        self.fact_weight.append(fact_weight(kinds))
        self.classes.extend(fact_classes(kinds))
        self.headline.extend(sorted(heading))
        self.headline_counts.append(len(heading))
        self.headline_key.append(headline_key(heading) or 0)
        self.excerpt.append(excerpt)

    def fingerprints(
        self,
        articles: Sequence[Article],
        signature: np.ndarray,
        lead: np.ndarray,
        bands: np.ndarray,
        terms: tuple[Ragged, Ragged],
    ) -> Fingerprints:
        def flat(values: array | bytearray, dtype: type) -> np.ndarray:
            """The values, in their own buffer (no copy)."""
            return np.frombuffer(values, dtype) if len(values) else np.zeros(0, dtype)

        return Fingerprints(
            articles,
            flat(self.exact, np.int64),
            Ragged.of(flat(self.ids, np.int64), flat(self.id_counts, np.int64)),
            flat(self.words, np.int64),
            flat(self.size, np.int64),
            signature,
            lead,
            bands,
            Ragged.of(flat(self.facts, np.int64), flat(self.fact_counts, np.int64)),
            flat(self.kinds, np.uint8),
            flat(self.fact_weight, np.float64),
            flat(self.classes, np.int64).reshape(len(articles), len(CLASSES)),
            Ragged.of(flat(self.headline, np.uint32), flat(self.headline_counts, np.int64)),
            flat(self.headline_key, np.int64),
            flat(self.excerpt, np.bool_),
            *terms,
        )


TextHashes = tuple[np.ndarray, np.ndarray]  # word hashes of the title, of the body


def text_hashes(article: Article) -> TextHashes:
    return text_words(article.title), text_words(article.text)


def exact_key(hashes: TextHashes) -> int:
    """The key of a normalised title and body: the same text is the same key."""
    return key64("text", hashes[0].tobytes(), hashes[1].tobytes())


def fingerprint(
    articles: Sequence[Article],
    hashes: Sequence[TextHashes] | None = None,
    exact: Sequence[int] | None = None,
) -> Fingerprints:
    """Fingerprints of many articles (`hashes`: their text_hashes, when already made; `exact`:
    their exact_key, when already asked of what was sent).
    Shingles are signed and dropped, and the openings once their terms are counted: memory
    stays small however many articles there are."""
    sigs = np.empty((len(articles), NUM_PERM), np.uint32)
    leads = np.empty((len(articles), LEAD_PERM), np.uint32)
    columns = _Columns()
    openings: list[np.ndarray] = []  # for story_terms, _TERMS_AT_ONCE articles at a time
    names: list[list[str]] = []
    terms: list[tuple[Ragged, Ragged]] = []

    for n, a in enumerate(articles):
        # Facts, names and words without the wire dateline: the day and the city it was filed
        # in are every report's of that desk that day ("БИШКЕК, 5 дек — РИА Новости."), and
        # made a GDP figure and a decree one story.
        text = without_dateline(a.text)
        title_hashes, body_hashes = hashes[n] if hashes is not None else text_hashes(a)
        key = exact[n] if exact is not None else exact_key((title_hashes, body_hashes))
        h = body_hashes if len(body_hashes) else title_hashes
        shingles = shingle_hashes(h)
        minhash(shingles, sigs[n])
        minhash(shingles[: LEAD_WORDS - SHINGLE_WORDS + 1], leads[n])
        fs = facts(a.title, text)
        names_used = name_words(a.title, text)
        for w in names_used:
            fs.setdefault(name_word_key(w), NAME_WORD)
        openings.append(opening_hashes(a.title, text))
        names.append(names_used)
        if len(openings) == _TERMS_AT_ONCE:
            terms.append(story_terms(openings, names))
            openings, names = [], []
        heading = headline_words(a.title)
        columns.add(key, identity_keys(a), len(h), len(shingles), fs, heading, a.excerpt)
    bands = lsh_bands(sigs, leads)
    terms.append(story_terms(openings, names))
    all_terms = Ragged.concat([t for t, _ in terms]), Ragged.concat([c for _, c in terms])
    return columns.fingerprints(articles, sigs, leads, bands, all_terms)
