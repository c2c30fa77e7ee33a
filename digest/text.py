"""Text rules shared by the stages: how words are told apart, folded and compared.

Readers, selection and leads all need to agree on what a word is, what counts as the same
word ("Erdoğan" and "Erdogan", "KAZAKHSTAN" and "Kazakhstan", curly and straight quotes),
what a headline says once a republisher's label is taken off, and when two URLs are one.
These rules live here once; nothing in this module knows about a stage.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

import idna

# Quotes, dashes and spaces beyond ASCII: they separate words like their ASCII kin.
UNICODE_PUNCT = (
    "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a"  # quotes
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2026\u2022\u00b7\u00a0"  # dashes, ..., bullets, nbsp
)
# One pass over the bytes: ASCII punctuation to spaces, ASCII capitals to lower case.
_ASCII_FOLD = bytes.maketrans(
    string.punctuation.encode() + string.ascii_uppercase.encode(),
    b" " * len(string.punctuation) + string.ascii_lowercase.encode(),
)


# Site furniture the page reader keeps out of an article's text and the leads keep out of a
# lead: calls to follow a link, and a listing page's result counter.
CHROME_PHRASES = (r"\bclick here\b", r"\bread more\b", r"\bcontinue reading\b")
# A call opens a line or closes it ("Read more: ...", "..., click here."); in the middle of a
# sentence its words are prose ("twice as likely to read more than ten books").
_CALLS = "|".join(CHROME_PHRASES)
# A pointer to another story, its headline after a label ("Related: ...", "ALSO READ: ...",
# "See also — ...", "Читайте также: ..."): on a page snapshot it read as a title, and the next
# article as its paragraphs.
_POINTER = (
    r"^\W*(?:related(?: articles?| stories| story| news| content| reading)?|also read"
    r"|read also|see also|more on this(?: story)?|читайте также|смотрите также|по теме)"
    r"(?:\s*:|\s+[—–-])"
)
# A short line ending on a call is all call: "For more information click here."
CHROME_CALL = (
    rf"^\W*(?:{_CALLS})|[.!?…,:;|\[(]\s*(?:{_CALLS})\W*$|^(?:\S+\s+){{0,6}}(?:{_CALLS})\W*$"
    rf"|{_POINTER}"
)
LISTING_COUNTER = (
    r"^(?:viewing|showing)\s+(?:results?|items?|articles?|stories)?\s*\d+\s*[-–]\s*\d+\s+of\s+\d+"
)

# Captions and credits, kept out of an article's text by the readers and out of a lead by the
# leads: "...; image: Veit Helmer", "Photo: AP", "Фото: ТАСС", "Still from the film ...",
# "Sketch of Sidney Jackson by ...", "Pictured: ...", "(Image credit: Getty Images)", "Автор
# фото: ...". Case does not matter.
# A credit opens the line or follows a sentence or a semicolon, never a word: "most of the
# shortfall came from one source: a 12% fall" is prose.
CAPTIONS = (
    r"(?:^|[.!?…;|(]|[.!?…;|]\s)\s*(?:(?:photo|image|picture|автор)\s+)?"  # "Photo credit:"
    r"(?:image|photo|photograph|picture|credits?|courtesy|illustration|source|"
    r"фото|источник)\s*:\s*\S"
    r"|^(?:photo|image|picture|illustration|sketch|map|still|screenshot)s?\s+"
    r"(?:of|by|from|courtesy)\b|^pictured\b|^фото\s+в\s+анонсе\s*:"
)
# An interviewer's line: a label in capitals and a colon before the question. A short label
# ("TCA: ...", "Q: ...") or "Question:" says so by itself, a longer one when the line asks.
_CAPITALS_LABEL = re.compile(
    r"^([A-ZА-ЯЁ][A-ZА-ЯЁ'’.-]*(?:\s+[A-ZА-ЯЁ][A-ZА-ЯЁ'’.-]*){0,2})\s*:\s+\S"
)
_QUESTION_LABEL = re.compile(r"^(?i:q|question|вопрос)\s*:\s+\S")


def counted(n: int, noun: str) -> str:
    """A count and its noun as the command line prints them: "1 article", "2 articles"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def is_interviewer_line(line: str) -> bool:
    """ "TCA: What drew you to this subject?": an interviewer's line, not the news."""
    if _QUESTION_LABEL.match(line):
        return True
    label = _CAPITALS_LABEL.match(line)
    if label is None:
        return False
    return (label[1].isalpha() and len(label[1]) <= 5) or line.rstrip().endswith("?")


def unicode_punct_to_spaces(text: str) -> str:
    if text.isascii():
        return text
    for ch in UNICODE_PUNCT:  # a few fast scans beat one regex or str.translate here
        if ch in text:
            text = text.replace(ch, " ")
    return text


def tokens(text: str) -> list[bytes]:
    """Words of `text` for comparison: lower case, punctuation and quotes dropped."""
    return folded(text).split()


