"""Settings from the environment or `.env` (every one documented in `.env.example`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.limits import DEFAULT_LIMITS, Limits
from index.store import is_postgres_url


def masked_url(url: str) -> str:
    """``url`` fit for a log: its password (in the address or as ``?password=``) is ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}"
    query = urlencode(
        [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)], safe="/*"
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class Settings(BaseSettings):
    """briefbot's configuration; the token is a SecretStr so it never lands in a log."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    discord_token: SecretStr | None = None
    dev_guild_id: int | None = None
    discord_api_base: str | None = None  # e.g. http://127.0.0.1:PORT/api/v10 (a local Discord)
    discord_gateway_url: str | None = None
    briefbot_db: str = "briefbot.db"
    briefbot_corpus: str = "seeds"
    scheduler_db: str = "briefbot-scheduler.db"
    # One PostgreSQL for everything (index, subscriptions and ledger, job store) instead of the
    # two SQLite files above; a SecretStr: the URL may carry a password.
    briefbot_database_url: SecretStr | None = None
    # Discord sharding: how many shards the bot has, and which of them this process runs.
    shard_count: int | None = None
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    rescan_minutes: int = 60
    brief_cooldown_seconds: float = 5.0
    sources_cooldown_seconds: float = 3.0
    guild_ready_timeout: float = 2.0  # how long READY waits for more guilds (seconds)
    # Collections: each server's own readings (/corpus add) beside the operator's shared ones.
    shared_collection_in_servers: bool = True  # every server also sees the shared collection
    corpus_data_dir: str = "briefbot-data"  # a folder per server holds what it added
    corpus_upload_max_mb: float = 20.0  # the largest attachment or link /corpus add takes
    # What the indexer reads (index.ingest.Limits): a file over a limit is skipped, named.
    max_file_mb: float = DEFAULT_LIMITS.max_file_mb
    max_jsonl_mb: float = DEFAULT_LIMITS.max_jsonl_mb
    max_html_mb: float = DEFAULT_LIMITS.max_html_mb
    max_html_depth: int = DEFAULT_LIMITS.max_html_depth
    max_pdf_pages: int = DEFAULT_LIMITS.max_pdf_pages

    def ingest_limits(self) -> Limits:
        """The indexer's file limits as these settings give them."""
        return Limits(
            max_file_mb=self.max_file_mb,
            max_jsonl_mb=self.max_jsonl_mb,
            max_html_mb=self.max_html_mb,
            max_html_depth=self.max_html_depth,
            max_pdf_pages=self.max_pdf_pages,
        )

    @field_validator("discord_token", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "dev_guild_id",
        "discord_api_base",
        "discord_gateway_url",
        "briefbot_database_url",
        "shard_count",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.split(",") if part.strip()) or None
        return value

    @field_validator("briefbot_database_url")
    @classmethod
    def _a_postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_postgres_url(value.get_secret_value()):
            raise ValueError("BRIEFBOT_DATABASE_URL must be a postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _shards_in_range(self) -> Settings:
        if self.shard_ids is not None and self.shard_count is None:
            raise ValueError("SHARD_IDS needs SHARD_COUNT (the bot's shards in all)")
        count = self.shard_count
        if count is not None and count < 1:
            raise ValueError("SHARD_COUNT must be at least 1")
        if count is not None and any(not 0 <= i < count for i in self.shard_ids or ()):
            raise ValueError(f"SHARD_IDS must lie in 0..{count - 1}")
        return self

    # -- where things are ------------------------------------------------------------------

    def database_url(self) -> str | None:
        """The PostgreSQL URL, password and all (never log it: see :meth:`database_label`)."""
        url = self.briefbot_database_url
        return None if url is None else url.get_secret_value()

    def database_label(self) -> str:
        """Where the data is, for logs and messages: the URL with its password masked."""
        url = self.database_url()
        return self.briefbot_db if url is None else masked_url(url)

    def index_location(self) -> str:
        """The index: the PostgreSQL database when one is set, else the SQLite file."""
        return self.database_url() or self.briefbot_db

    def digest_location(self) -> str:
        """Subscriptions, ledger and job store: the PostgreSQL database, else the SQLite file."""
        return self.database_url() or self.scheduler_db

    @property
    def sharded(self) -> bool:
        return self.shard_count is not None


def load_settings() -> Settings:
    return Settings()
