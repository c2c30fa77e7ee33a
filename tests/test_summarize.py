"""Leads: the sentence splitter, chrome filters, the extractive lead and the llm backend.

The llm tests talk real HTTP to a stub chat-completions server started on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from loopback import free_port

from digest.config import LlmConfig, SummaryConfig
from digest.errors import ConfigError
from digest.models import BULLET, CAPTION, CHROME, PROSE, QUESTION, Article, Paragraph
from digest.summarize import (
    ELLIPSIS,
    LeadResult,
    extractive_lead,
    is_chrome,
    make_summarizer,
    split_sentences,
)

FIXTURES = Path(__file__).parent / "fixtures" / "leads"
REAL_PAGES = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SAMPLE_PAGES = Path(__file__).resolve().parents[1] / "seeds"  # the pages the project ships
ENDS_SENTENCE = re.compile(r"([.!?][\"'”’)]*|…)$")


def article(*paragraphs: str | tuple[str, str], title: str = "A Title About Nothing") -> Article:
    """An article from texts (prose) or (text, kind) pairs."""
    paras = tuple(Paragraph(p) if isinstance(p, str) else Paragraph(*p) for p in paragraphs)
    return Article(title=title, paragraphs=paras, source="test")


def as_feed(a: Article) -> Article:
    """The same article as a feed gives it: every paragraph "prose"."""
    return replace(a, paragraphs=tuple(Paragraph(p.text) for p in a.paragraphs))


# --- splitter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, sentences",
    [
        pytest.param(
            "The U.S. State Department said so. It was Monday.",
            ["The U.S. State Department said so.", "It was Monday."],
            id="us-inside-a-sentence",
        ),
        pytest.param(
            "Trade reached the U.S. The talks went on.",
            ["Trade reached the U.S.", "The talks went on."],
            id="us-ending-a-sentence",
        ),
        pytest.param(
            "Mr. Smith arrived. Mrs. Jones left. Dr. Poj Aramwattananont spoke.",
            ["Mr. Smith arrived.", "Mrs. Jones left.", "Dr. Poj Aramwattananont spoke."],
            id="honorifics",
        ),
        pytest.param(
            "The meeting on Jan. 5 went well. It ended on Sept. 12, 2024.",
            ["The meeting on Jan. 5 went well.", "It ended on Sept. 12, 2024."],
            id="month-abbreviations",
        ),
        pytest.param(
            "The firm ranked No. 5 in the region. It grew.",
            ["The firm ranked No. 5 in the region.", "It grew."],
            id="number-abbreviation",
        ),
        pytest.param(
            "Imports reached $1.5 billion in 2023. Exports fell 2.5% to $0.9 billion.",
            ["Imports reached $1.5 billion in 2023.", "Exports fell 2.5% to $0.9 billion."],
            id="decimals-and-money",
        ),
        pytest.param(
            "“We will send them notifications,” Azimshayyk stated. “However, it is not applicable.”",
            [
                "“We will send them notifications,” Azimshayyk stated.",
                "“However, it is not applicable.”",
            ],
            id="curly-quotes",
        ),
        pytest.param(
            '"Is it good?" he asked. She said "yes." Then she left.',
            ['"Is it good?" he asked.', 'She said "yes."', "Then she left."],
            id="question-inside-quotes",
        ),
        pytest.param(
            "The Thai company Sea Value Plc. plans to build a plant. It will export.",
            ["The Thai company Sea Value Plc. plans to build a plant.", "It will export."],
            id="company-suffix-before-lowercase",  # pysbd splits after "Plc."
        ),
        pytest.param(
            "Approx. 20 people came. Vol. 3 is out.",
            ["Approx. 20 people came.", "Vol. 3 is out."],
            id="abbreviation-before-number",  # pysbd splits after "Approx." and "Vol."
        ),
        pytest.param(
            "He works for Acme Co. Ltd. in Almaty. It is big.",
            ["He works for Acme Co. Ltd. in Almaty.", "It is big."],
            id="company-suffix-chain",  # pysbd splits between "Co." and "Ltd."
        ),
        pytest.param(
            "They will address food security.They will also trade.",
            ["They will address food security.", "They will also trade."],
            id="missing-space-after-full-stop",
        ),
        pytest.param(
            "the asianboxing.info website said so in 2020. It was right.",
            ["the asianboxing.info website said so in 2020.", "It was right."],
            id="domain-name",
        ),
        pytest.param(
            "It’s like the “Apple vs. Android” dilemma: switching is costly. Russia sells cheap.",
            [
                "It’s like the “Apple vs. Android” dilemma: switching is costly.",
                "Russia sells cheap.",
            ],
            id="vs-inside-quotes",
        ),
        pytest.param(
            "  Two\u00a0 spaces   and a\nline break.  ",
            ["Two spaces and a line break."],
            id="whitespace-normalised",
        ),
        pytest.param(
            "Acme grew fast. Co-founder Jane Doe said so.",
            ["Acme grew fast.", "Co-founder Jane Doe said so."],
            id="co-founder-is-not-a-company-suffix",
        ),
        pytest.param("   ", [], id="blank"),
    ],
)
def test_splitter_keeps_abbreviations_numbers_and_quotes_whole(text, sentences):
    assert list(split_sentences(text)) == sentences


# --- chrome -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("To read part one, click here.", id="click-here"),
        pytest.param("Read more: Kazakhstan and Thailand sign trade pact", id="read-more"),
        pytest.param("Find out more about Veit Helmer’s “Baikonur” here.", id="find-out-more"),
        pytest.param("By Aigerim Sadykova", id="byline"),
        pytest.param("By Aigerim Sadykova and Timur Nazarov, Reuters", id="byline-agency"),
        pytest.param("08 December 2025", id="date-day-month-year"),
        pytest.param("December 8, 2025", id="date-month-day-year"),
        pytest.param("Updated: Dec. 8, 2025 10:30 GMT", id="date-updated"),
        pytest.param("Monday, 2025-12-08", id="date-iso"),
        pytest.param("Viewing results 1 - 6 of 181", id="listing-results"),
        pytest.param("Page 2 of 10", id="listing-page"),
        pytest.param(
            "Still from the film, “Baikonur,” Marie de Villepin waving; image: Veit Helmer",
            id="image-credit",
        ),
        pytest.param("Photo: Kazakh Invest", id="photo-credit"),
        pytest.param("Sketch of Sidney Jackson by Rifkat Azihanov", id="caption-sketch"),
        pytest.param("TCA: Did you have any difficulties filming in the area?", id="question-tca"),
        pytest.param("Q: How many people will it employ?", id="question-q"),
        pytest.param("This is part three of a three-part special on Baikonur.", id="series-footer"),
    ],
)
def test_chrome_lines_are_recognised(line):
    assert is_chrome(line)


@pytest.mark.parametrize(
    "sentence",
    [
        "By contrast, many of the country’s best rapid-response units are based in Fergana.",
        "By leveraging automation, the new Keden system will reduce clearance times.",
        "By Monday, the ministry will decide on the tariff.",
        "On December 19-20, Tokyo will host a landmark summit.",
        "Held on October 30, the event marked the first time in four decades.",
        "The Svalbard Global Seed Vault stores more than 1.1 million seed samples.",
        "Readers say the source of the report is the National Bank.",
    ],
)
def test_news_sentences_are_not_chrome(sentence):
    assert not is_chrome(sentence)


def test_feed_article_lead_skips_every_kind_of_chrome():
    body = (FIXTURES / "feed_article_with_chrome.txt").read_text(encoding="utf-8")
    a = article(*body.split("\n\n"), title="Thai Company to Build Fish-Processing Plant")
    assert all(p.kind == PROSE for p in a.paragraphs)
    assert extractive_lead(a) == (
        "The Thai company Sea Value Plc. plans to invest $6 million in a fish-processing plant "
        "near Astana, Mr. Ospankulov said on Jan. 14."
    )


def test_lead_uses_only_prose_when_the_reader_tagged_kinds():
    a = article(
        ("Photo of the plant at dawn, taken on Monday by staff of the company", CAPTION),
        ("TCA: What does the plant produce for the region and for export?", QUESTION),
        ("• The plant will produce 3-5 tons of fish products per day for export.", BULLET),
        ("Viewing results 1 - 6 of 181", CHROME),
        "Sea Value plans to build a $6 million plant in Kazakhstan to produce canned fish.",
    )
    assert extractive_lead(a) == (
        "Sea Value plans to build a $6 million plant in Kazakhstan to produce canned fish."
    )


# --- choosing and shaping the lead ------------------------------------------------------


def test_interview_answers_never_join_the_intro_in_a_lead():
    intro = "The Times of Central Asia spoke with Michael Hilliard about the report."
    a = article(
        intro,
        ("TCA: How would you characterize Uzbekistan’s defense doctrine?", QUESTION),
        "Michael Hilliard: Uzbekistan’s primary defense doctrine is internally focused.",
        "Since the events in Andijan in 2005, Tashkent has built a rapid-response military.",
        title="Inside Uzbekistan’s Regional Defense Strategy: An Interview with Michael Hilliard",
    )
    # a short intro would take a second sentence with facts, but not the interviewee's
    assert extractive_lead(a) == intro
    assert extractive_lead(as_feed(a)) == intro


def test_a_labelled_answer_loses_to_any_sentence_of_the_article_itself():
    a = article(
        "Helmer: In 2011, I shot Baikonur on a slope near Kapchagay with an international crew.",
        "German director Veit Helmer spoke to TCA about his film Baikonur and its locations.",
    )
    assert extractive_lead(a) == (
        "German director Veit Helmer spoke to TCA about his film Baikonur and its locations."
    )


def test_answers_lose_their_speaker_label_when_they_are_all_there_is():
    a = article(
        ("TCA: What drew you to this subject?", QUESTION),
        "Helmer: In 2011, I shot Baikonur on a slope near Kapchagay with an international crew.",
        "Michael Hilliard: Uzbekistan maintains substantial garrisons along the Afghan border.",
    )
    lead = extractive_lead(a)
    assert lead.startswith("In 2011, I shot Baikonur")
    assert "Helmer" not in lead and "Hilliard" not in lead


def test_a_sentence_that_repeats_the_title_is_dropped():
    a = article(
        "U.S. Companies Seek Export Opportunities in Uzbekistan.",
        "The U.S. State Department receives applications from 40 U.S. companies a month.",
        title="U.S. Companies Seek Export Opportunities in Uzbekistan",
    )
    assert extractive_lead(a) == (
        "The U.S. State Department receives applications from 40 U.S. companies a month."
    )


def test_long_first_sentence_is_cut_at_a_clause_boundary_with_an_ellipsis():
    sentence = (
        "Uzbekistan’s five gold medals in boxing at the Paris games owe something to Sidney "
        "Jackson, an accomplished boxer from a poor Jewish family in the Bronx, New York City, "
        "who is credited with introducing the sport to Central Asia in the early 1920s."
    )
    lead = extractive_lead(article(sentence), max_words=40)
    assert lead == (
        "Uzbekistan’s five gold medals in boxing at the Paris games owe something to Sidney "
        "Jackson, an accomplished boxer from a poor Jewish family in the Bronx, New York City…"
    )


def test_long_sentence_is_not_cut_to_its_opening_subordinate_clause():
    sentence = (
        "Twenty years after the Kokaral dam was completed across the narrow strait that once "
        "joined the two halves of the Aral Sea, the water in its northern part has returned to "
        "within a dozen kilometres of the old port of Aralsk."
    )
    assert extractive_lead(article(sentence), max_words=40) == (
        "Twenty years after the Kokaral dam was completed across the narrow strait that once "
        "joined the two halves of the Aral Sea, the water in its northern part has returned to "
        "within a dozen kilometres of the old port…"
    )


def test_long_sentence_without_a_clause_boundary_is_cut_at_a_whole_word():
    words = (
        "the ministry said that the new plant in the city of Tursunzade will make "
        "armored vehicles for the army of the republic "
    ) * 3
    sentence = "Officials " + words.strip() + "."
    lead = extractive_lead(article(sentence), max_words=12)
    assert lead.endswith(ELLIPSIS)
    kept = lead.removesuffix(ELLIPSIS).split()
    assert len(kept) <= 12
    assert sentence.split()[: len(kept)] == kept  # whole words, in order
    assert kept[-1] not in {"the", "of", "in", "that", "for"}


def test_a_short_first_sentence_gets_a_second_with_facts_of_its_own():
    a = article(
        "Kazakhstan will block foreign marketplaces that do not pay VAT.",
        "Such platforms will also pay VAT at 16% instead of 12% from 2026.",
    )
    assert extractive_lead(a) == (
        "Kazakhstan will block foreign marketplaces that do not pay VAT. "
        "Such platforms will also pay VAT at 16% instead of 12% from 2026."
    )


def test_a_sentence_leaning_on_one_left_out_is_not_added():
    a = article(
        "Kazakhstan will block foreign marketplaces that do not pay VAT.",
        "The rules were drafted over the past year.",  # no facts of its own: left out
        "They take effect on January 1, 2026, the ministry said.",  # leans on the one above
        "Officials in Astana confirmed the plan on Tuesday.",
    )
    assert extractive_lead(a) == (
        "Kazakhstan will block foreign marketplaces that do not pay VAT. "
        "Officials in Astana confirmed the plan on Tuesday."
    )


def test_a_second_sentence_that_says_the_first_again_is_not_added():
    a = article(
        "Kazakhstan will block foreign marketplaces from 2026.",
        "From 2026, Kazakhstan will block foreign marketplaces that do not pay VAT.",
        "Officials in Astana confirmed the plan on Tuesday.",
    )
    assert extractive_lead(a) == (
        "Kazakhstan will block foreign marketplaces from 2026. "
        "Officials in Astana confirmed the plan on Tuesday."
    )


def test_a_long_enough_first_sentence_stands_alone():
    first = (
        "Foreign online platforms that do not register for VAT and pay taxes in Kazakhstan by "
        "January 1, 2026, will be blocked, the State Revenue Committee said."
    )
    a = article(first, "Officials in Astana confirmed the plan to reporters on Tuesday.")
    assert extractive_lead(a) == first


def test_a_generic_opener_loses_to_the_sentence_with_the_news():
    a = article(
        "Space continues to capture our imagination and inspire our stories, as we try to make "
        "sense of this vast final frontier. In the last part of our series on Baikonur, we "
        "explore its depiction within cinema. In 2011, German filmmaker, Veit Helmer released "
        "Baikonur, a story about space, scavenging and misguided love that was shot within the "
        "region. TCA spoke to him about filming in this heavily restricted landscape.",
        title="Unveiling the Magic: Behind the Scenes of “Baikonur”",
    )
    assert extractive_lead(a) == (
        "In 2011, German filmmaker, Veit Helmer released Baikonur, a story about space, "
        "scavenging and misguided love that was shot within the region."
    )


def test_an_empty_sentence_never_leads_nor_keeps_the_lede_company():
    lede = (
        "Fourteen people were taken to hospital after a bus and a lorry crashed near Ormskirk "
        "on Tuesday morning."
    )
    a = article(
        lede,
        "Investigations are under way into how the A59 bus collision happened.",
        title="Investigation Into A59 Bus Collision",
    )
    assert extractive_lead(a) == lede


def test_a_procedural_sentence_does_not_win_over_the_lede():
    # Without the rule the "…Crown Court heard" sentence (a date, a place, a court's name)
    # was the whole lead.
    lede = (
        "A man has been jailed for life for murdering his neighbour in a row over a parking space."
    )
    heard = "The killing took place in Kirkby on December 23, 2013, Liverpool Crown Court heard."
    a = article(lede, heard, title="Liverpool Crown Court Hears Kirkby Parking Row Murder Case")
    assert extractive_lead(a) == f"{lede} {heard}"


def test_a_cut_that_would_drop_the_attribution_gives_way_to_a_good_whole_sentence():
    claim = (
        "Uzbekistan will raise natural gas exports to China by a third next year after talks "
        "in Tashkent with China National Petroleum Corporation on the new Line D pipeline, its "
        "route, its capacity and its financing terms over the next decade, according to the "
        "Ministry of Energy."
    )
    whole = "Uzbekistan raised gas exports to China to 5.6 billion cubic meters in 2024, the ministry said."
    a = article(claim, whole, title="Uzbekistan to Raise Gas Exports to China by a Third")
    assert extractive_lead(a) == whole  # the claim cut at 40 words loses who says so


def test_teaser_cut_short_with_dots_is_not_used():
    a = article(
        "Tokayev met Israeli Foreign Minister Gideon Sa’ar in Astana on January 27. "
        "Kazakhstan’s investment agency reported three signed items worth $40 million, "
        "including..."
    )
    assert extractive_lead(a) == (
        "Tokayev met Israeli Foreign Minister Gideon Sa’ar in Astana on January 27."
    )


@pytest.mark.parametrize("mark", ["&#8230;", "...", " …", "&hellip;"])
def test_a_teaser_cut_after_a_whole_sentence_keeps_it_as_its_lead(mark):
    """A publisher's feed cuts its description at a sentence's end and glues its ellipsis on
    ("on Monday.…", "on Monday...."): the one whole sentence was taken for one cut short,
    and the story went out with no lead."""
    from digest.sources.feed import read_feed

    sentence = "Three new metro stations opened in Almaty on Monday, the akimat said."
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Almaty Metro Grows</title><link>https://t.example/metro</link>"
        f"<description>{sentence}{mark}</description></item></channel></rss>"
    )
    [teaser] = read_feed("t.xml", feed.encode()).articles
    assert teaser.excerpt
    assert extractive_lead(teaser) == sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "У понеділок у Києві відкрили нову станцію метро, яку будували дванадцять років.",
        "Мемлекет басшысы жаңа мектептің ашылу салтанатына қатысып, сөз сөйледі.",
        "Am Montag wurde in Berlin die neue Brücke über die Spree für den Verkehr freigegeben, "
        "sagte der Senat nach langem Streit über die Straße.",
    ],
)
def test_a_teaser_cut_after_a_whole_sentence_keeps_its_lead_in_any_alphabet(sentence):
    """5531bf8 took a stop for a sentence's end only after three small letters of a-z or а-я:
    a Ukrainian or Kazakh teaser ending in "і", a German one in "ß", went out with no lead."""
    from digest.sources.feed import read_feed

    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>News of the Day</title><link>https://t.example/day</link>"
        f"<description>{sentence}&#8230;</description></item></channel></rss>"
    )
    [teaser] = read_feed("t.xml", feed.encode()).articles
    assert extractive_lead(teaser) == sentence


@pytest.mark.parametrize(
    "cut",
    [
        "Kazakhstan's economy grew by 4.&#8230;",  # of "4.5% in 2026"
        "The law was signed on Monday by President Kassym-Jomart K.&#8230;",
        "The company said it would invest $2 billion in new plants in the U.S. &#8230;",
        "The agreement on the new pipeline was presented on Monday by Mr....",
        "The pipeline will be built by the state's partner China National Petroleum Corp.&#8230;",
        "Казахстан вложит в строительство новых дорог до 2030 года более 120 млрд.&#8230;",
        "The shooting was described to reporters on Monday by Vancouver police Const.&#8230;",
        "The minister called the pipeline deal &#8220;a good day for Acme Corp.&#8221;&#8230;",
    ],
)
def test_a_teaser_cut_after_an_abbreviation_or_a_figure_is_not_taken_for_a_whole_sentence(cut):
    """Cut after "4." (of "4.5%"), an initial, "U.S.", "Mr.", "Corp.", a figure's "млрд." or a
    rank, the teaser's ellipsis follows a full stop that may end no sentence: "grew by 4." went
    out as the story's lead, "… более 120 млрд." (of "… млрд. тенге") too."""
    from digest.sources.feed import read_feed

    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Kazakhstan Economy Report</title><link>https://t.example/gdp</link>"
        f"<description>{cut}</description></item></channel></rss>"
    )
    [teaser] = read_feed("t.xml", feed.encode()).articles
    assert extractive_lead(teaser) == ""


