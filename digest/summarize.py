"""Leads: a short, faithful lead for every chosen article.

The extractive backend (the default) copies whole sentences from the article's prose:
it never writes a word the article does not contain. Sentences come from
`digest.sentences` (the splitter for the article's language), chrome, captions, bylines,
dates and interview
questions are left out, and the sentence that carries the news best (position, overlap
with the title, centrality, names and numbers) is the lead; a short one gets a second
sentence from near it. A first choice over `max_words` is cut at a clause boundary and
ends with "…". Only the article's opening is read: that is where news puts the news,
and splitting is most of the cost.

The llm backend asks an OpenAI-compatible chat endpoint for the lead, checks the answer
(length, script and language, no markup, no numbers the article does not have) and falls
back to the extractive lead on any failure, saying why in `LeadResult.note`.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from .config import LlmConfig, SummaryConfig
from .errors import ConfigError
from .language import detect, english_share, language_of
from .models import PROSE, QUESTION, Article
from .sentences import ends_on_abbreviation, split_sentences, text_before_limit
from .text import (
    CAPTIONS,
    CHROME_CALL,
    CJK,
    CJK_SENTENCE_END,
    ELLIPSIS,
    EN_MONTHS,
    EN_WEEKDAYS,
    LISTING_COUNTER,
    RU_MONTHS_GENITIVE,
    RU_WEEKDAYS_ACCUSATIVE,
    STOP_WORDS,
    dangles,
    is_interviewer_line,
    is_web_url,
    says_only_when,
    without_dateline,
    without_timestamp,
    word_count,
)

__all__ = ["LeadResult", "extractive_lead", "is_chrome", "make_summarizer", "split_sentences"]


@dataclass(frozen=True)
class LeadResult:
    lead: str
    backend: str  # "extractive" or "llm": the backend that wrote `lead`
    note: str | None = None  # why the llm backend fell back, if it did


# --- what is not news -------------------------------------------------------------------

_DATE = (  # "Wednesday, September 18, 2013", "May 3, 2013"
    rf"(?:(?:{'|'.join(EN_WEEKDAYS)}),?\s+)?(?:{'|'.join(EN_MONTHS)})\s+\d{{1,2}},?\s+\d{{4}}"
)
_CHROME = re.compile(
    "|".join(
        (
            CHROME_CALL,
            r"\bfind out more\b",
            r"\bsign up (?:for|to)\b",
            r"\bfollow us\b",
            r"\bshare (?:this|on)\b",
            r"\ball rights reserved\b",
            r"©",
            LISTING_COUNTER,
            r"^page\s+\d+\s+of\s+\d+",
            r"^(?:tags?|topics?)\s*:",  # "Related: ...", "See also: ...": CHROME_CALL's
            r"^(?:next|previous|prev|older|newer|load more|more stories|back to top)\b.{0,20}$",
            CAPTIONS,
            r"^this is (?:part|the \w+ part) \w+ of\b",
            # a blog's byline: "On behalf of Howard R. Sanders, Esq. posted in Pedestrian
            # Accidents on Wednesday, September 18, 2013."
            rf"^(?:on behalf of|posted by|by)\s.{{1,80}}?\bposted in\s.{{1,60}}\bon\s+{_DATE}\.?$",
        )
    ),
    re.IGNORECASE,
)
# Notes and prompts about the page, not the news: "Editor's note: ...", "This story has been
# updated ...", "Прим. ред.: ...", "Материал обновлен в 16:20.", "Get our free morning
# newsletter ...", "You have read 3 of 5 free articles this month.", "Подписывайтесь на наш
# канал", "Submit your letter to the editor via this form.", "Присылайте свои новости", cookie
# banners. A paragraph that opens with one is all note ("... The foundation has no editorial
# control.").
_NOTE = re.compile(
    r"^(?:editor['’]?s['’]?\s+note|note\s+to\s+readers|примечание\s+редакции|прим\.\s*ред\."
    r"|от\s+редакции)\s*:"
    r"|^this\s+(?:story|article|report|post)\s+(?:has\s+been|was)\s+(?:updated|corrected)\b"
    r"|^(?:материал|новость|статья|текст)\s+(?:был\s+)?(?:обновл[её]н|дополнен|исправлен)"
    r"|^(?:get|sign\s+up|subscribe)\b.{0,80}\b(?:newsletters?|inbox)\b"
    r"|^you(?:['’]ve|\s+have)\s+read\s+\d+\s+(?:of\s+\d+\s+)?(?:free\s+)?(?:articles|stories)\b"
    r"|^(?:подписывайтесь|подпишитесь)\b|^читайте\s+(?:также|еще|ещё)\b"
    r"|^(?:submit|send)\s+(?:us\s+)?(?:your|a)\s+(?:letters?|tips?|stor(?:y|ies)|news|photos?"
    r"|videos?|comments?|questions?|feedback)\b|^(?:присылайте|пришлите)\b"
    # a cookie banner: "We use cookies to ...", "Auf unserer Website werden Cookies ...",
    # "Мы используем файлы cookie ..."; news about cookies names no site of its own
    r"|^(?:we\s+(?:also\s+)?use|wir\s+(?:verwenden|nutzen|setzen)|мы\s+(?:используем|применяем)"
    # (the site of itself: "By using cookies, Google tracked users ..." is news)
    r"|by\s+(?:continuing\s+to\s+(?:use|browse)|using)\s+(?:this|our)\s+(?:web)?site"
    r"|(?:this|our|diese|unsere)\s+(?:web)?site\s+(?:uses|verwendet|nutzt)"
    r"|auf\s+(?:unserer|dieser)\s+(?:website|webseite|seite)|(?:этот|наш)\s+сайт)\b"
    r"[^.!?]{0,80}\bcookie",
    re.IGNORECASE,
)
_NAME = r"[A-Z][\w'’.-]*"
_BYLINE = re.compile(
    rf"^(?:(?i:written|reported|reporting|words|text|photos?)\s+)?(?i:by)\s+{_NAME}"
    rf"(?:(?:\s+|\s*,\s*|\s+and\s+|\s*&\s*){_NAME}){{0,5}}"
    rf"(?:\s*[,|–—-]\s*{_NAME}(?:\s+{_NAME}){{0,3}})?\.?$"
)
# A leading speaker label: "Helmer: ", "Michael Hilliard: ", "TCA: ", "Q: ".
_LABEL = re.compile(r"^([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2})\s*:\s+(?=\S)")


def is_chrome(sentence: str) -> bool:
    """Site furniture, captions, credits, bylines, bare dates, question lines."""
    s = sentence.strip()
    if _CHROME.search(s) or _NOTE.match(s) or is_interviewer_line(s) or says_only_when(s):
        return True
    return len(s.split()) <= 12 and bool(_BYLINE.match(s))


def _speaker_label(paragraph: str) -> tuple[str | None, str]:
    """("Helmer", "I was ...") for "Helmer: I was ..."; (None, paragraph) without a label."""
    match = _LABEL.match(paragraph)
    if not match or len(match.group(1)) > 40:
        return None, paragraph
    return match.group(1), paragraph[match.end() :]


# --- choosing sentences -----------------------------------------------------------------

_CONTEXT_OPENERS = frozenset(
    """he she it they this these those that its his her their however but and also
    still meanwhile moreover furthermore regardless such thus so yet besides instead then
    nonetheless nevertheless additionally likewise similarly otherwise
    он она оно они его её ее их это этот эта эти этом этого этой этих такой такие там тогда
    однако но а и также кроме при тем поэтому впрочем мы я
    ол олар бұл осы сондай-ақ алайда біз мен
    u ular bu shu shuningdek biroq ammo lekin biz men""".split()
)
_REFERRING = frozenset(
    """this these those such he she it they its his her their meantime
    он она они его её ее их это этом этого этой эти этих этот эта таких такой
    ол олар бұл осы оның олардың u ular bu shu uning ularning""".split()
)
_ENDS_SENTENCE = re.compile(r"[.!?。！？][\"'”’)\]」』）]*$")
# A feed's teaser cut after a whole sentence, its ellipsis glued on (".…", "...."): the stop
# ends a word (three small letters, in any alphabet: "Monday.", "років.", "Straße.") or a year,
# not an abbreviation, an initial or a number cut mid-way ("Mr.…", "the U.S.…", "K.…", "grew
# by 4.…" of "4.5%", "Acme Corp.…", "120 млрд.…": a lead that misleads)
_WHOLE_THEN_CUT = re.compile(r"(\w*)([.!][\"'”’)]?)\s*(?:…|\.\.\.)$")


def _without_cut(sentence: str) -> str:
    """The sentence without the ellipsis a teaser glued on after its end, if it ends whole."""
    if not (cut := _WHOLE_THEN_CUT.search(sentence)):
        return sentence
    word, whole = cut[1], sentence[: cut.start(2)] + cut[2]
    if (len(word) >= 3 and word[-3:].isalpha() and word[-3:].islower()) or (
        len(word) >= 4 and word[-4:].isdigit()
    ):
        return sentence if ends_on_abbreviation(sentence[: cut.start(2) + 1]) else whole
    return sentence


_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*")


def _stems(text: str) -> frozenset[str]:
    """Content-word stems; a six-letter prefix is crude but joins produce/production."""
    words = (w.lower() for w in _WORD.findall(text))
    return frozenset(
        w.removesuffix("’s").removesuffix("'s")[:6] for w in words if w not in STOP_WORDS
    )


@dataclass
class _Sentence:
    text: str
    order: int  # position among the article's usable sentences
    speech: bool  # an interview answer
    words: int
    stems: frozenset[str]
    score: float = 0.0
    repeat: bool = False  # says what the title says: kept only for the sentence leaning on it


_OPENING = 8  # usable sentences looked at, not counting interview answers
_OPENING_CHARS = 1500  # ... and at most about this much text


def _closed(s: str, opening: str, closing: str) -> bool:
    """No quotation left open or closed that was not opened. Counts alone do not tell in
    Russian, where nested quotes share their closing mark: «Завод «Новый Свет»."""
    first_close, last_open = s.find(closing), s.rfind(opening)
    return last_open <= s.rfind(closing) and not (
        first_close >= 0 and (s.find(opening) < 0 or first_close < s.find(opening))
    )


# Straight quotes are balanced in pairs, however spaced ('ТОО"Казахмыс"', 'said:"We', '55"
# and 65"'); an odd count is read by side: a quote opens at the start or after a space or
# bracket, before a letter, and any other closes. Russian copy typed with straight quotes
# shares the closing one as with «»: Interfax's 'АО "НК "КазМунайГаз" (КМГ)' has three.
_STRAIGHT_OPENING = re.compile(r'(?<![^\s(\[«„“/–—-])"(?=\S)')


def _balanced(s: str) -> bool:
    curly = ("„", "“") if "„" in s else ("“", "”")
    return (
        _closed(s, *curly)
        and _closed(s, "«", "»")
        and (s.count('"') % 2 == 0 or _closed(_STRAIGHT_OPENING.sub("\x01", s), "\x01", '"'))
        and s.count("(") == s.count(")")
        and s.count("[") == s.count("]")
    )


def _usable(sentence: str, may_lack_stop: bool) -> str | None:
    """The sentence as it may appear in a lead, or None when it must not. `may_lack_stop`:
    it ends a paragraph that more of the article follows (see below)."""
    sentence = without_timestamp(sentence)  # a stamp after a sentence: "... Monday. Monday, Sep
    # 10, 2012 | Updated 9:01 AM EDT The murder trial ..."
    sentence = _without_cut(sentence)
    if word_count(sentence) < 4 or is_chrome(sentence) or not _balanced(sentence):
        return None
    if sentence.endswith(("...", ELLIPSIS)) or sentence.rstrip("”’\"')").endswith("?"):
        return None  # cut short by the page, or a question: not news
    if _ENDS_SENTENCE.search(sentence):
        return sentence
    # A paragraph that lost its full stop ("... in agricultural products") is still a
    # sentence when it is long; short unpunctuated lines are captions and headings. Not the
    # text's last paragraph: that is how a publisher's cut feed description ends ("... unless
    # the government found another 2 bill"); on the real pages no such paragraph is last.
    if may_lack_stop and word_count(sentence) >= 20:
        if sentence[-1].isalnum():
            return sentence + "."
    return None


def _near_title(stems: frozenset[str], title: frozenset[str]) -> bool:
    if not stems or not title:
        return False
    return len(stems & title) / len(stems | title) >= 0.7 or stems <= title


def _candidates(article: Article) -> list[_Sentence]:
    """The usable sentences of the article's opening, in order.

    Only the opening: news puts the news first, and the splitter (most of the time spent here)
    then never sees the long tail of a long article.
    """
    title = _stems(article.title)
    language = language_of(article)
    out: list[_Sentence] = []
    in_interview = False
    read = 0  # characters split so far
    repeat = None  # the sentence just left out as the title's repeat
    for number, paragraph in enumerate(article.paragraphs, start=1):
        news = sum(not s.speech for s in out)
        if news >= _OPENING or len(out) >= 2 * _OPENING or read >= _OPENING_CHARS:
            break
        if paragraph.kind != PROSE:
            in_interview = in_interview or paragraph.kind == QUESTION
            continue
        # a dateline may follow a note ("This story has been updated ...") or a page's time
        # stamp ("Updated 8:52 PM EDT WASHINGTON (AP) — ..."): any paragraph
        text = " ".join(paragraph.text.split())
        text = without_dateline(without_timestamp(text), first=not out)
        if _NOTE.match(text):
            continue
        if is_interviewer_line(text):
            in_interview = True
            continue
        # After the first question everything is the interviewee talking: their claims,
        # not the news. An answer keeps its content but loses its "Helmer: " label.
        label, rest = _speaker_label(text)
        speech = in_interview or label is not None
        text = text_before_limit(rest if label else text, _OPENING_CHARS - read)
        read += len(text)
        sentences = split_sentences(text, language)
        for i, raw in enumerate(sentences):
            goes_on = number < len(article.paragraphs) and not article.excerpt
            sentence = _usable(raw, goes_on and i == len(sentences) - 1)
            if sentence is None:
                continue
            stems = _stems(sentence)
            s = _Sentence(sentence, len(out), speech, word_count(sentence), stems)
            if _near_title(stems, title):
                repeat = s
                continue
            # A headline repeat stays when the next sentence leans on it ("Its recall covers").
            if repeat and _needs_context(s):
                repeat.repeat = True
                out.append(repeat)
                s.order += 1
            repeat = None
            out.append(s)
    return out


def _facts(s: _Sentence) -> tuple[int, bool]:
    """Names (capitalised words after the first) and whether it has a number."""
    words = s.text.split()
    return sum(1 for w in words[1:] if w[0].isupper()), any(ch.isdigit() for ch in s.text)


_WHEN = re.compile(
    rf"\b(?:{'|'.join(w.capitalize() for w in (*EN_MONTHS, *EN_WEEKDAYS))}|yesterday|today|"
    r"tomorrow|this (?:week|month|year)|last (?:week|month|year)|next (?:week|month|year))\b"
    rf"|\b\d{{1,2}}\s+(?:{'|'.join(RU_MONTHS_GENITIVE)})"
    rf"|(?i:\bв\s+(?:{'|'.join(RU_WEEKDAYS_ACCUSATIVE)})|\b(?:вчера|сегодня|завтра|на этой неделе))"
)


def _when(s: _Sentence) -> bool:
    """Says when: a month, a weekday, "this week"."""
    return bool(_WHEN.search(s.text))


# A sentence about the telling, not the news: the court that heard it (its facts may still
# serve beside the lede) ...
_PROCEDURAL = re.compile(
    r"\b(?:court|jury|tribunal|inquest|hearing|trial)\s+(?:was\s+|has\s+)?(?:heard|told)\b"
    r"|\b(?:суд|суде)\s+(?:установил|выяснил|услышал)",
    re.IGNORECASE,
)
# ... and one that says nothing yet: the inquiry under way, the comment nobody gave. Never a
# lead over the lede, never company for it.
_EMPTY = re.compile(
    r"\binvestigations?\s+(?:is|are|was|were|remains?)\s+(?:under\s*way|ongoing|continuing)"
    r"|\b(?:an|the)\s+investigation\s+(?:has\s+been|was|is\s+being)\s+(?:launched|opened|carried)"
    r"|\b(?:declined|refused)\s+to\s+comment\b|\bcould\s*n[o']t\s+be\s+reached\b"
    r"|\bnot\s+immediately\s+(?:available|clear)\b|\bno\s+(?:further\s+)?details\s+were\b"
    r"|\b(?:ведется|ведётся|проводится|продолжается)\s+(?:расследование|проверка)"
    r"|\bрасследование\s+продолжается|\bот\s+комментариев\s+отказал",
    re.IGNORECASE,
)
_PROCEDURAL_WEIGHT = 0.55
_EMPTY_WEIGHT = 0.3
_LEANING_WEIGHT = 0.7


def _score(sentences: list[_Sentence], title: frozenset[str]) -> None:
    """Position first (news puts the news first), then title overlap, centrality, facts;
    a sentence that says when it happens (who and where: the names) is worth more."""
    df = Counter(stem for s in sentences for stem in s.stems)
    central = [sum(df[w] - 1 for w in s.stems) / (len(s.stems) + 5) for s in sentences]
    top = max(central, default=0) or 1.0
    for s, c in zip(sentences, central, strict=True):
        names, number = _facts(s)
        s.score = (
            1.0 / (1 + 0.4 * s.order)
            + 0.6 * (len(s.stems & title) / len(title) if title else 0)
            + 0.3 * c / top
            + 0.2 * min(names / 4, 1)
            + 0.1 * number
            + 0.2 * _when(s)
        )
        if _EMPTY.search(s.text):
            s.score *= _EMPTY_WEIGHT
        elif _PROCEDURAL.search(s.text):
            s.score *= _PROCEDURAL_WEIGHT
        if s.order and _needs_context(s):  # "По его словам, ...": leans on what came before
            s.score *= _LEANING_WEIGHT


def _needs_context(s: _Sentence) -> bool:
    """Opens with a pronoun or a connective: "He said", "However,", "For these countries"."""
    # inside a quotation too: '"That person is dangerous," said ...' leans as much
    head = [w.strip(",;:").lstrip("\"'“‘«„(").lower() for w in s.text.split()[:3]]
    return head[0] in _CONTEXT_OPENERS or any(w in _REFERRING for w in head[1:])


_SHORT_LEAD = 0.5  # of max_words: a lead shorter than this gets a second sentence
_NEAR = 3  # sentences away from the first choice
_SUBORDINATORS = frozenset(
    "after although though as because before despite during following if once since unless "
    "until when whenever while amid according "
    "когда если хотя поскольку пока после перед несмотря".split()
)
_CLAUSE_END = re.compile(r"[,;:](?=\s)|\s[–—](?=\s)")


# Words that open a new clause after a comma: a cut there leaves a whole clause behind.
_CLAUSE_OPENERS = _SUBORDINATORS | frozenset(
    "and but or nor yet so which who whom whose where with without while whereas thereby "
    "bringing making marking putting taking giving saying adding citing "
    "и а но или что чтобы который которая которое которые которых где куда откуда "
    "сообщает сообщил сообщила заявил заявила отметил отметила".split()
)
_NUMBER_WORDS = frozenset(
    "hundred thousand million billion trillion percent per cent tonnes tons km kilometres "
    "kilometers metres meters megawatts gigawatts hectares "
    "тыс млн млрд трлн тысяч тысячи миллиона миллионов миллиарда миллиардов процентов "
    "процента руб рублей долларов тенге сумов сомов км тонн га".split()
)


def _fact_word(word: str) -> bool:
    """Part of a name or a number: "Tleuov", "2026", "$95", "million"."""
    w = word.strip(",;:.()“”\"'’")
    return bool(w) and (w[0].isupper() or any(c.isdigit() for c in w) or w in _NUMBER_WORDS)


def _splits_a_fact(before: str, after: str) -> bool:
    """A comma between `before` and `after` that sits inside a name or number phrase:
    "January 1, 2026", "Minister of Industry, Dauren Tleuov, to the expo", "Edil Azimshayyk,
    head of ...": cutting there would cut the name or the number from what belongs to it."""
    if not _fact_word(before):
        return False
    nxt = after.strip("“”\"'’(").lower()
    return nxt not in _CLAUSE_OPENERS and not nxt.endswith("ing")


