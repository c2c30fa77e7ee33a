"""Leads on real articles (an audit of issue 5 over ECB+ dev, topics 1-22: ECB+ 1.0, Cybulska &
Vossen, LREC 2014, CC BY 3.0, github.com/tommasoc80/EventStoryLine; the article ids are named).
Each text is an article's paragraph as the corpus has it (its spacing around punctuation too)."""

from __future__ import annotations

import pytest

from digest.models import Article, Paragraph
from digest.sentences import split_sentences
from digest.sources.snapshot import paragraph_kind
from digest.summarize import extractive_lead, is_chrome
from digest.text import without_timestamp


def feed_article(title: str, *paragraphs: str) -> Article:
    """An entry as a feed gives it: each paragraph kind as the feed reader reads it."""
    paras = tuple(Paragraph(p, paragraph_kind(p)) for p in paragraphs)
    return Article(title=title, paragraphs=paras, source="test")


# --- a page's time stamp run into the lede ------------------------------------------------
# 46 of the 460 leads opened with one ("Updated 4 / 9 / 2007 6:04 PM A man suspected ...").


# a heading or a caption before a labelled stamp: both left out
HEADING_THEN_STAMP = [
    (  # 10_4ecbplus: a page's deck, then the stamp
        "Sources: Sox May Not Be Out Of Teixeira Chase",
        "Team Execs Meet With Player's Agent UPDATED 3:09 AM EST Dec 19, 2008 Despite saying "
        "they have been outbid for free agent first baseman Mark Teixeira, the Red Sox do not "
        "believe they are completely out of the chase, SportsCenter 5 has learned.",
        "Despite saying they have been outbid",
    ),
    (  # 22_2ecbplus: a photo's caption, then the stamp
        "Suspended Worker Kills 2 Women in Kraft Factory Shooting: Police",
        "The woman accused had just been escorted from the building 10 minutes earlier "
        "Friday, Sep 10, 2010 | Updated 9:28 AM EDT Minutes after a woman was suspended and "
        "escorted from her job at the Kraft Foods plant in Northeast Philadelphia, she "
        "returned with a. 357 Magnum and opened fire, killing two women and critically "
        "injuring a third co-worker before being taken into custody, police said.",
        "Minutes after a woman was suspended",
    ),
]


