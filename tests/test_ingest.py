"""Importing articles: extraction from realistic news pages, safe fetching from a loopback site,
and corpus files checked by the loader and written atomically."""

from __future__ import annotations

import asyncio
import errno
import os
import sys
from pathlib import Path

import lxml.html
import pytest
import yaml
from news_server import PAGES, news_site

from bot.config import ConfigError, parse_settings
from bot.corpus import load_corpus
from bot.ingest import (
    REMOVED_FOLDER,
    AddressRefused,
    FetchPolicy,
    IngestError,
    article_from_url,
    extract_html,
    extract_upload,
    fetch_page,
    known_documents,
    prepare_import,
    read_source_file,
    remove_document,
    slugify,
    write_import,
)

REPO = Path(__file__).resolve().parent.parent
OPEN = FetchPolicy(timeout_seconds=5, max_bytes=300_000, allow_private=True)  # tests reach their own server

PAGE_FACTS = yaml.safe_load((PAGES / "expected.yaml").read_text(encoding="utf-8"))
ARTICLES = sorted(name for name, facts in PAGE_FACTS.items() if facts["article_xpath"])


def expected_paragraphs(name: str) -> list[str]:
    tree = lxml.html.fromstring((PAGES / f"{name}.html").read_bytes())
    return [" ".join(p.text_content().split()) for p in tree.xpath(PAGE_FACTS[name]["article_xpath"])]


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text
    return text


# ------------------------------------------------------------------------------------- extraction


@pytest.mark.parametrize("name", ARTICLES)
def test_saved_page_keeps_the_article_paragraphs_and_drops_the_rest(name: str) -> None:
    article = read_source_file(PAGES / f"{name}.html", 1_000_000)
    expected = expected_paragraphs(name)
    if name == "riverside-post-flood-plan":  # a bulleted list is one paragraph, its items joined with '; '
        assert len(article.paragraphs) == len(expected) - 2
        assert "the east bank; a flood storage area" in article.paragraphs[2]
    else:
        assert list(article.paragraphs) == expected
    for block in expected:
        assert any(block in paragraph for paragraph in article.paragraphs), block
    text = "\n".join((article.title, *article.paragraphs))
    for boilerplate in PAGE_FACTS[name]["boilerplate"]:
        assert boilerplate.lower() not in text.lower(), boilerplate


@pytest.mark.parametrize("name", ARTICLES)
def test_saved_page_metadata(name: str) -> None:
    article = read_source_file(PAGES / f"{name}.html", 1_000_000)
    found = {"title": article.title, "source": article.source, "url": article.url, "published": article.published}
    assert found == PAGE_FACTS[name]["metadata"]


def test_saved_page_metadata_from_json_ld_time_meta_and_canonical() -> None:
    ferry = read_source_file(PAGES / "harbour-gazette-ferry.html", 1_000_000)
    assert ferry.title == "Night ferry to the islands returns after two-year pause"
    assert ferry.source == "The Harbour Gazette"  # the site's name
    assert ferry.url == "https://www.harbourgazette.example/news/2026/11/night-ferry-returns"
    assert ferry.published == "2026-11-28"
    school = read_source_file(PAGES / "valley-courier-school.html", 1_000_000)
    assert school.source == "valleycourier.example"  # no site name given: the domain
    assert school.published == "2026-10-14"  # from article:published_time
    assert school.title == "School rebuild to start after funding deal"
    blog = read_source_file(PAGES / "tidewater-blog-seagrass.html", 1_000_000)
    assert blog.published == "2026-05-19"  # only a <time> element
    assert blog.url == "https://tidewaternotes.example/2026/05/seagrass-meadows-spreading/"


def test_a_canonical_link_the_corpus_would_refuse_falls_back_to_the_fetched_address() -> None:
    """A page's canonical link is only a hint: one the corpus loader would refuse (a user name before the host,
    an invalid host name) is ignored, and the article keeps the address it was fetched from instead of the
    whole import being refused."""
    body = "".join(
        f"<p>Paragraph {i} of the story tells readers about the harbour ferry and the islands it serves.</p>"
        for i in range(5)
    )
    for canonical in ("https://user@news.example/a", "https://-bad-.example/a"):
        html = (
            f'<html><head><title>Ferry returns</title><link rel="canonical" href="{canonical}"></head>'
            f"<body><article><h1>Ferry returns</h1>{body}</article></body></html>"
        )
        article = extract_html(html, "https://news.example/fetched", "test")
        assert article.url == "https://news.example/fetched", canonical
        saved = extract_html(html, None, "saved.html", source="News")
        assert saved.url is None, canonical


