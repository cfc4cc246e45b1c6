"""The target environment check: URL, FLASK_CONFIG, secrets, migration guard flags."""

from pathlib import Path

from releaseops.release import environment, target


def resolve(env):
    return target.resolve({}, env, repo_root=Path("/repo"), kind="env")


def test_a_complete_environment_is_loaded(pg_cluster):
    env = {
        "DATABASE_URL": pg_cluster.url.libpq(with_password=True),
        "FLASK_CONFIG": "production",
        "SECRET_KEY": "k" * 32,
        "API_TOKENS": "t" * 24,
    }
    report = environment.loaded(resolve(env))
    assert report.is_loaded, report.explain()
    assert report.facts["SECRET_KEY"] == "set (32 characters)"
    assert pg_cluster.url.password not in str(report.as_dict())


def test_missing_secrets_bad_config_and_unreachable_database_are_each_named(pg_cluster):
    dead = pg_cluster.url.__class__(**{**pg_cluster.url.__dict__, "password": "wrong-pass-42"})
    env = {"DATABASE_URL": dead.libpq(with_password=True), "FLASK_CONFIG": "prod"}
    report = environment.loaded(resolve(env))
    text = report.explain()
    assert "DATABASE_URL: cannot connect" in text
    assert "FLASK_CONFIG is 'prod'" in text
    assert "SECRET_KEY is not set" in text and "API_TOKENS is not set" in text
    assert "wrong-pass-42" not in text


def test_production_needs_both_migration_guard_flags():
    env = {"FLASK_CONFIG": "production", "CHECK_PENDING_MIGRATIONS": "1"}
    assert environment.migration_guard_problems(resolve(env)) == [
        "FAIL_ON_PENDING_MIGRATIONS is unset; it must be 1 in production"
    ]


def test_staging_needs_only_the_check_flag():
    env = {"FLASK_CONFIG": "staging", "CHECK_PENDING_MIGRATIONS": "0"}
    assert environment.migration_guard_problems(resolve(env)) == [
        "CHECK_PENDING_MIGRATIONS is 0; it must be 1"
    ]


def test_a_garbage_flag_is_reported_not_raised():
    env = {"FLASK_CONFIG": "staging", "CHECK_PENDING_MIGRATIONS": "yes please"}
    problems = environment.migration_guard_problems(resolve(env))
    assert problems == ["CHECK_PENDING_MIGRATIONS='yes please' is not a flag: use 1 or 0"]