def test_a_quote_left_open_for_the_next_paragraph_is_not_used():
    a = article(
        "“Kazakhstan has cut the number of children in care by 30% since 2015, UNICEF says.",
        "We must continue this work,” she said. The report says 203 children per 100,000 "
        "live in care institutions.",
    )
    assert (
        extractive_lead(a) == "The report says 203 children per 100,000 live in care institutions."
    )


def test_paragraph_that_lost_its_full_stop_gets_one():
    text = (
        "During Kazakh Minister of Agriculture Aidarbek Saparov’s visit to Turkey on August 12, "
        "agreements were signed for Turkish investments of $2 billion in Kazakhstan’s "
        "agro-industrial sector"
    )
    following = "The ministry said the first projects would start next year."
    assert extractive_lead(article(text, following)) == text + "."


@pytest.mark.parametrize(
    "cut",
    [
        "Kazakhstan's energy ministry said on Friday that it would build a new oil refinery in "
        "the Atyrau region with Chinese partners, and that the plant would not be ready before "
        "2031 unless the government found another 2 bill",
        "Uzbekistan's economy minister Jamshid Kuchkarov told parliament on Thursday that the "
        "government would keep bread prices where they are in 2027 and would not allow bakeries "
        "to raise them, unless the harvest fails and wheat imports from Kazakhstan rise above",
    ],
)
def test_a_feed_description_cut_by_its_publisher_is_no_sentence(cut):
    """The text's last paragraph without a full stop is how a cut description ends: given one,
    "another 2 bill." would tell readers something the article does not."""
    assert extractive_lead(article(cut)) == ""
    assert extractive_lead(article("Officials met in Astana on Friday to sign it.", cut)) == (
        "Officials met in Astana on Friday to sign it."
    )


