"""Selection's array forms give what their plain rules say: the words hashed, shingled and
MinHashed in C as in Python, story terms ranked as Counter.most_common ranks them, the pairs a
sparse product finds are those that share the keys, each pair once and where each row went,
where keys are in a sorted array, the weekdays scanned apart are those one scan of both
languages finds."""

from __future__ import annotations

import hashlib
import itertools
import re
import zlib
from collections import Counter
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from digest.models import Article, Paragraph
from digest.select import fingerprint as fingerprint_module
from digest.select import kernels
from digest.select.facts import NUMBER_RE, names_a_day, numbers, weekday_words
from digest.select.fingerprint import STOP_WORD_HASHES, word_hashes
from digest.select.keys import KeySet, distinct, key64, positions_in
from digest.select.pairs import pair_groups, pairs_within, unique_pairs
from digest.select.ragged import Ragged
from digest.text import STOP_WORDS, UNICODE_PUNCT, folded, tokens

WORDS = ["Astana", "grain", "the", "grain", "Tokayev", "wheat", "и", "Токаев", "exports", "said"]
# Text whose words the cut at FACT_CHARS or lower case could change: long words, quotes and
# dashes that separate words, a Greek capital sigma (lowered by what follows it), letters
# that lower to two.
ODD = [
    "Wheat—exports",
    "“grain”",
    "ΟΔΟΣ.",
    "ΟΔΟΣ\u0301.\u0301",  # the sigma lowers as the letter after the marks asks
    "Σ",
    "ΟΔΟΣ",
    "İstanbul",
    "\u212aelvin",
    "x" * 40,
    "U.S.",
]
WEEKDAYS = ["Monday", "sunday", "Thursday's", "Fridays", "в среду", "ПЯТНИЦУ", "вторника", "today"]


def plain_story_terms(title: str, text: str, names_used: list[str]) -> Counter[int]:
    """The rule story_terms follows, one article at a time."""
    mask = fingerprint_module.NAME_BIT - 1
    stop = {zlib.crc32(w.encode()) & mask for w in STOP_WORDS}
    words = Counter(
        zlib.crc32(w) & mask
        for w in tokens(title + " " + text[: fingerprint_module.FACT_CHARS])
        if zlib.crc32(w) & mask not in stop
    )
    out = Counter(dict(words.most_common(fingerprint_module.TERMS_KEPT)))
    names = Counter(zlib.crc32(w.encode()) | fingerprint_module.NAME_BIT for w in names_used)
    out.update({n: 1 for n, _ in names.most_common(fingerprint_module.NAMES_KEPT)})
    return out


texts = st.lists(st.sampled_from(WORDS + ODD + [f"w{n}" for n in range(60)]), max_size=400).map(
    " ".join
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(texts, texts, st.lists(st.sampled_from(["astn", "tkv", "grn", "x"]))),
        max_size=6,
    )
)
def test_story_terms_are_the_most_common_words_in_counter_order(articles):
    terms, counts = fingerprint_module.story_terms(
        [fingerprint_module.opening_hashes(title, body) for title, body, _ in articles],
        [names for _, _, names in articles],
    )
    got = [list(zip(terms[r].tolist(), counts[r].tolist(), strict=True)) for r in range(len(terms))]
    want = [plain_story_terms(*a) for a in articles]
    assert got == [list(t.items()) for t in want]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.binary(max_size=400))
def test_words_hashed_in_c_are_crc32_of_each_token(text, raw):
    """kernels.word_hashes splits where bytes.split() does (\x1c and \xa0 are no spaces to
    it) and hashes as zlib.crc32 does."""
    assert fingerprint_module.text_words(text).tolist() == [zlib.crc32(w) for w in tokens(text)]
    words = np.frombuffer(kernels.word_hashes(raw + b" \x0b\x1c\xa0"), np.uint32)
    assert words.tolist() == [zlib.crc32(w) for w in (raw + b" \x0b\x1c\xa0").split()]


