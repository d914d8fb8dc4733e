"""Fetch one link a user gave (``/corpus add URL``) without letting it reach the bot's own network.

A link is a request the bot makes on a user's behalf, so it is held to what a public page needs:
http or https only, no credentials in the URL, a total and a read timeout, a size cap enforced
while the body streams, and an allow-list of content types the indexer reads. Above all no
request goes to a loopback, private, link-local, multicast, reserved or cloud-metadata address:
the host is resolved first, *every* address it resolves to is checked, and the connection is
then made to exactly those addresses (a pinned resolver handed to aiohttp), so a name that
answers differently a moment later (DNS rebinding) cannot slip through. Redirects are followed
by hand and each target is checked in full like the first link. The Host header and TLS SNI
stay the name, so virtual hosts and certificates work as usual.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from index.errors import InputError

__all__ = [
    "CONTENT_TYPES",
    "BlockedAddress",
    "FetchError",
    "FetchLimits",
    "FetchedPage",
    "Resolver",
    "check_address",
    "fetch_url",
    "system_resolver",
]

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Iterable[str]]]
"""``(host, port) -> addresses``: how a host name becomes the IP addresses to check."""

# The content types the indexer can read, and the suffix a fetched page is saved under.
CONTENT_TYPES: dict[str, str] = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "application/pdf": ".pdf",
    "application/json": ".json",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/x-jsonlines": ".jsonl",
    "application/jsonlines": ".jsonl",
}
_ACCEPT = ", ".join([*CONTENT_TYPES, "*/*;q=0.1"])
_USER_AGENT = "briefbot/0.1 (research briefing bot; fetches links users add to a corpus)"

# Cloud instance-metadata endpoints (AWS/GCP/Azure/OpenStack, AWS over IPv6, Alibaba): the
# ranges below refuse them already, but they are named so the refusal says what they are.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_MAX_URL_CHARS = 2048
# A host whose last label is a number ("2130706433", "127.1", "0x7f.1") is no DNS name but a
# legacy spelling of an IPv4 address that some resolvers accept.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+", re.IGNORECASE)
# Suffixes a page's URL may end in that say nothing once it is saved with its own type.
_WEB_SUFFIX = re.compile(
    r"\.(?:html?|xhtml|shtml|php|aspx?|jsp|cgi|txt|md|markdown|pdf|jsonl?)$", re.IGNORECASE
)


class FetchError(InputError):
    """A link cannot be fetched: bad or refused URL, unreachable, too slow, too big, wrong type."""


class BlockedAddress(FetchError):
    """A link (or a redirect) leads to an address that is not on the public internet."""


@dataclass(frozen=True)
class FetchLimits:
    """How long, how much and how far one fetch may go."""

    max_bytes: int = 20_000_000
    total_timeout: float = 15.0  # seconds for the whole fetch, redirects included
    read_timeout: float = 10.0  # seconds without a byte from the server
    connect_timeout: float = 5.0
    max_redirects: int = 3


@dataclass(frozen=True)
class FetchedPage:
    """What a link gave: where it ended up, what it is, its bytes and a name to save it under."""

    url: str  # after redirects
    content_type: str  # the MIME type without parameters, e.g. "text/html"
    charset: str | None  # as the server declared it, if it did
    body: bytes
    suffix: str  # ".html", ".txt", ".md", ".pdf", ".json" or ".jsonl"
    filename: str  # from the URL's last path segment (or host), ending in ``suffix``


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives ``host`` (both families, without blocking)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]


def check_address(address: IPAddress) -> str | None:
    """Why ``address`` must not be fetched from ("a loopback address", ...), or None if public."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        # The kernel connects an IPv4-mapped address to its IPv4 address, and a 6to4 or NAT64
        # address is routed on to the IPv4 address inside it: judge that one.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return check_address(embedded)
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return "a shared (carrier-grade NAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:  # documentation, benchmarking and other special-purpose ranges
        return "a reserved address"
    return None