@pytest.mark.parametrize(
    "title, paragraph, news",
    [
        (  # 18_2ecbplus
            "1 dead, 2 hurt in Mich. office shooting; police say suspect had worked there",
            "Updated 4 / 9 / 2007 6:04 PM A man suspected of shooting three people at an "
            "accounting firm where he had worked was arrested a few hours later after a "
            "high-speed chase, authorities said. One victim died in the Monday morning attack.",
            "A man suspected of shooting three people",
        ),
        (  # 7_5ecbplus: a byline's tail
            "Klitschko vs Thompson II Results: Wladimir Klitschko Cruises Again, Wins in Six",
            "on Jul 7 2012, 5: 55p Wladimir Klitschko won his 16th straight fight today, "
            "successfully defending the WBA, WBO, and IBF heavyweight titles against Tony "
            "Thompson, stopping the 40-year-old American in the sixth round of a fight that was "
            "never really close. Klitschko (58-3, 51 KO) bombed Thompson with a vicious right "
            "hand in the fifth round, putting him down late in the frame.",
            "Wladimir Klitschko won his 16th straight fight today",
        ),
        (  # 6_1ecbplus
            "The Hunger Games Director Gary Ross Still In Negotiations For The Sequel",
            "published: 2012-04-04 11:47:35 During the promotional period for The Hunger Games "
            "everyone involved made sure to note how different the franchise was from Twilight.",
            "During the promotional period",
        ),
        (  # 8_5ecbplus
            "Three Killed In Athens Bank Fire Amid Strike",
            "7: 00pm UK, Wednesday 05 May 2010 Three people have died after rioters in Greece "
            "set fire to a bank in Athens during a nationwide strike against huge spending cuts "
            "aimed at rescuing the country's economy. Greek police clashed with protesters in "
            "the capital as tens of thousands of people joined a 24-hour walkout.",
            "Three people have died after rioters",
        ),
        (  # 19_6ecbplus
            "Brooklyn neighborhood on police lockdown following protest",
            "Published time: March 12, 2013 02:03 Edited time: March 13, 2013 02:15 Police "
            "intervened after more than 100 people joined together for a candlelit vigil in the "
            "East Flatbush neighborhood in Brooklyn, New York, where 16-year-old Kimani Gray was "
            "shot multiple times by police on Saturday.",
            "Police intervened after more than 100 people",
        ),
        (  # 12_4ecbplus: the stamp before a dateline (one with no agency, which stays)
            "Indian Navy captures 26 Somali pirates in Gulf of Aden",
            "Published on: Fri, 11 Nov 2011 at 09:56 IST New Delhi / Mumbai: An Indian warship "
            "foiled a five-boat pirate attack on merchant vessels transiting the Gulf of Aden on "
            "Friday capturing 26 Somani brigands on three of the skiffs and confiscating their "
            "weapons.",
            "New Delhi / Mumbai: An Indian warship foiled",
        ),
        (  # 22_10ecbplus: a stamp after the first sentence
            "Trial Begins for Kraft Shooting Suspect",
            "The murder trial of a suspended female employee who allegedly shot and killed two "
            "co-workers two years ago starts Monday. Monday, Sep 10, 2012 | Updated 9:01 AM EDT "
            "The murder trial for the suspended Kraft foods employee accused of shooting three "
            "co-workers, killing two of them, starts Monday.",
            "The murder trial",
        ),
        *HEADING_THEN_STAMP,
    ],
)
def test_a_page_time_stamp_is_no_part_of_the_lead(title, paragraph, news):
    lead = extractive_lead(feed_article(title, paragraph, "More follows here, as it does."))
    assert lead.startswith(news)
    assert not any(
        w in lead for w in ("Updated", "published:", "2012-04-04", "PM", "pm", " 5: 55p")
    )


@pytest.mark.parametrize(
    "text",
    [
        # news that opens with a date or a time is news (ECB+ 12_3ecb, 10_3ecbplus, 4_10ecb;
        # the Russian from tests/fixtures/languages/ru_news.json)
        "On 23 October, the government gave a go-ahead to the Navy's request for a pro-active "
        "approach against the pirates.",
        "On Sunday night, the Los Angeles Angels withdrew their contract offer to Teixeira.",
        "In 1955, she appeared in a Christmas spread for Playboy.",
        "13 августа в издательстве «Эксмо» выходит книга «Black Mirror. Внутри Черного Зеркала».",
        "2:0 к перерыву - казалось, более чем комфортное преимущество.",
        # Russian opens a sentence with its date, no comma (tests/fixtures/languages/
        # ru_gsd_sentences.json, UD Russian GSD)
        "30 апреля 1984 года Муамар Каддафи предложил одновременно вывести французские и "
        "ливийские войска из Чада.",
        # "May Day" is no date, "Originally," no stamp, "On October 1-2" the news (11_5ecbplus)
        "May Day protests drew thousands of people into the streets on Monday.",
        "Originally, Orozco's mother was to take the stand to tell her son's story.",
        "Posted 1 year, 160 days ago [downloaded on 2 October 2013] As I said many times.",
        # a year alone is the news' own ("2008 Democratic nominee"), not a page's stamp
        "2012 Olympic champion Usain Bolt said on Monday he would retire.",
        "2008 Democratic nominee Barack Obama spoke at the convention on Tuesday.",
        # nor after a label: "Posted 2015 Profits" is a deck's news, not "Posted: Dec 5, 2015"
        "Apple Posted 2015 Profits Of Record Size In China, Analysts Said",
    ],
)
def test_news_that_opens_with_a_date_keeps_it(text):
    assert without_timestamp(text) == text


