"""/corpus (what the bot knows, paged) and /help."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import corpus_pages, help_embed
from bot.views import NO_MENTIONS, send_pages
from briefings.corpus import corpus_overview

if TYPE_CHECKING:
    from bot.client import BriefBot


class Corpus(commands.Cog):
    """What the corpus holds, and how to use the bot."""

    def __init__(self, bot: BriefBot) -> None:
        self.bot = bot

    @app_commands.command(name="corpus", description="The documents the bot quotes from")
    async def corpus(self, interaction: discord.Interaction[BriefBot]) -> None:
        await interaction.response.defer(thinking=True)
        overview = await asyncio.to_thread(corpus_overview, self.bot.library)
        await send_pages(interaction, corpus_pages(overview))

    @app_commands.command(name="help", description="What briefbot can do")
    async def help(self, interaction: discord.Interaction[BriefBot]) -> None:
        await interaction.response.send_message(
            embed=help_embed(), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


async def setup(bot: BriefBot) -> None:
    await bot.add_cog(Corpus(bot))