async def fetch_url(
    url: str,
    *,
    limits: FetchLimits = FetchLimits(),
    resolver: Resolver | None = None,
    allow_private: bool = False,
    private_hosts: Collection[str] = (),
) -> FetchedPage:
    """Fetch a public http(s) page within ``limits``; raise ``FetchError`` saying why not.

    ``resolver`` replaces the system resolver (tests map made-up names to a local server).
    ``allow_private=True`` turns the address check off altogether: for an operator who means to
    fetch from their own network, never for links from users. ``private_hosts`` is narrower: the
    host names (as written in the URL) whose addresses are not checked; every other host,
    redirect targets included, still is. Raises ``BlockedAddress`` for a refused address.
    """
    target = _parse(url)
    exempt = {
        _host_key(URL.build(scheme="http", host=host).raw_host or "") for host in private_hosts
    }
    pins = _PinnedResolver()
    connector = aiohttp.TCPConnector(resolver=pins, use_dns_cache=False)
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=limits.connect_timeout, sock_read=limits.read_timeout
    )
    headers = {"User-Agent": _USER_AGENT, "Accept": _ACCEPT}
    try:
        async with (
            asyncio.timeout(limits.total_timeout),
            aiohttp.ClientSession(
                connector=connector, timeout=timeout, headers=headers, trust_env=False
            ) as session,
        ):
            current = target
            for _ in range(limits.max_redirects + 1):
                host = current.raw_host or ""
                trusted = allow_private or _host_key(host) in exempt
                addresses = await _addresses(current, resolver or system_resolver, trusted)
                pins.pin(host, addresses)
                page_or_next = await _get(session, current, limits)
                if isinstance(page_or_next, FetchedPage):
                    return page_or_next
                current = page_or_next
    except TimeoutError as exc:
        raise FetchError(
            f"{_shown(target)} took longer than {limits.total_timeout:g} s to fetch"
        ) from exc
    raise FetchError(f"too many redirects (more than {limits.max_redirects})")


def _parse(url: str) -> URL:
    """``url`` as a yarl URL, or ``FetchError`` when it is not a link briefbot may follow."""
    url = url.strip()
    if len(url) > _MAX_URL_CHARS:
        raise FetchError(f"the link is too long (over {_MAX_URL_CHARS} characters)")
    try:
        parsed = URL(url)  # IDNA host names are encoded here
    except (ValueError, UnicodeError) as exc:
        raise FetchError(f"not a valid link: {url[:100]}") from exc
    if parsed.scheme not in ("http", "https"):
        shown = f"{parsed.scheme}:" if parsed.scheme else "no scheme"
        raise FetchError(f"only http:// and https:// links can be fetched (got {shown})")
    if parsed.user is not None or parsed.password is not None:
        raise FetchError("links with a user name or password in them are not fetched")
    host = parsed.raw_host
    if not host:
        raise FetchError("the link has no host name")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
            raise FetchError(f"{host} is not a valid host name") from None
    return parsed.with_fragment(None)


def _host_key(host: str) -> str:
    return host.rstrip(".").lower()


def _shown(url: URL) -> str:
    """The host as a user would write it (unicode, not punycode)."""
    return url.host or url.raw_host or str(url)


async def _addresses(url: URL, resolve: Resolver, trusted: bool) -> list[IPAddress]:
    """The addresses to connect to for ``url``, each checked unless the host is ``trusted``."""
    host = url.raw_host or ""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        try:
            answers = await resolve(host, url.port or 0)
            found = list(dict.fromkeys(ipaddress.ip_address(a) for a in answers))
        except (OSError, ValueError) as exc:
            raise FetchError(f"could not find the host {_shown(url)}") from exc
        if not found:
            raise FetchError(f"could not find the host {_shown(url)}")
    if trusted:
        return found
    for address in found:
        reason = check_address(address)
        if reason is not None:
            log.debug("refused a fetch: %s resolves to %s", host, address)
            what = f"{_shown(url)} is" if literal is not None else f"{_shown(url)} resolves to"
            raise BlockedAddress(f"refused: {what} {reason}; only public addresses are fetched")
    return found


