"""Buttons: Previous/Next owned by the asker, and a Sources button per brief result.

All are dynamic items (their state is in the custom id), registered with the bot in
``setup_hook``: Sources keeps working on old briefs; a page button whose pages are gone says so.
"""

from __future__ import annotations

import logging
import re
import secrets
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.embeds import Page, sources_embeds
from bot.errors import NOT_YOURS, PAGES_EXPIRED, report_error
from bot.work import in_background
from briefings.sources import passage_sources

if TYPE_CHECKING:
    from bot.client import BriefBot

log = logging.getLogger(__name__)

# Interaction tokens live 15 minutes; after that the message can no longer be edited by us.
VIEW_TIMEOUT = 14 * 60
NO_MENTIONS = discord.AllowedMentions.none()


async def send_sources(interaction: discord.Interaction[BriefBot], passage_id: int | str) -> None:
    """Answer with a passage's provenance, only to the user (the Sources button)."""
    interaction.extras["ephemeral_defer"] = True
    await interaction.response.defer(ephemeral=True, thinking=True)
    library = interaction.client.library_for(interaction.guild_id)
    view = await in_background(passage_sources, library, passage_id)
    await interaction.followup.send(
        embeds=sources_embeds(view), ephemeral=True, allowed_mentions=NO_MENTIONS
    )


class SourcesButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"briefbot:sources:(?P<passage_id>[0-9]+)",
):
    """Shows a quote's sources to whoever presses it, on any brief however old.

    A dynamic item (registered in ``setup_hook``): the passage id is in the custom id, so the
    button works after the view timed out and after a restart.
    """

    def __init__(self, passage_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Sources P{passage_id}",
                style=discord.ButtonStyle.secondary,
                custom_id=f"briefbot:sources:{passage_id}",
            ),
            row=0,
        )
        self.passage_id = passage_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SourcesButton:
        return cls(int(match["passage_id"]))

    # Interaction[Any]: discord.py types an item's callback for any client; these items are
    # registered on BriefBot alone, and the helpers they call take Interaction[BriefBot].
    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await send_sources(interaction, self.passage_id)
        except Exception as exc:  # every failure gets an answer
            await report_error(interaction, exc)


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"briefbot:page:(?P<pages>[0-9a-f]+):(?P<step>next|previous)",
):
    def __init__(self, pages_id: str, step: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label="Next ▶" if step > 0 else "◀ Previous",
                style=discord.ButtonStyle.primary,
                custom_id=f"briefbot:page:{pages_id}:{'next' if step > 0 else 'previous'}",
                disabled=disabled,
            ),
            row=1,
        )
        self.pages_id = pages_id
        self.step = step

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PageButton:
        return cls(match["pages"], +1 if match["step"] == "next" else -1)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # see SourcesButton
        try:
            await turn_page(interaction, self.pages_id, self.step)
        except Exception as exc:  # every failure gets an answer
            await report_error(interaction, exc)


async def turn_page(interaction: discord.Interaction[BriefBot], pages_id: str, step: int) -> None:
    """Turn a live paginator's page; say so when its pages have expired."""
    paginator = interaction.client.paginators.get(pages_id)
    if paginator is None or paginator.is_finished():
        await interaction.response.send_message(
            PAGES_EXPIRED, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return
    await paginator.turn(interaction, step)


class Paginator(discord.ui.View):
    """Pages of embeds; only ``owner_id`` may turn them, anyone may open a quote's sources."""

    def __init__(
        self,
        pages: Sequence[Page],
        owner_id: int,
        *,
        registry: weakref.WeakValueDictionary[str, Paginator] | None = None,
        timeout: float | None = VIEW_TIMEOUT,
    ) -> None:
        super().__init__(timeout=timeout)
        if not pages:
            raise ValueError("a Paginator needs at least one page")
        self.pages = list(pages)
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.Message | None = None
        self.id = secrets.token_hex(6)
        self._registry = registry
        if registry is not None:
            registry[self.id] = self
        self._build()

    @property
    def page(self) -> Page:
        return self.pages[self.index]

    @property
    def has_items(self) -> bool:
        return bool(self.children)

    def _build(self) -> None:
        self.clear_items()
        for passage_id in self.page.passage_ids:
            self.add_item(SourcesButton(passage_id))
        if len(self.pages) > 1:
            self.add_item(PageButton(self.id, -1, disabled=self.index == 0))
            self.add_item(
                discord.ui.Button(
                    label=f"{self.index + 1}/{len(self.pages)}",
                    custom_id=f"briefbot:page:{self.id}:counter",
                    disabled=True,
                    row=1,
                )
            )
            self.add_item(PageButton(self.id, +1, disabled=self.index == len(self.pages) - 1))

    def message_kwargs(self) -> dict[str, Any]:
        """What to send or edit for the current page."""
        kwargs: dict[str, Any] = {
            "embeds": list(self.page.embeds),
            "allowed_mentions": NO_MENTIONS,
        }
        if self.page.content:
            kwargs["content"] = self.page.content
        if self.has_items:
            kwargs["view"] = self
        return kwargs

    async def turn(self, interaction: discord.Interaction, step: int) -> None:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                NOT_YOURS, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        self.index = max(0, min(len(self.pages) - 1, self.index + step))
        self._build()
        await interaction.response.edit_message(
            content=self.page.content or None,
            embeds=list(self.page.embeds),
            view=self,
            allowed_mentions=NO_MENTIONS,
        )

    async def on_timeout(self) -> None:
        # Page buttons stop working when the view expires: say so by disabling them.
        if self._registry is not None:
            self._registry.pop(self.id, None)
        if self.message is None:
            return
        for item in self.children:
            if isinstance(item, PageButton):
                item.item.disabled = True
        try:
            await self.message.edit(view=self)
        except discord.HTTPException:
            log.debug("could not disable the buttons of message %s", self.message.id)


async def send_pages(
    interaction: discord.Interaction[BriefBot], pages: Sequence[Page], *, ephemeral: bool = False
) -> discord.Message:
    """Send paged embeds as the answer to a deferred interaction; the asker owns the buttons."""
    paginator = Paginator(pages, interaction.user.id, registry=interaction.client.paginators)
    kwargs = paginator.message_kwargs()
    message = await interaction.followup.send(wait=True, ephemeral=ephemeral, **kwargs)
    if paginator.has_items:
        paginator.message = message
    else:
        paginator.stop()
    return message


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (SourcesButton, PageButton)