def test_short_unpunctuated_lines_are_not_sentences():
    a = article(
        "Map of major ground force brigades, under the command of the Southwest District",
        "Kazakhstan has overtaken Uzbekistan as the region’s leading military power.",
    )
    assert extractive_lead(a) == (
        "Kazakhstan has overtaken Uzbekistan as the region’s leading military power."
    )


@pytest.mark.parametrize(
    "paragraphs",
    [
        pytest.param((), id="no-paragraphs"),
        pytest.param(("", "   ", "\u00a0"), id="empty-paragraphs"),
        pytest.param(
            (
                ("Still from the film; image: Veit Helmer", CAPTION),
                ("To read part one, click here.", CHROME),
                ("TCA: Did you have any difficulties filming?", QUESTION),
            ),
            id="captions-and-chrome-tagged",
        ),
        pytest.param(
            (
                "Still from the film, “Baikonur,” villagers near a yurt; image: Veit Helmer",
                "This is part three of a three-part special. To read part one, click here.",
                "TCA: Did you have any difficulties filming in the area?",
                "08 December 2025",
            ),
            id="captions-and-chrome-as-prose",
        ),
    ],
)
def test_article_without_a_usable_sentence_gets_an_empty_lead(paragraphs):
    assert extractive_lead(article(*paragraphs)) == ""
    assert make_summarizer(SummaryConfig())(article(*paragraphs)) == LeadResult("", "extractive")