def test_only_the_stamp_goes():
    # 11_5ecbplus: the zone in brackets is the stamp's, "On October 1-2" the news
    text = (
        "2 October 2013, 15:39 (GMT+05:00) On October 1-2 Ashgabat hosts a seminar organised "
        "with the assistance of the United Nations Development Programme."
    )
    assert without_timestamp(text) == text.split(") ", 1)[1]
    # 1_17ecbplus: "a. m." and a zone after it
    text = (
        "May 3, 2013 at 7:31 AM ET Updated 5:40 p. m. ET Early Friday morning, around 1:30 a. "
        "m., the 26-year-old actress checked into Betty Ford Center."
    )
    assert without_timestamp(text).startswith("Early Friday morning")
    # a stamp in Russian
    assert (
        without_timestamp("Обновлено 3 декабря 2025, 14:20 Президент подписал закон о бюджете.")
        == "Президент подписал закон о бюджете."
    )


# --- a lede that is the title ---------------------------------------------------------------
# The lede left out as the title's repeat came back for the sentence leaning on it, and then
# made the lead alone: 13 of the 460 leads were their title again.

_PARTY_GIRL = (  # 1_18ecb
    "The notorious party girl, who makes headlines for her wild antics and plastic "
    "surgery-enhanced figure, had checked into the Promises Treatment Centre in Malibu, her "
    "publicist confirmed."
)
_VOTERS = (  # 11_8ecb
    "Turkmenistan's voters are going to the polls in parliamentary elections portrayed by the "
    "government as a step towards democracy in the gas-rich Central Asian nation."
)


def test_a_lede_that_is_the_title_comes_with_the_sentence_leaning_on_it():
    article = feed_article(
        _PARTY_GIRL,
        f'{_PARTY_GIRL} He did not say what Reid was being treated for. "We appreciate your '
        "respect to her and her family's privacy at this time,\" he said.",
        "Reid, 33, was infamously photographed topless on the red carpet when her dress slipped "
        "off, exposing one of her breasts. Reid has starred in American Pie, and had a guest "
        "role in television sitcom Scrubs.",
    )
    assert (
        extractive_lead(article) == f"{_PARTY_GIRL} He did not say what Reid was being treated for."
    )


def test_a_lede_that_is_the_title_is_not_the_lead_alone():
    article = feed_article(
        _VOTERS,
        f"{_VOTERS} But critics say that Sunday's vote is a sham with all the candidates either "
        "representing the ruling Democratic Party, the only registered party, or a handful of "
        'state-approved independents. "Beyond all the pompous declarations, there will be no '
        'real change," Tadzhigul Begmedova, director of the Turkmenistan Helsinki Foundation for '
        "Human Rights, said from Bulgaria.",
        "Berdymukhamedov rolled back some of the decrees which had celebrated the previous leader "
        "and vowed to increase democracy and foreign investment.",
    )
    lead = extractive_lead(article)
    assert lead and _VOTERS not in lead and not lead.startswith("But ")


# --- a cut that leaves no main clause -----------------------------------------------------
# A first sentence over max_words that opens with a clause or a phrase was cut inside it: the
# lead said nothing happened ("In a move that will subject ... scrutiny…"; 3 of the 41 cut
# leads).


