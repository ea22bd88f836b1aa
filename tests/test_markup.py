"""Unit tests for forum.markup: Markdown -> stored HTML, mentions, quotes and the sanitiser."""

import html
import re
import time
from html.parser import HTMLParser

import pytest

from forum.markup import (
    MAX_NESTING,
    MAX_SOURCE_CHARS,
    MarkupError,
    QuoteRef,
    cook,
    excerpt,
    find_mentions,
    find_quotes,
    plain_text,
    replace_handle,
    sanitize,
    validate_source,
)

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "aside", "div", "span",
}  # fmt: skip
REL = "nofollow ugc noopener"


class AllowlistChecker(HTMLParser):
    """Collects every way cooked HTML could step outside the allowlist."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            text = html.unescape(value or "").lower()
            if name.startswith("on") or name == "style":
                self.problems.append(f"attribute {name} on <{tag}>")
            if "<script" in text or "javascript:" in re.sub(r"[\x00-\x20]", "", text):
                self.problems.append(f"{name}={value!r} on <{tag}>")
            if name == "href":
                href = re.sub(r"[\x00-\x20\x7f]", "", text)
                if not (href.startswith(("http:", "https:", "mailto:", "/"))):
                    self.problems.append(f"href {value!r}")
        if tag == "a":
            self.links.append(dict(attrs))

    handle_startendtag = handle_starttag


def check(cooked: str) -> AllowlistChecker:
    checker = AllowlistChecker()
    checker.feed(cooked)
    checker.close()
    assert checker.problems == [], cooked
    assert "<script" not in cooked.lower()
    return checker


# --- Markdown features -------------------------------------------------------------------------


def test_tables_render_with_align_attributes_and_no_style():
    out = cook("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    assert "<table>" in out and "<thead>" in out and "<tbody>" in out
    assert '<th align="left">a</th>' in out
    assert '<td align="center">2</td>' in out
    assert '<td align="right">3</td>' in out
    assert "style" not in out


def test_strikethrough_renders_as_s():
    assert "<s>gone</s>" in cook("this is ~~gone~~ now")


def test_bare_urls_and_autolinks_get_nofollow_ugc_noopener():
    out = cook(
        "see https://example.com/a and www.example.org and <https://example.net/x> and [t](http://e.io)"
    )
    links = check(out).links
    assert [link["href"] for link in links] == [
        "https://example.com/a",
        "http://www.example.org",
        "https://example.net/x",
        "http://e.io",
    ]
    assert all(link["rel"] == REL for link in links)


def test_fenced_code_keeps_whitespace_and_escapes_script():
    source = "```python\ndef f():\n    return  '<script>alert(1)</script>'\n\n\n    # end\n```"
    out = cook(source)
    assert '<pre><code class="language-python">' in out
    assert "    return  '&lt;script&gt;alert(1)&lt;/script&gt;'\n\n\n    # end\n" in out
    check(out)


def test_indented_code_block_keeps_whitespace():
    out = cook("text\n\n    a  =  1\n      <b>x</b>\n")
    assert "<pre><code>a  =  1\n  &lt;b&gt;x&lt;/b&gt;\n</code></pre>" in out


def test_code_fence_info_cannot_inject_a_class():
    out = cook('```x" onclick="alert(1)\ncode\n```')
    assert "onclick" not in out.split("<code")[1].split(">")[0]
    check(out)


def test_images_render_as_links_not_img():
    out = cook("![a cat](https://example.com/cat.png) and [![inner](https://e.com/i.png)](https://e.com/)")
    assert "<img" not in out
    assert f'<a href="https://example.com/cat.png" rel="{REL}">a cat</a>' in out
    assert f'<a href="https://e.com/" rel="{REL}">inner</a>' in out


def test_relative_links_must_start_with_a_slash():
    out = cook("[topic](/t/1) and [odd](foo/bar)")
    assert f'<a href="/t/1" rel="{REL}">topic</a>' in out
    assert f'<a rel="{REL}">odd</a>' in out


def test_raw_html_is_escaped_not_parsed():
    assert "&lt;b&gt;bold&lt;/b&gt;" in cook("<b>bold</b>")


# --- Mentions ----------------------------------------------------------------------------------


def test_known_mention_becomes_link_with_text_as_written():
    out = cook("hi @Alice!", mentions={"alice": "/u/alice"})
    assert f'<a class="mention" href="/u/alice" rel="{REL}">@Alice</a>!' in out


def test_unknown_mention_stays_plain_text():
    out = cook("hi @alice and @bob", mentions={"alice": "/u/alice"})
    assert "@bob" in out and "/u/bob" not in out
    assert out.count("<a ") == 1


def test_mentions_inside_code_stay_literal():
    source = "`@alice` and\n\n```\n@alice\n```\n\n    @alice indented"
    out = cook(source, mentions={"alice": "/u/alice"})
    assert "mention" not in out
    assert out.count("@alice") == 3
    assert find_mentions(source) == []


def test_email_addresses_are_not_mentions():
    source = "write to foo@bar.com or bar@example or me@alice"
    assert find_mentions(source) == []
    out = cook(source, mentions={"bar.com": "/u/x", "example": "/u/y", "alice": "/u/z"})
    assert "mention" not in out
    assert 'href="mailto:foo@bar.com"' in out


def test_mentions_in_urls_are_not_mentions():
    assert find_mentions("https://mastodon.social/@alice and /@bob") == []


def test_find_mentions_in_order_deduplicated_case_insensitively():
    assert find_mentions("@Bob, @alice and @BOB and @ALICE") == ["Bob", "alice"]


def test_find_mentions_handle_rules():
    source = "@ab @abc @user.name. @x_y-z @Bjørn_Ås @" + "a" * 32 + " @" + "b" * 33 + " @trail."
    assert find_mentions(source) == ["abc", "user.name", "x_y-z", "Bjørn_Ås", "a" * 32, "trail"]


def test_find_mentions_can_skip_quoted_text():
    source = "[quote post=1]\n@carol said\n[/quote]\n\nthanks @dave"
    assert find_mentions(source) == ["carol", "dave"]
    assert find_mentions(source, include_quoted=False) == ["dave"]


def test_mentions_in_headings_lists_and_tables_are_linked():
    out = cook("# @ann\n\n- @ann\n\n| h |\n|---|\n| @ann |", mentions={"ann": "/u/ann"})
    assert out.count('class="mention"') == 3


# --- Quotes ------------------------------------------------------------------------------------


def test_quote_with_attribution():
    out = cook("[quote post=123]\nhello *there*\n[/quote]", quotes={123: QuoteRef("Kari", "/p/123")})
    assert out.startswith(
        '<aside class="quote" data-post="123"><div class="quote-title">'
        f'<a href="/p/123" rel="{REL}">Kari</a>:</div><blockquote>\n<p>hello <em>there</em></p>\n'
        "</blockquote></aside>"
    )


def test_quote_without_author_has_no_title():
    out = cook("[quote post=5]\nx\n[/quote]", quotes={5: QuoteRef(None, None)})
    assert out.startswith('<aside class="quote" data-post="5"><blockquote>')
    assert "quote-title" not in out


def test_quote_of_unknown_post_is_a_plain_blockquote():
    out = cook("[quote post=9]\nsecret\n[/quote]", quotes={1: QuoteRef("A", "/p/1")})
    assert out == "<blockquote>\n<p>secret</p>\n</blockquote>\n"


def test_nested_quotes():
    source = "[quote post=2]\nouter\n[quote post=1]\ninner\n[/quote]\nafter\n[/quote]"
    assert find_quotes(source) == [2, 1]
    out = cook(source, quotes={1: QuoteRef("Ola", "/p/1"), 2: QuoteRef("Kari", "/p/2")})
    assert re.sub(r"\s+", "", out) == re.sub(
        r"\s+",
        "",
        f'<aside class="quote" data-post="2"><div class="quote-title"><a href="/p/2" rel="{REL}">Kari</a>:'
        "</div><blockquote><p>outer</p>"
        f'<aside class="quote" data-post="1"><div class="quote-title"><a href="/p/1" rel="{REL}">Ola</a>:'
        "</div><blockquote><p>inner</p></blockquote></aside><p>after</p></blockquote></aside>",
    )


def test_quote_markers_interrupt_paragraphs():
    out = cook("before\n[quote post=3]\ninside\n[/quote]\nafter", quotes={3: QuoteRef("A", None)})
    assert '<div class="quote-title">A:</div>' in out
    assert "<p>before</p>" in out and "<p>inside</p>" in out and "<p>after</p>" in out


def test_unclosed_quote_stays_text():
    assert find_quotes("[quote post=3]\nno end") == []
    assert "[quote post=3]" in cook("[quote post=3]\nno end")


def test_quote_syntax_inside_code_is_not_a_quote():
    source = "```\n[quote post=1]\nx\n[/quote]\n```\n\n    [quote post=2]\n    y\n    [/quote]"
    assert find_quotes(source) == []
    assert "<aside" not in cook(source, quotes={1: QuoteRef("A", "/p/1"), 2: QuoteRef("B", "/p/2")})


def test_quote_attribution_is_escaped_and_sanitised():
    ref = QuoteRef('"><script>alert(1)</script>', "javascript:alert(1)")
    out = cook("[quote post=1]\nx\n[/quote]", quotes={1: ref})
    check(out)
    assert "&lt;script&gt;" in out


def test_mention_url_is_sanitised_too():
    check(cook("@alice", mentions={"alice": "javascript:alert(1)"}))


# --- Limits and validation ---------------------------------------------------------------------

BOMBS = {
    "blockquotes": ">" * MAX_SOURCE_CHARS,
    "spaced blockquotes": "> " * (MAX_SOURCE_CHARS // 2),
    "brackets": "[" * MAX_SOURCE_CHARS,
    "balanced brackets": "[" * (MAX_SOURCE_CHARS // 2) + "]" * (MAX_SOURCE_CHARS // 2),
    "images": "![" * (MAX_SOURCE_CHARS // 2),
    "unclosed link texts": "[a" * (MAX_SOURCE_CHARS // 2),
    "ordered lists": "1. " * (MAX_SOURCE_CHARS // 3),
    "indented lists": "".join(" " * (2 * i) + "- a\n" for i in range(200))[:MAX_SOURCE_CHARS],
    "quotes": "[quote post=1]\n" * 25 + "x\n" + "[/quote]\n" * 25,
}


@pytest.mark.parametrize("source", BOMBS.values(), ids=BOMBS.keys())
def test_nesting_bomb_is_rejected_quickly(source):
    started = time.perf_counter()
    with pytest.raises(MarkupError) as error:
        cook(source)
    assert error.value.code == "too_deep"
    assert time.perf_counter() - started < 0.2


def test_nesting_up_to_the_limit_is_accepted():
    out = cook(">" * MAX_NESTING + " deep")
    assert out.count("<blockquote>") == MAX_NESTING and "deep" in out
    lists = "".join(" " * (2 * i) + "- a\n" for i in range(MAX_NESTING))
    assert cook(lists).count("<ul>") == MAX_NESTING
    with pytest.raises(MarkupError):
        cook(">" * (MAX_NESTING + 1) + " deeper")


def test_too_long_is_rejected_but_the_limit_itself_is_fine():
    assert validate_source("a" * MAX_SOURCE_CHARS) == "a" * MAX_SOURCE_CHARS
    with pytest.raises(MarkupError) as error:
        cook("a" * (MAX_SOURCE_CHARS + 1))
    assert error.value.code == "too_long"


@pytest.mark.parametrize("source", ["", "   ", "\n\t\r\n "])
def test_empty_is_rejected(source):
    with pytest.raises(MarkupError) as error:
        cook(source)
    assert error.value.code == "empty"


@pytest.mark.parametrize("source", ["a\x00b", "nul at end\x00", "bell\x07", "lone \ud800 surrogate"])
def test_invalid_characters_are_rejected(source):
    with pytest.raises(MarkupError) as error:
        validate_source(source)
    assert error.value.code == "invalid_characters"


def test_validate_source_normalises_line_endings_and_trailing_whitespace():
    assert validate_source("  a  \r\nb\rc \n\n \t") == "  a  \nb\nc"


def test_markup_error_is_a_value_error_with_a_code():
    error = MarkupError("too_long")
    assert isinstance(error, ValueError) and error.code == "too_long"


# --- XSS corpus --------------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="x:x" onerror="alert(1)">',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](jav&#x0A;ascript:alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](&#1;javascript:alert(1))",
    '[x](javascript:alert(1) "title")',
    "[x](vbscript:msgbox(1))",
    "[x](VBScript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](data:text/html,<script>alert(1)</script>)",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '![x" onerror="alert(1)](http://example.com/a.png)',
    "![<svg onload=alert(1)>](http://example.com/a.png)",
    "[<img src=x onerror=alert(1)>](http://example.com)",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="jAvAsCrIpT&colon;alert(1)">x</a>',
    "[x][r]\n\n[r]: javascript:alert(1)",
    '[x][r]\n\n[r]: JAVASCRIPT:alert(1) "t"',
    "[r]\n\n[r]: <javascript:alert(1)>",
    "<javascript:alert(1)>",
    "<JavaScript:alert(1)>",
    "<vbscript:msgbox(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<style>body{display:none}</style>",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '[x](http://a.com" onmouseover="alert(1))',
    '[x](http://a.com "title\\" onmouseover=\\"alert(1)")',
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    '```"><script>alert(1)</script>\ncode\n```',
    "```js onload=alert(1)\nx\n```",
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    "<details open ontoggle=alert(1)>",
    "<!--<script>alert(1)</script>-->",
    "<<script>alert(1)//<</script>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<textarea><script>alert(1)</script></textarea>",
    "<x onclick=alert(1)>click</x>",
    "`<script>alert(1)</script>`",
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "**<script>alert(1)</script>**",
    "# <script>alert(1)</script>",
    'https://example.com/"onmouseover="alert(1)',
    "www.example.com/<script>alert(1)</script>",
    'foo@bar.com"><script>alert(1)</script>',
    '<http://example.com/" onmouseover="alert(1)>',
    "[quote post=1]\n<script>alert(1)</script>\n[/quote]",
]


@pytest.mark.parametrize("payload", XSS)
def test_xss_payload_is_neutralised(payload):
    check(cook(payload, mentions={"alice": "/u/alice"}, quotes={1: QuoteRef("A", "/p/1")}))


@pytest.mark.parametrize("payload", XSS)
def test_sanitize_alone_neutralises_the_raw_payload(payload):
    """markdown-it escapes raw HTML already; prove the second layer holds on its own too."""
    check(sanitize(payload))


def test_xss_corpus_is_large_enough():
    assert len(XSS) >= 40


def test_sanitize_enforces_the_allowlist_on_raw_html():
    dirty = (
        '<p id="x" style="color:red" onclick="a()">hi</p><img src="x"><a href="javascript:x" class="evil">'
        'l</a><div class="other">d</div><aside class="quote" data-post="1 onclick">q</aside>'
        '<code class="language-py x">c</code><ol start="3" reversed><li>i</li></ol>'
    )
    out = sanitize(dirty)
    check(out)
    assert out == (
        f'<p>hi</p><a rel="{REL}">l</a><div>d</div><aside class="quote">q</aside>'
        '<code>c</code><ol start="3"><li>i</li></ol>'
    )


# --- Plain text and excerpts -------------------------------------------------------------------


def test_plain_text_strips_tags_unescapes_and_collapses_whitespace():
    cooked = cook("# Title\n\nSome **bold** and `a < b` text.\n\n- one\n- two")
    assert plain_text(cooked) == "Title Some bold and a < b text. one two"


def test_excerpt_cuts_at_a_word_boundary():
    cooked = cook("word " * 100)
    short = excerpt(cooked, length=22)
    assert short == "word word word word…"
    assert len(short) <= 22
    assert excerpt(cook("short one")) == "short one"


# --- replace_handle ----------------------------------------------------------------------------


def test_replace_handle_replaces_whole_words_ignoring_case():
    source = "Kari said hi to @kari; KARI, kari_x and xkari and Karianne stay."
    assert replace_handle(source, "kari", "[deleted]") == (
        "[deleted] said hi to @[deleted]; [deleted], kari_x and xkari and Karianne stay."
    )


def test_replace_handle_with_norwegian_letters():
    source = "@Bjørn_Ås and bjørn_ås and BJØRN_ÅS but not Bjørn_Åsen or æBjørn_Ås"
    assert replace_handle(source, "Bjørn_Ås", "gone") == (
        "@gone and gone and gone but not Bjørn_Åsen or æBjørn_Ås"
    )


def test_replace_handle_escapes_regex_characters():
    assert replace_handle("a.b and axb and @a.b.", "a.b", "z") == "z and axb and @z."
    assert replace_handle("x", "x", r"\1") == r"\1"
    assert replace_handle("x", "", "y") == "x"


# --- the cost of one cook is bounded (issue 18): elements, not characters, make cooking slow ---------------

COSTLY = {
    "headings": "# a\n", "paragraphs": "a\n\n", "list": "- a\n", "emphasis": "*a* ", "links": "[a](http://x.y) ",
    "autolinks": "http://a.b ", "bare domains": "a.no ", "rules": "***\n", "code spans": "`a` ",
    "entities": "&amp; ", "line breaks": "a\n", "table rows": "|a|b|\n", "quotes": "> a\n\n",
    "nested lists": "- a\n  - b\n", "images": "![a](http://x.y/i) ", "quote markers": "[quote post=1]\na\n[/quote]\n",
}


@pytest.mark.parametrize("unit", COSTLY.values(), ids=COSTLY.keys())
def test_fifty_kilobytes_of_one_element_are_refused_as_too_complex(unit):
    source = ("|a|b|\n|-|-|\n" if unit.startswith("|") else "") + unit * (MAX_SOURCE_CHARS // len(unit) - 4)
    with pytest.raises(MarkupError) as refused:
        cook(source)
    assert refused.value.code == "too_complex"


def test_a_long_real_post_is_still_accepted():
    paragraph = ("Vi har oppgradert til versjon 2026 og ser at eksporten av fakturaer til regnskapet tar "
                 "lengre tid enn før, og **merk** tidspunktene i loggen som ligger vedlagt.\n")
    link = "Se [loggen](https://example.com/logg) og [oppsettet](https://example.com/oppsett).\n"
    code = "```python\n" + "for rad in rader:\n    print(rad)\n" * 300 + "```\n\n"
    items = "".join(f"- punkt {n} med `kode` og en lenke https://example.com/{n}\n" for n in range(40))
    source = (paragraph * 4 + link + "\n") * 40 + code + items + "\n| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 50
    assert len(source) > 40_000
    assert "<table>" in cook(source)[:10**6]
