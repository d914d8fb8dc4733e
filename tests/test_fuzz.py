"""Fuzzed user input (issue 16, item 4): topics, passage ids and subscription options get an
answer or a clear error, never a crash, and what is echoed back can neither ping, link nor hide
characters. ``BRIEFBOT_FUZZ_EXAMPLES`` sets the cases per input (the benchmark runs 1,000)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cogs.digests import check_time_zone, describe
from bot.digest_store import Subscription
from bot.embeds import brief_header, brief_pages, echo, sources_embeds
from bot.errors import user_message
from bot.scheduling import parse_time
from briefings.brief import check_topic, make_brief
from briefings.render import brief_text, sources_text, visible
from briefings.sources import passage_sources
from index.embedding import FakeEmbedder
from index.errors import BriefbotError, InputError
from index.library import Library, parse_passage_id
from index.store import Store
from tests.conftest import SEEDS, build_index, run_cli

EXAMPLES = int(os.environ.get("BRIEFBOT_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FRAGMENTS = [
    "", " ", "\n", "gas pipeline", "Arctic", "@everyone", "@here", "<@&123456789012345678>",
    "<@123>", "<@!123>", "<#42>", "[x](javascript:alert(1))", "[P1](https://evil.example)",
    "[a\\\\](javascript:x)",
    '"', "*", "NEAR(", "NEAR(a b, 2)", "AND", "OR", "NOT", "-", ":", "title:", "^", "(", ")",
    "{", "}", "'", "`", "**", "||", "~~", "> ", "# ", "\\", "%", "_",
    "\x00", "\x01\x02", "\x1b[31m", "\x7f", "\x85", "\u200b", "\u200d", "\u200e", "\u202e",
    "\u2066", "\u2069", "\ufeff", "\u2028", "\u00ad", "\udcff", "\U000e0041", "é", "中文", "٣",
    "²", "🏳️‍🌈",
]  # fmt: skip
hostile_text = st.one_of(
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=10).map("".join),
    st.text(max_size=60),
    st.integers(9_000, 11_000).map(lambda n: ("gas " * n)[:n]),  # 10k characters
)
# Characters the echo must never carry raw: controls, format characters (zero-width, bidi),
# separators, surrogates (newlines and tabs are layout, kept).
HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ud800-\udfff\U000e0000-\U000e007f]"
)


def assert_safe_to_echo(text: str, *, discord_text: bool) -> None:
    """No hidden character of the user's; in Discord text, no mention and no masked link."""
    if discord_text:
        assert "@everyone" not in text and "@here" not in text, text[:200]
        assert not re.search(r"<[@#]", text), text[:200]
        assert "](" not in text, text[:200]  # a masked link needs a whole "]("
        # The zero-width space that breaks a mention is the bot's own, not the user's.
        text = text.replace("@\u200b", "@").replace("<\u200b", "<")
    assert not HIDDEN.search(text), ascii(text[:200])


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Library:
    db = tmp_path_factory.mktemp("fuzz") / "seeds.db"
    build_index(db, [SEEDS], FakeEmbedder())
    return Library(Store(db), FakeEmbedder())


def _answer_or_error(call, *args, **kwargs):
    """The call's result, or the BriefbotError it raised (anything else fails the test)."""
    try:
        return call(*args, **kwargs)
    except BriefbotError as exc:
        return exc


@FUZZ
@given(topic=hostile_text)
def test_a_fuzzed_topic_gets_a_brief_or_a_clear_error_and_is_echoed_safely(
    library: Library, topic: str
) -> None:
    answer = _answer_or_error(lambda: make_brief(library, check_topic(topic), k=3))
    if isinstance(answer, BriefbotError):
        message = user_message(answer)
        assert message, "a domain error always has words for the user"
        assert_safe_to_echo(message, discord_text=True)
        assert_safe_to_echo(visible(str(answer)), discord_text=False)
        return
    assert answer.quotes
    assert_safe_to_echo(brief_text(answer).split("\n", 1)[0], discord_text=False)
    header = brief_header(answer, 1, 1)
    assert_safe_to_echo(header, discord_text=True)
    for page in brief_pages(answer):
        assert_safe_to_echo(page.content, discord_text=True)