def folded(text: str) -> bytes:
    """`text` as `tokens` reads it: lower case, UTF-8, punctuation and quotes made spaces;
    its words are what `bytes.split()` splits it into."""
    text = unicode_punct_to_spaces(text)
    if not text.isascii():  # most English text is ASCII once its quotes are gone
        text = text.lower()
    return text.encode().translate(_ASCII_FOLD)


def plain(word: str) -> str:
    """Lower case without accents, so "Erdoğan" and "Erdogan" match."""
    word = word.lower().replace("\u2019", "'")
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


# Labels republishers put before or after a headline. A prefix is a short label and a colon
# ("Update:", "Week in Review:", "EXCLUSIVE —"); a suffix a part number, an "updated" note or a
# site name after a bar or a dash ("(Part 2)", "[Updated]", "| Kazinform").
_LABEL_WORDS = ("breaking", "exclusive", "update", "updated", "watch", "video", "opinion",
               "analysis", "live")  # fmt: skip
_LABEL_PREFIX = re.compile(
    r"^\s*(?:(?:[\w'’-]+\s+){0,3}[\w'’-]+\s*[:|]\s+|"
    rf"(?:{'|'.join(_LABEL_WORDS)})\s*[—–-]\s+)",
    re.I,
)
_LABEL_SUFFIX = re.compile(
    r"\s*(?:[(\[][^()\[\]]{1,30}[)\]]|\s[|—–-]\s+[\w.'’-]+(?:\s+[\w.'’-]+){0,3})\s*$",
)
# ... and a note after a colon or an attribution after a comma ("X: Background", "X: What
# We Know", "X, Officials Say"), taken off only when what is left names a story alone.
_LABEL_TAIL = re.compile(
    r"(?::\s+(?:[\w'’-]+\s+){0,3}[\w'’-]+"
    r"|,\s+(?:[\w.'’-]+\s+){0,3}(?:say|says|said|report|reports|claim|claims|warn|warns))"
    r"\s*[.!?]?\s*$",
    re.I,
)


HEADLINE_WORDS = 4  # a headline of fewer content words is too generic to name a story


ELLIPSIS = "…"


def cut_at_word(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut at a word boundary, ending with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS) + 1]
    cut = head.rsplit(None, 1)[0] if " " in head.strip() else head[:-1]
    cut = cut[: limit - len(ELLIPSIS)].rstrip(" ,;:-–—")
    return cut + ELLIPSIS


def title_key(title: str) -> str:
    """A title as the items of one feed are told to share it by: its words, case and figures
    aside ("Morning Newsletter #212" and "Morning newsletter #213" are one)."""
    return " ".join(w for w in re.findall(r"\w+", title.casefold()) if not w.isdigit())


def site_of(url: str | None) -> str:
    """The host a link is on, "www." aside: the items a feed's one title covers are on its
    own site (a newsletter's, a Telegram channel's), an aggregator's items under one wire
    headline on each outlet's."""
    try:
        host = urlsplit(url or "").hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def headline(title: str) -> str:
    """A headline without the labels republishers add: "Update: X (Part 2)" -> "X",
    "In Numbers: X, Officials Say" -> "X".

    Only a label of at most four words is taken off, and never the whole headline, so
    "Kazakhstan: The Road Ahead" keeps its meaning in what is left; a label before a colon is
    left on when what follows is too short to name a story alone ("Unveiling the Magic:
    Behind the Scenes of Baikonur" is one headline).
    """
    text = title.strip()
    for _ in range(2):  # "X (Part 2) | Site"
        m = _LABEL_SUFFIX.search(text)
        if not m or m.start() < 12:
            break
        text = text[: m.start()]
    m = _LABEL_TAIL.search(text)
    if m and len(content_words(text[: m.start()])) >= HEADLINE_WORDS:
        text = text[: m.start()]
    for _ in range(2):  # "Update: Opinion: X"
        m = _LABEL_PREFIX.match(text)
        if (
            not m
            or len(text) - m.end() < 12
            or len(content_words(text[m.end() :])) < HEADLINE_WORDS
        ):
            break
        text = text[m.end() :]
    return text.strip()


# Query parameters that say where a click came from, never what the page shows: Google
# Analytics' campaign tags (every utm_*) and the click and mail ids of ad, mail and social
# platforms, as Firefox's query stripping lists them (its query-stripping.json), with
# Mailchimp's campaign id, HubSpot's and Instagram's share ids, and the campaign tags of Piano
# Analytics (AT Internet), which BBC News and Le Monde put on every RSS link. Links are shown
# and matched without them; "ref", "source" and the like may select content and stay.
_TRACKING = frozenset(
    """fbclid gclid dclid gbraid wbraid msclkid twclid yclid ysclid igshid mc_cid mc_eid _hsenc
    _hsmi __hssc __hstc __hsfp hsctatracking mkt_tok oly_anon_id oly_enc_id vero_id wickedid
    _openstat at_medium at_campaign at_campaign_type at_format at_creation at_variant
    at_send_date at_link at_link_id at_link_origin at_link_type at_ptr_name at_recipient_id
    at_recipient_list at_emailtype xtor""".split()
)


