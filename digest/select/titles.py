"""A feed's one title told from what was sent from it: a feed that holds one or two items at a
time shows no title shared in any one read (sources/entry.py tells it from three), but once
it has sent FEED_TITLE_STORIES stories under one title (`similarity.feed_title`: one outlet of
one feed), that title is the feed's, and its next items are titled by their text."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..models import Article
from ..untitled import titled_by_text
from .sent import SentStories
from .similarity import feed_title_of

FEED_TITLE_STORIES = 2  # with the item in hand, three items under the title: as in one read


def titled_by_history(
    candidates: list[Article], sent: SentStories
) -> tuple[list[Article], list[int]]:
    """The candidates, those under a title their feed has sent FEED_TITLE_STORIES stories
    under titled by their text; and each one's `feed_title_of` key (the batch asks it again:
    10,000 candidates, 0.09 s)."""
    keys = [feed_title_of(a) for a in candidates]
    wanted = {k for a, k in zip(candidates, keys, strict=True) if not a.untitled}
    if not wanted or not sent.count():
        return candidates, keys
    hits = sent.matching_keys(np.fromiter(wanted, np.int64, len(wanted)))
    if not hits:
        return candidates, keys
    told = sent.articles({aid for _, aid in hits})
    stories: dict[int, set[int]] = defaultdict(set)
    for key, aid in hits:
        stories[key].add(told[aid].story)
    feeds = {k for k, s in stories.items() if len(s) >= FEED_TITLE_STORIES}
    titled = [
        titled_by_text(a) if k in feeds and not a.untitled else a
        for a, k in zip(candidates, keys, strict=True)
    ]
    return titled, [
        k if t is a else feed_title_of(t) for a, t, k in zip(candidates, titled, keys, strict=True)
    ]