def test_max_words_below_one_gives_an_empty_lead():
    assert extractive_lead(article("Kazakhstan will block foreign marketplaces."), 0) == ""


# --- the real pages ---------------------------------------------------------------------

CHROME_IN_LEAD = re.compile(
    r"click here|read more|image:|photo:|viewing results|^by [A-Z]|TCA:|\bQ:|Helmer:|Hilliard:"
    r"|\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December) \d{4}$",
    re.IGNORECASE,
)


def seed_articles() -> list[Article]:
    if not REAL_PAGES.is_dir():
        pytest.skip(f"the real pages are not here: {REAL_PAGES} is absent")
    from digest.sources import read_paths

    pages = [p for folder in (REAL_PAGES, SAMPLE_PAGES) for p in sorted(folder.glob("*.txt"))]
    articles = read_paths(str(p) for p in pages).articles
    assert articles, "the reader found no article on the real pages"
    return articles


@pytest.mark.parametrize("flatten", [False, True], ids=["kinds-from-reader", "all-prose-as-feeds"])
@pytest.mark.parametrize("max_words", [40, 25, 12])
def test_real_page_leads_are_short_faithful_whole_sentences(flatten, max_words):
    for a in seed_articles():
        a = as_feed(a) if flatten else a
        lead = extractive_lead(a, max_words)
        where = f"{a.where} {a.title!r}: {lead!r}"
        assert lead, where
        assert len(lead.split()) <= max_words, where
        assert ENDS_SENTENCE.search(lead), where
        assert not CHROME_IN_LEAD.search(lead), where
        assert lead.casefold() != a.title.casefold(), where
        # extractive: every piece is the article's own text (an added full stop aside)
        body = " ".join(" ".join(p.split()) for p in a.prose)
        for piece in re.split(r"(?<=[.!?”])\s+(?=[A-Z“])", lead.removesuffix(ELLIPSIS)):
            assert piece in body or piece.removesuffix(".") in body, where