def test_page_without_an_article_is_refused_with_that_reason() -> None:
    with pytest.raises(IngestError) as caught:
        read_source_file(PAGES / "metro-daily-section-front.html", 1_000_000)
    assert "no article text found" in one_line(caught.value)


def test_txt_and_md_files(tmp_path: Path) -> None:
    txt = tmp_path / "pasted.txt"
    body = "The harbour wall will be repaired this winter at a cost of two million pounds, the council said. " * 2
    txt.write_text(f"Harbour wall repairs approved\n\n{body}\n\nWork starts in January.\nSource: Coast News\n")
    article = read_source_file(txt, 100_000)
    assert article.title == "Harbour wall repairs approved"  # not "Pasted", as the file name would give
    assert article.source == "Coast News"
    assert article.paragraphs == (" ".join(body.split()), "Work starts in January.")
    no_source = tmp_path / "nosource.txt"
    no_source.write_text(f"A title\n{body}\n")
    with pytest.raises(IngestError, match="Source:"):
        read_source_file(no_source, 100_000)
    md = tmp_path / "note.md"
    md.write_text(f"---\ntitle: A note\nsource: Desk\npublished: 2026-01-02\n---\n\n{body}\n")
    article = read_source_file(md, 100_000)
    assert (article.title, article.source, article.published) == ("A note", "Desk", "2026-01-02")
    assert prepare_import(article, tmp_path / "corpus", 100_000).doc_id == "note"  # an .md keeps its id when free
    bad = tmp_path / "bad.md"
    bad.write_text(f"---\ntitle: A note\nwriter: Me\n---\n\n{body}\n")
    with pytest.raises(IngestError) as caught:
        read_source_file(bad, 100_000)
    assert f"{bad}:3: unknown front-matter key 'writer'" in one_line(caught.value)


