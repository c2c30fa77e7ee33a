"""Source rules: what an editor keeps or leaves out of a source, and where its stories go.

Per source (under its entry in `sources:`) and global (under `selection:`):

- `include: [word, /regex/i, ...]`: only articles whose title or text matches one of them;
- `exclude: [...]`: never articles whose title or text matches one of them;
- `max_per_source: N`: at most N stories told best by one source in a digest.

Per source only: `section: NAME` (every story shown from that source goes there),
`lookback_days: N` (that source's articles older than N days are `too-old`), `full_text`.

A word matches as a whole word, any case ("gas" is not "Gasprom"); `/.../` is a regular
expression, `/.../i` ignoring case. Every article a rule leaves out is skipped with reason
`excluded` and the rule (`exclude: sponsored (source https://...)`).

A regular expression that backtracks without end on some text ("/(a|aa)+$/": any feed can
send that text) is given up after RULE_SECONDS on an article: the article is left out, as
it is for the rest of the run every article that rule would be asked about, each `excluded`
with the rule and "gave up" (an include's only where no other include keeps it), so a run
neither hangs nor sends what the editor's rule may have been written to keep out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import regex

from .lookback import window_start
from .models import EXCLUDED, TOO_OLD, Article, Skipped

_REGEX = re.compile(r"^/(.*)/([a-z]*)$", re.S)
RULE_SECONDS = 0.25  # a rule's search of one text: a sane pattern takes milliseconds


@dataclass(frozen=True)
class Pattern:
    written: str  # as the config writes it: "sponsored", "/wind\\s+farm/i"
    # The regex package, not re: it takes a timeout, and backtracks less (it reads
    # "/(a+)+$/" without the blow-up re has).
    regex: regex.Pattern[str]

    def search(self, article: Article) -> bool:
        """Whether the title or text matches; TimeoutError past RULE_SECONDS on one."""
        any_case = bool(self.regex.flags & regex.IGNORECASE)
        return any(
            self.regex.search(_dotted(t) if any_case else t, timeout=RULE_SECONDS)
            for t in (article.title, article.text)
        )


def _dotted(text: str) -> str:
    """The dotless ı as i: in any case Python's re, which rules were written for, takes them
    for one letter ("Diyarbakir" matched Diyarbakır); the regex package's case folding keeps
    them apart. Done to the pattern and the text alike."""
    return text.replace("ı", "i")


def pattern(text: str) -> Pattern:
    """A rule's word or /regex/flags; ValueError says what is wrong with it."""
    text = text.strip()
    if not text:
        raise ValueError("an empty word matches everything")
    match = _REGEX.match(text)
    if match is None:
        word = regex.escape(_dotted(text))
        return Pattern(text, regex.compile(r"(?<!\w)" + word + r"(?!\w)", regex.I))
    body, flags = match.groups()
    unknown = set(flags) - set("i")
    if unknown:
        raise ValueError(f"unknown regex flag {''.join(sorted(unknown))!r} (only /.../i)")
    try:
        compiled = regex.compile(_dotted(body), regex.I) if "i" in flags else regex.compile(body)
    except regex.error as e:
        raise ValueError(f"not a valid regular expression ({e})") from None
    if compiled.search(""):  # "//", "/.*/", "/x?/": like an empty word
        raise ValueError("this regular expression matches an empty text, so every article")
    return Pattern(text, compiled)


@dataclass(frozen=True)
class Rules:
    include: tuple[Pattern, ...] = ()
    exclude: tuple[Pattern, ...] = ()
    max_per_source: int | None = None
    section: str | None = None
    lookback_days: int | None = None
    full_text: bool = False

    def left_out_by(self, article: Article, gave_up: set[Pattern]) -> str | None:
        """The include/exclude rule that leaves the article out, as written; None: kept.
        A pattern that runs out of time joins `gave_up`, whose patterns are not tried again,
        and leaves the article out as one that matched would for an exclude, and for an
        include unless another include keeps it."""
        for p in self.exclude:
            found, gave_up_why = _tried(p, article, gave_up)
            if found:
                return f"exclude: {p.written}"
            if gave_up_why:
                return f"exclude: {p.written} ({gave_up_why})"
        unsure = None
        for p in self.include:
            found, gave_up_why = _tried(p, article, gave_up)
            if found:
                return None
            if gave_up_why and unsure is None:
                unsure = f"include: {p.written} ({gave_up_why})"
        if unsure:
            return unsure
        if self.include:
            return "include: " + ", ".join(p.written for p in self.include)
        return None