# --- backends ---------------------------------------------------------------------------

NEWS = article(
    "Tajikistan’s Sipar Group plans to expand the production of armored vehicles at its plant "
    "in Tursunzade. The project has a foreign investment of $15 million and will make 17 types "
    "of special vehicles.",
    title="Tajikistan Intends To Expand Production of Armored Vehicles",
)
GOOD_ANSWER = (
    "Sipar Group will expand armored vehicle production in Tursunzade with $15 million of "
    "foreign investment, making 17 types of special vehicles."
)


def test_extractive_backend_gives_the_extractive_lead_without_a_note():
    summarize = make_summarizer(SummaryConfig(max_words=40, backend="extractive"))
    assert summarize(NEWS) == LeadResult(extractive_lead(NEWS, 40), "extractive", None)


@pytest.mark.parametrize(
    "config, key",
    [
        (SummaryConfig(backend="llm"), "summary.llm"),
        (SummaryConfig(backend="abstractive"), "summary.backend"),
        (SummaryConfig(max_words=0), "summary.max_words"),
        (
            SummaryConfig(backend="llm", llm=LlmConfig(base_url="file:///etc", model="m")),
            "summary.llm.base_url",
        ),
        (
            SummaryConfig(
                backend="llm", llm=LlmConfig(base_url="https://me:sekrit@llm.example/v1", model="m")
            ),
            "summary.llm.base_url",
        ),
    ],
    ids=["llm-without-endpoint", "unknown-backend", "zero-words", "non-http-url", "url-with-key"],
)
def test_unworkable_summary_config_is_a_config_error(config, key):
    with pytest.raises(ConfigError) as error:
        make_summarizer(config)
    assert error.value.key == key


