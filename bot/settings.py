"""Settings from the environment or `.env` (every one documented in `.env.example`)."""

from __future__ import annotations

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.limits import DEFAULT_LIMITS, Limits


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

    @field_validator("dev_guild_id", "discord_api_base", "discord_gateway_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def load_settings() -> Settings:
    return Settings()
