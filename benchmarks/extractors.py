"""Compare article extractors on the news pages written for the import tests.

Usage (from the repo root)::

    python -m benchmarks.extractors [--repeat 20]

For each page of ``tests/news_pages/`` (facts in ``expected.yaml``) and each extractor, side by side
in one run:

* paragraphs lost: article paragraphs and list items (picked by the page's own markup) not found
  whole in the output;
* boilerplate kept: known non-article strings (navigation, share buttons, comments, "Read more",
  ads, headings) found in the output;
* extra blocks: output blocks that neither hold nor are part of an article paragraph;
* invented dates: a published date returned for a page that states none;
* metadata found: title, source (site name or domain), canonical url and published date that match
  what the page states; an extractor that does not look for a field scores 0 for it;
* time per page (median of ``--repeat`` runs).

Extractors: ``bot.ingest.extract_html`` (trafilatura 2.x plus the project's paragraph rules, what
ships), raw trafilatura text (its own output, no project rules) and readability-lxml (its
``summary()`` blocks and ``short_title()``; it has no date, site name or canonical address).

readability-lxml is not in the ``bench`` extra (with it, pip 23's resolver fails on the two
spellings of ``lxml[html_clean]``); install it by hand to include it: ``pip install readability-lxml``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import yaml

PAGES = Path(__file__).resolve().parent.parent / "tests" / "news_pages"
FIELDS = ("title", "source", "url", "published")


@dataclass
class Extraction:
    """Blocks of text and whatever metadata an extractor returned (None when it has none)."""

    blocks: list[str]
    metadata: dict[str, str | None]


def norm(text: str) -> str:
    return " ".join(text.split())


def shipped(html: bytes) -> Extraction:
    from bot.ingest import IngestError, extract_html

    try:
        article = extract_html(html, None, "page")
    except IngestError:
        return Extraction([], {})
    return Extraction(
        list(article.paragraphs),
        {"title": article.title, "source": article.source, "url": article.url, "published": article.published},
    )


def trafilatura_raw(html: bytes) -> Extraction:
    import trafilatura

    found = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    if found is None:
        return Extraction([], {})
    blocks = [norm(line) for line in (found.text or "").splitlines() if line.strip()]
    source = found.sitename or found.hostname
    return Extraction(blocks, {"title": found.title, "source": source, "url": found.url, "published": found.date})


def readability(html: bytes) -> Extraction:
    from readability import Document

    doc = Document(html)
    tree = lxml.html.fromstring(doc.summary(html_partial=True))
    blocks = [norm(el.text_content()) for el in tree.iter("p", "li", "h1", "h2", "h3", "h4", "blockquote")]
    return Extraction([b for b in blocks if b], {"title": doc.short_title()})


EXTRACTORS: dict[str, Callable[[bytes], Extraction]] = {
    "summitbot (trafilatura + rules)": shipped,
    "trafilatura raw": trafilatura_raw,
}
try:
    import readability as _readability  # noqa: F401

    EXTRACTORS["readability-lxml"] = readability
except ImportError:
    print("readability-lxml is not installed (pip install readability-lxml): left out")


def score(facts: dict, html: bytes, result: Extraction) -> dict[str, int]:
    tree = lxml.html.fromstring(html)
    expected = [norm(p.text_content()) for p in tree.xpath(facts["article_xpath"])] if facts["article_xpath"] else []
    output = "\n".join(result.blocks)
    lost = sum(1 for p in expected if p not in output)
    kept = sum(1 for b in facts["boilerplate"] if b.lower() in output.lower())
    extra = sum(1 for b in result.blocks if not any(b in p or p in b for p in expected))
    meta = facts["metadata"] or {}
    found = sum(1 for f in FIELDS if f in meta and result.metadata.get(f) == meta[f])
    return {
        "paragraphs": len(expected),
        "lost": lost,
        "boilerplate": len(facts["boilerplate"]),
        "kept": kept,
        "extra": extra,
        "meta_total": len(meta),
        "meta_found": found,
        "words_out": len(output.split()),
        "invented": int(bool(result.metadata.get("published")) and not meta.get("published")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    facts_by_page = yaml.safe_load((PAGES / "expected.yaml").read_text(encoding="utf-8"))
    totals: dict[tuple[str, str], dict[str, float]] = {}
    print(f"{'page':28} {'extractor':32} {'lost':>8} {'boiler':>8} {'extra':>6} {'meta':>6} {'date?':>5} {'ms':>7}")
    for page, facts in facts_by_page.items():
        group = "held-out pages" if facts.get("held_out") else "development pages"
        html = (PAGES / f"{page}.html").read_bytes()
        for name, extractor in EXTRACTORS.items():
            result = extractor(html)
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                extractor(html)
                times.append(time.perf_counter() - started)
            s = score(facts, html, result)
            ms = statistics.median(times) * 1000
            total = totals.setdefault((group, name), {k: 0.0 for k in (*s, "ms")})
            for k, v in s.items():
                total[k] += v
            total["ms"] += ms
            no_article = "" if facts["article_xpath"] else f"  (no article: {s['words_out']} words out)"
            print(
                f"{page:28} {name:32} {s['lost']:>3}/{s['paragraphs']:<4} {s['kept']:>3}/{s['boilerplate']:<4} "
                f"{s['extra']:>6} {s['meta_found']:>2}/{s['meta_total']:<3} {s['invented']:>5} {ms:>7.1f}{no_article}"
            )
    for group in ("development pages", "held-out pages"):
        print()
        print(f"Totals, {group}")
        for (g, name), t in totals.items():
            if g != group:
                continue
            print(
                f"  {name:32} paragraphs lost {t['lost']:.0f}/{t['paragraphs']:.0f}, boilerplate kept "
                f"{t['kept']:.0f}/{t['boilerplate']:.0f}, extra blocks {t['extra']:.0f}, metadata "
                f"{t['meta_found']:.0f}/{t['meta_total']:.0f}, invented dates {t['invented']:.0f}, "
                f"{t['ms']:.1f} ms"
            )


if __name__ == "__main__":
    main()