class StubChat(ThreadingHTTPServer):
    """A chat-completions endpoint on loopback: answers with `reply`, records requests."""

    daemon_threads = True
    block_on_close = False

    def __init__(self):
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.status = 200
        self.body: bytes = b""
        self.delay = 0.0
        self.requests: list[dict] = []

    def answer(self, content: str, finish_reason: str = "stop") -> None:
        self.body = json.dumps(
            {
                "choices": [
                    {
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish_reason,
                    }
                ]
            }
        ).encode()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class StubHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        server: StubChat = self.server  # type: ignore[assignment]
        length = int(self.headers.get("Content-Length", 0))
        server.requests.append(
            {
                "path": self.path,
                "headers": dict(self.headers),
                "json": json.loads(self.rfile.read(length)),
            }
        )
        time.sleep(server.delay)
        try:
            self.send_response(server.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(server.body)))
            self.end_headers()
            self.wfile.write(server.body)
        except OSError:
            pass  # the client gave up waiting

    def log_message(self, format, *args):  # keep test output quiet
        pass


@pytest.fixture
def chat():
    server = StubChat()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def llm_summarizer(base_url: str, timeout: float = 5.0, max_words: int = 40, key_env=None):
    llm = LlmConfig(base_url=base_url, model="tiny-lead", api_key_env=key_env, timeout=timeout)
    return make_summarizer(SummaryConfig(max_words=max_words, backend="llm", llm=llm))


def assert_fell_back(result: LeadResult, *words: str) -> None:
    assert result.backend == "extractive"
    assert result.lead == extractive_lead(NEWS, 40)
    assert result.note and "extractive lead used" in result.note
    for word in words:
        assert word in result.note


