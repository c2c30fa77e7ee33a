"""Text as news writes it, for property-based tests: figures, dates, names, quotes, Cyrillic
and the letters of Central Asia's languages, page furniture -- or any text at all, or the
pieces news is made of and the odd ones that trip readers of figures, dates and names."""

from __future__ import annotations

import string

from hypothesis import strategies as st

# Figures in every form news writes them and some no reader can hold (1e309 is no float,
# "1" and 400 zeros no int a float can hold, "²" and "１２" are digits to Unicode but not to
# float()), impossible and placeholder dates, right-to-left text and its marks, combining
# marks alone and in a pile, letters that change length in lower case, line and paragraph
# separators, control characters, brackets nested deep, datelines, names in several scripts.
ODD_PIECES = [
    *"1e309 -1e309 10^100 NaN inf 0.000000000000000000001 $5.4bn £1.5m €3,5 1.2M 10k".split(),
    *"½ ¾ 2² ٣٤٥ １２３ ١٢٫٥% 12,34,56,789 1.2.3.4 %% 5bnbn 3.5.bn".split(),
    "1" + "0" * 400, "9" * 40, "5–7 million", "three hundred", " млрд", " тыс.", " per cent",
    "31 Feb", "0000-00-00", "2026-13-45", "29 February 2026", "Sept. 31", "31 декабря 9999 г.",
    "Mon, 31 Feb 2026 25:61:61 +9999", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
    "late Sunday night", "в ночь на среду", " Monday", " пятницу",
    "مرحبا بالعالم", "שלום", "\u202e", "\u202d", "\u200f", "\u200e", "\u200d", "\ufeff",
    "e\u0301", "\u0301\u0301\u0301", "Z\u0351\u0352\u0353", "İstanbul", "ǅ", "ß", "ﬁ", "\u1c80",
    "🇰🇿", "👩🏽\u200d⚕️", "\u00a0", "\u202f", "\u2028", "\u2029", "\x00", "\x0b", "\r\n", "Ⅻ",
    "(" * 60, ")" * 60, "[[" * 30, "«" * 20, "»", "“", "”", "...", "…", ". ", "! ", "? ", ": ",
    "—", "–", "-", "'", "’", '"', "ʻ", "МОСКВА, 5 дек — РИА Новости. ", "Бишкек (ИА «24.kg») — ",
    "NEW YORK (AP) — ", "(Reuters) - ", "President ", "Kassym-Jomart Tokayev", "Токаевым",
    "Toqayev", "Oʻzbekiston", "Г-н ", "Шавкатом Мирзиёевым", "Brian G. Nichols", " of ", "the ",
    " said", " ", " ", "\n", "\n\n", "\t",
]  # fmt: skip
NEWS_PIECES = st.lists(st.sampled_from(ODD_PIECES) | st.text(max_size=6), max_size=50).map("".join)

NEWS_TEXT = (
    st.text(
        alphabet=st.sampled_from(
            string.ascii_letters
            + string.digits
            + " .,:;'’\"%$£€½–-—()#*|<>&/\n\t"
            + "АБВГДЕЁЖЗИКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзиклмнопрстуфхцчшщъыьэюяәғқңөұүһіʻ"
        ),
        max_size=400,
    )
    | st.text(max_size=200)
    | NEWS_PIECES
)

# Dates as feeds write them, in range or not: placeholders, impossible days, zones that push
# a date out of the calendar, Russian dates, numbers where a date should be.
ODD_DATES = [
    "0000-00-00", "0000-00-00 00:00:00", "2026-13-45", "31 Feb 2026", "2026-02-29",
    "Mon, 31 Feb 2026 25:61:61 +9999", "Thu, 01 Jan 1970 00:00:00 +2400",
    "Mon, 01 Jan 0001 00:00:00 +0000", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
    "Sat, 01 Jan 10000 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 -1200", "-0001-01-01",
    "2026-12-07T24:00:00Z", "2026-12-07T10:00:00+99:99", "2026-W50-1", "2026-341",
    "31 декабря 9999 г.", "5 дек. 2025 г.", "1e309", "10^100", "99999999999999999999",
    "2026-12-07T10:00:00.99999999999Z", "9999-12-31 23:59:59 PST",
]  # fmt: skip
NEWS_DATES = st.sampled_from(ODD_DATES) | NEWS_TEXT