def test_files_that_are_not_articles_are_refused(tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    with pytest.raises(IngestError, match=r"use \.html, \.md or \.txt"):
        read_source_file(pdf, 1000)
    big = tmp_path / "big.html"
    big.write_bytes(b"<p>x</p>" * 2000)
    with pytest.raises(IngestError, match="over the 1,000-byte import cap"):
        read_source_file(big, 1000)
    with pytest.raises(IngestError, match="cannot read"):
        read_source_file(tmp_path / "absent.html", 1000)
    with pytest.raises(IngestError, match="not UTF-8"):
        extract_upload("latin.txt", "Caf\xe9 news\nSome text\nSource: X".encode("latin-1"))
    with pytest.raises(IngestError, match="NUL"):
        extract_upload("page.html", b"<html>\x00</html>")


def test_slug_ids() -> None:
    assert slugify("Night ferry to the islands returns!") == "night-ferry-to-the-islands-returns"
    assert slugify("Café «Zürich» — 2026") == "cafe-zurich-2026"
    assert slugify("???") == "article"
    assert len(slugify("word " * 40)) <= 60


# --------------------------------------------------------------------------------------- fetching


async def test_fetch_page_with_nav_share_comments_and_dates() -> None:
    async with news_site() as site:
        article = await article_from_url(site.url("/news/harbour-gazette-ferry"), OPEN)
        jsonld_only = await article_from_url(site.url("/variant/jsonld-date-only"), OPEN)
        redirected = await article_from_url(site.url("/moved"), OPEN)
    assert list(article.paragraphs) == expected_paragraphs("harbour-gazette-ferry")
    assert article.source == "The Harbour Gazette"
    assert article.published == "2026-11-28"
    assert article.url == "https://www.harbourgazette.example/news/2026/11/night-ferry-returns"  # canonical
    assert jsonld_only.published == "2026-11-28"
    assert redirected.paragraphs == article.paragraphs


async def test_fetched_page_without_canonical_keeps_the_fetched_address() -> None:
    async with news_site() as site:
        article = await article_from_url(site.url("/plain"), OPEN)
    assert article.url == site.url("/plain")
    assert article.title == "Library extends opening hours over winter"
    assert article.source == "Borough Bulletin"
    assert len(article.paragraphs) == 2


async def test_control_characters_never_reach_the_corpus() -> None:
    async with news_site() as site:
        article = await article_from_url(site.url("/variant/control-characters"), OPEN)
    text = article.title + "".join(article.paragraphs)
    assert "\x1b" not in text and "\u202e" not in text
    assert "Night" in article.title


async def test_page_with_no_article_is_refused() -> None:
    async with news_site() as site:
        with pytest.raises(IngestError) as caught:
            await article_from_url(site.url("/news/metro-daily-section-front"), OPEN)
    assert "no article text found" in one_line(caught.value)


async def test_redirect_loop_and_long_chain_are_refused() -> None:
    async with news_site() as site:
        with pytest.raises(IngestError) as loop:
            await fetch_page(site.url("/loop/a"), OPEN)
        with pytest.raises(IngestError) as chain:
            await fetch_page(site.url("/chain/1"), OPEN)
        with pytest.raises(IngestError) as to_file:
            await fetch_page(site.url("/to-file"), OPEN)
    assert "redirect loop" in one_line(loop.value)
    assert "more than 5 redirects" in one_line(chain.value)
    assert "not an address that can be fetched: it must start with http:// or https://" in one_line(to_file.value)


async def test_huge_pages_are_cut_off_at_the_cap() -> None:
    async with news_site() as site:
        with pytest.raises(IngestError) as declared:
            await fetch_page(site.url("/huge-declared"), OPEN)
        with pytest.raises(IngestError) as endless:
            await asyncio.wait_for(fetch_page(site.url("/huge-endless"), OPEN), 10)
        streamed = site.streamed[0]
    assert "over the 300,000-byte cap" in one_line(declared.value)
    assert "over the 300,000-byte cap" in one_line(endless.value)
    assert streamed < 50 * OPEN.max_bytes  # stopped reading, not downloaded without end


async def test_non_html_type_missing_page_and_timeout() -> None:
    quick = FetchPolicy(timeout_seconds=0.5, max_bytes=300_000, allow_private=True)
    async with news_site() as site:
        with pytest.raises(IngestError) as pdf:
            await fetch_page(site.url("/report.pdf"), OPEN)
        with pytest.raises(IngestError) as missing:
            await fetch_page(site.url("/missing"), OPEN)
        with pytest.raises(IngestError) as slow:
            await fetch_page(site.url("/slow"), quick)
    assert "'application/pdf' is not a web page" in one_line(pdf.value)
    assert "HTTP 404" in one_line(missing.value)
    assert "no complete answer within 0.5 s" in one_line(slow.value)


async def test_private_addresses_are_refused_without_the_flag() -> None:
    closed = FetchPolicy(timeout_seconds=5, max_bytes=300_000, allow_private=False)
    async with news_site() as site:
        port = site.base.rsplit(":", 1)[1]
        for url in (
            site.url("/news/harbour-gazette-ferry"),  # a loopback literal
            f"http://localhost:{port}/news/harbour-gazette-ferry",  # a name that resolves to loopback
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://224.0.0.1/",
            "http://100.64.0.1/",  # shared (carrier-grade NAT) space: not public either
        ):
            with pytest.raises(AddressRefused) as caught:
                await asyncio.wait_for(fetch_page(url, closed), 5)
            message = one_line(caught.value)
            assert "fetch_private_addresses" in message
            kinds = ("loopback", "private", "link-local", "multicast", "non-public")
            assert any(kind in message for kind in kinds), message


async def test_only_http_and_https() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/a", "gopher://x/", "http://", "http://user:pw@example.org/"):
        with pytest.raises(IngestError) as caught:
            await fetch_page(url, OPEN)
        one_line(caught.value)


# ----------------------------------------------------------------------------------- corpus files


def test_prepared_import_loads_back_and_is_written_atomically(corpus_dir: Path) -> None:
    article = read_source_file(PAGES / "harbour-gazette-ferry.html", 1_000_000)
    prepared = prepare_import(article, corpus_dir, 2_000_000)
    assert prepared.doc_id == "night-ferry-to-the-islands-returns-after-two-year-pause"
    path = write_import(prepared)
    assert sorted(p.name for p in corpus_dir.iterdir() if p.name.startswith(".")) == []  # no temp file left
    corpus = load_corpus(corpus_dir)
    doc = corpus.document(prepared.doc_id)
    assert doc is not None and doc.path == path
    assert (doc.title, doc.source, doc.url, doc.published) == (
        article.title,
        article.source,
        article.url,
        article.published,
    )
    assert doc.paragraphs == article.paragraphs
    # The same address again is refused; the same title from elsewhere gets the next free id.
    with pytest.raises(IngestError, match="already in the corpus as 'night-ferry"):
        prepare_import(article, corpus_dir, 2_000_000)
    elsewhere = type(article)(article.title, "Other", None, None, article.paragraphs, "other")
    assert prepare_import(elsewhere, corpus_dir, 2_000_000).doc_id.endswith("-pause-2")
    with pytest.raises(IngestError, match="already used"):
        prepare_import(elsewhere, corpus_dir, 2_000_000, doc_id=prepared.doc_id)
    with pytest.raises(IngestError, match="1-64 letters"):
        prepare_import(elsewhere, corpus_dir, 2_000_000, doc_id="../escape")
    with pytest.raises(IngestError, match="over the corpus file cap"):
        prepare_import(elsewhere, corpus_dir, 500)


def test_write_never_replaces_a_file(corpus_dir: Path) -> None:
    article = read_source_file(PAGES / "tidewater-blog-seagrass.html", 1_000_000)
    prepared = prepare_import(article, corpus_dir, 2_000_000)
    prepared.path.write_text("someone else's file")
    with pytest.raises(IngestError, match="appeared meanwhile"):
        write_import(prepared)
    assert prepared.path.read_text() == "someone else's file"


def test_removed_documents_move_to_a_hidden_folder_the_loader_skips(corpus_dir: Path) -> None:
    before = load_corpus(corpus_dir)
    doc = before.documents[0]
    moved = remove_document(corpus_dir, doc)
    assert moved == corpus_dir.resolve() / REMOVED_FOLDER / doc.path.name
    assert moved.is_file() and not doc.path.exists()
    # A second article of the same file name removed later keeps the first one.
    doc.path.write_bytes(moved.read_bytes())
    again = remove_document(corpus_dir, load_corpus(corpus_dir).document(doc.id))  # type: ignore[arg-type]
    assert again != moved and again.is_file() and moved.is_file()
    extra = read_source_file(PAGES / "valley-courier-school.html", 1_000_000)
    write_import(prepare_import(extra, corpus_dir, 2_000_000))
    after = load_corpus(corpus_dir)
    assert doc.id not in {d.id for d in after.documents}
    assert doc.id not in {k.id for k in known_documents(corpus_dir, 2_000_000)}


def test_config_keys_are_validated() -> None:
    settings = parse_settings("corpus:\n  fetch_private_addresses: true\n  import_max_bytes: 20000\n")
    assert settings.corpus.fetch_private_addresses is True
    assert FetchPolicy.from_settings(settings.corpus).max_bytes == 20000
    assert parse_settings("").corpus.fetch_private_addresses is False
    with pytest.raises(ConfigError, match=r"'corpus\.fetch_private_addresses' must be true or false"):
        parse_settings("corpus:\n  fetch_private_addresses: 'yes'\n")
    with pytest.raises(ConfigError, match=r"corpus\.import_timeout_seconds"):
        parse_settings("corpus:\n  import_timeout_seconds: 0\n")


# -------------------------------------------------------------------------------------------- CLI


async def run_cli(*args: str, cwd: Path = REPO) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_cli_import_from_url_then_the_article_is_answerable(corpus_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"corpus:\n  path: {corpus_dir}\n  fetch_private_addresses: true\nanalytics:\n  enabled: false\n")
    question = "When will the overnight ferry to the northern isles run again?"
    code, out, _ = await run_cli("ask", "--config", str(config), question)
    assert "not in my sources" in out
    async with news_site() as site:
        code, out, err = await run_cli(
            "import", "--config", str(config), "--dry-run", site.url("/news/harbour-gazette-ferry")
        )
        assert code == 0, err
        assert out.startswith("---\ntitle: Night ferry to the islands returns after two-year pause\n")
        assert "published: 2026-11-28\n" in out
        assert not (corpus_dir / "night-ferry-to-the-islands-returns-after-two-year-pause.md").exists()
        code, out, err = await run_cli(
            "import", "--config", str(config), site.url("/news/harbour-gazette-ferry"), site.url("/missing")
        )
    assert code == 1
    assert "Added " in out and "7 paragraphs" in out
    assert err.strip().splitlines() == [f"summitbot: {site.url('/missing')}: the server answered HTTP 404 Not Found"]
    code, out, err = await run_cli("ask", "--config", str(config), question)
    assert code == 0, err
    assert "2 March" in out and "The Harbour Gazette" in out


async def test_cli_refuses_private_address_without_the_flag_and_bad_use(corpus_dir: Path) -> None:
    async with news_site() as site:
        code, out, err = await run_cli("import", "--corpus", str(corpus_dir), site.url("/news/harbour-gazette-ferry"))
    assert code == 1 and out == ""
    (line,) = err.strip().splitlines()
    assert "loopback address: refused" in line and "fetch_private_addresses" in line
    code, _, err = await run_cli("import", "--corpus", str(corpus_dir), "--id", "x", "a.html", "b.html")
    assert code == 1 and "--id names one article" in err
    code, _, err = await run_cli("import", "--corpus", str(corpus_dir / "nope"), "a.html")
    assert code == 1 and "does not exist" in err


async def test_cli_source_option_names_a_source_the_page_does_not(corpus_dir: Path, tmp_path: Path) -> None:
    page = tmp_path / "saved.html"
    html = (PAGES / "valley-courier-school.html").read_text(encoding="utf-8")
    page.write_text(html.replace('<link rel="canonical"', '<link rel="alternate"'), encoding="utf-8")
    code, out, err = await run_cli("import", "--corpus", str(corpus_dir), "--dry-run", str(page))
    assert code == 1 and "names no site and has no address" in err
    code, out, err = await run_cli("import", "--corpus", str(corpus_dir), "--dry-run", "--source", "Courier", str(page))
    assert code == 0, err
    assert "\nsource: Courier\n" in out and "\nurl:" not in out


async def test_cli_import_files_with_given_id(corpus_dir: Path) -> None:
    page = str(PAGES / "valley-courier-school.html")
    code, _, err = await run_cli("import", "--corpus", str(corpus_dir), "--id", "school-rebuild", page)
    assert code == 0, err
    assert (corpus_dir / "school-rebuild.md").read_text().startswith("---\ntitle: School rebuild")
    code, out, err = await run_cli("check", "--corpus", str(corpus_dir))
    assert code == 0, err
    assert "2 documents" in out
    code, _, err = await run_cli("import", "--corpus", str(corpus_dir), page)
    assert code == 1 and "already in the corpus as 'school-rebuild'" in err


def test_without_hard_links_files_are_still_placed_without_overwriting(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")  # e.g. a file system without hard links

    monkeypatch.setattr(os, "link", no_links)
    prepared = prepare_import(
        read_source_file(PAGES / "tidewater-blog-seagrass.html", 1_000_000), corpus_dir, 2_000_000
    )
    path = write_import(prepared)
    assert path.read_text(encoding="utf-8") == prepared.markdown
    with pytest.raises(IngestError, match="appeared meanwhile"):
        write_import(prepared)
    assert path.read_text(encoding="utf-8") == prepared.markdown
    doc = load_corpus(corpus_dir).document(prepared.doc_id)
    assert doc is not None
    moved = remove_document(corpus_dir, doc)
    assert moved.read_text(encoding="utf-8") == prepared.markdown and not path.exists()
    assert [p.name for p in corpus_dir.iterdir() if p.name.startswith(".import-")] == []