def _tracks(param: str) -> bool:
    name = param.partition("=")[0].lower()
    return name.startswith("utm_") or name in _TRACKING


def without_tracking(url: str) -> str:
    """`url` without its tracking parameters (`_TRACKING`), the rest as written."""
    head, hash_mark, fragment = url.partition("#")
    base, question, query = head.partition("?")
    if not question:
        return url
    params = [p for p in query.split("&") if p and not _tracks(p)]
    return base + ("?" + "&".join(params) if params else "") + hash_mark + fragment


def normal_url(url: str) -> str:
    """A URL as feeds vary it: no scheme, `www.`, fragment, tracking parameters or final `/`."""
    url = url.strip()
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.I)
    url = url.split("#", 1)[0]
    host, _, rest = url.partition("/")
    host = host.lower().removeprefix("www.")
    path, _, query = rest.partition("?")
    params = [p for p in query.split("&") if p and not _tracks(p)]
    return host + "/" + path.rstrip("/") + ("?" + "&".join(params) if params else "")


def is_web_url(text: str | None) -> bool:
    """An absolute http(s) URL naming a host ("https://example.com/rss.xml"); not a path,
    "file:", "mailto:" or "http:///x"."""
    if not text:
        return False
    try:
        parts = urlsplit(text.strip())
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # "http://[::1": a bracket never closed
        return False


def is_article_url(url: str | None) -> bool:
    """An absolute http(s) link with a path: a home page or a bare host names no article."""
    if not is_web_url(url):
        return False
    path = normal_url(url).partition("/")[2]
    return bool(path.strip("/"))


# ZWNJ/ZWJ: needed by Persian script and emoji sequences; LRM/RLM: marks with no scope, which
# keep a right-to-left name and what follows it in order (render.closed_ltr)
_KEEP_FORMAT_CHARS = "\u200c\u200d\u200e\u200f"


def direction(text: str) -> str:
    """The text's direction, "rtl" or "ltr": its first strong character's (Arabic, Hebrew
    are right to left), as dir="auto" finds it, said outright for clients that ignore auto."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return "ltr"


# Scripts written without spaces between words: Chinese, Japanese (kana), Korean syllables.
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
CJK_SENTENCE_END = "。！？"


def word_count(text: str) -> int:
    """Words as a reader of the text counts them: whitespace-separated ones, and in Chinese
    or Japanese, written without spaces, a word for every two characters (words there are
    one to three characters long, two most often)."""
    count = 0
    for token in text.split():
        letters = len(CJK.findall(token))
        count += (letters + 1) // 2 if letters else 1
    return count


MAX_NAME = 100  # characters of a reader's name: a To: header line stays far under 998


def reader_name(text: str | None) -> str | None:
    """A reader's name as given (a form, a CSV list, the operator), made one clean line of
    at most MAX_NAME characters; None when nothing is left."""
    return clean_text(text or "")[:MAX_NAME].strip() or None


def _noncharacter(code: int) -> bool:
    """Unicode's noncharacters (U+FDD0-FDEF, U+xFFFE, U+xFFFF): never text; a U+FFFE in a
    title crashed the MJML renderer."""
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text: str) -> str:
    """`text` with U+FFFD for each lone surrogate, which no key, database or mail takes: JSON
    escapes half an emoji as one ("\\ud83d", a string cut by UTF-16 units), and Python
    holds a file name's bytes that are no UTF-8 as some ("caf\\udce9.rss", Latin-1)."""
    return _SURROGATE.sub("\ufffd", text)


def clean_text(text: str) -> str:
    """One line of displayable text: control and format characters gone, whitespace collapsed."""
    if not text.isprintable():  # the rare slow path: only for text with odd characters
        chars = []
        for ch in text:
            cat = unicodedata.category(ch)
            if cat == "Cc" or cat[0] == "Z":
                chars.append(" ")
            elif cat == "Cs":
                chars.append("\ufffd")  # a lone surrogate cannot be encoded in the message
            elif _noncharacter(ord(ch)):
                continue
            elif cat != "Cf" or ch in _KEEP_FORMAT_CHARS:  # Cf: bidi overrides, BOM, soft hyphen
                chars.append(ch)
        text = "".join(chars)
    return " ".join(text.split())


# An e-mail address as digest sends to it: a dot-atom before the @ (RFC 5322, ASCII), a
# domain of at least two labels, in its ASCII form.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+$")
_HOST_ADDRESS = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}$")  # "digest@localhost"


def domain_as_ascii(domain: str) -> str | None:
    """An IDN domain in its ASCII form, as browsers and mail systems write it ("новости.рф":
    "xn--b1amnebsh.xn--p1ai"); None when it cannot be one."""
    if domain.isascii():
        return domain
    try:  # IDNA 2008 (UTS 46): Python's own codec, IDNA 2003, maps "faß.de" to fass.de
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None


