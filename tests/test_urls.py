"""Article URLs (issue 11, item 3): checked with a URL parser when the corpus loads, and every link
the bot builds percent-encoded in one place, so a ``url`` cannot smuggle a masked link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bot_harness import article
from cli_harness import one_line_error, summitbot
from hypothesis import given
from hypothesis import strategies as st

from bot.discord_app import limits
from bot.urls import encode_url, url_problem

# ------------------------------------------------------------------------------ 3: links


SMUGGLE = "https://ok.example/)**[Free Nitro](https://evil.example/login)**[.](https://ok.example/"


@pytest.mark.parametrize(
    "url",
    [
        SMUGGLE,
        "https://ok.example/)[FreeNitro](https://evil.example/login)",
        "javascript:alert(1)",
        "https://",
        "https://ok.example@evil.example/",
        "https://ok.example/<script>",
        "https://ok.example/a\u2028b",
    ],
)
def test_check_refuses_urls_that_are_not_plain_http_links(small_corpus: Path, url: str) -> None:
    (small_corpus / "u.md").write_text(article(f"title: t\nsource: x\nurl: {url!r}\n"), encoding="utf-8")
    err = one_line_error(summitbot("check", "--corpus", str(small_corpus)))
    assert "u.md:4: 'url'" in err, err


# A markdown link or anything that could end one: no bracket, parenthesis, angle bracket or space.
_LINK_TARGET = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d+)?(?:[/?#][A-Za-z0-9\-._~/:@!$&'+,;=?%#]*)?$")


@given(st.text(max_size=60))
def test_every_accepted_url_is_encoded_into_a_link_that_cannot_break_out(tail: str) -> None:
    url = "https://ok.example/" + tail
    link = limits.masked_link("read the article", url)
    if url_problem(url) is not None:
        assert link is None
        return
    encoded = encode_url(url)
    assert encoded is not None and _LINK_TARGET.match(encoded), encoded
    assert link == f"[read the article]({encoded})"


def test_parentheses_in_a_real_url_are_kept_as_percent_escapes() -> None:
    url = "https://en.wikipedia.org/wiki/Summit_(meeting)?x=1#top"
    assert url_problem(url) is None
    assert encode_url(url) == "https://en.wikipedia.org/wiki/Summit_%28meeting%29?x=1#top"
    assert encode_url("https://de.wikipedia.org/wiki/Künstliche") == "https://de.wikipedia.org/wiki/K%C3%BCnstliche"


def test_one_url_check_takes_the_schemes_it_allows() -> None:
    """Article links, imports and the config's URLs share url_problem; only the schemes differ."""
    assert url_problem("wss://127.0.0.1:8080/gateway", ("ws", "wss")) is None
    assert url_problem("https://discord.com/api/v10", ("ws", "wss")) == "must start with ws:// or wss://"
    assert url_problem("wss://gateway.discord.gg/") == "must start with http:// or https://"  # links: http(s)
    assert url_problem("https://example.org:99999/", ("http", "https")) is not None
    # A bracketed IPv6 host: fine to connect to (config, imports), never an article link.
    assert url_problem("ws://[::1]:8080/", ("ws", "wss"), ipv6=True) is None
    assert url_problem("http://[::1]/a") is not None and encode_url("http://[::1]/a") is None
    assert url_problem("ws://[::zz]/", ("ws", "wss"), ipv6=True) == "has an invalid IPv6 address '::zz'"
    assert url_problem("ws://[::1]/<x>", ("ws", "wss"), ipv6=True) is not None  # the rest is still checked
    assert url_problem("ws://[::1]x/", ("ws", "wss"), ipv6=True) is not None