def _tried(p: Pattern, article: Article, gave_up: set[Pattern]) -> tuple[bool, str | None]:
    """Whether the pattern matches the article, and why not known when it gave up (now,
    joining `gave_up`, or on an earlier article)."""
    if p in gave_up:
        return False, "gave up on an earlier article"
    try:
        return p.search(article), None
    except TimeoutError:
        gave_up.add(p)
        return False, f"gave up after {RULE_SECONDS} s: rewrite it"


NO_RULES = Rules()


class SourceRules:
    """The rules for each article: its source's (by the spec it was read from) and the
    global ones."""

    def __init__(self, by_source: dict[str, tuple[str, Rules]], global_rules: Rules = NO_RULES):
        self.by_source = by_source  # article.source -> (the source as the config names it, rules)
        self.global_rules = global_rules
        self.gave_up: set[Pattern] = set()  # patterns that ran out of time (Rules.left_out_by)

    def of(self, article: Article) -> tuple[str, Rules]:
        return self.by_source.get(article.source, (article.source, NO_RULES))

    @classmethod
    def of_config(cls, config, origins: dict) -> SourceRules:
        """From a Config and a ReadResult's origins (Article.source -> SourceSpec)."""
        by_source = {
            source: (spec.name or spec.value, spec.rules) for source, spec in origins.items()
        }
        return cls(by_source, config.selection.rules)

    def too_old(
        self, articles: Sequence[Article], as_of: dt.date | None
    ) -> tuple[list[Article], list[Skipped]]:
        """The articles within their source's `lookback_days`; the others `too-old`."""
        kept, skipped = [], []
        for a in articles:
            name, rules = self.of(a)
            days = rules.lookback_days
            cutoff = window_start(as_of, days)
            if cutoff and a.date and a.date < cutoff:
                skipped.append(Skipped(a, TOO_OLD, rule=f"lookback_days: {days} ({name})"))
            else:
                kept.append(a)
        return kept, skipped

    def excluded(self, articles: Sequence[Article]) -> tuple[list[Article], list[Skipped]]:
        """The articles the include/exclude rules keep (the source's, then the global ones);
        the others `excluded`, each with the rule that left it out."""
        kept, skipped = [], []
        for a in articles:
            name, rules = self.of(a)
            rule = rules.left_out_by(a, self.gave_up)
            if rule:
                skipped.append(Skipped(a, EXCLUDED, rule=f"{rule} ({name})"))
                continue
            rule = self.global_rules.left_out_by(a, self.gave_up)
            if rule:
                skipped.append(Skipped(a, EXCLUDED, rule=f"selection {rule}"))
                continue
            kept.append(a)
        return kept, skipped

    def per_source_cap(self) -> Callable[[Article], str | None]:
        """For selection: called with each story's best telling in digest order; returns the
        `max_per_source` rule that leaves it out, else None (and counts it as chosen)."""
        counts: dict[str, int] = {}

        def over(article: Article) -> str | None:
            name, rules = self.of(article)
            cap = rules.max_per_source or self.global_rules.max_per_source
            if cap is None:
                return None
            if counts.get(name, 0) >= cap:
                where = "" if rules.max_per_source else "selection "
                return f"{where}max_per_source: {cap} ({name})"
            counts[name] = counts.get(name, 0) + 1
            return None

        return over

    def section(self, article: Article) -> str | None:
        return self.of(article)[1].section

    def sections(self) -> list[str]:
        """The sections sources name, in config order."""
        return list(dict.fromkeys(r.section for _, r in self.by_source.values() if r.section))

    def full_text(self, article: Article) -> bool:
        return self.of(article)[1].full_text
