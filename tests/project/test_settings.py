"""The settings module: production values pass Django's deployment checks; defaults run embedded."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from courses.markdown import code_style_css

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items()
             if key not in ("DEBUG", "SECRET_KEY", "SECRET_KEY_FILE", "HTTPS", "ALLOWED_HOSTS", "DATABASE_URL",
                            "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false", SECRET_KEY="k" * 20 + "-production-secret-with-enough-entropy-9f3a7c",
        ALLOWED_HOSTS="attentive.example.org", ATTENTIVE_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = manage("check", DEBUG="false", ATTENTIVE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is false" in result.stderr


def test_a_malformed_boolean_is_named(tmp_path):
    result = manage("check", DEBUG="maybe", ATTENTIVE_VAR_DIR=str(tmp_path))
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_how_long_a_grading_task_takes_the_next_submissions_is_bounded_by_its_time_limit(tmp_path):
    for wrong in ("-1", "61", "600"):
        result = manage("check", GRADING_TAKE_NEXT_SECONDS=wrong, ATTENTIVE_VAR_DIR=str(tmp_path))
        assert result.returncode != 0
        assert f"GRADING_TAKE_NEXT_SECONDS={wrong} is out of range: from 0 (off) to 60" in result.stderr
    for right in ("0", "60"):
        result = manage("check", GRADING_TAKE_NEXT_SECONDS=right, ATTENTIVE_VAR_DIR=str(tmp_path))
        assert result.returncode == 0, result.stderr


def test_the_code_stylesheet_is_in_sync_with_pygments():
    committed = (ROOT / "static" / "css" / "code.css").read_text()
    assert code_style_css() in committed


def test_production_reads_its_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("f" * 20 + "-a-production-secret-kept-in-a-file-7c1e\n")
    result = manage("shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)", DEBUG="false",
                    SECRET_KEY_FILE=str(key_file), ATTENTIVE_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "f" * 20 + "-a-production-secret-kept-in-a-file-7c1e"


def test_plain_http_turns_off_the_https_only_settings(tmp_path):
    result = manage("shell", "-c", "from django.conf import settings as s; "
                    "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)",
                    DEBUG="false", HTTPS="false", SECRET_KEY="k" * 50, ATTENTIVE_VAR_DIR=str(tmp_path))
    assert result.stdout.strip().splitlines()[-1] == "False False 0"


def test_the_secret_key_file_is_never_readable_by_others(tmp_path, monkeypatch):
    """Made with mode 0600 from the start, not fixed afterwards: a chmod after writing leaves a
    moment in which anyone on the machine can read the key."""
    from attentive.settings import secret_key_from_file

    modes = []
    real_link = os.link
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)  # a fix after the fact does not count

    def link(source, target):
        modes.append(stat.S_IMODE(os.stat(source).st_mode))
        real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    previous = os.umask(0)
    try:
        key = secret_key_from_file(tmp_path / "secret-key")
    finally:
        os.umask(previous)
    assert modes == [0o600]
    assert stat.S_IMODE((tmp_path / "secret-key").stat().st_mode) == 0o600
    assert len(key) >= 32


def test_on_postgresql_the_web_processes_take_connections_from_a_pool(tmp_path):
    program = ("from django.conf import settings; database = settings.DATABASES['default']; "
               "print(database['OPTIONS'].get('pool'), database['CONN_MAX_AGE'], database['CONN_HEALTH_CHECKS'])")
    url = "postgres://attentive@127.0.0.1:5432/attentive"
    pooled = manage("shell", "-c", program, DATABASE_URL=url, ATTENTIVE_VAR_DIR=str(tmp_path))
    assert pooled.stdout.split("\n")[-2] == "{'min_size': 2, 'max_size': 8, 'timeout': 5} 0 True", pooled.stderr
    unpooled = manage("shell", "-c", program, DATABASE_URL=url, DB_POOL_MAX_SIZE="0", ATTENTIVE_VAR_DIR=str(tmp_path))
    assert unpooled.stdout.split("\n")[-2] == "None 0 False", unpooled.stderr