# What kernels.ascii_folded folds alone (ASCII, the quotes, dashes and spaces `folded` makes
# spaces), and now and then a character it leaves to `folded`.
FOLDED_ALONE = st.text(
    st.characters(max_codepoint=127) | st.sampled_from(UNICODE_PUNCT + "ЁéΣİ\U0001f600"),
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(FOLDED_ALONE)
def test_text_folded_in_c_is_its_words_as_tokens_reads_them(text):
    assert fingerprint_module.text_words(text).tolist() == [zlib.crc32(w) for w in tokens(text)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.text(max_size=200))
def test_squeezed_in_c_is_the_words_joined_by_single_spaces(raw, text):
    """As b" ".join(data.split()) and its word count, for any bytes (the six ASCII spaces
    bytes.split() splits at; not \x1c or \xa0) and for folded text."""
    for data in (raw, b" \t\n\r\x0b\x0c" + raw + b"\x1c\xa0 ", folded(text)):
        assert kernels.squeezed(data) == (b" ".join(data.split()), len(data.split()))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), max_size=12), st.integers(1, 4))
def test_shingles_and_minhash_in_c_follow_their_formulas(values, k):
    words = np.array(values, np.uint32)
    n = min(k, len(words))
    want = [
        sum(values[i + j] * 0x01000193 ** (n - 1 - j) for j in range(n)) % 2**32
        for i in range(len(values) - n + 1 if values else 0)
    ]
    shingles = np.frombuffer(kernels.shingle_hashes(words, k), np.uint32)
    assert shingles.tolist() == want

    def fmix32(h: int) -> int:
        for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
            h = (h ^ (h >> shift)) * factor % 2**32
        return h ^ (h >> 16)

    a = np.array([1, 3, 2**32 - 1, 0x9E3779B1], np.uint32)
    b = np.array([0, 7, 2**32 - 1, 12345], np.uint32)
    out = np.zeros(4, np.uint32)
    kernels.minhash(shingles, a, b, out)
    least = [
        min(((x * fmix32(s) + y) % 2**32 for s in want), default=2**32 - 1)
        for x, y in zip(a.tolist(), b.tolist(), strict=True)
    ]
    assert out.tolist() == least


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 6), max_size=40), max_size=6), st.integers(0, 8))
def test_most_common_in_c_is_counter_most_common(rows, n):
    """Each row's n most frequent values, the first seen first among equals; values that
    differ only in their high bits stay apart."""
    rows = [[v * 0x10001 + (v & 1) * 2**31 for v in row] for row in rows]
    values = np.array([v for row in rows for v in row], np.uint32)
    kept, counts, lengths = kernels.most_common(values, np.array(list(map(len, rows)), np.int64), n)
    kept, counts = np.frombuffer(kept, np.uint32).tolist(), np.frombuffer(counts, np.uint32)
    at, got = 0, []
    for length in np.frombuffer(lengths, np.int64).tolist():
        got.append(
            list(zip(kept[at : at + length], counts[at : at + length].tolist(), strict=True))
        )
        at += length
    assert got == [Counter(row).most_common(n) for row in rows]


def test_c_kernels_refuse_arrays_of_other_numbers():
    """An array of other numbers, or one that is not contiguous, is an error, never read as
    the wrong values."""
    words = np.arange(12, dtype=np.uint32)
    for wrong in (words.astype(np.int64), words.view(np.int32), words[::2]):
        with pytest.raises((TypeError, ValueError)):
            kernels.shingle_hashes(wrong, 3)
    with pytest.raises((TypeError, ValueError)):
        kernels.minhash(words, words[:4], words[:4], np.zeros(4, np.int32))
    with pytest.raises(ValueError):
        kernels.minhash(words, words[:4], words[:3], np.zeros(4, np.uint32))
    big_endian = np.frombuffer(np.array([12], "<i8").tobytes(), ">i8")  # 12 * 2**56 as read
    for lengths in (
        np.array([5, 5]),
        np.array([13]),
        np.array([-1, 13]),
        np.array([12], np.int32),
        np.array([12], np.uint64),
        big_endian,
        np.array([2**62] * 4 + [12]),  # adds up to 12 modulo 2**64: never read past the values
    ):
        with pytest.raises(ValueError):
            kernels.most_common(words, lengths, 3)
    with pytest.raises(ValueError):
        kernels.most_common(words, np.array([12]), -1)
    for k in (0, -(10**9)):  # would read before or past the words
        with pytest.raises(ValueError):
            kernels.shingle_hashes(words, k)
    keys = words.astype(np.int64)
    for args in ((words, keys, np.zeros(12, np.int64)), (keys, keys, np.zeros(12, np.int32))):
        with pytest.raises(TypeError, match="must hold"):
            kernels.positions(*args, 0)
    with pytest.raises(ValueError):
        kernels.positions(keys, keys, np.zeros(11, np.int64), 0)
    with pytest.raises(TypeError, match="str"):
        kernels.digit_runs(b"12")


