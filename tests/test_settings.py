"""Settings from the environment and `.env`: defaults, a line per bad variable, no secrets."""

from __future__ import annotations

import logging
import os
import shutil
import traceback
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from settings import DEFAULT_TRACKER_API_URL, Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
DISCORD_SECRET = "MTIzNDU2Nzg5.discord-SECRET.token-value-xyz"
FERNET_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty working directory (no .env) and no settings variables in any letter case."""
    monkeypatch.chdir(tmp_path)
    names = {name.upper() for name in Settings.model_fields}
    for variable in list(os.environ):
        if variable.upper() in names:
            monkeypatch.delenv(variable)
    return tmp_path


def write_env(directory: Path, text: str) -> None:
    (directory / ".env").write_text(text, encoding="utf-8")


def problem(**env: str) -> str:
    """The SettingsError text for these environment variables (all other settings unset)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(SettingsError) as caught:
            load_settings()
    shown = "".join(traceback.format_exception(caught.value))
    assert str(caught.value) in shown
    return str(caught.value) + "\n" + shown


# -- missing and bad values ------------------------------------------------------------------


def test_missing_discord_token_names_it_and_the_example_file() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == (
        "DISCORD_TOKEN is not set: set it in the environment or in .env (see .env.example)."
    )


BAD_VALUES = [
    ("TRACKER_READ_TIMEOUT", "-1"),
    ("TRACKER_READ_TIMEOUT", "0"),
    ("TRACKER_READ_TIMEOUT", "121"),
    ("TRACKER_READ_TIMEOUT", "ten"),
    ("TRACKER_CONNECT_TIMEOUT", "-0.5"),
    ("TRACKER_API_URL", "not-a-url"),
    ("TRACKER_API_URL", "ftp://127.0.0.1/"),
    ("DISCORD_API_URL", "discord"),
    ("DEV_GUILD_ID", "abc"),
    ("DEV_GUILD_ID", "-5"),
    ("DEV_GUILD_ID", "0"),
    ("LOG_LEVEL", "LOUD"),
    ("LOG_LEVEL", "5"),
]


@pytest.mark.parametrize(("variable", "value"), BAD_VALUES)
def test_a_bad_value_names_its_variable_and_no_secret(variable: str, value: str) -> None:
    text = problem(DISCORD_TOKEN=DISCORD_SECRET, TOKEN_KEY=FERNET_KEY, **{variable: value})
    first_line = text.splitlines()[0]
    assert first_line.startswith(f"{variable} is invalid: ")
    assert DISCORD_SECRET not in text
    assert FERNET_KEY not in text


@pytest.mark.parametrize(
    "bad_key",
    [
        "not-a-key",
        Fernet.generate_key().decode()[:-4],  # a real key, cut short
        "c2VjcmV0LWtleS0xNi1ieXQ=",  # valid base64 of 16 bytes, not 32
        f"{FERNET_KEY},not-a-key",  # a rotation list with one bad key
    ],
)
def test_a_bad_token_key_is_refused_without_echoing_it(bad_key: str) -> None:
    text = problem(DISCORD_TOKEN=DISCORD_SECRET, TOKEN_KEY=bad_key)
    assert text.splitlines()[0].startswith("TOKEN_KEY is invalid: ")
    assert "Fernet key" in text
    assert bad_key not in text
    assert FERNET_KEY not in text
    assert DISCORD_SECRET not in text


def test_several_token_keys_newest_first_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    older = Fernet.generate_key().decode()
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_SECRET)
    monkeypatch.setenv("TOKEN_KEY", f"{FERNET_KEY}, {older}")
    settings = load_settings()
    assert settings.token_key is not None
    assert settings.token_key.get_secret_value() == f"{FERNET_KEY}, {older}"


def test_every_bad_variable_gets_its_own_line() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(tracker_read_timeout=-1, dev_guild_id="abc", log_level="LOUD")
    lines = str(caught.value).splitlines()
    assert sorted(line.split(" ", 1)[0] for line in lines) == [
        "DEV_GUILD_ID",
        "DISCORD_TOKEN",
        "LOG_LEVEL",
        "TRACKER_READ_TIMEOUT",
    ]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TRACKER_READ_TIMEOUT", "-1"), ("TRACKER_API_URL", "not-a-url"), ("DEV_GUILD_ID", "abc")],
)
def test_a_bad_value_in_dotenv_is_reported_the_same_way(
    clean_environment: Path, variable: str, value: str
) -> None:
    write_env(clean_environment, f"DISCORD_TOKEN={DISCORD_SECRET}\n{variable}={value}\n")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{variable} is invalid: ")
    assert len(str(caught.value).splitlines()) == 1
    assert DISCORD_SECRET not in str(caught.value)


# -- defaults and sources --------------------------------------------------------------------