@pytest.mark.parametrize(
    "answer", [f"  {GOOD_ANSWER}\n", f"“{GOOD_ANSWER}”"], ids=["padded", "in-quotes"]
)
def test_llm_good_answer_is_the_lead(chat, monkeypatch, answer):
    monkeypatch.setenv("DIGEST_TEST_LLM_KEY", "sekrit")
    chat.answer(answer)
    result = llm_summarizer(chat.base_url, key_env="DIGEST_TEST_LLM_KEY")(NEWS)
    assert result == LeadResult(GOOD_ANSWER, "llm", None)
    [request] = chat.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sekrit"
    payload = request["json"]
    assert payload["model"] == "tiny-lead"
    system, user = payload["messages"]
    assert "At most 40 words" in system["content"] and "only facts" in system["content"]
    assert NEWS.title in user["content"] and "Tursunzade" in user["content"]


def test_llm_answer_over_the_word_limit_falls_back(chat):
    chat.answer(" ".join([GOOD_ANSWER] * 3))
    assert_fell_back(llm_summarizer(chat.base_url)(NEWS), "words, over the limit of 40")


@pytest.mark.parametrize(
    "answer",
    [
        "**Sipar Group** will expand armored vehicle production in Tursunzade.",
        "<p>Sipar Group will expand armored vehicle production in Tursunzade.</p>",
        "- Sipar Group will expand armored vehicle production in Tursunzade.",
        "Sipar Group will expand [production](https://example.com) in Tursunzade.",
    ],
    ids=["markdown-bold", "html", "markdown-list", "markdown-link"],
)
def test_llm_answer_with_markup_falls_back(chat, answer):
    chat.answer(answer)
    assert_fell_back(llm_summarizer(chat.base_url)(NEWS), "markup")


@pytest.mark.parametrize(
    "answer, why",
    [
        ("", "empty"),
        ("Sipar Group will expand armored vehicle production with $40 million.", "numbers"),
        ("Группа Сипар расширит производство бронетехники в Турсунзаде.", "script"),
        (
            "Le groupe Sipar va développer la production de blindés dans sa usine de Tursunzade.",
            "language",
        ),
        ("Sipar Group will expand armored vehicle production in", "end a sentence"),
        ("Sipar Group will expand production.\n\nIt has $15 million.", "more than one paragraph"),
    ],
    ids=["empty", "invented-number", "other-script", "other-language", "unfinished", "two-paras"],
)
def test_llm_answer_that_is_not_a_faithful_lead_falls_back(chat, answer, why):
    chat.answer(answer)
    assert_fell_back(llm_summarizer(chat.base_url)(NEWS), why)


def test_llm_answer_cut_at_the_token_limit_falls_back(chat):
    chat.answer(GOOD_ANSWER, finish_reason="length")
    assert_fell_back(llm_summarizer(chat.base_url)(NEWS), "cut off")


def test_llm_reply_that_is_not_a_chat_completion_falls_back(chat):
    chat.body = b"<html>gateway says hello</html>"
    assert_fell_back(llm_summarizer(chat.base_url)(NEWS), "not an OpenAI-style chat completion")


def test_llm_http_500_falls_back(chat):
    chat.status = 500
    chat.answer(GOOD_ANSWER)
    assert_fell_back(llm_summarizer(chat.base_url)(NEWS), "HTTP 500")


def test_llm_timeout_falls_back_in_time(chat):
    chat.delay = 2.0
    chat.answer(GOOD_ANSWER)
    start = time.monotonic()
    result = llm_summarizer(chat.base_url, timeout=0.3)(NEWS)
    assert time.monotonic() - start < 1.5
    assert_fell_back(result, "within 0.3s")


def test_llm_connection_refused_falls_back():
    result = llm_summarizer(f"http://127.0.0.1:{free_port()}/v1")(NEWS)
    assert_fell_back(result, "cannot reach")


def test_llm_key_env_not_set_falls_back_without_calling(chat, monkeypatch):
    monkeypatch.delenv("DIGEST_TEST_LLM_KEY", raising=False)
    chat.answer(GOOD_ANSWER)
    result = llm_summarizer(chat.base_url, key_env="DIGEST_TEST_LLM_KEY")(NEWS)
    assert_fell_back(result, "DIGEST_TEST_LLM_KEY is not set")
    assert chat.requests == []


@pytest.mark.slow
def test_llm_is_not_called_again_after_three_timeouts_in_a_row(chat):
    chat.delay = 1.0
    chat.answer(GOOD_ANSWER)
    summarize = llm_summarizer(chat.base_url, timeout=0.2)
    results = [summarize(NEWS) for _ in range(5)]
    assert len(chat.requests) == 3
    assert all(r.backend == "extractive" for r in results)
    assert "not called" in results[4].note