def _csr(rows: list[dict[int, float]], width: int) -> sparse.csr_array:
    """A float32 matrix of these rows ({column: value}) as the score's matrices are made."""
    cols = [c for row in rows for c in row]
    values = np.array([v for row in rows for v in row.values()], np.float32)
    holders = [r for r, row in enumerate(rows) for _ in row]
    return sparse.csr_array(
        (values, (np.array(holders, np.int32), np.array(cols, np.int32))),
        shape=(len(rows), width),
    )


_SPARSE_ROWS = st.lists(
    st.dictionaries(
        st.integers(0, 15), st.floats(-4, 4, allow_nan=False, width=32).filter(bool), max_size=9
    ),
    min_size=1,
    max_size=6,
)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(_SPARSE_ROWS, _SPARSE_ROWS, st.data(), st.booleans())
def test_row_dots_in_c_are_the_dot_products_of_each_pair_of_rows(rows_a, rows_b, data, weigh):
    """Each pair's dot product: each product in double, weighted, summed in column order
    (written out here in Python); and what scipy gives, within float32's rounding."""
    a, b = _csr(rows_a, 16), _csr(rows_b, 16)
    n = data.draw(st.integers(0, 12))
    pick_a = np.array(data.draw(st.lists(st.integers(0, len(rows_a) - 1), min_size=n, max_size=n)))
    pick_b = np.array(data.draw(st.lists(st.integers(0, len(rows_b) - 1), min_size=n, max_size=n)))
    weights = np.linspace(0.5, 2.0, 16) if weigh else None
    out = np.zeros(n)
    kernels.row_dots(
        (a.indptr, a.indices, a.data),
        pick_a.astype(np.int64),
        (b.indptr, b.indices, b.data),
        pick_b.astype(np.int64),
        weights,
        out,
    )
    expected = []
    for i, j in zip(pick_a.tolist(), pick_b.tolist(), strict=True):
        total = 0.0
        for col in sorted(set(rows_a[i]) & set(rows_b[j])):
            product = float(np.float32(rows_a[i][col])) * float(np.float32(rows_b[j][col]))
            total += product * (float(weights[col]) if weigh else 1.0)
        expected.append(total)
    assert out.tolist() == expected
    products = a[pick_a].multiply(b[pick_b]) if n else None
    if n:
        by_scipy = products @ weights if weigh else products.sum(axis=1, dtype=np.float64)
        assert np.allclose(out, by_scipy, rtol=1e-5, atol=1e-5)


def test_row_dots_refuse_what_they_cannot_read():
    """Other numbers, a row outside its matrix, a column without a weight: an error, never a
    read outside the arrays."""
    a = _csr([{0: 1.0, 5: 2.0}, {3: 1.0}], 8)
    parts = (a.indptr, a.indices, a.data)
    rows, out = np.array([0, 1], np.int64), np.zeros(2)
    kernels.row_dots(parts, rows, parts, rows, np.ones(8), out)
    assert out.tolist() == [5.0, 1.0]
    for wrong in (
        dict(a=(a.indptr, a.indices, a.data.astype(np.float64))),
        dict(a=(a.indptr.astype(np.uint32), a.indices, a.data)),
        dict(rows_a=rows.astype(np.int32)),
        dict(weights=np.ones(8, np.float32)),
        dict(out=np.zeros(2, np.float32)),
    ):
        args = dict(a=parts, rows_a=rows, b=parts, rows_b=rows, weights=None, out=out) | wrong
        with pytest.raises(TypeError):
            kernels.row_dots(*args.values())
    for rows_a in (np.array([0, 2]), np.array([-1, 0])):
        with pytest.raises(IndexError):
            kernels.row_dots(parts, rows_a, parts, rows, None, out)
    broken = (np.array([0, 2, 9], np.int32), a.indices, a.data)  # a row past the values
    with pytest.raises(IndexError):
        kernels.row_dots(broken, rows, broken, rows, None, out)
    with pytest.raises(IndexError):
        kernels.row_dots(parts, rows, parts, rows, np.ones(4), out)
    with pytest.raises(ValueError):
        kernels.row_dots(parts, rows, parts, rows[:1], None, out)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12)), max_size=120), st.integers(1, 3))