@pytest.mark.parametrize(
    "title, paragraph, main",
    [
        (  # 9_5ecbplus
            "Obama Reverses Bush on Species Protection Measure",
            "In a move that will subject a number of government projects to enhanced "
            "environmental and scientific scrutiny, President Obama is restoring a requirement "
            "that U. S. agencies consult with independent federal experts to determine whether "
            "their actions might harm threatened and endangered species. The presidential "
            "memorandum issued yesterday, which marks yet another reversal of former president "
            "George W. Bush's environmental legacy, will revive a decades-old practice under the "
            "Endangered Species Act that calls for agencies to consult with either the Fish and "
            "Wildlife Service or the National Oceanic and Atmospheric Administration on whether "
            "their projects could affect imperiled species.",
            "President Obama is restoring",
        ),
        (  # 3_8ecbplus
            "Escape renews calls for prison agency shake-up",
            "After facing serious questions about how 900 prohibited cell phones were smuggled "
            "into Texas prisons this year, along with drugs and weapons, the Texas Department of "
            "Criminal Justice found itself on the defensive again Tuesday while trying to find an "
            "inmate who escaped despite being shackled to a wheelchair. TDCJ officials could "
            "answer few questions about how convicted rapist Arcade Joseph Comeaux Jr., 49, "
            "escaped Monday from a prison van in Baytown after pulling a gun and handcuffing two "
            "transport officers, stealing their three guns and walking away.",
            "the Texas Department of Criminal Justice found itself",
        ),
    ],
)
def test_a_cut_lead_keeps_the_main_clause(title, paragraph, main):
    lead = extractive_lead(feed_article(title, paragraph, "More follows here, as it does."))
    assert main in lead


@pytest.mark.parametrize(
    "text",
    [
        "The figures were Updated 2024 Figures show growth in every region of the country.",
        "Prices updated 5 May 2010 Three people died in the fire, the police said.",
    ],
)
def test_a_label_inside_a_sentence_is_no_stamp(text):
    assert without_timestamp(text) == text


# --- a call to send the paper something --------------------------------------------------


def test_a_call_to_send_letters_is_no_lead():
    # The Mercury News' letters page as trafilatura extracts it (trafilatura's test cache,
    # tests/cache/mercurynews.com.2023.01.16.letters-1119.html): the call opened the lead.
    article = feed_article(
        "Letters: Coddling criminals",
        "Submit your letter to the editor via this form. Read more Letters to the Editor.",
        "It should not surprise anyone that Alameda County District Attorney Pamela Price "
        "dropped special circumstances against David Misch, one involving his alleged "
        "kidnapping and murder of Michaela Garecht in 1988.",
        "The voters and residents of Alameda County are being introduced to a new form of "
        "criminal justice.",
    )
    assert extractive_lead(article).startswith("It should not surprise anyone")


# --- a cookie banner ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "banner",
    [
        # austria.info as trafilatura extracts it (its test cache, austria.info.radfahren.html)
        "Auf unserer Website werden Cookies gemäß unserer Datenschutzerklärung verwendet. Diese "
        "helfen uns dabei die Benutzererfahrung zu optimieren. Sie können jederzeit dem Einsatz "
        "von Cookies auf dieser Website in unserer Datenschutzerklärung widersprechen.",
        # a site's banner as published (its text, in a public repository's cookie component)
        "We use cookies to improve your experience, analyze site traffic, and serve targeted "
        "advertisements. By continuing to use this site, you consent to our use of cookies.",
    ],
)
def test_a_cookie_banner_is_no_lead(banner):
    article = feed_article(
        "Radfahren in der Stadt Salzburg",
        banner,
        "Salzburg liebt seine Radfahrer. Markierte Radwege führen viele Kilometer in und um die "
        "Stadt herum.",
    )
    assert extractive_lead(article).startswith("Salzburg liebt seine Radfahrer.")


def test_cookies_in_the_news_stay():
    # ECB+ 22_12ecbplus, 22_14ecbplus: the plant "makes Nabisco cookies and crackers"
    text = "About 100 people were at work at the plant, which makes Nabisco cookies and crackers."
    assert extractive_lead(feed_article("Kraft plant shooting", text)) == text
    # the news's own sentence on cookies, not a site's about itself
    text = (
        "By using third-party cookies, Google tracked millions of users across websites "
        "without their consent, the court in Luxembourg found on Tuesday."
    )
    assert extractive_lead(feed_article("EU court rules against Google", text)) == text
    text = "Our site in Leeds will bake 40,000 cookies a day, the chief executive said on Monday."
    assert extractive_lead(feed_article("Bakery opens in Leeds", text)) == text


