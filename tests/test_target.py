"""Target resolution: precedence, defaults, derived URLs, secrets."""

from pathlib import Path

import pytest

from releaseops.errors import ConfigurationError
from releaseops.release import target

ROOT = Path("/repo")
ENV = {
    "DATABASE_URL": "postgresql+psycopg://app:pw-one-secret@db:5432/exam_prod",
    "API_TOKENS": "tok-aaaa, tok-bbbb",
    "SECRET_KEY": "sk-secret-value",
    "DB_READ_ONLY": "0",
}


def test_embedded_is_the_default_without_a_database_url():
    assert target.resolve({}, {}, repo_root=ROOT).kind == "embedded"


def test_env_is_the_default_with_a_database_url():
    assert target.resolve({}, ENV, repo_root=ROOT).kind == "env"


def test_option_beats_environment():
    resolved = target.resolve({"database_url": "postgresql://u@other/db2"}, ENV, repo_root=ROOT)
    assert resolved.database_url.dbname == "db2"


def test_paths_are_relative_to_the_repository_root():
    resolved = target.resolve({}, {**ENV, "BACKUP_DIR": "bk"}, repo_root=ROOT)
    assert resolved.backup_dir == ROOT / "bk"
    assert resolved.migrations_dir == ROOT / "migrations" / "postgres"


def test_drill_and_admin_urls_derive_from_the_database_url():
    resolved = target.resolve({}, ENV, repo_root=ROOT)
    assert resolved.drill_url.dbname == "exam_prod_restore_drill"
    assert resolved.admin_url.dbname == "postgres"
    named = target.resolve({}, {**ENV, "DRILL_DB_NAME": "exam_restore_drill"}, repo_root=ROOT)
    assert named.drill_url.dbname == "exam_restore_drill"


def test_api_token_falls_back_to_the_first_of_api_tokens():
    assert target.resolve({}, ENV, repo_root=ROOT).api_token == "tok-aaaa"


def test_secrets_lists_every_secret_value():
    found = target.resolve({}, ENV, repo_root=ROOT).secrets()
    assert {"pw-one-secret", "tok-aaaa", "tok-bbbb", "sk-secret-value"} <= set(found)


def test_describe_masks_passwords():
    facts = target.resolve({}, ENV, repo_root=ROOT).describe()
    assert "pw-one-secret" not in str(facts)
    assert facts["database_url"] == "postgresql+psycopg://app:***@db:5432/exam_prod"


def test_no_database_is_a_clear_configuration_error():
    resolved = target.resolve({"target": "env"}, {}, repo_root=ROOT)
    with pytest.raises(ConfigurationError, match="set DATABASE_URL or pass --database-url"):
        _ = resolved.database_url


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("0", False), ("true", True), ("off", False), (None, None)]
)
def test_flags_parse(raw, value):
    assert target.parse_flag(raw, "DB_READ_ONLY") is value


def test_a_garbage_flag_is_refused():
    with pytest.raises(ConfigurationError, match="DB_READ_ONLY='maybe' is not a flag"):
        target.parse_flag("maybe", "DB_READ_ONLY")


def test_the_snapshot_is_frozen():
    resolved = target.resolve({}, ENV, repo_root=ROOT)
    with pytest.raises(TypeError):
        resolved.environ["DB_READ_ONLY"] = "1"  # type: ignore[index]