def _clause_cut(sentence: str, cut: str) -> bool:
    """The cut lead ends where a clause of `sentence` ends."""
    head = cut.removesuffix(ELLIPSIS)
    return bool(_CLAUSE_END.match(sentence, len(head)))


# A sentence that opens with these opens with a clause or a phrase before its main clause
# ("In a move that ..., President Obama is restoring ..."), and what may follow such a
# clause's comma before the main clause does ("..., along with drugs and weapons, the Texas
# Department ...").
_FRONTING = _SUBORDINATORS | frozenset("in on at with for by from under over".split())
_NOT_MAIN = _CLAUSE_OPENERS | frozenset(
    "along including in on at of for from to by as like than over under into about".split()
)


def _main_clause(sentence: str) -> int:
    """Where the main clause of `sentence` starts, when a clause or a phrase comes first
    ("After facing serious questions about how ..., the Texas Department found itself ..."): the
    end of the first clause boundary that no preposition, participle or clause opener follows;
    0 when it opens with its main clause. "Twenty years after the dam was completed" or "In a
    move that could anger some people" alone says nothing happened."""
    words = sentence.split()
    if not words or not (
        words[0].lower() in _FRONTING or any(w.lower() in _SUBORDINATORS for w in words[:3])
    ):
        return 0
    for match in _CLAUSE_END.finditer(sentence):
        after = sentence[match.end() :].split()
        first = after[0].strip("“\"'(").lower() if after else ""
        if first and first not in _NOT_MAIN and not first.endswith(("ing", "ed")):
            return match.end()
    return len(sentence)


