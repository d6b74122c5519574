"""The bot's configuration, read once from the environment or `.env` by the composition root."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

from cryptography.fernet import Fernet
from pydantic import (
    AnyHttpUrl,
    AnyUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.token_cipher import default_key_file

DEFAULT_TRACKER_API_URL = "https://www.chastitytracker.org"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]


class Settings(BaseSettings):
    """Every knob the bot has; each one is documented in `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    discord_token: SecretStr
    tracker_api_url: AnyHttpUrl = AnyHttpUrl(DEFAULT_TRACKER_API_URL)
    database_path: Path = Path("data/bot.sqlite3")
    database_url: SecretStr | None = None
    token_key: SecretStr | None = None
    token_key_file: Path | None = None
    dev_guild_id: int | None = Field(default=None, gt=0)
    tracker_connect_timeout: float = Field(default=5.0, gt=0, le=60)
    tracker_read_timeout: float = Field(default=10.0, gt=0, le=120)
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "text"
    card_refresh_seconds: float = Field(default=2.0, gt=0, le=300)
    reminder_check_seconds: float = Field(default=60.0, gt=0, le=3600)
    proposal_check_seconds: float = Field(default=300.0, gt=0, le=3600)
    call_slot_wait_seconds: float = Field(default=10.0, gt=0, le=600)
    chart_deadline_seconds: float = Field(default=10.0, gt=0, le=120)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=600)
    database_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=0, le=65535)
    shard_count: int | None = Field(default=None, gt=0)
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = None
    discord_api_url: AnyHttpUrl | None = None
    discord_gateway_url: AnyUrl | None = None
    discord_identify_window_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("token_key")
    @classmethod
    def _token_key_is_a_fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        """Reject a malformed key at start rather than at the first stored token.

        Several keys, newest first and separated by commas, allow a key rotation.
        """
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            for key in value.get_secret_value().split(","):
                Fernet(key.strip().encode())
        except ValueError:
            raise ValueError(
                "must be Fernet keys (32 url-safe base64-encoded bytes each, newest first, "
                "separated by commas); "
                "generate one with: python -c "
                '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgresql(cls, value: SecretStr | None) -> SecretStr | None:
        """Only PostgreSQL is reached by URL; SQLite is DATABASE_PATH."""
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (leave it empty to use DATABASE_PATH)")
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip()) or None
        return value

    @field_validator("shard_ids")
    @classmethod
    def _shards_of_the_count(
        cls, value: tuple[int, ...] | None, info: ValidationInfo
    ) -> tuple[int, ...] | None:
        """Shard ids name shards of SHARD_COUNT; ids without a count cannot be routed."""
        if value is None:
            return None
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("needs SHARD_COUNT")
        if len(set(value)) != len(value) or not all(0 <= shard < count for shard in value):
            raise ValueError(f"must be distinct shard numbers from 0 to {count - 1}")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def key_file(self) -> Path:
        """Where the generated token key lives when TOKEN_KEY is not set: never the data folder."""
        return self.token_key_file or default_key_file()

    @property
    def tracker_base_url(self) -> str:
        return str(self.tracker_api_url).rstrip("/")

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]


class SettingsError(Exception):
    """A configuration problem, worded for the person starting the bot."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_settings_error(error)) from None


def describe_settings_error(error: ValidationError) -> str:
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        variable = "_".join(str(part) for part in problem["loc"][:1]).upper()
        if not variable:  # a rule about several variables names them itself
            lines.append(f"{problem['msg'].removeprefix('Value error, ')}.")
        elif problem["type"] == "missing":
            lines.append(
                f"{variable} is not set: set it in the environment or in .env (see .env.example)."
            )
        else:
            lines.append(f"{variable} is invalid: {problem['msg']}.")
    return "\n".join(lines)
