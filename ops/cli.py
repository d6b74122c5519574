"""`ctvote run|sandbox|backup|rotate-keys|check-config`: the one command an operator learns."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import bot
from settings import Settings, SettingsError, load_settings
from storage.backends import token_key
from storage.errors import StorageError
from storage.models import DatabaseReport
from storage.postgres.database import PostgresDatabase
from storage.postgres.maintenance import inspect_postgres
from storage.private_files import refuse_if_open_to_others
from storage.sqlite.database import database_files
from storage.sqlite.maintenance import backup_database, inspect_database, rotate_token_key
from storage.token_cipher import WRONG_KEY_MESSAGE, TokenCipher, legacy_key_file, load_token_key

# The maintenance commands never talk to Discord, so they need no DISCORD_TOKEN.
_NO_DISCORD = {"discord_token": "-"}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.command == "run":
        return bot.main(rest)
    if args.command == "sandbox":
        from tracker.sandbox import main as sandbox_main

        sandbox_main(rest)
        return 0
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if args.command == "check-config":
            return check_config()
        settings = _settings(**_NO_DISCORD)
        if args.command == "backup":
            return backup(settings, args.path)
        return rotate_keys(settings)
    except (SettingsError, StorageError) as error:
        _say_problem(str(error))
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ctvote", description="Run and look after the ctvote Discord bot."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (options: --sandbox)", add_help=False)
    commands.add_parser(
        "sandbox", help="run a local tracker sandbox (options: --port, --seed)", add_help=False
    )
    backup_command = commands.add_parser(
        "backup", help="write a consistent copy of the SQLite database, also while the bot runs"
    )
    backup_command.add_argument("path", type=Path, help="the new file; never overwritten")
    commands.add_parser(
        "rotate-keys",
        help="re-encrypt every stored token with the newest key in TOKEN_KEY",
    )
    commands.add_parser(
        "check-config",
        help="check the settings, the key and the database without connecting to Discord",
    )
    return parser


def _settings(**overrides: object) -> Settings:
    refuse_if_open_to_others(bot.ENV_FILE)
    return load_settings(**overrides)


def _cipher(settings: Settings) -> TokenCipher:
    key = load_token_key(
        settings.token_key,
        settings.key_file,
        legacy_path=legacy_key_file(settings.database_path),
        create=False,
    )
    return TokenCipher(key)


def _say_problem(text: str) -> None:
    for line in text.splitlines():
        sys.stderr.write(f"ctvote: {line}\n")


def check_config() -> int:
    """Every problem a start would meet, one line each; nothing is created or changed."""
    problems: list[str] = []
    notes: list[str] = []
    try:
        settings = _settings()
    except (SettingsError, StorageError) as error:
        _say_problem(str(error))
        return 1
    if settings.database_url is not None:
        return _check_postgres(settings, settings.database_url.get_secret_value())
    for file in database_files(settings.database_path):
        try:
            refuse_if_open_to_others(file)
        except StorageError as error:
            problems.append(str(error))
    database = settings.database_path
    cipher: TokenCipher | None = None
    try:
        cipher = _cipher(settings)
    except StorageError as error:
        if database.exists() or legacy_key_file(database).exists() or settings.key_file.exists():
            problems.append(str(error))
        else:
            notes.append(f"no token key yet: the first start creates {settings.key_file}")
    if not database.exists():
        notes.append(f"no database yet: the first start creates {database}")
    elif cipher is not None and not problems:
        try:
            report = inspect_database(database, cipher)
            problems += _database_problems(report, f"database {database}", notes)
        except StorageError as error:
            problems.append(str(error))
    return _conclude(settings, problems, notes)


def _check_postgres(settings: Settings, url: str) -> int:
    """The PostgreSQL database, read without writing; every process needs the same TOKEN_KEY."""
    problems: list[str] = []
    notes: list[str] = []
    try:
        key = token_key(
            settings.token_key, settings.database_url, settings.key_file, settings.database_path
        )
        report = asyncio.run(inspect_postgres(url, TokenCipher(key)))
        if not report.exists:
            notes.append("no tables yet in the PostgreSQL database: the first start creates them")
        else:
            problems += _database_problems(report, "the PostgreSQL database", notes)
    except StorageError as error:
        problems.append(str(error))
    return _conclude(settings, problems, notes)


def _conclude(settings: Settings, problems: list[str], notes: list[str]) -> int:
    if problems:
        _say_problem("\n".join(problems))
        return 1
    http = (
        f"health and metrics on {settings.http_host}:{settings.http_port}"
        if settings.http_port is not None
        else "health and metrics off (HTTP_PORT is not set)"
    )
    lines = ["configuration ok", *notes, f"tracker {settings.tracker_base_url}", http]
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


def _database_problems(report: DatabaseReport, where: str, notes: list[str]) -> list[str]:
    if report.schema_version > report.known_version:
        return [
            f"the database has schema version {report.schema_version}, newer than this "
            f"bot knows ({report.known_version}); run a newer version of the bot"
        ]
    if report.integrity != "ok":
        return [f"the database failed SQLite's quick_check: {report.integrity}"]
    if not report.key_fits:
        return [WRONG_KEY_MESSAGE]
    notes.append(
        f"{where}: schema version {report.schema_version} of {report.known_version}, the key fits"
    )
    return []


def backup(settings: Settings, target: Path) -> int:
    if settings.database_url is not None:
        raise StorageError(
            "backup copies the SQLite database; with DATABASE_URL, back up PostgreSQL with "
            "pg_dump (the tokens in it stay encrypted: keep TOKEN_KEY apart from the dump)"
        )
    backup_database(settings.database_path, target)
    sys.stdout.write(
        f"backup written to {target} (integrity_check ok). It holds no token key: keep "
        "TOKEN_KEY (or the key file) apart from your backups, and both safe.\n"
    )
    return 0


def rotate_keys(settings: Settings) -> int:
    if settings.database_url is None:
        count = rotate_token_key(settings.database_path, _cipher(settings))
    else:
        count = asyncio.run(_rotate_postgres(settings, settings.database_url.get_secret_value()))
    sys.stdout.write(
        f"re-encrypted {count} stored tokens with the newest key; the older keys can now be "
        "removed from TOKEN_KEY (restart the bot after changing it).\n"
    )
    return 0


async def _rotate_postgres(settings: Settings, url: str) -> int:
    """Running bots keep working: every key in TOKEN_KEY still opens what they read meanwhile."""
    key = token_key(
        settings.token_key, settings.database_url, settings.key_file, settings.database_path
    )
    async with PostgresDatabase.connect(url, key) as db:
        return await db.rotate_token_key()


if __name__ == "__main__":
    sys.exit(main())