def test_pairs_within_are_the_pairs_sharing_enough_keys(held, at_least):
    holders: dict[int, set[int]] = {}
    for who, key in held:
        holders.setdefault(key, set()).add(who)
    shared: Counter[tuple[int, int]] = Counter()
    for members in holders.values():
        shared.update(itertools.combinations(sorted(members), 2))
    want = {pair for pair, n in shared.items() if n >= at_least}
    unique = sorted(set(held))
    got = pairs_within(
        np.array([w for w, _ in unique], np.int64),
        np.array([k for _, k in unique], np.int64),
        at_least,
    )
    assert set(map(tuple, got.tolist())) == want
    assert len(got) == len(want)  # each pair once


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20),
    st.lists(st.integers(0, 5), max_size=20),
)
def test_positions_in_a_sorted_array_are_where_each_key_is(stored, others, picks):
    sorted_keys = np.array(sorted(set(stored)), np.int64)
    keys = np.array(others + [stored[p] for p in picks if p < len(stored)], np.int64)
    where = {k: n for n, k in enumerate(sorted_keys.tolist())}
    for asked in (keys, np.sort(keys)):  # in no order, and in order
        got = positions_in(sorted_keys, asked).tolist()
        assert got == [where.get(k, -1) for k in asked.tolist()]


class _Shown(str):
    """A str whose printed form is not its text (as a str Enum's member)."""

    def __str__(self) -> str:
        return "shown"

    __format__ = None  # an f-string of it fails


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    st.text(),
    st.lists(st.one_of(st.text(), st.binary(), st.text().map(_Shown)), min_size=1, max_size=3),
)
def test_keys_are_the_blake2b_of_the_parts_joined(kind, parts):
    """Stored keys (what was sent, its facts, its texts) must never change: each is the
    first 8 bytes of the blake2b of its kind and parts in UTF-8, joined by 0x1f, read as a
    signed little-endian number, however the parts are given."""
    data = b"\x1f".join(p.encode() if isinstance(p, str) else p for p in (kind, *parts))
    digest = hashlib.blake2b(data, digest_size=8).digest()
    assert key64(kind, *parts) == int.from_bytes(digest, "little", signed=True)


@pytest.mark.parametrize("dtype", ["<i8", "<u4"])
def test_positions_of_many_keys_in_no_order_are_those_a_binary_search_finds(dtype):
    """The hash table of the sorted keys (kernels.positions) against numpy's binary search:
    many keys, most found, some not, each asked many times; keys that share their low or
    their high bits (a table slot taken from either would collide)."""
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    stored = np.concatenate(
        [
            rng.integers(info.min, info.max, 40_000, dtype=dtype, endpoint=True),
            np.arange(5_000, dtype=dtype) << 20,  # the same low bits
            np.arange(5_000, dtype=dtype) + 1_000,  # the same high bits
        ]
    )
    sorted_keys = distinct(stored)
    keys = np.concatenate([rng.choice(sorted_keys, 200_000), rng.integers(0, 2**31, 50_000)])
    keys = rng.permutation(keys.astype(dtype))
    at = np.searchsorted(sorted_keys, keys).clip(0, len(sorted_keys) - 1)
    expected = np.where(sorted_keys[at] == keys, at, -1)
    assert positions_in(sorted_keys, keys).tolist() == expected.tolist()
    assert positions_in(sorted_keys[:0], keys).tolist() == [-1] * len(keys)
    for seed in (0, 1, 2**64 - 1):  # where the table puts a key changes nothing found
        out = np.empty(len(keys), np.int64)
        kernels.positions(sorted_keys.astype(np.int64), keys.astype(np.int64), out, seed)
        assert out.tolist() == expected.tolist()


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=60), st.sampled_from(["<i8", "<u4"]))
def test_distinct_keys_are_what_np_unique_gives(keys, dtype):
    values = np.array(keys, np.int64).astype(dtype)
    for shaped in (values, values[: len(values) // 2 * 2].reshape(-1, 2)):
        assert distinct(shaped).tolist() == np.unique(shaped).tolist()
        assert distinct(shaped).dtype == np.unique(shaped).dtype


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=300),
    st.lists(st.integers(0, 2**32 - 1), max_size=50),
    st.lists(st.integers(0, 299), max_size=50),
)
def test_a_key_set_holds_its_keys_and_no_other(stored, others, picks):
    keys = np.array(others + [stored[p] for p in picks if p < len(stored)], np.uint32)
    got = KeySet(np.array(stored, np.uint32)).contains(keys).tolist()
    assert got == [k in set(stored) for k in keys.tolist()]


