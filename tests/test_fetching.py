"""Fetching a link: public pages come back, nothing reaches a loopback, private or metadata address.

A real aiohttp server runs on 127.0.0.1. Tests reach it as ``public.example`` through an injected
resolver, with only that name exempt from the address check (``private_hosts``): every other
host, every redirect target and every other name the resolver knows is checked for real.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from index.fetching import (
    BlockedAddress,
    FetchedPage,
    FetchError,
    FetchLimits,
    check_address,
    fetch_url,
)

PUBLIC = "public.example"
HTML = b"<html><head><title>Joint patrols</title></head><body><p>Text.</p></body></html>"
PDF = b"%PDF-1.4\n%fake but typed as a PDF\n"


@dataclass
class Site:
    """The local server, what it was asked for, and a resolver that knows ``names``."""

    port: int
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    names: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    endless_chunks_sent: int = 0

    def url(self, path: str, host: str = PUBLIC) -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    async def resolve(self, host: str, port: int) -> Iterable[str]:
        self.lookups.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.names[host]

    async def fetch(self, url: str, **options: Any) -> FetchedPage:
        options.setdefault("resolver", self.resolve)
        options.setdefault("private_hosts", {PUBLIC})
        return await fetch_url(url, **options)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site(port=0, names={PUBLIC: ["127.0.0.1"]})

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        state.requests.append((request.path_qs, request.host))
        return await handler(request)

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=HTML, content_type="text/html", charset="utf-8")

    async def download(request: web.Request) -> web.Response:
        return web.Response(body=PDF, content_type="application/pdf")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def chain(request: web.Request) -> web.Response:
        hop, end = int(request.match_info["hop"]), int(request.query["end"])
        if hop < end:
            raise web.HTTPFound(f"/chain/{hop + 1}?end={end}")
        return await page(request)

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5_000, content_type="text/plain")

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(400):  # 25 MB at most, so a missing cap fails the test instead of hanging
            await response.write(b"y" * 65_536)
            state.endless_chunks_sent += 1
        await response.write_eof()
        return response

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n", content_type="image/png")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.wait_for(state.release.wait(), timeout=10)
        return await page(request)

    async def stalls(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        await response.write(b"<html>")
        await asyncio.wait_for(state.release.wait(), timeout=10)
        return response

    app = web.Application(middlewares=[record])
    app.router.add_get("/page", page)
    app.router.add_get("/secret", page)
    app.router.add_get("/download", download)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/chain/{hop}", chain)
    app.router.add_get("/big", big)
    app.router.add_get("/endless", endless)
    app.router.add_get("/image", image)
    app.router.add_get("/slow", slow)
    app.router.add_get("/stalls", stalls)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server(shutdown_timeout=1.0)
    assert server.port is not None
    state.port = server.port
    yield state
    state.release.set()
    await server.close()


async def test_a_public_html_page_comes_back_with_its_type_final_url_and_a_file_name(site):
    page = await site.fetch(site.url("/page"))

    assert page.body == HTML
    assert page.content_type == "text/html"
    assert page.charset == "utf-8"
    assert page.suffix == ".html"
    assert page.filename == "page.html"
    assert page.url == site.url("/page")


async def test_the_host_header_names_the_host_while_the_connection_goes_to_its_checked_address(
    site,
):
    await site.fetch(site.url("/page"))

    assert site.requests == [("/page", f"{PUBLIC}:{site.port}")]


async def test_the_host_is_resolved_once_and_connected_to_at_that_address(site):
    # A rebinding name: the first answer is the one checked, any later one would point elsewhere.
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])

    async def rebinding(host: str, port: int) -> list[str]:
        site.lookups.append(host)
        return next(answers)

    page = await site.fetch(site.url("/page"), resolver=rebinding)

    assert page.body == HTML
    assert site.lookups == [PUBLIC]


async def test_a_pdf_is_known_by_its_content_type_whatever_its_url_says(site):
    page = await site.fetch(site.url("/download?id=7"))

    assert page.content_type == "application/pdf"
    assert page.suffix == ".pdf"
    assert page.filename == "download.pdf"
    assert page.body == PDF


async def test_a_relative_redirect_is_followed_to_the_final_page(site):
    page = await site.fetch(site.url("/redirect?to=/page"))

    assert page.body == HTML
    assert page.url == site.url("/page")
    assert site.paths == ["/redirect?to=/page", "/page"]


async def test_a_redirect_to_loopback_is_refused_before_any_request_reaches_it(site):
    target = site.url("/secret", host="127.0.0.1")

    with pytest.raises(BlockedAddress, match="loopback"):
        await site.fetch(site.url(f"/redirect?to={target}"))

    assert "/secret" not in site.paths


async def test_a_redirect_to_a_name_that_resolves_to_loopback_is_refused(site):
    site.names["rebound.example"] = ["127.0.0.1"]  # known, but not exempt from the check
    target = site.url("/secret", host="rebound.example")

    with pytest.raises(BlockedAddress, match=r"rebound\.example resolves to a loopback"):
        await site.fetch(site.url(f"/redirect?to={target}"))

    assert "/secret" not in site.paths


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("http://100.100.100.200/latest/meta-data/", "metadata"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", "metadata"),
        ("http://10.0.0.5/admin", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fe80::1]/", "link-local"),
    ],
)
async def test_a_redirect_to_a_metadata_or_private_address_is_refused(site, target, reason):
    with pytest.raises(BlockedAddress, match=reason):
        await site.fetch(site.url(f"/redirect?to={target}"))


async def test_a_redirect_to_a_file_url_is_refused(site):
    with pytest.raises(FetchError, match=r"redirected to a refused link.*http://"):
        await site.fetch(site.url("/redirect?to=file:///etc/passwd"))


async def test_three_redirects_are_followed_and_a_fourth_is_refused(site):
    page = await site.fetch(site.url("/chain/0?end=3"))
    assert page.url == site.url("/chain/3?end=3")

    site.requests.clear()
    with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
        await site.fetch(site.url("/chain/0?end=4"))
    assert site.paths == [f"/chain/{hop}?end=4" for hop in range(4)]


async def test_max_redirects_is_a_limit_the_caller_sets(site):
    with pytest.raises(FetchError, match="too many redirects"):
        await site.fetch(site.url("/chain/0?end=1"), limits=FetchLimits(max_redirects=0))


async def test_a_name_is_judged_by_the_address_it_resolves_to(site):
    site.names["looks-public.example"] = ["127.0.0.1"]

    with pytest.raises(BlockedAddress, match=r"looks-public\.example resolves to a loopback"):
        await site.fetch(site.url("/secret", host="looks-public.example"))

    assert site.requests == []


async def test_one_private_address_among_public_ones_refuses_the_host(site):
    site.names["mixed.example"] = ["93.184.215.14", "10.0.0.7"]

    with pytest.raises(BlockedAddress, match="private"):
        await site.fetch("http://mixed.example/", limits=FetchLimits(connect_timeout=0.5))


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.1.2.3", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "shared"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
    ],
)
async def test_a_name_resolving_to_ipv6_loopback_mapped_or_reserved_forms_is_refused(
    site, answer, reason
):
    site.names["sneaky.example"] = [answer]

    with pytest.raises(BlockedAddress, match=reason):
        await site.fetch(site.url("/secret", host="sneaky.example"))

    assert site.requests == []


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:0:0:1]"]
)
async def test_loopback_written_as_an_address_is_refused_even_where_the_server_listens(site, host):
    with pytest.raises(BlockedAddress, match="loopback"):
        await site.fetch(site.url("/secret", host=host))

    assert site.requests == []


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f.0.0.1", "017700000001"])
async def test_legacy_numeric_spellings_of_an_address_are_refused(site, host):
    with pytest.raises(FetchError, match="not a valid host name"):
        await site.fetch(f"http://{host}:{site.port}/secret")

    assert site.requests == []


async def test_public_addresses_pass_the_check():
    for address in ("8.8.8.8", "93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8"):
        assert check_address(ipaddress.ip_address(address)) is None, address


async def test_an_unknown_host_gives_a_clear_error(site):
    with pytest.raises(FetchError, match=r"could not find the host nowhere\.example"):
        await site.fetch("http://nowhere.example/page")


async def test_an_internationalised_host_name_is_sent_in_its_idna_form(site):
    site.names["xn--bcher-kva.example"] = ["127.0.0.1"]

    page = await site.fetch(
        site.url("/page", host="bücher.example"), private_hosts={"bücher.example"}
    )

    assert page.body == HTML
    assert site.lookups == ["xn--bcher-kva.example"]
    assert site.requests == [("/page", f"xn--bcher-kva.example:{site.port}")]


async def test_allow_private_lets_an_operator_fetch_from_their_own_network(site):
    page = await fetch_url(site.url("/page", host="127.0.0.1"), allow_private=True)

    assert page.body == HTML


async def test_a_declared_length_over_the_cap_is_refused_up_front(site):
    with pytest.raises(FetchError, match=r"sent 5 kB, over the 1 kB limit"):
        await site.fetch(site.url("/big"), limits=FetchLimits(max_bytes=1_000))


async def test_an_endless_body_is_cut_off_at_the_cap(site):
    with pytest.raises(FetchError, match=r"more than the 200 kB limit"):
        await site.fetch(site.url("/endless"), limits=FetchLimits(max_bytes=200_000))

    assert site.endless_chunks_sent < 400


async def test_a_body_within_the_cap_is_read_whole(site):
    page = await site.fetch(site.url("/big"), limits=FetchLimits(max_bytes=5_000))

    assert page.body == b"x" * 5_000
    assert page.suffix == ".txt"


async def test_a_content_type_briefbot_cannot_index_is_refused_by_name(site):
    with pytest.raises(FetchError, match=r"sent image/png, which cannot be indexed"):
        await site.fetch(site.url("/image"))


async def test_a_server_that_never_answers_is_timed_out(site):
    limits = FetchLimits(total_timeout=0.5, read_timeout=5)

    with pytest.raises(FetchError, match=r"took longer than 0.5 s"):
        await site.fetch(site.url("/slow"), limits=limits)


async def test_a_server_that_stalls_mid_body_is_timed_out(site):
    limits = FetchLimits(total_timeout=5, read_timeout=0.3)

    with pytest.raises(FetchError, match="stopped answering"):
        await site.fetch(site.url("/stalls"), limits=limits)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("file:///etc/passwd", "file:"),
        ("ftp://ftp.example.com/pub/paper.pdf", "ftp:"),
        ("javascript:alert(1)", "javascript:"),
        ("data:text/html,<p>hi</p>", "data:"),
        ("public.example/page", "no scheme"),
    ],
)
async def test_only_http_and_https_links_are_fetched(site, url, shown):
    with pytest.raises(FetchError, match=rf"only http:// and https://.*\(got {shown}\)"):
        await site.fetch(url)

    assert site.lookups == []


async def test_a_link_with_a_user_name_and_password_is_refused(site):
    with pytest.raises(FetchError, match="user name or password"):
        await site.fetch(f"http://user:secret@{PUBLIC}:{site.port}/page")

    assert site.requests == []


async def test_a_missing_page_says_404(site):
    with pytest.raises(FetchError, match=r"public\.example answered 404 Not Found"):
        await site.fetch(site.url("/missing"))
