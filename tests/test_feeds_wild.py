"""Feeds as the services people subscribe to publish them (Hacker News, Reddit, ...), byte
for byte in their shape, read and selected as a run reads and selects them."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest

from digest.config import Config, SelectionConfig
from digest.models import TOO_OLD
from digest.plan import drop_stale_stories, place
from digest.select.choose import select, sent_records
from digest.select.sent import History
from digest.sources.feed import read_feed
from digest.state import Store

EVERYTHING = SelectionConfig(max_articles=50, lookback_days=100_000)


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "state.sqlite3")
    yield store
    store.close()


def hacker_news(*items: tuple[int, str, str]) -> bytes:
    """news.ycombinator.com/rss: every item's description is a link to its comments."""
    out = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        "<pubDate>Sun, 06 Dec 2026 20:40:05 +0000</pubDate>"
        f"<comments>https://news.ycombinator.com/item?id={n}</comments>"
        f'<description><![CDATA[<a href="https://news.ycombinator.com/item?id={n}">Comments</a>]]>'
        "</description></item>"
        for n, title, link in items
    )
    return (
        '<rss version="2.0"><channel><title>Hacker News</title>'
        "<link>https://news.ycombinator.com/</link><description>Links for the intellectually "
        f"curious, ranked by readers.</description>{out}</channel></rss>"
    ).encode()


HN = "https://news.ycombinator.com/rss"


def test_hacker_news_items_all_saying_comments_are_each_a_story_today_and_tomorrow(store):
    today = read_feed(HN, hacker_news(
        (41234567, "Show HN: Kzstat – Kazakhstan's open statistics as a SQLite file",
         "https://github.com/qazdata/kzstat"),
        (41234001, "The hidden cost of running a nuclear plant on a steppe lake (2024)",
         "https://www.science.org/content/article/balkhash-lake-nuclear"),
        (41233555, "Ask HN: How do you keep up with regional news?", ""),
    )).articles  # fmt: skip
    first = select(today, History(store), EVERYTHING)
    assert len(first.chosen) == 3
    store.remember(1, sent_records([[c.article] for c in first.chosen]))
    tomorrow = read_feed(HN, hacker_news(
        (41240001, "Uzbekistan launches its first communications satellite",
         "https://spacenews.com/uzbekistan-first-satellite/"),
        (41240002, "A history of the Kazakh alphabet reforms",
         "https://www.rferl.org/a/kazakh-latin-alphabet-history/33240000.html"),
    )).articles  # fmt: skip
    second = select(tomorrow, History(store), EVERYTHING)
    assert [c.article.title for c in second.chosen] == [
        "Uzbekistan launches its first communications satellite",
        "A history of the Kazakh alphabet reforms",
    ]


def reddit(*entries: tuple[str, str, str, str]) -> bytes:
    """www.reddit.com/r/NAME/.rss (Atom): a link post's content is its thumbnail, who
    submitted it and the [link] and [comments] links; the entry's link is the comments page."""
    out = []
    for post, title, link, user in entries:
        comments = f"https://www.reddit.com/r/Kazakhstan/comments/{post}/"
        content = (
            f'<table> <tr><td> <a href="{comments}"> <img src="https://external-preview.redd.it/'
            f'{post}.jpg?width=640&amp;crop=smart" alt="{title}" title="{title}" /> </a> </td><td>'
            f' &#32; submitted by &#32; <a href="https://www.reddit.com/user/{user}"> /u/{user} '
            f'</a> <br/> <span><a href="{link}">[link]</a></span> &#32; <span><a href="{comments}">'
            "[comments]</a></span> </td></tr></table>"
        )
        out.append(
            f"<entry><author><name>/u/{user}</name><uri>https://www.reddit.com/user/{user}</uri>"
            f'</author><category term="Kazakhstan" label="r/Kazakhstan"/><content type="html">'
            f"{html.escape(content)}</content><id>t3_{post}</id>"
            f'<link href="{comments}" /><updated>2026-12-06T23:40:11+05:00</updated>'
            f"<published>2026-12-06T23:40:11+05:00</published><title>{html.escape(title)}"
            "</title></entry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:media="http://search.yahoo.com/mrss/"><category term="Kazakhstan" '
        'label="r/Kazakhstan"/><updated>2026-12-07T00:00:00+05:00</updated>'
        "<id>/r/Kazakhstan/.rss</id>"
        '<link rel="alternate" href="https://www.reddit.com/r/Kazakhstan/" type="text/html" />'
        f"<title>Kazakhstan</title>{''.join(out)}</feed>"
    ).encode()


