"""A title for an item from its text: its first sentence, as a reader's eye finds it (no
leading emoji, no wire dateline), cut at a word. For an item with no title (valid RSS:
Mastodon, podcasts) and one under its feed's one title ("Daily Brief"), told in one read
(sources.entry) or from what was sent (select.titles): both stages call it here."""

from __future__ import annotations

import re
from dataclasses import replace

from .language import detect
from .models import Article, Paragraph
from .sentences import split_sentences
from .text import cut_at_word, says_only_when, without_dateline

UNTITLED_CHARS = 90  # a title made from an untitled item's first sentence is cut to this


def title_from_text(paragraphs: tuple[Paragraph, ...]) -> str:
    """A title for an item that has none (valid RSS: Mastodon, podcasts): its text's first
    sentence (the project's splitter, in the text's language: an initial or "Mr." ends
    none), cut at a word within UNTITLED_CHARS."""
    for p in paragraphs:
        if p.kind not in ("prose", "question", "bullet"):
            continue
        # a wire's dateline is no headline ("МОСКВА, 10 авг - РИА Новости" was one)
        text = without_dateline(_without_pictographs(p.text.lstrip("• ")))
        sentences = split_sentences(text, detect(text))
        if sentences:
            first = sentences[0]
            if len(sentences) > 1 and _is_label(first):
                first = sentences[1]
            return cut_at_word(first.rstrip("."), UNTITLED_CHARS)
    return ""


def _is_label(sentence: str) -> bool:
    """A word or two run into the text with no stop ("BREAKING The bridge ...", "UPDATE The
    fire ..."): a post's label, which the splitter parts from the sentence as it does a
    heading run into its lede, not its headline."""
    return len(sentence.split()) < 3 and sentence[-1].isalnum()


def _without_pictographs(text: str) -> str:
    """`text` without the emoji it opens with: Telegram channels start a post with one
    ("⚡️ В Бишкеке ...", "🇰🇿🇰🇬 ...", "1️⃣ ..."), no headline does. Emoji only: "№ 1",
    "℃" and "©2025" are words of the headline."""
    return _LEADING_EMOJI.sub("", text, count=1)


# Pictographs, flags and skin tones (U+1F000-1FAFF), the older symbols emoji took over
# (U+2600-27BF, 2B00-2BFF, 23E9-23FA, ‼ ⁉), with their variation selectors, joiners and tags;
# keycaps ("1️⃣": a digit, # or * only with U+20E3); spaces between them.
_LEADING_EMOJI = re.compile(
    r"^(?:[\s\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u23e9-\u23fa\u203c\u2049"
    r"\ufe0e\ufe0f\u200d\U000e0020-\U000e007f]|[0-9#*]\ufe0f?\u20e3)+"
)


def titled_by_text(article: Article) -> Article:
    """The article titled as an untitled one is, by its text's first sentence (as it was
    when it has no text, or a time stamp for a title, which no headline ever is)."""
    title = "" if says_only_when(article.title) else title_from_text(article.paragraphs)
    if not title:
        return article
    return replace(article, title=title, untitled=True, feed_title=article.title)