def normalize_address(text: str, *, host_only: bool = False) -> str | None:
    """The address as it will be sent to (an IDN domain in its ASCII form), or None when it is
    not a usable address: readers, `to:`, the CSV, the sign-up form and `from:` alike.
    `host_only`: a domain of one label is taken too, as the sender's default
    "digest@localhost" (messages for the outbox and previews) has."""
    address = text.strip()
    local, at, domain = address.rpartition("@")
    if at and domain and not domain.isascii():
        ascii_domain = domain_as_ascii(domain)
        if ascii_domain is None:
            return None
        address = f"{local}@{ascii_domain}"
    if len(address) > 254:
        return None
    if EMAIL.match(address) or (host_only and _HOST_ADDRESS.match(address)):
        return address
    return None


def safe_href(url: str | None) -> str | None:
    """The URL when it is a plain http(s) link, else None (no link is shown)."""
    if not url:
        return None
    url = url.strip()
    if not url.isprintable() or " " in url:  # isprintable: no other whitespace, no controls
        return None
    return url if is_web_url(url) else None


# Words that carry no content, in the languages the news here is written in (English, Russian,
# Kazakh, Uzbek): left out when texts are compared, by the same-story score and by the leads.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its it's itself
    just me more most my no nor not now of off on once only or other our out over own same she
    should so some such than that the their them then there these they this those through to too
    under until up very was we were what when where which while who whom whose why will with
    within without would you your shall must may might said says say told according including
    well one two three per via new year years s
    b c d e f g h j k l m n o p q r t u v w x y z
    и в во на не что с со по к ко о об от из за для до при у а но или же бы ли как так это
    этот эта эти его ее её их он она они мы вы я был была были было будет быть также уже
    еще ещё который которая которое которые сообщает сообщил заявил
    және мен бен пен бұл осы да де ол олар үшін туралы
    va bilan bu ham uchun esa u ular haqida""".split()
)
STOP_WORD_BYTES = frozenset(w.encode() for w in STOP_WORDS)  # as `tokens` gives words


def content_words(text: str) -> list[bytes]:
    """The words of `text` (`tokens`) that are not stop words."""
    return without_stop_words(tokens(text))


def without_stop_words(words: Iterable[bytes]) -> list[bytes]:
    return [w for w in words if w not in STOP_WORD_BYTES]


# Words a text cut short must not end on ("... the production of…"): articles, prepositions,
# conjunctions, possessives, in English and Russian.
DANGLING_WORDS = frozenset(
    """a an the and or but of to in into on at by for with from as that which who whose while
    including such like than its his her their
    near about over under after before between among through during without within against
    toward towards across behind beyond upon onto via per
    be been being is are was were am has have had do does did will would shall should can
    could may might must not
    в во на и а но или с со по к ко о об от из за для до при у что который которая которое
    которые как его ее её их около возле над под между через после перед без среди вокруг
    был была были было будет будут быть является не""".split()
)

# Of those, the ones that are also names, months or acronyms when capitalised ("May", "Will",
# "IS"): a cut ends on them as written.
_ALSO_NAMES = frozenset("may will can am is be did does".split())


def dangles(word: str) -> bool:
    """Whether a text cut short must not end on `word` (DANGLING_WORDS), case aside, unless it
    is written as a name or an acronym ("... rates in May", "... strikes on IS"); after the
    quotation mark it opens too ("... закон «О…", "... the “of…")."""
    word = word.lstrip("«„“‘\"'(")
    lower = word.lower()
    if lower not in DANGLING_WORDS or (len(word) > 1 and word.isupper()):
        return False
    return word.islower() or lower not in _ALSO_NAMES


# Month and weekday names as English and Russian news write them, for reading dates in text
# ("27 January", "Dec. 3", "3 декабря", "в среду"); the digest writes its own dates through
# Babel (digest/i18n). Lower case; each list in calendar order, Monday first.
EN_MONTHS = tuple(
    "january february march april may june july august september october november december".split()
)
EN_MONTH_ABBREVIATIONS = tuple("jan feb mar apr jun jul aug sep sept oct nov dec".split())
RU_MONTHS = tuple(  # "январь": the name alone
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь".split()
)
RU_MONTHS_GENITIVE = tuple(  # "3 декабря": a day of the month
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря".split()
)
RU_MONTH_ABBREVIATIONS = tuple("янв фев февр мар апр июн июл авг сен сент окт ноя нояб дек".split())
EN_WEEKDAYS = tuple("monday tuesday wednesday thursday friday saturday sunday".split())
EN_WEEKDAY_ABBREVIATIONS = tuple("mon tue wed thu fri sat sun".split())
RU_WEEKDAYS = tuple("понедельник вторник среда четверг пятница суббота воскресенье".split())
RU_WEEKDAYS_ACCUSATIVE = tuple(  # "в среду": on a day
    "понедельник вторник среду четверг пятницу субботу воскресенье".split()
)
RU_WEEKDAYS_GENITIVE = tuple(  # "до среды"
    "понедельника вторника среды четверга пятницы субботы воскресенья".split()
)


def _calendar(*names: tuple[str, ...], start: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for group in names:
        for number, name in enumerate(group, start):
            out.setdefault(name, number)
    return out


def _abbreviated(abbreviations: tuple[str, ...], names: tuple[str, ...]) -> dict[str, int]:
    """ "sept" -> 9: the month whose name the abbreviation begins."""
    return {
        a: next(n for n, name in enumerate(names, 1) if name.startswith(a)) for a in abbreviations
    }


# Every written form of a month -> its number (1-12): "january", "jan", "sept", "декабря", "дек".
MONTHS = (
    _calendar(EN_MONTHS, RU_MONTHS_GENITIVE, RU_MONTHS, start=1)
    | _abbreviated(EN_MONTH_ABBREVIATIONS, EN_MONTHS)
    | _abbreviated(RU_MONTH_ABBREVIATIONS, RU_MONTHS)
)
# Every written form of a weekday -> its number (Monday 0): "friday", "fri", "пятницу".
WEEKDAYS = _calendar(
    EN_WEEKDAYS,
    RU_WEEKDAYS_ACCUSATIVE,
    RU_WEEKDAYS_GENITIVE,
    RU_WEEKDAYS,
    EN_WEEKDAY_ABBREVIATIONS,
    start=0,
)


_WHEN_WORDS = frozenset(
    (*MONTHS, *WEEKDAYS)
    + tuple("г года updated published posted last on at am pm a.m p.m a p m в обновлено".split())
    + tuple("gmt utc et est edt ct cst cdt pt pst pdt bst cet cest msk ist".split())
)
# A figure of a date or a time: "27", "11/27/2005", "7:21", "2013-07-22", "5th", "19pm".
_WHEN_NUMBER = re.compile(r"\d{1,4}(?:[:/.-]\d{1,4})*(?:st|nd|rd|th|am|pm)?")


def says_only_when(line: str) -> bool:
    """Whether the line is a date or time stamp and nothing more ("Posted 11/27/2005 7:21 AM",
    "9:53 AM, MON 22 JUL 2013", "Обновлено 3 декабря"): site furniture as a sentence, and no
    headline for a story."""
    tokens = [t.strip(",.:|()@/-–—").lower() for t in line.split()]
    tokens = [t for t in tokens if t]
    return any(_WHEN_NUMBER.fullmatch(t) for t in tokens) and all(
        t in _WHEN_WORDS or _WHEN_NUMBER.fullmatch(t) for t in tokens
    )


# A page's time stamp run into the news it heads, as pages and extractors give it: "May 3,
# 2013 | 8:20 am Lindsay Lohan's attorney said ...", "Updated 4/9/2007 6:04 PM A man ...",
# "published: 2012-04-04 11:47:35 During ...", "on Jul 7 2012, 5:55p Wladimir Klitschko ..."
# (a byline's tail), "Published on: Fri, 11 Nov 2011 at 09:56 IST ...", "Обновлено 3 декабря
# 2025, 14:20 Президент ...". Its words: labels, figures, months and weekdays beside a figure
# ("May Day" is news), prepositions before one, zones after one ("EDT", "UK", "GMT+01:00").
_STAMP_LABELS = frozenset(
    "updated published posted originally first last edited time обновлено опубликовано".split()
)
_STAMP_NUMBER = re.compile(r"\d{1,4}(?:[:/.-]\d{1,4})*(?:st|nd|rd|th|am|pm|a|p|h)?")
_STAMP_TIME = re.compile(r"\d{1,2}[:.]\d\d|\d{1,2}(?:am|pm|a|p)|am|pm|a\.m|p\.m")
_STAMP_ZONE = re.compile(
    r"(?:gmt|utc)(?:[+-]\d{1,2}(?::?\d\d)?)?|[ecmp][sd]?t|[ab]st|aes?t|aedt|ce[s]?t|ee[s]?t|msk|ist"
    r"|pkt|almt|sgt|hkt|jst|kst|hst|ak[sd]t|uk"
)
_STAMP_YEAR = re.compile(r"(?:19|20)\d\d")
_STAMP_FIGURES = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}.*")  # 4/9/2007, 2012-04-04
_CALENDAR_WORDS = frozenset((*MONTHS, *WEEKDAYS))
_STAMP_OPENERS = frozenset(("on", *_STAMP_LABELS))  # "on Jul 7 2012, 5:55p"
_STAMP_PREPOSITIONS = frozenset("on at в".split())
_STAMP_TRIM = ",.:|()[]@/-–—"


def _stamp_length(words: list[str]) -> int:
    """How many of `words` open a time stamp: 0 when they do not open one (no time, date in
    figures or year among them: "Originally," and "Updated figures" are news; nor a year
    alone, labelled or not: "2012 Olympic champion Usain Bolt said ...", "Apple Posted 2015
    Profits ..."). A capitalised
    "On" or "В" opens the news, not a stamp, and so may a date in Russian ("30 апреля 1984 года
    Муамар Каддафи предложил ..."): one is a stamp with a time or a label."""
    tokens = [w.strip(_STAMP_TRIM).lower() for w in words]

    def number(i: int) -> bool:
        return i < len(tokens) and bool(_STAMP_NUMBER.fullmatch(tokens[i]))

    def calendar(i: int) -> bool:
        return i < len(tokens) and tokens[i].rstrip(".") in _CALENDAR_WORDS

    end, stamped = 0, False  # words taken; whether a time or a date in figures is among them
    year = label = russian = False
    dates = 0  # figures and month or weekday names: a year alone ("2012 Olympic ...") is none
    for i, t in enumerate(tokens):
        if not t or number(i):
            stamped = stamped or bool(_STAMP_FIGURES.fullmatch(t) or _STAMP_TIME.fullmatch(t))
            year = year or bool(_STAMP_YEAR.fullmatch(t))
            dates += bool(t)
        elif calendar(i):
            if not (number(i + 1) or calendar(i + 1) or (i and number(i - 1))):
                break
            russian = russian or not t.isascii()
            dates += 1
        elif t in _STAMP_LABELS:
            label = True
        elif t in ("a", "p"):  # "7 a. m."
            if tokens[i + 1 : i + 2] != ["m"]:
                break
        elif t in _STAMP_PREPOSITIONS:  # "at 5", "в 14:20"
            if words[i].istitle() or not (number(i + 1) or calendar(i + 1)):
                break  # "On October 1-2 Ashgabat hosts ...": the news
        elif t in ("m", "г", "года") or _STAMP_TIME.fullmatch(t):
            if not i or not (number(i - 1) or tokens[i - 1] in ("a", "p")):
                break
            stamped = stamped or t not in ("г", "года")
        elif _STAMP_ZONE.fullmatch(t) and words[i].strip(_STAMP_TRIM).isupper():
            previous = tokens[i - 1] if i else ""
            if not (
                number(i - 1)
                or previous == "m"
                or _STAMP_TIME.fullmatch(previous)
                or _STAMP_ZONE.fullmatch(previous)
            ):
                break  # "EDT", "UK", "GMT+05:00" after the time
        else:
            break
        end = i + 1
    return end if stamped or (year and dates > 1 and (label or not russian)) else 0


_NEWS_START = re.compile(r"^[\"'“‘«„(]*[A-ZА-ЯЁ]")


# A stamp's label after a heading or a caption with no full stop: "Team Execs Meet With Player's
# Agent UPDATED 3:09 AM EST Dec 19, 2008 Despite saying ...".
_LABEL_WRITTEN = r"UPDATED|Updated|PUBLISHED|Published|POSTED|Posted"
_STAMP_LABEL = re.compile(_LABEL_WRITTEN)
# The word before the label is a heading's (capitalised), a date's figure or a "|".
_LABELLED_STAMP = re.compile(rf"(?:[A-Z0-9]\S*|\|)\s+({_LABEL_WRITTEN})\b")


def is_only_a_stamp(text: str) -> bool:
    """A line that says only when ("12 November 2025 | 14:05", "Updated 5 December 2025,
    14:05"): dates, times, zones and stamp labels, no other word."""
    # word by word, up to the first that is no stamp's: a paragraph of prose stops at once
    words = 0
    for word in text.split():
        if not (w := word.strip(_STAMP_TRIM).lower()):
            continue
        words += 1
        if not (
            _STAMP_NUMBER.fullmatch(w)
            or _STAMP_TIME.fullmatch(w)
            or _STAMP_ZONE.fullmatch(w)
            or w in _CALENDAR_WORDS
            or w in _STAMP_OPENERS
            or w in _STAMP_PREPOSITIONS
        ):
            return False
    return words > 0


def without_timestamp(text: str) -> str:
    """`text` without the time stamp it opens with, when news in a sentence's capital follows
    it, and without a heading or caption before a labelled stamp; as it was otherwise. Only
    words are taken off: nothing is added."""
    first = text.split(" ", 1)[0].strip(_STAMP_TRIM).lower()  # most news opens with no stamp
    opens = first[:1].isdigit() or first in _CALENDAR_WORDS or first in _STAMP_OPENERS
    rest = _after_stamp(text.split(" ")) if opens else None
    if rest is None and _STAMP_LABEL.search(text, 0, 200):
        label = _LABELLED_STAMP.search(text, 0, 200)
        if label and not re.search(r"[.!?]", text[: label.start(1)]):
            rest = _after_stamp(text[label.start(1) :].split())
    return text if rest is None else rest


def _after_stamp(words: list[str]) -> str | None:
    """What follows the time stamp that `words` open with: the longest stamp after which a
    sentence starts ("5/5/2010 US troops ..."); None when there is none."""
    n = _stamp_length(words[:24])
    while n:
        rest = " ".join(words[n:]).lstrip()
        if _NEWS_START.match(rest) and len(rest.split()) >= 4:
            return rest
        n -= 1
        n = n if n and _stamp_length(words[:n]) == n else 0
    return None


# A wire dateline before the news: "МОСКВА, 10 авг - РИА Новости.", "Москва. 7 мая. INTERFAX.RU -",
# "КРАСНОЯРСК, 10 августа. /ТАСС/.", "ЕКАТЕРИНБУРГ, 3 декабря. /Корр. ТАСС Иван Петров/.",
# "SACRAMENTO, Calif. (AP) —", "KYIV, Ukraine (AP) —", "ST. LOUIS (AP) —",
# "SAN FRANCISCO/NEW YORK, Jan 3 (Reuters) -", "BEIJING, Dec. 5 (Xinhua) --", "Washington CNN —",
# "ALMATY (KZ) -": a place (words of letters: no "Q3") and a date, each optional, then the
# agency in brackets, in slashes or by name (as written or in capitals, with a regional desk:
# "ИНТЕРФАКС-СИБИРЬ", "INTERFAX-KAZAKHSTAN"; in brackets with a desk's word: "(CNN Business)"),
# then a dash or a full stop, or after a date ANI's colon or PTI's nothing (when each counts:
# `without_dateline`).
_AGENCIES = (
    r"INTERFAX\.RU|Interfax|Интерфакс|РИА Новости|ТАСС|TASS|Kazinform|Казинформ|ҚазАқпарат|"
    r"КазТАГ|KazTAG|Tengrinews(?:\.kz)?|Kabar|Кабар|AKIpress|АКИpress|UzDaily(?:\.com|\.uz)?|"
    r"24\.kg|Trend|Тренд|UzA|Dunyo|Sputnik|Спутник|Reuters|AFP|AP|Xinhua|Синьхуа|Anadolu|CNN|"
    r"Bloomberg|UPI|PTI|IANS|ANI|APP|Yonhap|Kyodo|Jiji|dpa|EFE|ANSA|Ukrinform|BelTA|Bernama|"
    r"Antara|Agerpres|Azertac|Khovar|Ховар|Kun\.uz|Lusa|Belga|Europa Press|Prensa Latina|Tasnim|"
    r"AA|QNA|IRNA|VNA|MENA|BSS|CNA|REGNUM|Регнум|ПРАЙМ|БелТА"
)
# Sputnik's and RIA's editions after the name ("АСТАНА, 6 дек — Sputnik Казахстан.");
# "ИА" (информационное агентство) before it, the name in quotes or not ("Бишкек (ИА
# «24.kg») —", "Москва, 5 декабря. ИА REGNUM.").
_EDITIONS = (
    r"Казахстан|Кыргызстан|Таджикистан|Узбекистан|Беларусь|Армения|Азербайджан|Грузия|"
    r"Молдова|Абхазия|Латвия|Литва|Эстония|Крым"
)
_AGENCY = (
    rf"(?:ИА\s+)?(?:«(?:{_AGENCIES})»|(?:{_AGENCIES}|{_AGENCIES.upper()})(?:-[^\W\d_]+)?\b)"
    rf"(?:\s(?:{_EDITIONS})\b)?"
)
# National agencies known by a code that is also a word or a name ("SPA", "MAP", "PA"): an
# outlet only in brackets ("RIYADH (SPA) -", "WARSAW (PAP) -", "LONDON (PA Media) -"). Not
# those that are a company's ticker too (Molson Coors' TAP, APA Corp's APA, Advance Auto
# Parts' AAP, Cohen & Steers' CNS).
_AGENCY_CODES = (
    r"SPA|WAM|KUNA|BNA|ONA|SANA|NNA|MAP|APS|PAP|MTI|CTK|BTA|UNB|UNN|UNI|PNA|PA|HINA|STA|ANP|NTB"
)
# "ST. LOUIS", "FT. WORTH", "COEUR D'ALENE": of abbreviations only a place's (a title's, "DR.",
# "GOV.", "MR.", opens a name: "DR. FAUCI (NIAID) —" is news), and no possessive ("DOMINO'S")
_PLACE_WORD = (
    r"(?:(?:ST|St|STE|Ste|FT|Ft|MT|Mt|PT|Pt)\.|"
    r"[^\W\d_](?:[^\W\d_]|['’](?![Ss](?![^\W\d_]))|-)*+)"
)
_DASH = r"(?:--|[-–—])"
# The correspondent a wire names after its own name: "МОСКВА, 2 дек — РИА Новости, Наталья
# Дембинская.", "АСТАНА, 3 дек — Sputnik, Ольга Кравец." (left in, the name made every report
# of that desk that day one story)
_BYLINE = r",\s+[A-ZА-ЯЁ][^\W\d_]+(?:[\s-][A-ZА-ЯЁ][^\W\d_]+){0,2}"
_DATELINE = re.compile(
    rf"^(?P<place>{_PLACE_WORD}(?:[ /](?!{_AGENCY}){_PLACE_WORD}){{0,3}}"
    r"(?:,\s+[A-Z][a-z]{1,5}\.|,\s+(?:[A-Z]\.){2,3}|,\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?"
    r"|\s+\[[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\])?"  # "Calif.", "D.C.", "Ukraine", "Gaza Strip"
    r"[,.]?\s+)?"  # ANI's "New Delhi [India],"
    r"(?P<date>(?:\d{1,2}(?:st|nd|rd|th)?\s+[^\W\d_]+\.?|[^\W\d_]+\.?\s+\d{1,2})"  # "Dec. 3"
    r"(?:,?\s+\d{4}(?:\s*г\.|\s+года)?)?(?:,\s+\d{1,2}:\d{2})?[,.]?\s+)?"  # REGNUM's time
    rf"(?:{_DASH}\s*)?"
    rf"(?:(?P<agency>/\s*[^/]{{2,40}}\s*/|{_AGENCY}"
    rf"|\((?:{_AGENCY}|(?:{_AGENCY_CODES})\b)(?:\s[A-Z][a-z]+)?\))"
    rf"(?:{_BYLINE})?"
    r"|(?P<bracket>\([^()]{2,30}\)))?"
    rf"\.?\s*(?P<end>(?:{_DASH}|[.:])\s*|$|(?<=\))\s+)"  # ANI's colon, PTI's nothing
)


# Exchanges a company's name is followed by ("NVIDIA (NASDAQ) —")
_EXCHANGES = frozenset("NASDAQ NYSE AMEX OTC LSE TSX ASX HKEX MOEX KASE AIX".split())


def _names_an_outlet(bracket: str, place: str) -> bool:
    """Whether a bracket that is no known agency, after a word in capitals, names the station
    that filed the news: a North American call sign, K or W and up to three more capitals
    ("LOS ANGELES (KABC) --", "ALMATY (KZ) -"). Any other bracket is a company's ticker
    ("APPLE (AAPL) —", "META (FB) —", "BOEING (BA) —"), an exchange, a place or a note in words
    ("SAMSUNG (South Korea) —", "WHO (World Health Organization) —") as much as an outlet: an
    agency is known by name. Nor is a code of the name's letters from its first a call sign
    ("WALMART (WMT) —", "KIMBERLY-CLARK (KMB) —"), or a Latin one after a name in another
    script ("КАЗАТОМПРОМ (KAP) —")."""
    inside = bracket.strip("() ")
    letters = "".join(re.findall(r"[^\W\d_]+", place))
    if (
        not re.fullmatch(r"[KW][A-Z]{1,3}", inside)
        or inside in _EXCHANGES
        or place.split()[0].lower() in _LABEL_WORDS
        or not letters.isascii()
    ):
        return False
    return not (inside[0] == letters[0] and set(inside) <= set(letters))


_DATELINE_CHARS = 80  # a dateline ends within the text's first 80 characters
# What ends one (`_DATELINE`'s group "end"): a dash, a full stop or a colon, never after a
# figure (what stands before the end, a place, a date, an agency or a bracket, ends in a
# space, a letter, a mark or a bracket: "$566.8 million" has none), or a space after a
# bracket; or the text's end, which "$" also finds before a last newline.
_DATELINE_END = re.compile(r"(?<!\d)[-–—.:]|\)")


def without_dateline(text: str, first: bool = True) -> str:
    """`text` without the wire dateline it opens with. After the first paragraph (a dateline
    after an update note) only an agency in brackets or slashes marks one."""
    if len(text) > _DATELINE_CHARS + 1 and not _DATELINE_END.search(text, 0, _DATELINE_CHARS):
        return text  # nothing can end one there: told without trying the pattern (20 us)
    match = _DATELINE.match(text)
    if not match or match.end() > _DATELINE_CHARS:
        return text
    if text[match.end() : match.end() + 1].islower():
        return text  # "Kazakhstan (KZ) - the largest": the news goes on, no dateline ended
    agency = match.group("agency") or ""
    place = (match.group("place") or "").split(",")[0].strip(" .")
    if match.group("end").strip() in ("", ":") and match.end() < len(text):
        # only after a date and an agency in brackets: "New Delhi, Dec 5 (PTI) The ...",
        # "New Delhi [India], December 5 (ANI): The ..."; "Shares of Apple (AP) Inc" is news
        dated = match.group("date") and agency[:1] == "("
        return text[match.end() :] if dated else text
    if agency[:1] in ("(", "/"):  # "(Reuters) -", "/ТАСС/."
        return text[match.end() :]
    if not first:
        return text
    if agency:  # a bare name: with a date or a place in capitals ("Москва. 7 мая. INTERFAX.RU.",
        # "ASTANA. KAZINFORM –"), or before a dash in capitals ("Washington CNN —") or after a
        # place and its full stop or comma ("Астана. Казинформ –"): "... told CNN." and "Market
        # Trend — Oil prices rose" are news
        dash = match.group("end").strip()[:1] in ("-", "–", "—")
        dated = match.group("date") or place.isupper()
        placed = (match.group("place") or "").rstrip()[-1:] in (".", ",") and all(
            word[:1].isupper() for word in place.split()
        )
        return text[match.end() :] if dated or (dash and (agency.isupper() or placed)) else text
    # no agency: "ALMATY (KZ) -", a bracket naming an outlet after a place in capitals ("US -
    # China talks", "Kazakhstan (KZ) -" and "NVIDIA (NVDA) —" are news)
    bracket = match.group("bracket")
    named = bracket and place.isupper() and _names_an_outlet(bracket, place)
    return text[match.end() :] if named else text