def wordpress(title: str, slug: str, paragraphs: list[str]) -> bytes:
    """A WordPress feed (with Yoast's tracking parameters on the link): the post whole in
    content:encoded, "The post ... appeared first on ..." closing it."""
    link = f"https://astanatimes.com/2026/12/{slug}/"
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    body += (
        f'<p>The post <a rel="nofollow" href="{link}">{title}</a> appeared first on '
        '<a rel="nofollow" href="https://astanatimes.com">The Astana Times</a>.</p>\n'
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
	<title>The Astana Times</title>
	<link>https://astanatimes.com</link>
	<description>Kazakhstan news and analysis</description>
	<item>
		<title>{html.escape(title)}</title>
		<link>{link}?utm_source=rss&#038;utm_medium=rss&#038;utm_campaign={slug}</link>
		<dc:creator><![CDATA[Aibarshyn Akhmetkali]]></dc:creator>
		<pubDate>Sun, 06 Dec 2026 18:12:40 +0000</pubDate>
		<guid isPermaLink="false">https://astanatimes.com/?p=90210</guid>
		<description><![CDATA[<p>{paragraphs[0][:150]} [&#8230;]</p>]]></description>
		<content:encoded><![CDATA[{body}]]></content:encoded>
	</item>
	</channel>
</rss>
""".encode()


ROSATOM = [
    "ASTANA – Kazakhstan has chosen Russia’s state nuclear corporation Rosatom to lead the "
    "consortium that will build the country’s first nuclear power plant near the village of "
    "Ulken on the shore of Lake Balkhash, the Agency for Atomic Energy said on Saturday.",
    "The plant will have two VVER-1200 reactors with a combined capacity of 2.4 gigawatts. "
    "Construction is expected to begin in 2027 and the first unit is due to be connected to "
    "the grid by 2035, agency chairman Almasadam Satkaliyev told reporters in Astana.",
    "China National Nuclear Corporation, France’s EDF and Korea Hydro & Nuclear Power had "
    "also bid for the project. Satkaliyev said Rosatom offered the best terms.",
]
FEEDBURNER = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<rss xmlns:feedburner="http://rssnamespace.org/'
    b'feedburner/ext/1.0" version="2.0"><channel><title>RFE/RL - Central Asia</title>'
    b"<link>https://www.rferl.org</link><description>RFE/RL</description><item><title>Kazakhstan"
    b" Taps Russia's Rosatom For First Nuclear Plant Despite Western Misgivings</title><link>"
    b"http://feedproxy.google.com/~r/rferl/centralasia/~3/Xy1zAbC2dE4/33231234.html</link>"
    b'<guid isPermaLink="false">https://www.rferl.org/a/33231234.html</guid><pubDate>Sun, 06 '
    b"Dec 2026 20:02:11 +0100</pubDate><description>Kazakhstan has chosen Russia's state-owned"
    b" Rosatom to lead construction of its first nuclear power plant, a decision likely to "
    b"deepen Astana's energy ties with Moscow as Western governments seek to isolate the "
    b'Kremlin.&lt;img src="http://feeds.feedburner.com/~r/rferl/centralasia/~4/Xy1zAbC2dE4" '
    b'height="1" width="1" alt=""/&gt;</description><feedburner:origLink>'
    b"https://www.rferl.org/a/33231234.html</feedburner:origLink></item></channel></rss>"
)


def test_a_story_a_subreddit_links_to_is_told_by_an_article_not_by_the_link_post(store):
    read = [
        read_feed("https://www.reddit.com/r/Kazakhstan/.rss", reddit((
            "1h8xk2q", "Kazakhstan picks Russia's Rosatom to build its first nuclear power plant",
            "https://www.reuters.com/business/energy/kazakhstan-rosatom/", "Dont_Panic_Steppe"
        ))),
        read_feed("https://astanatimes.com/feed/", wordpress(
            "Kazakhstan picks Rosatom to lead construction of its first nuclear power plant",
            "kazakhstan-picks-rosatom", ROSATOM,
        )),
        read_feed("http://feeds.feedburner.com/rferl/centralasia", FEEDBURNER),
    ]  # fmt: skip
    selection = select([a for r in read for a in r.articles], History(store), EVERYTHING)
    assert len(selection.chosen) == 1
    chosen = selection.chosen[0]
    assert len(chosen.tellings) == 2
    assert chosen.article.source_name != "Kazakhstan"  # the subreddit: its link post
    assert "Kazakhstan" in [t.source_name for t in chosen.tellings]


def test_a_reddit_link_post_links_to_its_article_and_a_text_or_picture_post_to_reddit(store):
    """A link post's entry links to its comments page; the digest's link is the article it
    is about ("[link]", without the share's tracking). A text post's "[link]" is its own
    page and a picture's is on Reddit's image host: both stay on the post."""
    comments = "https://www.reddit.com/r/Kazakhstan/comments/{}/"
    posts = read_feed("https://www.reddit.com/r/Kazakhstan/.rss", reddit(
        ("1h8xk2q", "Kazakhstan picks Russia's Rosatom to build its first nuclear power plant",
         "https://www.reuters.com/business/energy/kazakhstan-rosatom/?utm_source=reddit.com",
         "Dont_Panic_Steppe"),
        ("1h8xm7t", "Moving to Almaty next year: which district is best for a family?",
         comments.format("1h8xm7t"), "new_in_almaty"),
        ("1h8xn0a", "First snow on Medeu this morning", "https://i.redd.it/8k2m4n6p0q1r.jpeg",
         "medeu_fan"),
    )).articles  # fmt: skip
    assert [p.url for p in posts] == [
        "https://www.reuters.com/business/energy/kazakhstan-rosatom/",
        comments.format("1h8xm7t"),
        comments.format("1h8xn0a"),
    ]
    chosen = select(posts, History(store), EVERYTHING).chosen
    assert chosen[0].article.url == "https://www.reuters.com/business/energy/kazakhstan-rosatom/"


def test_a_reddit_text_post_that_links_a_page_as_link_stays_on_its_post():
    """A text post's own words come before Reddit's "[link]" (its page): a link the poster
    wrote as "[[link]](...)" is no article the post is about (review: the first "[link]" was
    taken, so the digest linked the poster's aside)."""
    comments = "https://www.reddit.com/r/Kazakhstan/comments/1h8xm7t/moving_to_almaty/"
    content = (
        '<!-- SC_OFF --><div class="md"><p>Which district is best for a family? This guide '
        'helped <a href="https://www.example.kz/blog/almaty-districts">[link]</a> but it is '
        'old.</p></div><!-- SC_ON --> &#32; submitted by &#32; <a href="https://www.reddit.com/'
        'user/new_in_almaty"> /u/new_in_almaty </a> <br/> <span><a href="'
        f'{comments}">[link]</a></span> &#32; <span><a href="{comments}">[comments]</a></span>'
    )
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        '<title>Kazakhstan</title><entry><content type="html">'
        f'{html.escape(content)}</content><id>t3_1h8xm7t</id><link href="{comments}" />'
        "<updated>2026-12-06T23:40:11+05:00</updated><title>Moving to Almaty next year: which "
        "district is best for a family?</title></entry></feed>"
    ).encode()
    (post,) = read_feed("https://www.reddit.com/r/Kazakhstan/.rss", feed).articles
    assert post.url == comments


def google_news(*items: tuple[str, str, str, list[tuple[str, str]]]) -> bytes:
    """news.google.com/rss/search: every link a news.google.com redirect, every title ending
    " - Outlet", the description the headline and its outlet, or a list of the headlines of
    the story's other reports, each with its outlet."""
    out = []
    for n, (title, outlet, home, related) in enumerate(items):
        link = f"https://news.google.com/rss/articles/CBMi{n}AFBVV95cUxPVWxNX3lQS2Z0OHhW?oc=5"
        heads = [
            f'<a href="https://news.google.com/rss/articles/CBMi{n}{k}AFBVV95cUxQ?oc=5" '
            f'target="_blank">{html.escape(head)}</a>&nbsp;&nbsp;<font color="#6f6f6f">'
            f"{html.escape(by)}</font>"
            for k, (head, by) in enumerate(related)
        ]
        description = "<ol>" + "".join(f"<li>{h}</li>" for h in heads) + "</ol>"
        out.append(
            f"<item><title>{html.escape(title)} - {outlet}</title><link>{link}</link>"
            f'<guid isPermaLink="false">CBMi{n}AFBVV95cUxPVWxNX3lQS2Z0OHhW</guid>'
            "<pubDate>Sun, 06 Dec 2026 19:40:00 GMT</pubDate>"
            f"<description>{html.escape(heads[0] if len(heads) == 1 else description)}"
            f'</description><source url="{home}">{outlet}</source></item>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss xmlns:media="http://search'
        '.yahoo.com/mrss/" version="2.0"><channel><generator>NFE/5.0</generator><title>'
        '"Kazakhstan" - Google News</title><link>https://news.google.com/search?q=Kazakhstan&amp;'
        "hl=en-US&amp;gl=US&amp;ceid=US:en</link><language>en-US</language><description>Google "
        f"News</description>{''.join(out)}</channel></rss>"
    ).encode()


def test_google_news_headline_lists_are_no_text_and_the_outlets_article_tells_the_story(store):
    rosatom = "Kazakhstan chooses Russia's Rosatom to build its first nuclear power plant"
    news = read_feed("https://news.google.com/rss/search?q=Kazakhstan", google_news(
        (rosatom, "Reuters", "https://www.reuters.com", [
            (rosatom, "Reuters"),
            ("Kazakhstan picks Rosatom to lead construction of its first nuclear power plant",
             "The Astana Times"),
            ("Rosatom to lead Kazakhstan nuclear plant consortium, China's CNNC to build second",
             "Bloomberg"),
        ]),
        ("Tokayev signs law on artificial intelligence", "Kazinform", "https://en.inform.kz",
         [("Tokayev signs law on artificial intelligence", "Kazinform")]),
    )).articles  # fmt: skip
    assert [a.text for a in news] == ["", ""]
    outlet = read_feed("https://astanatimes.com/feed/", wordpress(
        "Kazakhstan picks Rosatom to lead construction of its first nuclear power plant",
        "kazakhstan-picks-rosatom", ROSATOM,
    )).articles  # fmt: skip
    feedburner = read_feed("http://feeds.feedburner.com/rferl/centralasia", FEEDBURNER).articles
    selection = select(news + outlet + feedburner, History(store), EVERYTHING)
    told = {c.article.source_name: [t.source_name for t in c.tellings] for c in selection.chosen}
    assert len(told) == 2
    assert "Kazinform" in told  # the law on AI: Google News alone tells it
    (rosatom_story,) = (tellings for name, tellings in told.items() if len(tellings) == 2)
    assert "Reuters" in rosatom_story  # through Google News


def test_a_google_news_headline_is_the_outlets_and_the_outlet_its_source():
    (article,) = read_feed("https://news.google.com/rss/search?q=Kazakhstan", google_news(
        ("Tokayev signs law on artificial intelligence", "Kazinform", "https://en.inform.kz",
         [("Tokayev signs law on artificial intelligence", "Kazinform")]),
    )).articles  # fmt: skip
    assert article.title == "Tokayev signs law on artificial intelligence"
    assert (article.source_name, article.source_link) == ("Kazinform", "https://en.inform.kz")
    assert article.url.startswith("https://news.google.com/rss/articles/")
    # RSS 2.0's <source url> is the channel's feed (a Planet's): the outlet links to its site
    (planet,) = read_feed("https://planet.example/rss", google_news(
        ("Tokayev signs law on artificial intelligence", "Kazinform",
         "https://en.inform.kz/rss/eng.xml", [("Tokayev signs law", "Kazinform")]),
    )).articles  # fmt: skip
    assert planet.source_link == "https://en.inform.kz"


def substack_post(body: str):
    """The one post of a Substack feed whose description is `body`, as digest reads it."""
    item = (
        "<item><title>Why Rosatom won</title><link>https://steppeletter.substack.com/p/why</link>"
        f"<description>{html.escape(body)}</description></item>"
    )
    feed = f'<rss version="2.0"><channel><title>Steppe Letter</title>{item}</channel></rss>'
    (article,) = read_feed("https://steppeletter.substack.com/feed", feed.encode()).articles
    return article


def test_a_block_of_links_is_not_text_but_a_linked_word_in_a_sentence_is(store):
    read = read_feed(HN, hacker_news((1, "Show HN: Kzstat", "https://github.com/qazdata/kzstat")))
    assert read.articles[0].text == ""
    substack = (
        "<p>Rosatom's offer came with state export credit covering most of the cost, as in "
        'Hungary and <a href="https://en.wikipedia.org/wiki/Egypt">Egypt</a>.</p>'
        '<p class="button-wrapper"><a class="button primary" href="https://steppeletter.'
        'substack.com/subscribe?"><span>Subscribe now</span></a></p>'
        '<p>See <a href="../markets/">our markets page</a>.</p>'
    )
    article = substack_post(substack)
    assert article.text == (
        "Rosatom's offer came with state export credit covering most of the cost, as in "
        "Hungary and Egypt."
    )


def test_a_feedburner_item_links_to_the_article_not_to_feedproxy():
    (article,) = read_feed("http://feeds.feedburner.com/rferl/centralasia", FEEDBURNER).articles
    assert article.url == "https://www.rferl.org/a/33231234.html"


def test_a_whole_wordpress_post_is_no_excerpt_and_tells_its_story_over_aggregators(store):
    metro = "Almaty to open three new metro stations by end of 2027, akimat says"
    post = read_feed("https://astanatimes.com/feed/", wordpress(metro, "almaty-metro", [
        "ALMATY – The Almaty metro will get three new stations on its first line by the end of "
        "2027, the city akimat said on Friday, extending the line westward to Kalkaman.",
        "The extension, 4.5 kilometres long, will cost 187 billion tenge and is financed from "
        "the city budget. Tunnelling started in March.",
    ])).articles  # fmt: skip
    assert not post[0].excerpt and "appeared first" not in post[0].text
    news = read_feed("https://news.google.com/rss/search?q=Kazakhstan", google_news(
        (metro, "The Astana Times", "https://astanatimes.com", [(metro, "The Astana Times")]),
    )).articles  # fmt: skip
    link_post = read_feed("https://www.reddit.com/r/Kazakhstan/.rss", reddit((
        "1h8ab3c", "Almaty metro extension: three new stations by 2027",
        "https://astanatimes.com/2026/12/almaty-metro/", "almaty_local",
    ))).articles  # fmt: skip
    (chosen,) = select(news + link_post + post, History(store), EVERYTHING).chosen
    assert chosen.article.source_name == "The Astana Times"
    assert len(chosen.tellings) == 2


REUTERS = "https://www.reuters.com/business/energy/kazakhstan-chooses-rosatom-2026-12-06/"
BING_NEWS = (
    b'<?xml version="1.0" encoding="utf-8" ?><rss version="2.0" xmlns:News="https://www.bing.com'
    b':443/news/search?q=Kazakhstan&amp;format=rss"><channel><title>Kazakhstan - BingNews</title>'
    b"<link>https://www.bing.com:443/news/search?q=Kazakhstan&amp;format=rss</link><description>"
    b"Search results</description><item><title>Kazakhstan chooses Rosatom to build first nuclear"
    b" power plant</title><link>http://www.bing.com/news/apiclick.aspx?ref=FexRss&amp;aid=&amp;"
    b"tid=6753A5F2B8E14C1E9D3B2A4F5E6D7C8B&amp;url=https%3a%2f%2fwww.reuters.com%2fbusiness%2f"
    b"energy%2fkazakhstan-chooses-rosatom-2026-12-06%2f&amp;c=15848237591164183412&amp;mkt=en-us"
    b"</link><description>Kazakhstan has chosen Russia&amp;#39;s state nuclear corporation Rosatom"
    b" to lead an international consortium to build the country&amp;#39;s first nuclear power "
    b"plant, the country&amp;#39;s atomic energy agency said on Saturday.</description><pubDate>"
    b"Sun, 06 Dec 2026 19:45:00 GMT</pubDate><News:Source>Reuters</News:Source></item>"
    b"</channel></rss>"
)
GOOGLE_ALERT = (
    b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx='
    b'"urn:atom-extension:indexing"><id>tag:google.com,2005:reader/user/0000/state/com.google/'
    b'alerts/1234</id><title>Google Alert - Kazakhstan</title><link href="https://www.google.'
    b'com/alerts/feeds/0000/1234" rel="self"></link><updated>2026-12-06T19:45:00Z</updated>'
    b"<entry><id>tag:google.com,2013:googlealerts/feed:1234567890123456789</id><title type="
    b'"html">&lt;b&gt;Kazakhstan&lt;/b&gt; chooses Rosatom to build first nuclear power plant'
    b'</title><link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://www.reuters'
    b".com/business/energy/kazakhstan-chooses-rosatom-2026-12-06/&amp;ct=ga&amp;cd=CAIyGjE0ZjY3"
    b'&amp;usg=AOvVaw0abc" /><published>2026-12-06T19:45:00Z</published><updated>2026-12-06T19:'
    b'45:00Z</updated><content type="html">&lt;b&gt;Kazakhstan&lt;/b&gt; has chosen Russia&amp;'
    b"#39;s state nuclear corporation Rosatom to lead ...</content><author><name></name></author>"
    b"</entry></feed>"
)


def test_bing_news_and_google_alerts_link_to_the_article_not_to_their_click_counters():
    (bing,) = read_feed("https://www.bing.com/news/search?format=rss", BING_NEWS).articles
    (alert,) = read_feed("https://www.google.com/alerts/feeds/0000/1234", GOOGLE_ALERT).articles
    assert bing.url == alert.url == REUTERS


def test_a_bing_news_item_is_shown_under_its_outlet_as_google_news_items_are(store):
    """Bing News names each item's outlet in <News:Source>, as Google News does in <source>:
    the story is the outlet's, linked to its site, not "Kazakhstan - BingNews"'s."""
    (bing,) = read_feed("https://www.bing.com/news/search?format=rss", BING_NEWS).articles
    assert (bing.source_name, bing.source_link) == ("Reuters", "https://www.reuters.com")
    (chosen,) = select([bing], History(store), EVERYTHING).chosen
    assert chosen.article.source_name == "Reuters"


def test_footnote_marks_are_not_words_of_the_sentence_they_follow():
    substack = (
        "<p>Rosatom's offer came with state export credit, as in Hungary and Egypt."
        '<a class="footnote-anchor" data-component-name="FootnoteAnchorToDOM" '
        'id="footnote-anchor-1" href="#footnote-1" target="_self">1</a> Neither CNNC nor EDF '
        'matched it in <a href="https://example.com/2024">2024</a>.</p>'
        '<div class="footnote" data-component-name="FootnoteToDOM"><a id="footnote-1" '
        'href="#footnote-anchor-1" class="footnote-number" contenteditable="false" '
        'target="_self">1</a><div class="footnote-content"><p>Paks II was financed with a '
        "Russian state loan.</p></div></div>"
        '<p>Markdown writes them so.<sup class="footnote-ref"><a href="#fn2" id="fnref2">[2]</a>'
        '</sup></p><ol class="footnotes-list"><li id="fn2">A note. <a href="#fnref2" '
        'class="footnote-backref">↩︎</a></li></ol>'
    )
    article = substack_post(substack)
    assert article.text.split("\n\n") == [
        "Rosatom's offer came with state export credit, as in Hungary and Egypt. Neither CNNC "
        "nor EDF matched it in 2024.",
        "Paks II was financed with a Russian state loan.",
        "Markdown writes them so.",
        "• A note.",
    ]


def test_a_title_escaped_twice_reads_as_its_words():
    atom = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b'<title type="html">Kaz &amp;amp; Co. News</title><id>urn:kaz</id>'
        b"<entry><title>AT&amp;amp;T opens office in Almaty</title><id>urn:kaz:1</id>"
        b"<updated>2026-12-06T16:00:00Z</updated><summary>The US telecoms group opened an office"
        b" in Almaty.</summary></entry>"
        b'<entry><title type="html">Tenge &amp;amp;amp; bonds rally, &amp;lt;slot&amp;gt; '
        b"&amp;amp;#8217;s</title><id>urn:kaz:2</id><updated>2026-12-06T16:00:00Z</updated>"
        b"<summary>The tenge rallied.</summary></entry>"
        b'<entry><title type="text">Why a &lt;slot&gt; in a title is words</title>'
        b"<id>urn:kaz:3</id><updated>2026-12-06T16:00:00Z</updated><summary>Tags.</summary>"
        b"</entry></feed>"
    )
    read = read_feed("https://kz.example.org/atom.xml", atom).articles
    assert [a.title for a in read] == [
        "AT&T opens office in Almaty",
        "Tenge & bonds rally, <slot> ’s",
        "Why a <slot> in a title is words",
    ]
    assert read[0].source_name == "Kaz & Co. News"


SHOW = (
    "Steppe Talk is a weekly podcast about politics, business and culture in Central Asia, "
    "hosted by Dana Ospanova and Timur Akhmetov. New episodes every Friday. Support the show "
    "on Patreon and follow us on Telegram and Instagram for news between episodes."
)


def podcast(*episodes: tuple[int, str, str]) -> bytes:
    """A podcast whose every episode's <itunes:summary> is the show's blurb, some with a
    line of their own before it."""
    items = "".join(
        f"<item><title>{title}</title><itunes:summary>{own}{SHOW}</itunes:summary>"
        f'<enclosure url="https://media.transistor.fm/{n}.mp3" length="41234567" '
        f'type="audio/mpeg"/><guid isPermaLink="false">b6c3f3a2-{n:04d}</guid>'
        f"<pubDate>Fri, {n - 20:02d} Nov 2026 06:00:00 +0600</pubDate></item>"
        for n, title, own in episodes
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:itunes="http://www.'
        'itunes.com/dtds/podcast-1.0.dtd"><channel><title>Steppe Talk</title><link>'
        f"https://steppetalk.transistor.fm</link>{items}</channel></rss>"
    ).encode()


def test_podcast_episodes_sharing_the_shows_blurb_are_each_an_episode(store):
    feed = "https://feeds.transistor.fm/steppe-talk"
    week = [
        (42, "Episode 42: The nuclear tender", ""),
        (41, "Episode 41: Water wars that weren't", "How the Syr Darya is shared.\n\n"),
        (40, "Episode 40: Live from the Almaty book fair", ""),
    ]
    read = read_feed(feed, podcast(*week)).articles
    assert [a.text for a in read] == ["", "How the Syr Darya is shared.", ""]
    first = select(read, History(store), EVERYTHING)
    assert len(first.chosen) == 3
    store.remember(1, first.records)
    later = read_feed(feed, podcast((43, "Episode 43: Bishkek's new mayor", ""), *week)).articles
    assert [c.article.title for c in select(later, History(store), EVERYTHING).chosen] == [
        "Episode 43: Bishkek's new mayor"
    ]


def test_copies_of_one_story_in_a_small_feed_keep_the_paragraph_they_share():
    """Half of a small feed is one story, republished as excerpts under new headline prefixes:
    the paragraph they share is the story's, not the feed's furniture (taken for a blurb, it
    left the copies without text, and the republished real pages lost a story and sent a
    copy)."""
    story = (
        "On Monday, Astana hosted an extraordinary meeting of the Regional Contact Group on "
        "water, where five ministers agreed to coordinate releases from the Toktogul dam."
    )
    heads = ["In Numbers: ", "Week in Review: ", "", "Explainer: "]
    own = [f"Story {n} of the day told in a paragraph of its own, number {n}." for n in range(4)]
    items = [(f"{h}Coordination Instead of Declarations at Astana", story) for h in heads]
    items += [(f"Other news number {n} from the region today", own[n]) for n in range(4)]
    feed = "".join(
        f"<item><title>{t}</title><link>https://news.example/{n}</link>"
        f"<description>{text}</description></item>"
        for n, (t, text) in enumerate(items)
    )
    data = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>{feed}</channel></rss>'
    )
    read = read_feed("https://news.example/feed", data.encode()).articles
    assert [a.text for a in read[:4]] == [story] * 4


def test_two_posts_of_one_redditor_are_two_stories_and_a_short_brief_retitled_is_one(store):
    """A byline is no article: one user's link posts, each "submitted by /u/..." under its
    own headline, are two posts. But a short wire brief under two outlets' headlines is one
    story, and the next day a third outlet's copy is already sent (review: a rule for too
    little text, 20 shingles, made the brief two stories and sent it again)."""
    posts = read_feed("https://www.reddit.com/r/Kazakhstan/.rss", reddit(
        ("1h8xk2q", "Kazakhstan picks Rosatom to build its first nuclear power plant",
         "https://www.reuters.com/business/energy/kazakhstan-rosatom/", "Dont_Panic_Steppe"),
        ("1h8xk3r", "Almaty metro extends its second line to Kalkaman",
         "https://kursiv.media/en/2026-12-06/almaty-metro/", "Dont_Panic_Steppe"),
    )).articles  # fmt: skip
    assert len(select(posts, History(store), EVERYTHING).chosen) == 2

    brief = (
        "Kazakhstan's central bank raised its base rate to 16.5 percent on Friday, citing "
        "faster inflation."
    )

    def outlet(site: str, title: str) -> list:
        data = (
            f'<rss version="2.0"><channel><title>{site}</title><link>https://{site}/</link>'
            f"<item><title>{title}</title><link>https://{site}/1</link>"
            f"<description>{brief}</description></item></channel></rss>"
        )
        return read_feed(f"https://{site}/feed", data.encode()).articles

    today = outlet("kursiv.media", "Kazakhstan hikes base rate to 16.5%")
    today += outlet("inform.kz", "National Bank lifts key rate as prices climb")
    first = select(today, History(store), EVERYTHING)
    assert [len(c.tellings) for c in first.chosen] == [1]
    store.remember(1, first.records)
    later = outlet("tengrinews.kz", "Tenge firms after NBK decision")
    assert select(later, History(store), EVERYTHING).chosen == []


@pytest.mark.parametrize(
    "body",
    [
        '<p>As <a href="https://ft.com/a">the Financial Times reported last week</a>, <a href="'
        "https://nbk.kz/r\">the central bank's decision to raise the base rate to 16.5 percent"
        '</a> followed <a href="https://stat.gov.kz/i">a jump in annual inflation to 9.4 '
        "percent in November</a>.</p>",
        '<p><a href="https://www.bbc.com/news/aral">The northern Aral Sea is coming back to '
        "life, with fish returning to waters that had dried up for decades</a>. Wonderful.</p>",
        '<a href="https://example.kz/news/123">Kazakhstan\'s parliament on Tuesday approved a '
        "law that lets the state buy back stakes in strategic oil fields sold in the 1990s.</a>",
    ],
)
def test_a_sentence_written_around_its_links_is_text_not_chrome(body):
    """Blocks of links with a few words beside them are chrome ("Comments", "[link]
    [comments]", Google News's headline lists), but a sentence is text however much of it is
    linked (review: these three entries had no text and no lead)."""
    data = (
        '<rss version="2.0"><channel><title>Blog</title><link>https://example.kz/</link><item>'
        f"<title>Story</title><link>https://example.kz/1</link><description>{html.escape(body)}"
        "</description></item></channel></rss>"
    )
    [entry] = read_feed("https://example.kz/feed", data.encode()).articles
    assert entry.text and entry.text == re.sub(r"<[^>]+>", "", body).replace("&#x27;", "'")


def pinboard(*bookmarks: tuple[str, str, str]) -> bytes:
    """feeds.pinboard.in/rss/u:NAME/ (RSS 1.0): each bookmark's link as its reader saved it,
    from a newsletter (Mailchimp's mc_cid and mc_eid) or a share button (utm_*, fbclid)."""
    seq = "".join(f'<rdf:li rdf:resource="{html.escape(url)}"/>' for url, _, _ in bookmarks)
    items = "".join(
        f'<item rdf:about="{html.escape(url)}"><title>{html.escape(title)}</title>'
        f"<dc:date>2026-12-07T05:11:05+00:00</dc:date><link>{html.escape(url)}</link>"
        f"<dc:creator>steppe_reader</dc:creator><description>{html.escape(note)}</description>"
        "<dc:subject>kazakhstan energy</dc:subject><dc:source>http://pinboard.in/</dc:source>"
        "</item>"
        for url, title, note in bookmarks
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/'
        'elements/1.1/"><channel rdf:about="http://pinboard.in"><title>Pinboard (steppe_reader)'
        "</title><link>https://pinboard.in/u:steppe_reader/public/</link><description>"
        f"</description><items><rdf:Seq>{seq}</rdf:Seq></items></channel>{items}</rdf:RDF>"
    ).encode()


def test_an_article_linked_with_tracking_parameters_is_its_one_clean_address(store):
    """A link is shown without the parameters that only count clicks (WordPress's utm_* on
    every RSS link, a newsletter's mc_cid and mc_eid, Facebook's fbclid), and the article sent
    yesterday is the same article when a bookmark links to it with them today, under a
    headline of its own. Parameters that choose the page stay."""
    metro = "Almaty to open three new metro stations by end of 2027, akimat says"
    (post,) = read_feed("https://astanatimes.com/feed/", wordpress(metro, "almaty-metro", [
        "ALMATY – The Almaty metro will get three new stations on its first line by the end of "
        "2027, the city akimat said on Friday, extending the line westward to Kalkaman.",
        "The extension, 4.5 kilometres long, will cost 187 billion tenge and is financed from "
        "the city budget. Tunnelling started in March.",
    ])).articles  # fmt: skip
    assert post.url == "https://astanatimes.com/2026/12/almaty-metro/"
    first = select([post], History(store), EVERYTHING)
    store.remember(1, first.records)

    bookmarks = read_feed("https://feeds.pinboard.in/rss/u:steppe_reader/", pinboard(
        ("https://astanatimes.com/2026/12/almaty-metro/?mc_cid=4f2a9c1b7d&mc_eid=0c1d2e3f4a",
         "Almaty metro to get three new stations by end of 2027",
         "Finally. The western districts have waited ten years for this."),
        ("https://kursiv.media/en/?p=90210&fbclid=IwAR2xYz_Q8kLm3nB7vC&utm_source=facebook",
         "Kaspi's quarterly profit beats forecasts",
         "Worth reading for the lending numbers."),
    )).articles  # fmt: skip
    assert [b.url for b in bookmarks] == [
        "https://astanatimes.com/2026/12/almaty-metro/",
        "https://kursiv.media/en/?p=90210",
    ]
    second = select(bookmarks, History(store), EVERYTHING)
    assert [c.article.title for c in second.chosen] == ["Kaspi's quarterly profit beats forecasts"]
    # as the same article (its address), not as another report of the story
    assert [(s.reason, s.relation, s.duplicate_of) for s in second.skipped] == [
        ("already-sent", "duplicate", metro)
    ]


BRIEFS = [
    "Kazakhstan's central bank kept its base rate at 16.5 percent on Friday. Inflation slowed "
    "to 11.2 percent in November.",
    "Uzbekistan opened the Tashkent-Samarkand motorway's first stretch on Monday. Tolls are "
    "15,000 soum for cars.",
    "Kyrgyzstan capped the fees money transfer services may charge migrants at 1 percent. The "
    "law passed on Tuesday.",
    "Tajikistan's Rogun dam started its third turbine on Wednesday. The plant now makes 600 "
    "megawatts.",
    "Turkmenistan signed a deal with CNPC on Thursday to build line D of the gas pipeline to "
    "China. Talks had stalled since 2014.",
]

# A Telegram channel's posts: a sentence or two each, about one city
POSTS = [
    "Almaty's metro will run until 1 a.m. from 15 December, the akimat said on Monday. Fares "
    "stay at 150 tenge.",
    "Astana airport closed for four hours on Tuesday morning because of fog; 23 flights were "
    "diverted to Karaganda and Almaty.",
    "Kazakhstan will raise the minimum wage to 93,000 tenge from January 1, the labour ministry "
    "announced on Wednesday.",
    "Heavy snow: roads between Shymkent and Taraz are closed to trucks until further notice, "
    "the emergencies ministry said Thursday.",
    "Air Astana will start direct flights from Almaty to Tokyo Narita in April, three times a "
    "week, the airline said on Friday.",
]


def one_titled(title: str, bodies: list[str], first: int = 0) -> bytes:
    """A feed whose every item has one title (a newsletter's "Daily Brief", a Telegram
    bridge's channel name over every post), newest first, an item a day (from BRIEFS[first])."""
    items = "".join(
        f"<item><title>{title}</title><link>https://t.me/ordakz/{5000 + n}</link>"
        f"<guid>https://t.me/ordakz/{5000 + n}</guid>"
        f"<pubDate>{n + 1:02d} Dec 2026 06:00:00 +0500</pubDate>"
        f"<description>{html.escape(f'<p>{body}</p>')}</description></item>"
        for n, body in reversed(list(enumerate(bodies, first)))
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Orda.kz</title>'
        f"<link>https://t.me/s/ordakz</link>{items}</channel></rss>"
    ).encode()


@pytest.mark.parametrize("title", ["Daily Brief", "Orda.kz", "Morning Newsletter #212"])
def test_items_of_a_feed_that_share_one_title_are_each_sent_under_their_first_sentence(
    store, title
):
    """The one title a feed gives every item is the feed's, no headline: taken for one, it
    made the items copies or reports of one story (some lost in the batch) and, the next day,
    of the story sent (README's limit: "sends only its first item")."""
    feed = "https://rsshub.example/telegram/channel/ordakz"
    first = select(read_feed(feed, one_titled(title, BRIEFS[:3])).articles, History(store),
                   EVERYTHING)  # fmt: skip
    assert sorted(c.article.title for c in first.chosen) == [
        "Kazakhstan's central bank kept its base rate at 16.5 percent on Friday",
        "Kyrgyzstan capped the fees money transfer services may charge migrants at 1 percent",
        "Uzbekistan opened the Tashkent-Samarkand motorway's first stretch on Monday",
    ]
    store.remember(1, first.records)
    second = select(read_feed(feed, one_titled(title, BRIEFS)).articles, History(store),
                    EVERYTHING)  # fmt: skip
    assert [c.article.title for c in second.chosen] == [
        "Turkmenistan signed a deal with CNPC on Thursday to build line D of the gas pipeline to…",
        "Tajikistan's Rogun dam started its third turbine on Wednesday",
    ]
    assert [s.reason for s in second.skipped] == ["already-sent"] * 3


def test_copies_of_one_item_under_the_feeds_one_title_are_still_one_story(store):
    """Reposted under new GUIDs (the same text), items under a feed's one title stay copies."""
    feed = "https://steppebrief.substack.com/feed"
    read = read_feed(feed, one_titled("Daily Brief", [*BRIEFS[:3], BRIEFS[0], BRIEFS[1]]))
    assert len(select(read.articles, History(store), EVERYTHING).chosen) == 3


@pytest.mark.parametrize(
    "title", ["Daily Brief", "Orda.kz", "The Central Asia Morning Briefing from Steppe Media"]
)
def test_a_feed_that_holds_one_item_at_a_time_under_its_one_title_sends_each(store, title):
    """A feed of one item at a time shows no title shared in any one read: what was sent from
    it under that title before is no evidence that the next item tells that story (a post on
    Air Astana's flights from Almaty was taken for the one on Almaty's metro: "already-sent").
    Once two stories went out under it, the third item under it shows it is the feed's: from
    then on each is titled by its first sentence, as in a read of three."""
    feed = "https://rsshub.example/telegram/channel/ordakz"
    titles = []
    for day, body in enumerate(POSTS, 1):
        newest = read_feed(feed, one_titled(title, [body], day - 1)).articles
        assert [(a.title, a.text) for a in newest] == [(title, body)]
        chosen = select(newest, History(store), EVERYTHING)
        assert [c.article.text for c in chosen.chosen] == [body]
        titles += [c.article.title for c in chosen.chosen]
        store.remember(day, chosen.records)
    assert titles == [
        title,
        title,
        "Kazakhstan will raise the minimum wage to 93,000 tenge from January 1, the labour…",
        "Heavy snow: roads between Shymkent and Taraz are closed to trucks until further notice…",
        "Air Astana will start direct flights from Almaty to Tokyo Narita in April, three times a…",
    ]


def test_two_items_a_feed_holds_under_its_one_long_title_are_two_stories(store):
    """A feed holding two items at a time under its one title, a long one: the title makes
    no copies of them (a long headline republished within a week needs no text in common,
    but not between one feed's items: it may be the feed's own)."""
    feed = "https://steppemedia.substack.com/feed"
    read = read_feed(feed, one_titled("The Central Asia Morning Briefing from Steppe Media",
                                      BRIEFS[:2])).articles  # fmt: skip
    assert sorted(c.article.text for c in select(read, History(store), EVERYTHING).chosen) == (
        sorted(BRIEFS[:2])
    )


# One event three outlets report under one headline, each with a snippet of its own.
ROSATOM = "Kazakhstan picks Rosatom to build its first nuclear power plant"
ROSATOM_SNIPPETS = [
    ("Reuters", "Kazakhstan on Friday chose Russia's state nuclear firm to lead the group."),
    ("Bloomberg", "The Central Asian nation weighed bids from China, France and Korea."),
    ("Kursiv", "The plant near Lake Balkhash is to have two reactors of 1.2 gigawatts."),
]


def test_outlets_an_aggregator_lists_under_one_headline_are_still_one_story(store):
    """Three outlets' reports of one event under one headline, each with a snippet of its own,
    in one aggregator's feed: the headline is theirs, not the feed's, and they are one story."""
    head, snippets = ROSATOM, ROSATOM_SNIPPETS
    items = "".join(
        f"<item><title>{head}</title><link>https://bing.example/{n}</link>"
        f"<pubDate>Fri, 04 Dec 2026 1{n}:00:00 GMT</pubDate><description>{text}</description>"
        f'<source url="https://{outlet.lower()}.example">{outlet}</source></item>'
        for n, (outlet, text) in enumerate(snippets)
    )
    feed = f'<rss version="2.0"><channel><title>Kazakhstan - News</title>{items}</channel></rss>'
    read = read_feed("https://bing.example/news/search?q=Kazakhstan&format=rss", feed.encode())
    assert [(a.title, a.source_name) for a in read.articles] == [(head, o) for o, _ in snippets]
    selection = select(read.articles, History(store), EVERYTHING)
    assert len(selection.chosen) == 1
    assert {s.reason for s in selection.skipped} <= {"near-duplicate", "same-story"}
    assert len(selection.skipped) == 2


def test_outlets_an_alerts_feed_lists_under_one_headline_without_naming_them_keep_it(store):
    """Google Alerts names no outlet (no <source>): its entries are the alert's, each linking
    to its outlet's page. Three outlets' reports of one event under the wire's one headline
    kept it and were one story; taken for the feed's one title, each was headlined by its
    snippet's first sentence and sent as a story of its own."""
    head = ROSATOM
    snippets = [(outlet.lower(), text) for outlet, text in ROSATOM_SNIPPETS]
    entries = "".join(
        f"<entry><title type='html'>{head}</title><id>tag:google.com,2013:googlealerts/feed:{n}"
        f"</id><link href='https://www.google.com/url?rct=j&amp;url=https://{outlet}.example/"
        f"{n}'/><published>2026-12-04T1{n}:00:00Z</published><content type='html'>{text}"
        "</content></entry>"
        for n, (outlet, text) in enumerate(snippets)
    )
    feed = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>Google Alert - Kazakhstan</title>'
        f"{entries}</feed>"
    )
    read = read_feed("https://www.google.com/alerts/feeds/1234/5678", feed.encode())
    assert [a.title for a in read.articles] == [head] * 3
    assert len(select(read.articles, History(store), EVERYTHING).chosen) == 1


@pytest.mark.parametrize(
    ("post", "title"),
    [
        (
            "Глава МВД Е. Тургумбаев провёл совещание в Астане. Подробности позже.",
            "Глава МВД Е. Тургумбаев провёл совещание в Астане",
        ),
        (
            "U.S. Secretary of State met Tokayev in Astana on Monday. Talks lasted two hours.",
            "U.S. Secretary of State met Tokayev in Astana on Monday",
        ),
        (
            "Mr. Smith of Almaty won the city's chess open on Sunday. He is 12.",
            "Mr. Smith of Almaty won the city's chess open on Sunday",
        ),
    ],
)
def test_a_post_titled_by_its_first_sentence_is_not_cut_at_an_initial_or_abbreviation(
    store, post, title
):
    """Posts under a Telegram bridge's one title are headlined by their first sentence: it
    does not end at an initial, "U.S." or "Mr." (the headlines were "Глава МВД Е", "U.S",
    "Mr")."""
    feed = "https://rsshub.example/telegram/channel/ordakz"
    read = read_feed(feed, one_titled("Orda.kz", [post, *POSTS[:2]]))
    assert [a.title for a in read.articles][-1] == title


@pytest.mark.parametrize(
    ("post", "title"),
    [
        (
            "МОСКВА, 10 дек - РИА Новости. Путин подписал закон о налоге на майнинг. Он вступит "
            "в силу с 1 января.",
            "Путин подписал закон о налоге на майнинг",
        ),
        (
            "КРАСНОЯРСК, 10 декабря. /ТАСС/. Пожар на складе в Красноярске потушили к утру.",
            "Пожар на складе в Красноярске потушили к утру",
        ),
    ],
)
def test_a_post_titled_by_its_first_sentence_is_not_headlined_by_its_dateline(store, post, title):
    """A wire item under a feed's one title opening with its dateline: the dateline is no
    headline (it was "МОСКВА, 10 дек - РИА Новости", "КРАСНОЯРСК, 10 декабря. /ТАСС/")."""
    feed = "https://rsshub.example/telegram/channel/ria_novosti"
    read = read_feed(feed, one_titled("РИА Новости", [post, *POSTS[:2]]))
    assert [a.title for a in read.articles][-1] == title


def test_a_feed_whose_one_title_showed_in_a_read_of_three_is_known_when_it_holds_fewer(store):
    """A newsletter's first read holds three issues under its one title (each sent under its
    first sentence); from then on its feed holds the day's issue only: that is titled by its
    first sentence too (it was "Daily Brief", twice, before two stories went out under it)."""
    feed = "https://steppebrief.substack.com/feed"
    titles = []
    for day, (first, last) in enumerate([(0, 3), (3, 4), (4, 5)], 1):
        read = read_feed(feed, one_titled("Daily Brief", BRIEFS[first:last], first)).articles
        chosen = select(read, History(store), EVERYTHING)
        titles += [c.article.title for c in chosen.chosen]
        store.remember(day, chosen.records)
    assert len(titles) == 5 and "Daily Brief" not in titles


def test_a_feed_titling_every_item_with_a_time_stamp_keeps_it_after_two_stories_went_out(store):
    """A time stamp for a title (BBC pages: "17 July 2012 Last updated at 12:34 GMT") is no
    headline already and stays, in one read and once two stories went out under one such
    title: titled by its first sentence, a page's headline run into its lead was the title."""
    feed = "https://www.bbc.co.uk/news/world/rss.xml"
    stamps = [f"{day} December 2026 Last updated at 0{day}:15 GMT" for day in (1, 2, 3)]
    titles = []
    for day, stamp in enumerate(stamps):
        read = read_feed(feed, one_titled(stamp, BRIEFS[day : day + 1], day)).articles
        chosen = select(read, History(store), EVERYTHING)
        titles += [c.article.title for c in chosen.chosen]
        store.remember(day + 1, chosen.records)
    assert titles == stamps


def test_a_stale_item_titled_by_its_feed_s_history_is_still_known_as_stale(store):
    """Once two stories went out under a feed's one title ("Daily Brief") its next items are
    titled by their first sentence (select.titles): an item the feed re-showed with a new date
    then escaped the stale check, which matched the old copy by its title, still the feed's."""
    feed = "https://steppebrief.substack.com/feed"
    for day in (0, 1):
        read = read_feed(feed, one_titled("Daily Brief", BRIEFS[day : day + 1], day)).articles
        store.remember(day + 1, select(read, History(store), EVERYTHING).records)
    body = html.escape(f"<p>{BRIEFS[4]}</p>")
    items = "".join(
        f"<item><title>Daily Brief</title><link>https://t.me/ordakz/{6000 + n}</link>"
        f"<pubDate>{date} 06:00:00 +0500</pubDate><description>{body}</description></item>"
        for n, date in ((2, "03 Dec 2026"), (1, "01 Oct 2026"))
    )
    xml = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Orda.kz</title>{items}'
    articles = read_feed(feed, f"{xml}</channel></rss>".encode()).articles
    config = Config(path=Path("digest.yaml"), selection=SelectionConfig(50, 7))
    selection = select(articles, History(store), config.selection, dt.date(2026, 12, 3))
    (chosen,) = selection.chosen
    assert chosen.article.title.startswith("Turkmenistan signed a deal")  # retitled
    stories = place(config, selection.chosen, ["lead"])
    day = dt.date(2026, 12, 3)
    assert drop_stale_stories(config, selection, stories, articles, day) == []
    assert [s.reason for s in selection.skipped if s.article.url.endswith("/6002")] == [TOO_OLD]