def test_the_stop_words_key_set_tells_every_stop_word_from_other_words():
    stop = word_hashes(sorted(w.encode() for w in STOP_WORDS)) & np.uint32(2**31 - 1)
    assert STOP_WORD_HASHES.contains(stop).all()
    words = tokens(open(__file__, encoding="utf-8").read())
    others = [w for w in words if w.decode() not in STOP_WORDS]
    assert (
        others and not STOP_WORD_HASHES.contains(word_hashes(others) & np.uint32(2**31 - 1)).any()
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=40))
def test_pair_groups_give_each_pair_once_and_where_each_row_went(rows):
    pairs = np.array(rows, np.int64).reshape(-1, 2)
    unique, at = pair_groups(pairs)
    assert list(map(tuple, unique.tolist())) == sorted(set(rows))
    assert unique.tolist() == unique_pairs(pairs).tolist()
    assert [tuple(unique[k]) for k in at.tolist()] == rows


ONE_SCAN = re.compile(
    r"\b(?:[Mm]on|[Tt]ues|[Ww]ednes|[Tt]hurs|[Ff]ri|[Ss]atur|[Ss]un)day\b|"
    r"(?i:понедельник\w*|вторник\w*|сред[уаы]|четверг\w*|пятниц\w+|суббот\w+|воскресень\w+)"
)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WEEKDAYS + WORDS + ["—", "“", "среду", "Sunday"]), max_size=30))
def test_weekdays_scanned_apart_are_those_one_scan_finds(words):
    text = " ".join(words)
    assert weekday_words(text) == [m[0] for m in ONE_SCAN.finditer(text) if names_a_day(text, m)]


def test_fingerprints_made_in_blocks_and_joined_are_those_of_all_at_once():
    articles = [
        Article(title, (Paragraph(body),), "feed.xml")
        for title, body in [
            ("Grain exports from Astana rise", "Tokayev said on Monday wheat exports rose 12%."),
            ("", ""),
            ("ΟΔΟΣ Σ", "Токаев в среду сказал, что экспорт зерна вырос на 5 млрд тенге."),
            ("Wheat—exports “grain”", " ".join(WORDS * 40)),
        ]
    ]
    whole = fingerprint_module.fingerprint(articles)
    joined = fingerprint_module.Fingerprints.joined(
        [
            fingerprint_module.fingerprint(articles[:1]),
            fingerprint_module.fingerprint(articles[1:]),
        ],
        articles,
    )
    for f in fields(whole)[:-1]:
        a, b = getattr(whole, f.name), getattr(joined, f.name)
        if isinstance(a, Ragged):
            assert a.values.tolist() == b.values.tolist(), f.name
            assert a.starts.tolist() == b.starts.tolist(), f.name
        elif f.name == "articles":
            assert a == b
        else:
            assert a.tolist() == b.tolist(), f.name
    assert whole.facts_of(0) and not whole.facts_of(1)


NUMBER_PARTS = ["1", "23", "4.5", "6,7", "8 9", "0\u00a01", "x2", "k", "bn", "%", " per cent", ",",
                ".", " ", "\u0663", "\uff11", "млрд", "€", "$", "-", "\n"]  # fmt: skip


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.lists(st.sampled_from(NUMBER_PARTS), max_size=40).map("".join),
        st.text(st.characters(codec="utf-8"), max_size=80),
    )
)
def test_numbers_found_from_digit_runs_are_those_finditer_finds(text):
    """facts.numbers starts a match only where a run of ASCII digits starts (kernels.c):
    the same matches, groups and spans as trying the number at each character."""
    got = [(m.span(), m.groups()) for m in numbers(text)]
    assert got == [(m.span(), m.groups()) for m in NUMBER_RE.finditer(text)]
    assert kernels.digit_runs(text) == [
        n
        for n, c in enumerate(text)
        if c in "0123456789" and (n == 0 or text[n - 1] not in "0123456789")
    ]