def _shorten(sentence: str, max_words: int) -> str:
    """The longest head of `sentence` of at most max_words words that ends a clause, + "…".

    Never inside a name or a number ("… Dauren Tleuov…" would cut the minister from his
    visit, "$95…" the million): a comma right after a name or number ends a clause only when
    a new clause follows ("… in Kazakhstan, during a visit")."""
    if CJK.search(sentence) and word_count(sentence) > len(sentence.split()):
        return _shorten_cjk(sentence, max_words)
    words = sentence.split()
    floor = min(12, max(1, max_words // 2))
    main = _main_clause(sentence)  # a cut before it would leave the lead no main clause
    best = None
    for match in _CLAUSE_END.finditer(sentence):
        head = sentence[: match.start()].rstrip()
        n = len(head.split())
        if n > max_words:
            break
        tail = sentence[match.end() :].split()
        if match.group().strip() == "," and head.split() and tail:
            if _splits_a_fact(head.split()[-1], tail[0]):
                continue
        if n >= floor and _balanced(head) and match.start() > main:
            best = head
    if best is None:  # no clause boundary in reach: whole words, no dangling "of the"
        cut = words[:max_words]
        while len(cut) > 1 and (
            dangles(cut[-1].strip(",;:"))
            or (_fact_word(cut[-1]) and _fact_word(words[len(cut)]))
            or not _balanced(" ".join(cut))  # no quotation cut open: ': "Witnesses said…'
        ):
            cut.pop()
        best = " ".join(cut).rstrip(",;:–—-")
    return best + ELLIPSIS


def _shorten_cjk(sentence: str, max_words: int) -> str:
    """A Chinese or Japanese sentence cut to max_words words (two characters each, as
    word_count counts them) at its last comma within them, else at that length, + "…"."""
    head = sentence[: 2 * max_words]
    comma = max(head.rfind(c) for c in "，、；：")
    if comma >= max_words // 2:
        head = head[:comma]
    return head.rstrip("，、；： ") + ELLIPSIS


_ATTRIBUTION = re.compile(
    r"\baccording\s+to\b|\b(?:said|says|told|reported|announced)\b"
    r"|\bсообщ\w*|\bзаяв\w*|\bпо\s+(?:словам|данным)\b|\bпередает\b|\bпишет\b",
    re.IGNORECASE,
)


def extractive_lead(article: Article, max_words: int = 40) -> str:
    """Whole sentences of the article's prose, at most max_words words; "" if none is usable."""
    if max_words < 1:
        return ""
    sentences = _candidates(article)
    # an interviewee's words make the lead only when the article has nothing else
    sentences = [s for s in sentences if not s.speech] or sentences
    if not sentences:
        return ""
    title = _stems(article.title)
    _score(sentences, title)
    ranked = sorted(sentences, key=lambda s: -s.score)
    anchor = ranked[0]
    company = None  # the sentence that leans on a repeat of the title
    if anchor.repeat:
        # The title again is no lead: with what leans on it when both fit, else another.
        company = next((s for s in sentences if s.order == anchor.order + 1), None)
        if company is None or anchor.words + company.words > max_words:
            repeats = {s.order for s in sentences if s.repeat}
            ranked = [
                s
                for s in ranked
                if not s.repeat and not (s.order - 1 in repeats and _needs_context(s))
            ]
            if not ranked:
                return ""
            anchor, company = ranked[0], None
    if anchor.words > max_words:
        cut = _shorten(anchor.text, max_words)
        # Cut at a word, not at a clause, with a name or number lost ("of the old port…"
        # of Aralsk): a good whole sentence that fits is the better lead.
        lost = anchor.text.split()[len(cut.split()) :]
        whole = [
            s
            for s in ranked[1:]
            if s.words <= max_words and _facts(s) != (0, False) and not _needs_context(s)
        ]
        # ... and a cut that drops who says so ("…, according to the ministry") takes a claim
        # from its source: a good whole sentence is better there too.
        attribution_lost = bool(_ATTRIBUTION.search(" ".join(lost)))
        if whole and len(cut) - len(ELLIPSIS) <= _main_clause(anchor.text):
            return whole[0].text  # the cut says nothing happened: "In a move that ...…"
        if whole and (
            attribution_lost or (not _clause_cut(anchor.text, cut) and any(map(_fact_word, lost)))
        ):
            if whole[0].score >= 0.7 * anchor.score:
                return whole[0].text
        return cut
    # One good sentence is a lead. A short one gets company from near it, when that
    # carries facts of its own and does not lean on a sentence left out.
    chosen = {anchor.order: anchor}
    if company is not None:
        chosen[company.order] = company
    words = sum(s.words for s in chosen.values())
    for s in ranked[1:]:
        if words >= _SHORT_LEAD * max_words:
            break
        if s.order in chosen or s.words > max_words - words or abs(s.order - anchor.order) > _NEAR:
            continue
        if (_needs_context(s) and s.order - 1 not in chosen) or _facts(s) == (0, False):
            continue
        if _EMPTY.search(s.text):
            continue
        if any(len(s.stems & c.stems) > 0.6 * len(s.stems) for c in chosen.values()):
            continue  # says again what a chosen sentence says
        chosen[s.order] = s
        words += s.words
    return _joined([chosen[k].text for k in sorted(chosen)])


def _joined(sentences: list[str]) -> str:
    """Sentences as one lead: a space between them, none after a Chinese or Japanese one."""
    out = sentences[0]
    for s in sentences[1:]:
        out += s if out.endswith(tuple(CJK_SENTENCE_END)) else f" {s}"
    return out


# --- llm backend ------------------------------------------------------------------------

_MAX_RESPONSE_BYTES = 1 << 20
_MAX_ARTICLE_CHARS = 12_000
_GIVE_UP_AFTER = 3  # unreachable/timeouts in a row: stop calling for the rest of the run
_MARKUP = re.compile(
    r"<[a-zA-Z/!][^>]*>|&(?:[a-zA-Z]+|#\d+);|\*\*|__|`|^\s*(?:#{1,6}\s|[-*+]\s|\d+\.\s|>)"
    r"|\[[^\]]*\]\([^)]*\)",
    re.MULTILINE,
)
_NUMBER = re.compile(r"\d[\d,.]*")

_SYSTEM_PROMPT = (
    "You write the lead of one item in a news digest. Rules: "
    "1. Use only facts stated in the article; add nothing, guess nothing, no opinion. "
    "2. At most {max_words} words: one short paragraph of whole sentences, in the "
    "language of the article. "
    "3. Plain text only: no markdown, no HTML, no list, no quotes around it, no preface. "
    "4. Do not repeat the title. "
    "Answer with the lead and nothing else."
)


class LlmError(Exception):
    """The llm backend gave no usable lead. `unavailable`: calling again will not help."""

    def __init__(self, message: str, unavailable: bool = False):
        super().__init__(message)
        self.unavailable = unavailable


def _latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    latin = sum(1 for c in letters if c.isascii() or unicodedata.name(c, "").startswith("LATIN"))
    return latin / len(letters)


def validate_llm_lead(answer: str, article: Article, max_words: int) -> str:
    """The answer as a lead, tidied; LlmError saying what is wrong with it otherwise."""
    text = answer.strip()
    if len(text) >= 2 and (text[0], text[-1]) in {('"', '"'), ("“", "”")}:
        text = text[1:-1].strip()
    if not text:
        raise LlmError("empty answer")
    if _MARKUP.search(text):
        raise LlmError("answer contains markup")
    if "\n" in text:
        raise LlmError("answer is more than one paragraph")
    words = len(text.split())
    if words > max_words:
        raise LlmError(f"answer has {words} words, over the limit of {max_words}")
    if not _ENDS_SENTENCE.search(text):
        raise LlmError("answer does not end a sentence")
    body = f"{article.title}\n" + "\n".join(article.prose)
    if (_latin_share(body) >= 0.5) != (_latin_share(text) >= 0.9):
        raise LlmError("answer is not in the article's script")
    if words >= 12 and english_share(body) >= 0.15 and english_share(text) < 0.05:
        raise LlmError("answer is not in the article's language")
    # Russian copy answered in Kazakh (or Uzbek in Russian): the same script, another language.
    if words >= 12 and detect(text) != language_of(article):
        raise LlmError(f"answer is in {detect(text)}, the article in {language_of(article)}")
    digits = {re.sub(r"\D", "", n) for n in _NUMBER.findall(body)}
    invented = [n for n in _NUMBER.findall(text) if re.sub(r"\D", "", n) not in digits]
    if invented:
        raise LlmError(f"answer has numbers the article does not: {', '.join(invented)}")
    return text


class _LlmSummarizer:
    def __init__(self, llm: LlmConfig, max_words: int):
        self.llm = llm
        self.max_words = max_words
        self.url = llm.base_url.rstrip("/") + "/chat/completions"
        self._failures = 0  # unavailable in a row
        self._last_failure = ""

    def __call__(self, article: Article) -> LeadResult:
        if self._failures >= _GIVE_UP_AFTER:
            return self._fallback(
                article,
                f"llm not called: {self._failures} failures in a row ({self._last_failure})",
            )
        try:
            lead = validate_llm_lead(self._ask(article), article, self.max_words)
        except LlmError as exc:
            if exc.unavailable:
                self._failures += 1
                self._last_failure = str(exc)
            return self._fallback(article, f"llm lead not used: {exc}")
        except Exception as exc:  # the llm is optional: nothing it does may stop a run
            return self._fallback(article, f"llm lead not used: {type(exc).__name__}: {exc}")
        self._failures = 0
        return LeadResult(lead, "llm")

    def _fallback(self, article: Article, why: str) -> LeadResult:
        return LeadResult(
            extractive_lead(article, self.max_words), "extractive", f"{why}; extractive lead used"
        )

    def _request(self, article: Article) -> urllib.request.Request:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.llm.api_key_env:
            key = os.environ.get(self.llm.api_key_env)
            if not key:
                raise LlmError(f"environment variable {self.llm.api_key_env} is not set", True)
            headers["Authorization"] = f"Bearer {key}"
        body = "\n\n".join(article.prose)[:_MAX_ARTICLE_CHARS]
        payload = {
            "model": self.llm.model,
            "temperature": 0,
            "max_tokens": self.max_words * 3 + 20,
            "messages": [
                {"role": "system", "content": _SYSTEM_PROMPT.format(max_words=self.max_words)},
                {"role": "user", "content": f"Title: {article.title}\n\nArticle:\n{body}"},
            ],
        }
        return urllib.request.Request(
            self.url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )

    def _ask(self, article: Article) -> str:
        request = self._request(article)
        try:
            with urllib.request.urlopen(request, timeout=self.llm.timeout) as response:
                raw = response.read(_MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise LlmError(f"HTTP {exc.code} from {self.url}", True) from None
        except urllib.error.URLError as exc:
            raise LlmError(f"cannot reach {self.url}: {exc.reason}", True) from None
        except TimeoutError:
            raise LlmError(
                f"no answer from {self.url} within {self.llm.timeout:g}s", True
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise LlmError(f"connection to {self.url} failed: {exc!r}", True) from None
        if len(raw) > _MAX_RESPONSE_BYTES:
            raise LlmError("answer too large")
        try:
            choice = json.loads(raw)["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, LookupError, TypeError):
            raise LlmError("answer is not an OpenAI-style chat completion") from None
        if not isinstance(content, str):
            raise LlmError("answer is not an OpenAI-style chat completion")
        if choice.get("finish_reason") == "length":
            raise LlmError("answer was cut off at the token limit")
        return content


def make_summarizer(config: SummaryConfig) -> Callable[[Article], LeadResult]:
    """The lead writer the config asks for; ConfigError when the config cannot work."""
    if config.max_words < 1:
        raise ConfigError("must be at least 1", key="summary.max_words")
    if config.backend == "extractive":
        max_words = config.max_words
        return lambda article: LeadResult(extractive_lead(article, max_words), "extractive")
    if config.backend == "llm":
        llm = config.llm
        if llm is None:
            raise ConfigError(
                "backend is llm but no llm endpoint is configured",
                key="summary.llm",
                hint="add summary.llm with base_url and model, or use backend: extractive",
            )
        url = urllib.parse.urlsplit(llm.base_url)
        if "@" in url.netloc:
            raise ConfigError(
                "the URL holds credentials",
                key="summary.llm.base_url",
                hint="name the environment variable that holds the key in summary.llm.api_key_env",
            )
        if not is_web_url(llm.base_url):
            raise ConfigError(f"{llm.base_url!r} is not an http(s) URL", key="summary.llm.base_url")
        return _LlmSummarizer(llm, config.max_words)
    raise ConfigError(
        f"unknown backend {config.backend!r}",
        key="summary.backend",
        hint="use extractive or llm",
    )
