"""Stories on real news written by others: ECB+ (real articles from many outlets grouped by
event; ../shared/data, topics 1-22), measured as benchmarks/stories_ecb.py prints it (the
floors sit a little under today's figures: they catch a change that loses what was won);
and real Russian news (tests/fixtures/languages)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
from conftest import IN_CI

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from stories_ecb import (  # noqa: E402
    DATA,
    EVERYTHING,
    ecb_articles,
    fitted_weights,
    one_run,
    retold,
    retold_stories,
    same_topic_pairs,
    topic_of,
    two_days,
)

from digest.config import SelectionConfig  # noqa: E402
from digest.models import ALREADY_SENT, Article, Paragraph  # noqa: E402
from digest.select import already_sent, similarity  # noqa: E402
from digest.select.already_sent import MAX_SENT_TELLINGS  # noqa: E402
from digest.select.choose import select, sent_records  # noqa: E402
from digest.select.sent import History  # noqa: E402
from digest.state.store import Store  # noqa: E402


@pytest.fixture(scope="module")
def ecb():
    if not DATA.exists():
        reason = f"needs {DATA} (../shared/data beside the project)"
        pytest.fail(reason) if IN_CI else pytest.skip(reason)
    return ecb_articles(DATA)


@pytest.mark.slow
def test_real_news_one_run_groups_each_event_precisely_and_loses_none(ecb):
    articles, gold = ecb
    r = one_run(articles, gold)
    assert r.precision >= 0.95 and r.recall >= 0.75, (r.precision, r.recall)
    assert r.events_lost == 0
    assert len(r.under_another) <= 0.02 * len(articles)
    assert r.stories <= 1.7 * r.events


@pytest.mark.slow
def test_real_news_two_days_lose_no_new_event_and_resend_few(ecb):
    articles, gold = ecb
    t = two_days(articles, gold)
    assert not t.lost, t.lost
    # 2 of 20: 3 when a report was compared with sent tellings by shared facts alone, not by
    # shared rare words as in the batch (16ecb, a one-sentence report naming no one, was sent
    # again); 5 when each new story was matched against the mean of a sent story's tellings
    assert len(t.sent_again) <= 0.15 * t.old, t.sent_again
    assert "16ecb" not in t.sent_again
    assert {s.reason for s in t.second.skipped} <= {
        "already-sent",
        "duplicate",
        "near-duplicate",
        "same-story",
    }


@pytest.mark.slow
@pytest.mark.parametrize("room", [20, 30, 40])
def test_real_news_over_the_limit_one_run_is_chosen_the_next(ecb, room):
    """Every story the limit (max_articles) held back waits for the next run, where the
    same articles are read again: none of its events may be taken for one already sent.
    One report of a Vancouver office shooting (18ecb) scored 0.71 with a report of a bank
    bombing the same week (8ecb); told apart from its own story there, it called the
    waiting bombing already sent, and the bombing was never shown."""
    articles, gold = ecb
    with Store.open(":memory:") as store:
        first = select(articles, History(store), replace(EVERYTHING, max_articles=room))
        store.remember(1, first.records)
        second = select(articles, History(store), EVERYTHING)
    sent = {gold[c.article.url] for c in first.chosen}
    waiting = set(gold.values()) - sent
    assert len(first.chosen) == room and waiting
    assert waiting <= {gold[c.article.url] for c in second.chosen}


@pytest.mark.slow
def test_a_lone_report_two_sent_stories_of_its_event_claim_is_already_sent(ecb):
    """ECB+ event 4ecb (Bettie Page's death), its last half sent on day 1 as two stories:
    three later reports scored with parts of both about as well (one: a mean of 0.36 with
    the best part, 0.32 and 0.24 with two others). Stories claiming a lone report that
    closely left it alone, as no clear telling of either, unless they were parts of one event;
    sent stories that match each other at ATTACH_P are (one event sent in parts): it is
    already sent whichever it joins (the four splits: 13 of 80 events sent again before, 12
    after, no new event lost either way)."""
    articles, gold = ecb
    t = two_days(articles, gold, first_events=0, last_half=True)
    assert "4ecb" not in t.sent_again, t.sent_again
    assert not t.lost, t.lost


@pytest.fixture(scope="module")
def fitted_without_topic_9(ecb):
    """The same-story model fitted on the ECB+ dev topics but 9 (benchmarks/stories_ecb.py)."""
    features, same, pair_topic = same_topic_pairs(*ecb)
    return fitted_weights(features, same, pair_topic != 9)


@pytest.mark.slow
@pytest.mark.parametrize("weekday_rule", [True, False])
def test_sibling_events_of_other_weekdays_stay_apart_in_a_topic_the_model_never_saw(
    ecb, fitted_without_topic_9, monkeypatch, weekday_rule
):
    """ECB+ topic 9: the Bush administration's rule on endangered species (9ecb, 10 reports)
    and Obama reversing it months later (9ecbplus, 13): the same agencies, people and words.
    With the model fitted on the other 21 topics, as it meets news it was not fitted on, the
    reports of the reversal took in every report of the rule: that event was lost. The
    reports of each name their own weekdays (7 of the rule's name one weekday, which none of
    the reversal's names), so their groups never merge; with the weekday rule off (witnesses
    never enough), the event is lost again."""
    articles, gold = ecb
    weights = fitted_without_topic_9
    monkeypatch.setattr(similarity, "probability", partial(similarity.probability, weights=weights))
    if not weekday_rule:
        monkeypatch.setattr(similarity, "DAY_WITNESSES", 10**9)
    r = one_run(articles, gold, {u for u in gold if topic_of(gold[u]) == 9})
    if weekday_rule:
        assert r.events_lost == 0 and len(r.under_another) <= 2, r.under_another
    else:
        assert r.events_lost == 1 and len(r.under_another) >= 10


@pytest.mark.slow
def test_a_new_sibling_event_of_other_weekdays_is_not_taken_for_the_sent_one(ecb, monkeypatch):
    """The sent stories' tellings are held to the weekday rule as the candidates are: on the
    two days with the events of odd place first (day 1: the first half of each), one new
    event's reports otherwise joined a sent sibling's story and were skipped as already
    sent (here the sent tellings are said to name no weekday)."""
    articles, gold = ecb
    assert not two_days(articles, gold, first_events=1).lost
    monkeypatch.setattr(already_sent, "weekday_bits", lambda keys: 0)
    assert two_days(articles, gold, first_events=1).lost


def test_near_copies_of_one_report_count_with_all_their_tellings(ecb):
    """ECB+ event 18ecb (a shooting at an office Christmas party, 16 reports, 4 of them
    grouped as copies of one report): the copies differ in headline and opening from their best
    telling and match the other reports better than it does. Scored by their best telling alone, the two
    halves of the event met at a mean of 0.62 and were shown as two stories of 8."""
    articles, gold = ecb
    with Store.open(":memory:", readonly=True) as store:
        sel = select(articles, History(store), EVERYTHING)
    stories = [
        [gold[a.url] for a in (c.article, *c.tellings)]
        for c in sel.chosen
        if gold[c.article.url] == "18ecb"
    ]
    assert [len(s) for s in stories] == [16], stories
    assert set(stories[0]) == {"18ecb"}


@pytest.mark.slow
def test_a_new_report_quoting_a_paragraph_of_a_sent_telling_of_its_event_is_already_sent(ecb):
    """A report that quotes a long paragraph of one of its event's sent tellings (as outlets
    quote the wire) is still scored with that story's other tellings: it is mostly already
    sent when the same report without the quote is (4 of 26 events sent again; 5 of 21 when
    new stories were matched against the mean of a sent story's tellings; dropping every
    score of a candidate holding a sent paragraph, as against a republisher's mixing, sent
    about half of them again)."""
    articles, gold = ecb
    by_event: dict[str, list[Article]] = {}
    for a in articles:
        by_event.setdefault(gold[a.url], []).append(a)
    events = [e for e, told in sorted(by_event.items()) if len(told) >= 5]
    later = articles[0].date + dt.timedelta(days=1)
    caught = quoted_again = 0
    for k, event in enumerate(events):
        told, other = by_event[event], by_event[events[(k + 1) % len(events)]]
        with Store.open(":memory:") as store:
            store.remember(1, select([*told[:3], *other[:2]], History(store), EVERYTHING).records)
            report = replace(told[3], date=later)
            quote = max((p for p in told[1].paragraphs), key=lambda p: len(p.text))
            quoting = replace(report, paragraphs=(*report.paragraphs, quote), guid="q", url=None)
            if select([report], History(store), EVERYTHING).chosen:
                continue  # the report alone is not matched: nothing to compare
            caught += 1
            quoted_again += bool(select([quoting], History(store), EVERYTHING).chosen)
    assert caught >= 20
    assert quoted_again <= 0.2 * caught, (quoted_again, caught)


# --- Russian: real news from seven outlets (tests/fixtures/languages, with its licences) ------

RU_NEWS = ROOT / "tests" / "fixtures" / "languages" / "ru_news.json"
CONFIG = SelectionConfig(max_articles=1000, lookback_days=100_000)


def ru_articles() -> list[Article]:
    return [
        Article(
            a["title"],
            tuple(Paragraph(p) for p in a["paragraphs"]),
            f"https://{a['outlet']}.example/rss",
            date=dt.date(2019, 8, 11),
            url=a["url"],
        )
        for a in json.loads(RU_NEWS.read_text(encoding="utf-8"))
    ]


def test_real_russian_news_of_different_events_stay_apart_in_a_batch_and_against_history(
    tmp_path,
):
    """63 openings, 2008-2019, among them same-topic pairs: two athletes banned for doping
    (Interfax), two sets of floods and fires (TASS)."""
    articles = ru_articles()
    with Store.open(":memory:", readonly=True) as store:
        together = select(articles, History(store), CONFIG)
    assert len(together.chosen) == len(articles)
    with Store.open(tmp_path / "state.sqlite3") as store:
        store.remember(1, select(articles[::2], History(store), CONFIG).records)
        later = select(articles[1::2], History(store), CONFIG)
    assert len(later.chosen) == len(articles[1::2]), [s.duplicate_of for s in later.skipped]


def canary_fires() -> Article:
    [real] = [a for a in ru_articles() if "Канарах" in a.title]
    return real


# Two more tellings of the TASS report of 11 August 2019, written for this test: another
# Russian outlet's (other words, the same people, place and figures) and an English one.
RETOLD_RU = Article(
    "На Гран-Канарии эвакуировали тысячу человек из-за лесного пожара",
    (
        Paragraph(
            "Власти Канарских островов эвакуировали около 1 тыс. жителей острова Гран-Канария, "
            "где 10 августа начался сильный лесной пожар. Как сообщил на пресс-конференции "
            "глава региона Анхель Виктор Торрес, к вечеру субботы пожарные взяли под контроль "
            "85% охваченной огнем площади."
        ),
        Paragraph(
            "С огнем борются более 200 пожарных, к тушению привлекут десять самолетов и "
            "вертолетов. Ситуацию осложнил ветер, который сменил направление."
        ),
    ),
    "https://other.example/rss",
    date=dt.date(2019, 8, 11),
    url="https://other.example/1",
)
RETOLD_EN = Article(
    "Gran Canaria wildfire forces 1,000 to flee",
    (
        Paragraph(
            "About 1,000 people have been evacuated on the island of Gran Canaria, where a "
            "wildfire broke out on August 10, Canary Islands president Angel Victor Torres told "
            "a news conference on Sunday."
        ),
        Paragraph(
            "Firefighters had brought 85% of the burning area under control by Saturday evening, "
            "Torres said, but a change in the wind direction made the work harder. More than 200 "
            "firefighters are fighting the blaze, and ten aircraft are expected to join them."
        ),
    ),
    "https://wire.example/rss",
    date=dt.date(2019, 8, 11),
    url="https://wire.example/1",
)


@pytest.mark.parametrize("retold", [RETOLD_RU, RETOLD_EN], ids=["russian", "english"])
def test_a_real_russian_report_and_its_retelling_are_one_story_in_a_batch_and_against_history(
    tmp_path, retold
):
    real = canary_fires()
    others = [a for a in ru_articles() if a is not real][:20]
    with Store.open(":memory:", readonly=True) as store:
        together = select([real, retold, *others], History(store), CONFIG)
    [story] = [c for c in together.chosen if real in (c.article, *c.tellings)]
    assert retold in (story.article, *story.tellings)
    assert len(together.chosen) == 1 + len(others)
    with Store.open(tmp_path / "state.sqlite3") as store:
        store.remember(1, select([real, *others], History(store), CONFIG).records)
        later = select([retold], History(store), CONFIG)
    assert [(s.reason, s.duplicate_of) for s in later.skipped] == [(ALREADY_SENT, real.title)]


@pytest.mark.slow
def test_a_story_sent_told_many_ways_still_takes_its_new_reports(ecb):
    """A sent story told more ways than are grouped with the candidates (already_sent:
    MAX_SENT_TELLINGS, those a candidate scored best with, then the fullest): a new report of
    it is already sent, the reports of a topic it never told are new. Here all of ECB+ dev
    but one report and one topic was sent as one story, 438 tellings."""
    articles, gold = ecb
    report = articles[0]
    topic = {a.url: topic_of(gold[a.url]) for a in articles}
    elsewhere = next(t for t in sorted(set(topic.values())) if t != topic[report.url])
    told = [a for a in articles if a is not report and topic[a.url] != elsewhere]
    assert len(told) > 3 * MAX_SENT_TELLINGS
    later = report.date + dt.timedelta(days=1)
    new = [replace(a, date=later) for a in articles if topic[a.url] == elsewhere]
    with Store.open(":memory:") as store:
        store.remember(1, sent_records([told]))
        sel = select([replace(report, date=later), *new], History(store), EVERYTHING)
    skipped = {s.article.url: s for s in sel.skipped}
    assert skipped[report.url].reason == ALREADY_SENT
    assert skipped[report.url].duplicate_of == told[0].title  # the title readers got
    assert {c.article.url for c in sel.chosen} <= {a.url for a in new}
    assert all(skipped[a.url].reason != ALREADY_SENT for a in new if a.url in skipped)
    assert sel.chosen


@pytest.mark.slow
def test_an_event_told_hundreds_of_ways_in_one_batch_is_one_story(ecb):
    """300 retellings of one dev report among the other dev articles (stories_ecb.retold):
    the facts they share are held by more than batch.ANCHOR_MAX_DF candidates, so they pair
    no two retellings, and the LSH buckets past pairs.MAX_BUCKET compare only with their
    first; the parts that leaves share those facts and are joined (six stories of 146, 90,
    42, 20, 1 and 1 without)."""
    articles, _ = ecb
    report = max(articles, key=lambda a: len(a.text))
    others = [a for a in articles if a is not report]
    with Store.open(":memory:", readonly=True) as store:
        sel = select(retold(report, 300) + others, History(store), EVERYTHING)
    [story] = retold_stories(sel)
    assert sum("//retold" in a.url for a in story) == 300
