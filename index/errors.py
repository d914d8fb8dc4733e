"""The error hierarchy: raised in the core, rendered once at the edge (CLI, console, bot)."""

from __future__ import annotations


class BriefbotError(Exception):
    """Base class of every error briefbot reports to a user."""


class InputError(BriefbotError):
    """The user's input cannot be used as given (empty topic, too long, bad date, ...)."""


class NotFound(BriefbotError):
    """A thing the user named does not exist (passage id, document, source)."""


class IndexMissing(BriefbotError):
    """There is no index yet, or it holds no passages."""


class IncompatibleIndex(BriefbotError):
    """The index was built with another model or dimension, or a newer schema."""


class NothingRelevant(BriefbotError):
    """No passage in the corpus clears the relevance floor for the query."""


class IngestError(InputError):
    """A file cannot be turned into documents: unreadable, binary, empty or malformed."""
