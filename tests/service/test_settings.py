"""settings.load(): FLASK_CONFIG, flags and secrets resolved once from the environment."""

from __future__ import annotations

import pytest

from exambank import settings
from releaseops.errors import ConfigurationError


def test_defaults_are_safe():
    config = settings.load({})
    assert config["FLASK_CONFIG"] == "development"
    assert settings.flags(config) == {
        "DB_READ_ONLY": False,
        "AI_AUTO_APPLY": True,
        "RETRIEVAL_MODE": "bm25",
    }
    assert config["MIGRATIONS_DIR"].name == "postgres"


def test_sqlalchemy_database_url_is_accepted():
    config = settings.load({"DATABASE_URL": "postgresql+psycopg://u:pw@db:5433/bank"})
    url = config["DATABASE_URL"]
    assert (url.host, url.port, url.dbname, url.user) == ("db", 5433, "bank", "u")


def test_flags_and_tokens_are_parsed():
    config = settings.load(
        {
            "DB_READ_ONLY": "1",
            "AI_AUTO_APPLY": "0",
            "RETRIEVAL_MODE": "hybrid",
            "API_TOKENS": " a , b,,",
            "MAX_UPLOAD_BYTES": "2048",
        }
    )
    assert config["DB_READ_ONLY"] is True and config["AI_AUTO_APPLY"] is False
    assert config["API_TOKENS"] == ("a", "b") and config["MAX_UPLOAD_BYTES"] == 2048


def test_production_requires_secret_key_and_tokens():
    with pytest.raises(ConfigurationError, match="requires SECRET_KEY and API_TOKENS"):
        settings.load({"FLASK_CONFIG": "production"})
    config = settings.load({"FLASK_CONFIG": "production", "SECRET_KEY": "s", "API_TOKENS": "t"})
    assert config["FAIL_ON_PENDING_MIGRATIONS"] is True


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DB_READ_ONLY": "maybe"}, "DB_READ_ONLY='maybe' is not a boolean"),
        ({"RETRIEVAL_MODE": "vector"}, "RETRIEVAL_MODE='vector' is not one of bm25, hybrid"),
        ({"FLASK_CONFIG": "prod"}, "FLASK_CONFIG='prod' is not one of"),
        ({"MAX_UPLOAD_BYTES": "lots"}, "MAX_UPLOAD_BYTES='lots' is not an integer"),
        ({"DATABASE_URL": "mysql://u:hunter2@h/db"}, "DATABASE_URL"),
    ],
)
def test_bad_values_are_named(environ, message):
    with pytest.raises(ConfigurationError, match=message) as info:
        settings.load(environ)
    assert "hunter2" not in str(info.value)


def test_the_package_version_read_from_our_distribution_is_the_one_a_full_scan_finds():
    from importlib import metadata

    [name] = set(metadata.packages_distributions()["exambank"])
    assert settings.package_version.__wrapped__() == metadata.version(name) != "unknown"