@FUZZ
@given(
    value=st.one_of(
        hostile_text,
        st.integers(-(2**70), 2**70),
        st.from_regex(r"\A[Pp]?[0-9٣²]{0,30}\Z"),
        st.integers(1, 12_000).map(lambda n: "P" + "9" * n),
    )
)
def test_a_fuzzed_passage_id_gets_its_sources_or_a_clear_error(
    library: Library, value: str | int
) -> None:
    parsed = _answer_or_error(parse_passage_id, value)
    if isinstance(parsed, BriefbotError):
        assert isinstance(parsed, InputError)
        assert "is not a passage id" in str(parsed)
    else:
        assert isinstance(parsed, int) and parsed >= 0
    view = _answer_or_error(passage_sources, library, value)
    if isinstance(view, BriefbotError):
        message = user_message(view)
        assert message
        assert_safe_to_echo(message, discord_text=True)
    else:
        assert view.quote.text and sources_text(view)
        assert sources_embeds(view)


@FUZZ
@given(time=hostile_text | st.from_regex(r"\A[0-9²٣]{1,3}(:[0-9²٣]{0,3})?\Z"),
       zone=hostile_text | st.sampled_from(["utc", " Europe/Berlin ", "America/New_York\u200b"]),
       topic=hostile_text)  # fmt: skip
def test_fuzzed_subscription_options_are_accepted_or_refused_and_echoed_safely(
    time: str, zone: str, topic: str
) -> None:
    try:
        clock = parse_time(time)
    except ValueError as exc:
        message = user_message(InputError(str(exc)))
        assert message
        assert_safe_to_echo(message, discord_text=True)
        clock = "09:00"
    else:
        assert re.fullmatch(r"[0-2][0-9]:[0-5][0-9]", clock)
    zone_or_error = _answer_or_error(check_time_zone, zone)
    if isinstance(zone_or_error, BriefbotError):
        assert_safe_to_echo(user_message(zone_or_error) or "", discord_text=True)
        zone_or_error = "UTC"
    checked = _answer_or_error(check_topic, topic) if topic.strip() else None
    if isinstance(checked, BriefbotError):
        assert_safe_to_echo(user_message(checked) or "", discord_text=True)
        checked = None
    subscription = Subscription(
        id=1, guild_id=1, channel_id=2, cadence="weekly", day="mon", time=clock,
        timezone=zone_or_error, topic=checked, mention_role_id=None, paused_reason=None,
        created_at="2026-01-01T00:00:00+00:00", updated_at="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    # The confirmation names the channel as a mention on purpose (<#2>): the rest is the user's.
    assert_safe_to_echo(describe(subscription, None).replace("<#2>", "the channel", 1),
                        discord_text=True)  # fmt: skip


@pytest.mark.parametrize("text", [topic for topic in FRAGMENTS if topic.strip()])
def test_echo_escapes_each_hostile_fragment(text: str) -> None:
    assert_safe_to_echo(echo(text), discord_text=True)
    assert_safe_to_echo(echo(text, markdown=True), discord_text=True)
    assert_safe_to_echo(visible(text), discord_text=False)


def test_the_command_line_never_prints_control_characters_back(tmp_path: Path) -> None:
    db = tmp_path / "i.db"
    assert run_cli("index", "--db", str(db), str(SEEDS / next(iter(sorted(p.name for p in
                   SEEDS.iterdir()))))).returncode == 0  # fmt: skip
    result = run_cli("brief", "--db", str(db), "\x01\x02\x1b[2J\u202e")
    assert result.returncode != 0
    assert "\\x01\\x02\\x1b[2J\\u202e" in result.stderr
    assert not HIDDEN.search(result.stderr + result.stdout)