# --- German ordinals ----------------------------------------------------------------------
# "im 15. Jahrhundert", "am 8. März": the English splitter ended a sentence after the figure,
# and leads were cut there ("... als erstes Wohnquartier im 15.") or began with the rest ("März
# 2014 trinken die beiden ..."): 7 of the 109 pages of trafilatura's test cache (its real pages,
# the texts as it extracts them).


@pytest.mark.parametrize(
    "paragraph, sentence",
    [
        (  # stuttgart.de.html
            "Das Bohnenviertel entstand als erstes Wohnquartier im 15. Jahrhundert außerhalb der "
            "Stadtmauer. Hier siedelten sich vor allem Handwerker, Weinbauern, Kleinhändler und "
            "Pfandleiher an.",
            "Das Bohnenviertel entstand als erstes Wohnquartier im 15. Jahrhundert außerhalb der "
            "Stadtmauer.",
        ),
        (  # netzpolitik.org.abmahnungen.html
            "Zwischen ihnen steht ein großes weißes Plastikfass mit rotem Deckel und Hahn. Am 8. "
            "März 2014 trinken die beiden Wahl-Kieler Philipp H. und Lutz S. einen selbstgemachten "
            "Cider und dokumentieren ihr Treffen mit einem Foto auf Facebook.",
            "Am 8. März 2014 trinken die beiden Wahl-Kieler Philipp H. und Lutz S. einen "
            "selbstgemachten Cider und dokumentieren ihr Treffen mit einem Foto auf Facebook.",
        ),
        (  # skateboardmsm.de.dormhagen.html
            "Nach der Premiere 2015 am Ramsauer See und dem Event am Wörthersee im vergangenen "
            "Jahr kommt die schwimmende Miniramp am 19. August ins Rheinland.",
            "Nach der Premiere 2015 am Ramsauer See und dem Event am Wörthersee im vergangenen "
            "Jahr kommt die schwimmende Miniramp am 19. August ins Rheinland.",
        ),
    ],
)
def test_a_german_ordinal_ends_no_sentence(paragraph, sentence):
    assert sentence in split_sentences(paragraph, "en")


def test_an_english_sentence_may_end_on_a_figure():
    text = "The death toll rose to 15. January was the deadliest month."
    assert split_sentences(text, "en") == (
        "The death toll rose to 15.",
        "January was the deadliest month.",
    )
    # English "am" before a figure is "I am": German's "am 8." is no reason to go on
    text = "Asked how old he was, he said: I am 17. He was later released by the police."
    assert split_sentences(text, "en") == (
        "Asked how old he was, he said: I am 17.",
        "He was later released by the police.",
    )


# --- a blog's byline ------------------------------------------------------------------------


def test_a_blog_byline_is_no_part_of_the_lead():
    # ECB+ 21_10ecbplus: a law firm's blog post, its byline run into the first paragraph
    article = feed_article(
        "New York woman killed in hit-and-run crash",
        "On behalf of Howard R. Sanders, Esq. posted in Pedestrian Accidents on Wednesday, "
        "September 18, 2013. According to investigators, a woman was killed by a hit-and-run "
        "driver in Queens on the night of Sept. 13.",
        "She was walking among some parked cars when she was hit by a grey Toyota Camry.",
    )
    assert extractive_lead(article).startswith("According to investigators, a woman was killed")


def test_posted_in_the_news_is_news():
    text = "By the time the video was posted on YouTube on Monday, the minister had resigned."
    assert not is_chrome(text)


# --- a rank before a name ends no sentence --------------------------------------------------
# (a second audit, scratch s29/leads29: 12 splits after "Const." in 7 articles, "Dist. Atty." in
# 2; the lead of 18_15ecb ended "... Vancouver police Const.")