async def _get(session: aiohttp.ClientSession, url: URL, limits: FetchLimits) -> FetchedPage | URL:
    """One request: the page, or the URL a redirect points to (the caller checks its address)."""
    try:
        async with session.get(url, allow_redirects=False) as response:
            if response.status in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"{_shown(url)} redirected without saying where")
                try:
                    following = url.join(URL(location))
                except (ValueError, UnicodeError) as exc:
                    raise FetchError(f"{_shown(url)} redirected to an invalid link") from exc
                try:
                    return _parse(str(following))
                except FetchError as exc:
                    raise FetchError(f"{_shown(url)} redirected to a refused link: {exc}") from exc
            if not 200 <= response.status < 300:
                reason = f" {response.reason}" if response.reason else ""
                raise FetchError(f"{_shown(url)} answered {response.status}{reason}")
            content_type = response.content_type.lower()
            suffix = CONTENT_TYPES.get(content_type)
            if suffix is None:
                raise FetchError(
                    f"{_shown(url)} sent {content_type}, which cannot be indexed "
                    "(HTML, plain text, Markdown, PDF, JSON and JSONL can)"
                )
            declared = response.content_length
            if declared is not None and declared > limits.max_bytes:
                raise FetchError(
                    f"{_shown(url)} sent {_size(declared)}, "
                    f"over the {_size(limits.max_bytes)} limit"
                )
            body = await _read_capped(response, limits.max_bytes, url)
            return FetchedPage(
                url=str(response.url),
                content_type=content_type,
                charset=response.charset,
                body=body,
                suffix=suffix,
                filename=_filename(url, suffix),
            )
    except TimeoutError as exc:  # a read or connect timeout; the total one is the caller's
        raise FetchError(f"{_shown(url)} stopped answering") from exc
    except aiohttp.ClientConnectorCertificateError as exc:
        raise FetchError(f"{_shown(url)}: its TLS certificate could not be verified") from exc
    except aiohttp.ClientSSLError as exc:
        raise FetchError(f"{_shown(url)}: the secure connection failed") from exc
    except aiohttp.ClientConnectorError as exc:
        raise FetchError(f"could not connect to {_shown(url)}") from exc
    except aiohttp.ClientError as exc:
        raise FetchError(f"fetching {_shown(url)} failed ({type(exc).__name__})") from exc


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int, url: URL) -> bytes:
    """The (decompressed) body, refused as soon as it grows past ``max_bytes``."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"{_shown(url)} sent more than the {_size(max_bytes)} limit")
        parts.append(chunk)
    return b"".join(parts)


def _size(n: int) -> str:
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _filename(url: URL, suffix: str) -> str:
    """A safe file name for the page: its last path segment (or host), ending in ``suffix``."""
    segment = url.path.rstrip("/").rsplit("/", 1)[-1] or (url.host or "page")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", segment).strip(".-")[:80]
    stem = _WEB_SUFFIX.sub("", stem) or "page"
    return f"{stem}{suffix}"


class _PinnedResolver(AbstractResolver):
    """aiohttp's resolver for one fetch: answers only with the addresses already checked."""

    def __init__(self) -> None:
        self._pins: dict[str, list[IPAddress]] = {}

    def pin(self, host: str, addresses: list[IPAddress]) -> None:
        self._pins[host] = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._pins.get(host)
        if addresses is None:  # never expected: every host is pinned before its request
            raise OSError(f"{host} was not checked before connecting")
        wanted = {socket.AF_INET: 4, socket.AF_INET6: 6}.get(family)
        results: list[ResolveResult] = [
            _result(host, address, port)
            for address in addresses
            if wanted is None or address.version == wanted
        ]
        if not results:
            raise OSError(f"no checked address of {host} in the family asked for")
        return results

    async def close(self) -> None:
        return None


def _result(host: str, address: IPAddress, port: int) -> ResolveResult:
    return ResolveResult(
        hostname=host,
        host=str(address),
        port=port,
        family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
        proto=0,
        flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
    )
