"""What readers see of a source: its name and link (config mappings, feed defaults), the
links of stories (relative links resolved, GUIDs that are no URL never taken), article_url
for pages without links, and the sections rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, page

from digest.config import load_config
from digest.errors import ConfigError
from digest.models import DEFAULT_SECTION, OTHER_SECTION
from digest.select.sections import assign_sections, section_for, section_order
from digest.sources import read_specs
from digest.sources.feed import read_feed

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
  <title>Kabar &amp; Co</title>
  <link>https://kabar.example/news/</link>
  <item><title>Relative Link Story</title><link>/2025/11/relative</link>
    <guid isPermaLink="false">kabar-1</guid><description>Body one.</description></item>
  <item><title>Guid Only Story</title><guid>kabar-2</guid><description>Body two.</description></item>
  <item><title>Guid Urn Story</title><guid>urn:uuid:1234</guid><description>Body.</description></item>
  <item><title>Guid Url Story</title><guid>https://kabar.example/guid-url</guid>
    <description>Body three.</description></item>
  <item><title>Javascript Link</title><link>javascript:alert(1)</link><description>B.</description></item>
</channel></rss>
"""


def test_a_feed_names_itself_by_its_channel_title_and_link():
    result = read_feed("https://kabar.example/rss.xml", RSS.encode())
    names = {(a.source_name, a.source_link) for a in result.articles}
    assert names == {("Kabar & Co", "https://kabar.example/news/")}
    assert all(a.source == "https://kabar.example/rss.xml" for a in result.articles)


def test_relative_links_resolve_against_the_channel_and_a_plain_guid_is_never_a_link():
    urls = {a.title: a.url for a in read_feed("feed.xml", RSS.encode()).articles}
    assert urls == {
        "Relative Link Story": "https://kabar.example/2025/11/relative",
        "Guid Only Story": None,  # "kabar-2" would resolve to a page that does not exist
        "Guid Urn Story": None,
        "Guid Url Story": "https://kabar.example/guid-url",
        "Javascript Link": None,
    }


def write(tmp_path: Path, sources: str) -> Path:
    config = tmp_path / "digest.yaml"
    config.write_text(f"title: T\nsources:\n{sources}\nstate: {tmp_path / 's.sqlite3'}\n")
    return config


def test_a_source_mapping_names_the_pages_and_links_each_story(tmp_path, shared_seeds):
    shared = page("000")
    config = load_config(
        write(
            tmp_path,
            f"  - path: {shared}\n"
            "    name: The Times of Central Asia\n"
            "    link: https://timesca.com/\n"
            '    article_url: "https://timesca.com/?s={title}"\n'
            f"  - feed: {FIXTURES / 'feeds' / 'rss.xml'}\n"
            "    name: Steppe Wire Daily\n",
        )
    )
    pages, feed = config.sources
    assert (pages.kind, pages.name, pages.link) == (
        "glob",
        "The Times of Central Asia",
        "https://timesca.com/",
    )
    read = read_specs(config.sources)
    from_pages = [a for a in read.articles if a.source == str(shared)]
    assert from_pages and all(a.source_name == "The Times of Central Asia" for a in from_pages)
    first = from_pages[0]
    assert first.url == (
        "https://timesca.com/?s=Tajikistan%20Intends%20To%20Expand%20Production%20of%20"
        "Armored%20Vehicles%20and%20Special%20Equipment"
    )
    from_feed = [a for a in read.articles if a.source != str(shared)]
    assert {a.source_name for a in from_feed} == {"Steppe Wire Daily"}  # the config wins
    assert {a.source_link for a in from_feed} == {"https://steppewire.example/"}  # the feed's
    assert from_feed[0].url == "https://steppewire.example/2025/11/almaty-metro"  # kept


@pytest.mark.parametrize(
    ("entry", "key", "message"),
    [
        ("  - path: x.txt\n    feed: y.xml", "sources[0]", "exactly one of"),
        ("  - name: Only a name", "sources[0]", "exactly one of"),
        ("  - path: '*.yaml'\n    link: ftp://x.example/", "sources[0].link", "http(s) URL"),
        (
            "  - path: '*.yaml'\n    article_url: https://x.example/?q=",
            "sources[0].article_url",
            "{title}",
        ),
        (
            "  - path: '*.yaml'\n    article_url: https://x.example/{id}",
            "sources[0].article_url",
            "no other placeholder",
        ),
        # filled in as each page is read: they were a traceback there (ValueError, MemoryError)
        (
            "  - path: '*.yaml'\n    article_url: https://x.example/{title!x}",
            "sources[0].article_url",
            "no other placeholder",
        ),
        (
            "  - path: '*.yaml'\n    article_url: https://x.example/{title:>99999999999}",
            "sources[0].article_url",
            "no other placeholder",
        ),
        ("  - path: '*.yaml'\n    colour: red", "sources[0].colour", "unknown key"),
    ],
)
def test_bad_source_mappings_name_the_key(tmp_path, entry, key, message):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, entry))
    assert err.value.key == key and message in str(err.value)


def test_postal_address_is_read_from_delivery(tmp_path):
    config = tmp_path / "digest.yaml"
    config.write_text(
        f"sources: ['{tmp_path}/*.yaml']\ndelivery:\n"
        "  postal_address: 'Central Asia Daily,\n    1 Abay Avenue, Almaty'\n"
    )
    assert load_config(config).delivery.postal_address == (
        "Central Asia Daily, 1 Abay Avenue, Almaty"
    )


# --- sections ---------------------------------------------------------------------------

SECTIONS = (
    ("Kazakhstan", ("Kazakhstan", "Astana", "Almaty", "Tokayev")),
    ("Uzbekistan", ("Uzbekistan", "Tashkent", "Samarkand")),
    ("Tajikistan", ("Tajikistan", "Dushanbe")),
)


@pytest.mark.parametrize(
    ("title", "lead", "section"),
    [
        ("Tajikistan Intends To Expand Production of Armored Vehicles", "", "Tajikistan"),
        ("Uzbekistan and Kazakhstan Explore Use of ID Cards", "", "Uzbekistan"),  # named first
        ("Kazakhstan’s Customs System Modernized", "", "Kazakhstan"),  # possessive
        (
            "UNICEF: Keep Children Out of Care",
            "Children in Dushanbe and Tashkent ...",
            "Tajikistan",
        ),
        ("Japan Hosts First Summit", "Tokyo will host the leaders on December 19.", OTHER_SECTION),
    ],
)
def test_a_story_goes_where_its_title_or_lead_says(title, lead, section):
    assert section_for(title, lead, SECTIONS) == section


def test_a_side_sentence_of_the_body_files_nothing():
    # The old rule counted keywords in the body: this Tajik plant story went to "Kazakhstan"
    # for a sentence about Kazakh buyers. Only the title and the lead count now.
    got = assign_sections(
        [("Sipar Group to Expand Armored Vehicle Plant", "The plant in Tursunzade will add jobs.")],
        SECTIONS,
    )
    assert got == [OTHER_SECTION]


def test_no_sections_configured_means_one_default_section():
    assert assign_sections([("Kazakhstan Story", "")], ()) == [DEFAULT_SECTION]
    assert section_order(SECTIONS)[-2:] == [OTHER_SECTION, DEFAULT_SECTION]