@pytest.mark.slow
def test_llm_success_starts_the_count_of_failures_afresh(chat):
    chat.answer(GOOD_ANSWER)
    summarize = llm_summarizer(chat.base_url, timeout=0.2)
    chat.delay = 1.0
    summarize(NEWS), summarize(NEWS)
    chat.delay = 0.0
    assert summarize(NEWS).backend == "llm"
    chat.delay = 1.0
    summarize(NEWS), summarize(NEWS)
    assert len(chat.requests) == 5


def test_llm_rejected_answers_do_not_stop_later_calls(chat):
    summarize = llm_summarizer(chat.base_url)
    chat.answer("<b>bad</b>")
    for _ in range(4):
        assert summarize(NEWS).backend == "extractive"
    chat.answer(GOOD_ANSWER)
    assert summarize(NEWS) == LeadResult(GOOD_ANSWER, "llm", None)


# --- names, numbers, who/where/when (issue 13) ------------------------------------------

TLEUOV = (
    "Kazakhstan and China agreed on November 6 to expand trade in refined copper and to "
    "localize the production of electric vehicle components in Kazakhstan, during a visit by "
    "Kazakhstan’s Minister of Industry and Construction, Dauren Tleuov, to the China "
    "International Import Expo in Shanghai."
)
AZIMSHAYYK = (
    "Foreign online platforms that do not complete conditional VAT registration and begin "
    "paying taxes in Kazakhstan by January 1, 2026, will be blocked in the country, according "
    "to Edil Azimshayyk, head of the VAT Administration Department at the State Revenue "
    "Committee under the Ministry of Finance."
)


@pytest.mark.parametrize(
    ("sentence", "lead"),
    [
        pytest.param(
            TLEUOV,
            "Kazakhstan and China agreed on November 6 to expand trade in refined copper and to "
            "localize the production of electric vehicle components in Kazakhstan…",
            id="minister-between-commas",
        ),
        pytest.param(
            AZIMSHAYYK,
            "Foreign online platforms that do not complete conditional VAT registration and "
            "begin paying taxes in Kazakhstan by January 1, 2026, will be blocked in the "
            "country…",
            id="name-and-its-role",
        ),
    ],
)
def test_a_cut_lead_never_ends_inside_a_name_or_its_phrase(sentence, lead):
    got = extractive_lead(article(sentence, title="Some Title Here"), 40)
    assert got == lead
    assert len(got.split()) <= 40


def test_a_word_cut_never_splits_a_number_from_its_unit():
    words = " ".join(["word"] * 35)  # the 40th word is "$95"
    sentence = f"The fund {words} will invest $95 million in the plant"  # no clause boundary
    got = extractive_lead(article(sentence + " this year.", title="Fund News Today"), 40)
    assert not got.removesuffix(ELLIPSIS).endswith("$95")
    assert len(got.split()) <= 40


@pytest.mark.slow
def test_the_sentence_that_says_where_and_when_leads(shared_seeds):
    from digest.sources import read_paths

    read = read_paths([str(p) for p in sorted(shared_seeds.glob("*.txt"))])
    japan = next(a for a in read.articles if a.title.startswith("Japan Steps Out"))
    lead = extractive_lead(japan, 40)
    assert lead.startswith("On December 19-20, Tokyo will host a landmark summit")
    assert ENDS_SENTENCE.search(lead) and not lead.endswith(ELLIPSIS)


def test_chinese_and_japanese_articles_get_a_lead_of_whole_sentences():
    """Sentences written without spaces were one "word" each, under the four a sentence
    needs: Chinese and Japanese stories had no lead at all."""
    zh = article(
        "哈萨克斯坦交通部周三表示，哈萨克斯坦与中国签署了一项价值二十亿美元的新铁路协议。"
        "该协议将在未来五年内把两国之间的过境运输能力提高一倍。",
        "该项目还包括对现有线路进行电气化改造。",
        title="哈萨克斯坦与中国签署新的铁路协议",
    )
    assert extractive_lead(zh) == (
        "哈萨克斯坦交通部周三表示，哈萨克斯坦与中国签署了一项价值二十亿美元的新铁路协议。"
    )
    ja = article(
        "カザフスタンの国営原子力企業カザトムプロムは水曜日、日本の電力会社とウラン供給契約を"
        "締結したと発表した。両国は脱炭素で協力を強める。",
        title="カザフスタン、日本企業とウラン供給契約を締結",
    )
    lead = extractive_lead(ja, max_words=60)
    assert lead.startswith("カザフスタンの国営原子力企業") and lead.endswith("。")
    assert " " not in lead  # sentences joined as the language writes them
    cut = extractive_lead(zh, max_words=12)  # 12 words: about 24 characters
    assert cut.endswith("…") and len(cut) <= 25 and cut.startswith("哈萨克斯坦交通部周三表示")