def test_a_police_rank_before_a_name_ends_no_sentence():
    # ECB+ 18_15ecb: the quotation's speaker cut from it
    article = feed_article(
        "A former employee walked into a staff Christmas party at an east Vancouver health "
        "products business Friday and shot and killed a man, according to police.",
        "A former employee walked into a staff Christmas party at an east Vancouver health "
        "products business Friday and shot and killed a man, according to police. Police said "
        "they were called to Tallgrass Distributors Ltd., in the central Mount Pleasant "
        'neighbourhood, where a man carrying a firearm had confronted the crowd. "A man who '
        "apparently had just been let go from his job there came in, shot and killed another "
        'man," Vancouver police Const. Tim Fanning told a news conference.',
        "After two hours a 61-year-old man surrendered and was arrested.",
    )
    lead = extractive_lead(article)
    assert not lead.endswith("Const.")
    # ECB+ 16_6ecbplus: "Dist. Atty." split twice
    text = (
        '"This is the kind of person and the kind of crime that the death penalty was made '
        "for,\" said Dist. Atty. Steve Cooley. Sheriff's Deputy Timothy Brennan, who had been "
        "Ortiz's partner for a year, called the verdict bittersweet."
    )
    assert split_sentences(text, "en") == (
        '"This is the kind of person and the kind of crime that the death penalty was made '
        'for," said Dist. Atty. Steve Cooley.',
        "Sheriff's Deputy Timothy Brennan, who had been Ortiz's partner for a year, called the "
        "verdict bittersweet.",
    )


# --- a time's day or zone goes with it ------------------------------------------------------
# (the same audit: 12 splits after "a.m."/"p.m." before a weekday or a zone in 11 articles)


@pytest.mark.parametrize(
    "title, paragraph, lead",
    [
        (  # ECB+ 18_8ecb: the lead opened with the day cut from its time, "Friday, Vancouver ..."
            "One man is dead after an ex-employee opened fire at his company's Christmas party at "
            "a Vancouver, B.C. business Friday night.",
            "One man is dead after an ex-employee opened fire at his company's Christmas party at "
            "a Vancouver, B.C. business Friday night. Just past 4 p.m. Friday, Vancouver Police "
            "received a call of a man being shot at 40 East 5th Ave. at a business called Tall "
            "Grass Distribution Limited. Police say a recently laid off employee opened fire "
            "shortly after entering the party, killing one male employee.",
            "Just past 4 p.m. Friday, Vancouver Police received a call",
        ),
        (  # ECB+ 22_5ecb: the lead ended "... was arrested around 10:24 a.m.", the charges cut
            "The Staunton Police Department announced Friday they have made an arrest in a "
            "41-year-old double murder case.",
            "The Staunton Police Department announced Friday they have made an arrest in a "
            "41-year-old double murder case. Staunton Police Chief Jim Williams announced "
            "61-year-old Sharron Diane Crawford Smith was arrested around 10:24 a.m. Friday and "
            "charged with two counts of first degree murder.",
            "Staunton Police Chief Jim Williams announced 61-year-old Sharron Diane Crawford Smith "
            "was arrested around 10:24 a.m. Friday and charged with two counts of first degree "
            "murder.",
        ),
    ],
)
def test_the_day_of_a_time_stays_in_its_sentence(title, paragraph, lead):
    assert extractive_lead(feed_article(title, paragraph, "More follows.")).startswith(lead)


def test_a_sentence_still_ends_after_a_time():
    assert split_sentences("Police arrived at 9 p.m. They found nothing.", "en") == (
        "Police arrived at 9 p.m.",
        "They found nothing.",
    )


# --- a heading run into the lede ------------------------------------------------------------
# (the same audit: a deck or a heading with no full stop run into the first sentence opened 18
# of the 460 leads; the 7 where "The", "An" or "In a" opens the lede ("Latest on Waitrose
# supermarket fire The site manager ...") open with the lede now; the real page
# 003 in ../shared/seeds has three such subheadings, "Regularizing Cooperation Channels The
# documents signed ...")


