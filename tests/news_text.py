"""Text as news writes it, for property-based tests: figures, dates, names, quotes, Cyrillic
and the letters of Central Asia's languages, page furniture -- or any text at all."""

from __future__ import annotations

import string

from hypothesis import strategies as st

NEWS_TEXT = st.text(
    alphabet=st.sampled_from(
        string.ascii_letters
        + string.digits
        + " .,:;'’\"%$£€½–-—()#*|<>&/\n\t"
        + "АБВГДЕЁЖЗИКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзиклмнопрстуфхцчшщъыьэюяәғқңөұүһіʻ"
    ),
    max_size=400,
) | st.text(max_size=200)
