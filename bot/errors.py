"""The one place app-command errors become short ephemeral messages (and log entries)."""

from __future__ import annotations

import logging
import math
from typing import Any

import discord
from discord import app_commands

from bot.embeds import CONTENT_LIMIT, clip, echo
from index.errors import (
    BriefbotError,
    IncompatibleIndex,
    IndexMissing,
    InputError,
    NotFound,
    NothingRelevant,
)

log = logging.getLogger(__name__)

GENERIC = "Something went wrong on my side; it has been logged. Please try again later."
INDEX_MISSING = "The corpus index is not ready yet: an admin needs to run `briefbot index`."
INDEX_INCOMPATIBLE = "The corpus index needs rebuilding (`briefbot index --rebuild`): ask an admin."
MISSING_PERMISSIONS = "You need the {} permission to do that here."
BOT_MISSING_PERMISSIONS = "I can't do that in this channel: I need the {} permission."
NOT_YOURS = "These buttons belong to whoever asked; run the command yourself to page through."
PAGES_EXPIRED = "These pages have expired; run the command again to page through it."


class Refused(app_commands.CheckFailure):
    """A check that says why, in words for the user (e.g. who may edit a server's corpus)."""


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def permission_names(perms: list[str]) -> str:
    """``["embed_links", "attach_files"]`` → ``**Embed Links** and **Attach Files**``."""
    names = [f"**{name.replace('_', ' ').replace('guild', 'server').title()}**" for name in perms]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def user_message(error: BaseException) -> str | None:
    """What the user is told about ``error``; None when it is unexpected (a bug)."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, IndexMissing):
        return INDEX_MISSING
    if isinstance(error, IncompatibleIndex):
        return INDEX_INCOMPATIBLE
    if isinstance(error, InputError | NotFound | NothingRelevant):
        return _sentence(echo(str(error)))  # the message may quote what the user typed
    if isinstance(error, BriefbotError):
        return _sentence(echo(str(error))) or GENERIC
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {math.ceil(error.retry_after)} s."
    if isinstance(error, app_commands.TransformerError):
        return "That value is not valid for that option."
    if isinstance(error, app_commands.MissingPermissions):
        return MISSING_PERMISSIONS.format(permission_names(error.missing_permissions))
    if isinstance(error, app_commands.BotMissingPermissions):
        return BOT_MISSING_PERMISSIONS.format(permission_names(error.missing_permissions))
    if isinstance(error, Refused):
        return str(error)
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command works only in a server."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that command here."
    return None


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Tell only the user, whatever state the interaction is in; never pings anyone."""
    message = clip(message, CONTENT_LIMIT)
    none = discord.AllowedMentions.none()
    if not interaction.response.is_done():
        await interaction.response.send_message(message, ephemeral=True, allowed_mentions=none)
        return
    if (
        interaction.response.type is discord.InteractionResponseType.deferred_channel_message
        and not interaction.extras.get("ephemeral_defer")
    ):
        # The first followup would replace the public "thinking…" message and stay public:
        # remove the placeholder so the error goes to the user alone.
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.debug("no deferred placeholder to delete for interaction %s", interaction.id)
    await interaction.followup.send(message, ephemeral=True, allowed_mentions=none)


def _where(interaction: discord.Interaction) -> str:
    command = interaction.command.qualified_name if interaction.command else "component"
    return f"{command} (interaction {interaction.id}, user {interaction.user.id})"


# Discord's answer when an interaction's token is dead: not acknowledged within 3 s (10062),
# or a followup after the token's 15 minutes (10015, an unknown webhook).
EXPIRED_INTERACTION_CODES = frozenset({10062, 10015})


def expired(error: BaseException) -> bool:
    """Whether ``error`` says the interaction can no longer be answered at all."""
    original = getattr(error, "original", error)
    return isinstance(original, discord.NotFound) and original.code in EXPIRED_INTERACTION_CODES


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer the user briefly and ephemerally; the log gets the detail."""
    if expired(error):
        # Nothing can reach the user through this interaction any more (Discord has shown
        # "This interaction failed"); a bug only if it keeps happening, so a warning.
        log.warning(
            "%s expired before it was answered (Discord: %s)",
            _where(interaction),
            getattr(error, "original", error),
        )
        return
    message = user_message(error)
    if message is None:
        original = getattr(error, "original", error)
        log.error(
            "unexpected error in %s", _where(interaction), exc_info=(type(original), original,
                                                                     original.__traceback__)
        )  # fmt: skip
        message = GENERIC
    else:
        log.info("%s: %s", _where(interaction), type(getattr(error, "original", error)).__name__)
    if interaction.type is discord.InteractionType.autocomplete:
        return  # nothing can be shown for an autocomplete; no choices is the answer
    try:
        await send_ephemeral(interaction, message)
    except discord.HTTPException:
        log.exception("could not report an error to the user in %s", _where(interaction))


def install(tree: app_commands.CommandTree[Any]) -> None:
    """Make `report_error` the tree's one error handler."""

    @tree.error
    async def on_app_command_error(
        interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)
