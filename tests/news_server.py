"""A loopback news site for import tests: real aiohttp on 127.0.0.1, port 0, serving the pages in
``tests/news_pages/`` and the awkward cases a fetcher must survive (loops, huge, slow, wrong type)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

PAGES = Path(__file__).resolve().parent / "news_pages"


@dataclass
class NewsSite:
    """The running site: its base address and how many bytes the endless page has sent."""

    base: str
    streamed: list[int]

    def url(self, path: str) -> str:
        """The full address of ``path`` on this site."""
        return self.base + path


def _page(name: str) -> web.Response:
    return web.Response(body=(PAGES / name).read_bytes(), content_type="text/html", charset="utf-8")


def build_app(streamed: list[int]) -> web.Application:
    """The routes of the test site."""
    routes = web.RouteTableDef()

    @routes.get("/news/{name}")
    async def news(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not (PAGES / f"{name}.html").is_file():
            raise web.HTTPNotFound()
        return _page(f"{name}.html")

    @routes.get("/moved")
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("/news/harbour-gazette-ferry")

    @routes.get("/loop/a")
    async def loop_a(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop/b")

    @routes.get("/loop/b")
    async def loop_b(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop/a")

    @routes.get("/chain/{n}")
    async def chain(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/chain/{int(request.match_info['n']) + 1}")

    @routes.get("/to-file")
    async def to_file(request: web.Request) -> web.Response:
        raise web.HTTPFound("file:///etc/passwd")

    @routes.get("/huge-declared")
    async def huge_declared(request: web.Request) -> web.Response:
        para = "<p>" + "Ferry timetables were discussed at length again. " * 40 + "</p>\n"
        body = (
            "<html><head><title>Huge</title></head><body><article>" + para * 4000 + "</article></body></html>"
        ).encode()
        return web.Response(body=body, content_type="text/html")

    @routes.get("/huge-endless")
    async def huge_endless(request: web.Request) -> web.StreamResponse:
        # No Content-Length: chunked and endless, so only a cap on bytes read can stop it.
        response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        await response.prepare(request)
        await response.write(b"<html><head><title>Endless</title></head><body><article>")
        chunk = b"<p>" + b"The council met again to discuss the harbour. " * 200 + b"</p>\n"
        try:
            while True:
                await response.write(chunk)
                streamed[0] += len(chunk)
        except ConnectionError:
            pass  # the client stopped reading at its cap
        return response

    @routes.get("/report.pdf")
    async def pdf(request: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", content_type="application/pdf")

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return _page("harbour-gazette-ferry.html")

    @routes.get("/plain")
    async def plain(request: web.Request) -> web.Response:
        text = (
            "Library extends opening hours over winter\n\n"
            "The central library will open until 9pm on weekdays from December, the council said, after a "
            "consultation in which two thirds of respondents asked for evening access.\n\n"
            "Extra staff will be paid from the arts budget, and the reading room will stay heated until closing "
            "time so that people can use it as a warm space during the coldest months.\n\n"
            "Source: Borough Bulletin\n"
        )
        return web.Response(text=text, content_type="text/plain")

    @routes.get("/variant/{kind}")
    async def variant(request: web.Request) -> web.Response:
        html = (PAGES / "harbour-gazette-ferry.html").read_text(encoding="utf-8")
        kind = request.match_info["kind"]
        if kind == "jsonld-date-only":  # the <time> element gone: the date only in JSON-LD
            html = html.replace('<time datetime="2026-11-28T09:30:00+00:00" class="published">', "<span>")
            html = html.replace("28 November 2026, 9:30am</time>", "28 November 2026, 9:30am</span>")
        elif kind == "hostile":  # markdown, mentions and a masked link in the title and the text
            hostile = "@everyone **Night** [ferry](https://evil.example) <@123> ||returns||"
            html = html.replace("<title>Night ferry", f"<title>{hostile} Night ferry")
            html = html.replace('content="Night ferry', f'content="{hostile} Night ferry')
            html = html.replace('"headline": "Night ferry', f'"headline": "{hostile} Night ferry')
            html = html.replace('<h1 class="headline">Night ferry', f'<h1 class="headline">{hostile} Night ferry')
            html = html.replace("<p>The overnight ferry", f"<p>{hostile} The overnight ferry")
        elif kind == "control-characters":
            html = html.replace("<title>Night ferry", "<title>\x1b[31mNight\u202e ferry")
            html = html.replace('content="Night ferry', 'content="\x1b[31mNight\u202e ferry')
            html = html.replace('"headline": "Night ferry', '"headline": "\\u001b[31mNight ferry')
            html = html.replace('<h1 class="headline">Night ferry', '<h1 class="headline">\x1b[31mNight\u202e ferry')
        return web.Response(text=html, content_type="text/html")

    @routes.get("/missing")
    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    app = web.Application()
    app.add_routes(routes)
    return app


@asynccontextmanager
async def news_site() -> AsyncIterator[NewsSite]:
    """Run the site on 127.0.0.1 (a free port) for the duration of the block."""
    streamed = [0]
    runner = web.AppRunner(build_app(streamed), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield NewsSite(f"http://127.0.0.1:{port}", streamed)
    finally:
        await runner.cleanup()
