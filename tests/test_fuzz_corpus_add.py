"""Fuzzed ``/corpus add`` input (issue 16, item 4): links and file names.

A link is fetched only if it is a public http(s) address: anything else (other schemes, no
host, credentials, numeric tricks for loopback, names that resolve inside the network) is a
clear error whose echo can neither ping nor link, and nothing is ever requested. A file name
becomes a plain name inside the server's folder, or a clear error. ``BRIEFBOT_FUZZ_EXAMPLES``
sets the cases per input (the benchmark runs 1,000).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.errors import user_message
from index.collections import ADD_SUFFIXES, check_reading_name
from index.errors import InputError
from index.fetching import BlockedAddress, FetchError, _parse, fetch_url
from tests.test_fuzz import FRAGMENTS, FUZZ, HIDDEN, assert_safe_to_echo, hostile_text

SCHEMES = [
    "http://", "https://", "HTTP://", "javascript:", "file://", "ftp://", "//", "data:", "gopher://",
    "http:/", "https:\\\\", "",
]  # fmt: skip
HOSTS = [
    "127.0.0.1", "localhost", "localhost.", "[::1]", "0x7f.1", "2130706433", "0177.0.0.1", "0",
    "169.254.169.254", "metadata.google.internal", "10.0.0.1", "[::ffff:127.0.0.1]",
    "user:pw@example.com", "example.com", "xn--80ak6aa92e.com", "exa mple.com", "例え.jp", "",
]  # fmt: skip
links = st.one_of(
    st.tuples(
        st.sampled_from(SCHEMES),
        st.sampled_from(HOSTS),
        st.sampled_from(["", ":80", ":0", ":99999", ":-1"]),
        st.one_of(st.sampled_from(["", "/", "/a.pdf", "/../etc/passwd", "/%00"]), hostile_text),
    ).map("".join),
    hostile_text,
)


async def inside_the_network(host: str, port: int) -> list[str]:
    """Every name resolves to a loopback or private address, as a hostile DNS would answer."""
    return ["127.0.0.1", "10.1.2.3", "::1"]


@FUZZ
@given(url=links)
def test_a_fuzzed_link_is_refused_clearly_and_never_fetched_inside_the_network(url: str) -> None:
    try:
        asyncio.run(fetch_url(url, resolver=inside_the_network))
    except FetchError as exc:
        message = user_message(exc)
        assert message
        assert_safe_to_echo(message, discord_text=True)
        if not isinstance(exc, BlockedAddress):  # then the link itself was refused, unread
            assert not _followable(url), (url, message)
    else:
        raise AssertionError(f"{url!r} was fetched from inside the network")


def _followable(url: str) -> bool:
    """Whether briefbot would follow ``url`` at all (then only its address can stop it)."""
    try:
        _parse(url)
    except FetchError:
        return False
    return True


names = st.one_of(
    st.tuples(
        st.lists(
            st.one_of(
                st.sampled_from([*FRAGMENTS, "..", "/", "\\", "~", "C:"]), st.text(max_size=6)
            ),
            max_size=6,
        ).map("".join),
        st.sampled_from([*sorted(ADD_SUFFIXES), ".exe", ".PDF", "", ".pdf.exe", ".txt "]),
    ).map("".join),
    hostile_text,
)


@FUZZ
@given(name=names)
def test_a_fuzzed_file_name_becomes_a_plain_name_in_the_servers_folder_or_a_clear_error(
    name: str, tmp_path_factory
) -> None:
    try:
        kept = check_reading_name(name)
    except InputError as exc:
        assert_safe_to_echo(user_message(exc) or "", discord_text=True)
        return
    assert kept == Path(kept).name and "/" not in kept and "\\" not in kept
    assert not kept.startswith(".") and kept not in ("", ".", "..")
    assert Path(kept).suffix in ADD_SUFFIXES
    assert not HIDDEN.search(kept), ascii(kept)
    assert len(kept) <= 100
    folder = tmp_path_factory.mktemp("guild")
    assert (folder / kept).resolve().parent == folder.resolve()  # never outside its folder