@pytest.mark.parametrize(
    "title, paragraph, lede",
    [
        (  # ECB+ 14_5ecbplus
            "Latest on Waitrose supermarket fire",
            "Latest on Waitrose supermarket fire The site manager at the Waitrose supermarket in "
            "Wellington that has been damaged by fire, says it will take a couple of days to "
            "assess how much work needs to be done.",
            "The site manager at the Waitrose supermarket in Wellington",
        ),
        (  # ECB+ 18_5ecbplus: the deck, then the lede
            "Gunman kills 1, wounds 2 at accounting office",
            "Suspect had been fired last week by Troy, Mich., company An accounting firm employee "
            "who was fired last week shot and killed a woman and wounded two men Monday at the "
            "suburban Detroit building where he worked, then led officers on a high-speed chase, "
            "police said.",
            "An accounting firm employee who was fired last week",
        ),
        (  # ECB+ 22_11ecbplus: the headline in title case, then the lede
            "Kraft shooting",
            "Female Employee Yvonne Hiller Kills Two In Kraft Shooting In a sad and surprising "
            "reversal of gender roles, a disgruntled woman opened fire at a Kraft factory in "
            "Philadelphia last night, killing two workers and wounding two others.",
            "In a sad and surprising reversal of gender roles, a disgruntled woman opened fire",
        ),
    ],
)
def test_a_heading_run_into_the_lede_is_no_part_of_the_lead(title, paragraph, lede):
    assert extractive_lead(feed_article(title, paragraph, "More follows.")).startswith(lede)


@pytest.mark.parametrize(
    "text",
    [
        "He told The Associated Press on Friday that the fire was out.",
        "Star wattage has dimmed, with many members of the A list refusing to attend.",  # 2_3ecb
        "She starred in The Hunger Games and in a film of The Wizard of Oz.",
    ],
)
def test_an_article_in_a_name_opens_no_sentence(text):
    assert split_sentences(text, "en") == (text,)


@pytest.mark.parametrize(
    "text",
    [
        # a quotation that lost a stop: cut there, neither half was balanced and the lead
        # could use neither
        '"We lost everything The house is gone," she said after the flood in Atyrau.',
        "\u201cWe lost everything The house is gone,\u201d she said after the flood in Atyrau.",
        "The ministry (which said In a statement that the plan was final) did not comment.",
    ],
)
def test_no_heading_runs_into_a_lede_inside_a_quotation_or_brackets(text):
    assert split_sentences(text, "en") == (text,)


# --- a quotation leaning on what came before ------------------------------------------------


def test_a_quotation_that_opens_with_a_pronoun_leans_on_the_sentence_before():
    # ECB+ 8_1ecb (and 8_2ecb): the lede is the headline, and the lead was the quotation after
    # it, "That person" standing for a bomber the reader had not met
    article = feed_article(
        "A bomb explosion at a bank killed a police officer and a state bomb disposal "
        "technician, and state police did not have any suspects, officials said Saturday.",
        "A bomb explosion at a bank killed a police officer and a state bomb disposal "
        "technician, and state police did not have any suspects, officials said Saturday. "
        '"That person is dangerous and needs to be found as soon as possible," said Lt. Gregg '
        "Hastings of the Oregon State Police. The explosion occurred Friday afternoon at a West "
        "Coast Bank branch in Woodburn, about 30 miles south of Portland.",
        "The police went to check on a telephoned bomb threat received by a Wells Fargo bank "
        "branch in the center of town and found a suspicious device that turned out to be "
        "harmless. But the police said the investigation led them to the nearby West Coast "
        "office where the bomb was found. The police would not discuss a possible motive for "
        "the bombing.",
    )
    assert extractive_lead(article).startswith("The explosion occurred Friday afternoon")


@pytest.mark.parametrize(
    "text",
    [
        "The Chinese artist Zhang An said the exhibition would open in May.",
        # a vowel after a name's "An" too: Vietnam's Hoi An and Long An, a Vietnamese or
        # Chinese given name
        "The Chinese artist Zhang An announced the exhibition on Friday.",
        "The lanterns of Hoi An ancient town drew 4 million visitors last year.",
        "Floods hit Long An on Monday, killing two people.",
        "Police arrested Nguyen Van An in Ho Chi Minh City on Monday.",
    ],
)
def test_a_name_an_is_no_article(text):
    assert split_sentences(text, "en") == (text,)