def test_defaults() -> None:
    settings = Settings(discord_token=DISCORD_SECRET)
    assert DEFAULT_TRACKER_API_URL == "https://www.chastitytracker.org"
    assert settings.tracker_base_url == "https://www.chastitytracker.org"
    assert settings.database_path == Path("data/bot.sqlite3")
    assert settings.token_key is None
    assert settings.dev_guild_id is None
    assert settings.discord_api_url is None
    assert (settings.tracker_connect_timeout, settings.tracker_read_timeout) == (5.0, 10.0)
    assert (settings.log_level, settings.log_level_number) == ("INFO", logging.INFO)


def test_values_from_dotenv_in_the_working_directory(clean_environment: Path) -> None:
    write_env(
        clean_environment,
        "\n".join(
            [
                "# comment",
                f"DISCORD_TOKEN={DISCORD_SECRET}",
                "TRACKER_API_URL=http://127.0.0.1:8787/",
                "DATABASE_PATH=state/ctvote.db",
                f"TOKEN_KEY={FERNET_KEY}",
                "DEV_GUILD_ID=123456789012345678",
                "TRACKER_CONNECT_TIMEOUT=1.5",
                "TRACKER_READ_TIMEOUT=2.5",
                "LOG_LEVEL=debug",
                "DISCORD_API_URL=http://127.0.0.1:9999/api/v10",
                "",
            ]
        ),
    )
    settings = load_settings()
    assert settings.discord_token.get_secret_value() == DISCORD_SECRET
    assert settings.tracker_base_url == "http://127.0.0.1:8787"
    assert settings.database_path == Path("state/ctvote.db")
    assert settings.token_key is not None
    assert settings.token_key.get_secret_value() == FERNET_KEY
    assert settings.dev_guild_id == 123456789012345678
    assert (settings.tracker_connect_timeout, settings.tracker_read_timeout) == (1.5, 2.5)
    assert (settings.log_level, settings.log_level_number) == ("DEBUG", logging.DEBUG)
    assert str(settings.discord_api_url) == "http://127.0.0.1:9999/api/v10"


def test_environment_wins_over_dotenv(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(clean_environment, "DISCORD_TOKEN=from-file\nTRACKER_READ_TIMEOUT=2\n")
    monkeypatch.setenv("TRACKER_READ_TIMEOUT", "3")
    settings = load_settings()
    assert settings.discord_token.get_secret_value() == "from-file"
    assert settings.tracker_read_timeout == 3.0


def test_dotenv_outside_the_working_directory_is_not_read(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(clean_environment, "DISCORD_TOKEN=from-file\n")
    elsewhere = clean_environment / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(SettingsError, match=r"^DISCORD_TOKEN is not set"):
        load_settings()


def test_empty_token_key_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", DISCORD_SECRET)
    monkeypatch.setenv("TOKEN_KEY", "")
    assert load_settings().token_key is None


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://www.chastitytracker.org", "https://www.chastitytracker.org"),
        ("https://www.chastitytracker.org/", "https://www.chastitytracker.org"),
        ("http://127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("http://127.0.0.1:8787/", "http://127.0.0.1:8787"),
        ("http://127.0.0.1:8787/tracker/", "http://127.0.0.1:8787/tracker"),
        ("http://127.0.0.1:8787/tracker//", "http://127.0.0.1:8787/tracker"),
    ],
)
def test_tracker_base_url_has_no_trailing_slash(url: str, base: str) -> None:
    settings = Settings(discord_token=DISCORD_SECRET, tracker_api_url=url)
    assert settings.tracker_base_url == base
    assert not settings.tracker_base_url.endswith("/")


def test_secrets_are_hidden_in_repr() -> None:
    settings = Settings(discord_token=DISCORD_SECRET, token_key=FERNET_KEY)
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert DISCORD_SECRET not in text
        assert FERNET_KEY not in text


# -- the shipped example file ----------------------------------------------------------------


def test_the_example_file_copied_with_a_token_loads(clean_environment: Path) -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "\nDISCORD_TOKEN=\n" in text
    write_env(clean_environment, text.replace("\nDISCORD_TOKEN=\n", "\nDISCORD_TOKEN=abc\n"))
    settings = load_settings()
    assert settings.discord_token.get_secret_value() == "abc"
    assert settings.dev_guild_id is None
    assert settings.token_key is None
    assert settings.tracker_base_url == "https://www.chastitytracker.org"


def test_the_example_file_copied_unchanged_asks_for_the_token(clean_environment: Path) -> None:
    shutil.copy(ROOT / ".env.example", clean_environment / ".env")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == (
        "DISCORD_TOKEN is not set: set it in the environment or in .env (see .env.example)."
    )


def test_an_empty_discord_token_counts_as_not_set(clean_environment: Path) -> None:
    write_env(clean_environment, "DISCORD_TOKEN=\n")
    with pytest.raises(SettingsError, match=r"^DISCORD_TOKEN is not set"):
        load_settings()
