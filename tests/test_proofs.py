"""What the checks prove from the service's own reports: restart, freeze, environment.

Pure functions over a /health body and write probes: no service needed, so every branch of the
policy is tested here (and mutation-tested, docs/mutation-testing.md); the fault tests show the
same policies red against a real service.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from releaseops.pg.identity import ServerIdentity
from releaseops.release import environment
from releaseops.release.record_model import ReleaseRecord, Rollout
from releaseops.service import freeze, restart
from releaseops.service.resource import Health, WriteOperation, WriteProbe, write_operations

SERVER = ServerIdentity("7714", "15.18", "exam", "postgresql://u:***@db/exam")


def health(**members) -> Health:
    body = {
        "instance": {"id": "a1", "started_at": "2026-12-01T10:00:00+00:00"},
        "version": {"code": "1.4.0", "schema_head": "0004"},
        "config": {
            "FLASK_CONFIG": "production",
            "secrets_configured": {"SECRET_KEY": True, "API_TOKENS": True},
            "CHECK_PENDING_MIGRATIONS": True,
            "FAIL_ON_PENDING_MIGRATIONS": True,
        },
        "database": {"identity": SERVER.token, "write_probe": "refused"},
        "flags": {"DB_READ_ONLY": True, "AI_AUTO_APPLY": False, "RETRIEVAL_MODE": "bm25"},
        "migrations": {"clean": True},
    }
    for path, value in members.items():
        section, _, key = path.partition("__")
        if value is None and not key:
            body.pop(section)
        elif value is None:
            body[section].pop(key)
        elif key:
            body[section] = {**body[section], key: value}
        else:
            body[section] = value
    return Health(200, body)


def record(environment_name="production", rollout=None) -> ReleaseRecord:
    return ReleaseRecord(
        path=Path("release.toml"),
        release_id="r1",
        release_owner="Dana",
        rollback_owner="Sam",
        incident_channel="#inc",
        environment=environment_name,
        staging_verified_at=None,
        rollout=rollout or Rollout(db_read_only=False, ai_auto_apply=True, retrieval_mode="bm25"),
        rollback=None,
        waivers=[],
    )


# --- restart ------------------------------------------------------------------------------


def test_a_new_instance_of_the_intended_schema_is_a_proven_restart():
    proof = restart.prove(health(), health(instance__id="b2"), schema_head="0004")
    assert proof.problems == [] and proof.unreported == []


def test_the_same_instance_after_a_restart_is_no_restart():
    proof = restart.prove(health(), health(), schema_head="0004")
    assert proof.problems == [
        "the same instance a1 still answers: the restart did not restart the service"
    ]


def test_a_new_instance_of_the_wrong_build_is_named():
    proof = restart.prove(
        health(), health(instance__id="b2", version__schema_head="0003"), schema_head="0004"
    )
    assert proof.problems == [
        "the new instance runs code that expects schema 0003, not 0004: the wrong build was started"
    ]


def test_a_code_version_other_than_the_intended_one_is_named():
    proof = restart.prove(None, health(), schema_head=None, code_version="1.5.0")
    assert proof.problems == ["the new instance runs code version '1.4.0', not '1.5.0'"]


def test_no_healthy_instance_after_the_restart_is_a_problem():
    assert restart.prove(health(), None, schema_head="0004").problems == [
        "no healthy instance answers after the restart"
    ]
    down = Health(503, health().body)
    assert restart.prove(health(), down, schema_head="0004").problems == [
        "no healthy instance answers after the restart"
    ]


def test_an_instance_started_before_the_migrations_was_not_restarted_on_them():
    migrated = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    proof = restart.prove(None, health(), schema_head="0004", not_before=migrated)
    assert len(proof.problems) == 1
    assert (
        "started at 2026-12-01T10:00:00+00:00, before 2026-12-01T11:00:00+00:00"
        in (proof.problems[0])
    )
    later = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert restart.prove(None, health(), schema_head="0004", not_before=later).problems == []


@pytest.mark.parametrize(
    ("missing", "name"),
    [("instance__id", "instance.id"), ("version__schema_head", "version.schema_head")],
)
def test_what_the_service_does_not_report_is_unreported_not_passed(missing, name):
    after = health(**{missing: None})
    proof = restart.prove(health(), after, schema_head="0004")
    assert name in proof.unreported


def test_a_missing_start_time_is_unreported_when_it_is_needed():
    proof = restart.prove(
        None, health(instance__started_at=None), schema_head=None, not_before=datetime.now(UTC)
    )
    assert proof.unreported == ["instance.started_at"]


# --- freeze -------------------------------------------------------------------------------


class FakeService:
    """Answers write probes from a table: operation name -> (status, error_code)."""

    def __init__(self, answers):
        self.answers = answers

    def write_operations(self):
        return [WriteOperation(*name.split(" ", 1)) for name in self.answers]

    def probe_write(self, operation):
        status, code = self.answers[operation.name]
        return WriteProbe(operation.name, status, code, "")


ALL_REFUSED = {"POST /q": (503, "READ_ONLY"), "DELETE /q/{id}": (503, "READ_ONLY")}


def test_every_route_refusing_with_a_read_only_session_and_frozen_flags_is_proven():
    proof = freeze.prove(FakeService(ALL_REFUSED), health())
    assert proof.problems == [] and proof.unreported == [] and proof.leaking == []


def test_one_route_that_answers_is_named_as_leaking():
    answers = {**ALL_REFUSED, "PATCH /q/{id}": (404, "NOT_FOUND")}
    proof = freeze.prove(FakeService(answers), health())
    assert proof.leaking == ["PATCH /q/{id}"]
    assert proof.problems == [
        "writes are not blocked on PATCH /q/{id} -> 404 NOT_FOUND (expected 503 READ_ONLY)"
    ]


def test_a_503_that_is_not_read_only_is_not_a_refusal():
    proof = freeze.prove(FakeService({"POST /q": (503, "DB_UNAVAILABLE")}), health())
    assert proof.leaking == ["POST /q"]


def test_a_session_that_accepts_a_write_is_a_problem():
    proof = freeze.prove(FakeService(ALL_REFUSED), health(database__write_probe="accepted"))
    assert proof.problems == [
        "a write through the service's own database session was accepted, not refused: the "
        "session is not read-only"
    ]


def test_flags_not_frozen_are_named():
    proof = freeze.prove(FakeService(ALL_REFUSED), health(flags__AI_AUTO_APPLY=True))
    assert proof.problems == [
        "the service runs with {'AI_AUTO_APPLY': True}; expected {'DB_READ_ONLY': True, "
        "'AI_AUTO_APPLY': False, 'RETRIEVAL_MODE': 'bm25'}"
    ]


def test_no_write_route_no_session_probe_or_no_flags_is_unreported():
    proof = freeze.prove(FakeService({}), health(database__write_probe=None, flags=None))
    assert proof.unreported == ["any write route in /openapi.json", "database.write_probe", "flags"]
    assert proof.problems == []


def test_flags_are_spelled_as_the_environment_spells_them():
    assert freeze.env_values({"A": True, "B": False, "C": "bm25", "D": 3}) == {
        "A": "1",
        "B": "0",
        "C": "bm25",
        "D": "3",
    }


def test_write_operations_come_from_the_api_description_with_their_probes():
    description = {
        "paths": {
            "/q": {"get": {}, "post": {"x-harmless-probe": {"path": "/q", "json": {}}}},
            "/q/{id}": {"delete": {}, "put": {"x-harmless-probe": {"path": "/q/0"}}},
            "/health": {"get": {}},
        }
    }
    found = {op.name: dict(op.probe) for op in write_operations(description)}
    assert found == {
        "POST /q": {"path": "/q", "json": {}},
        "PUT /q/{id}": {"path": "/q/0"},
        "DELETE /q/{id}": {"path": "/q/0", "json": {}},  # the conservative default
    }


# --- environment ---------------------------------------------------------------------------


def test_a_service_on_the_gated_database_with_production_settings_is_loaded():
    report = environment.loaded(health(), SERVER, record())
    assert report.is_proven, report.as_dict()


def test_a_development_config_for_a_production_release_is_named():
    live = health(
        config__FLASK_CONFIG="development",
        config__secrets_configured={"SECRET_KEY": False, "API_TOKENS": True},
    )
    report = environment.loaded(live, SERVER, record())
    assert report.problems == [
        "the service runs with FLASK_CONFIG=development, but release.toml releases to "
        "production: start it with FLASK_CONFIG=production",
        "the service runs without SECRET_KEY (required for production)",
    ]


def test_secrets_are_not_required_of_a_development_release():
    live = health(
        config__FLASK_CONFIG="development",
        config__secrets_configured={"SECRET_KEY": False, "API_TOKENS": False},
    )
    assert environment.loaded(live, SERVER, record("development")).is_proven


def test_a_service_on_another_database_is_named():
    report = environment.loaded(health(database__identity="0" * 16), SERVER, record())
    assert len(report.problems) == 1
    assert report.problems[0].startswith("the service's database session is not ")


@pytest.mark.parametrize(
    ("missing", "name"),
    [
        ("database__identity", "database.identity"),
        ("config__FLASK_CONFIG", "config.FLASK_CONFIG"),
        ("config__secrets_configured", "config.secrets_configured"),
    ],
)
def test_an_unreported_environment_fact_is_not_verified(missing, name):
    report = environment.loaded(health(**{missing: None}), SERVER, record())
    assert report.unreported == [name] and not report.is_proven
    assert report.not_verified() == f"not verified: /health does not report {name}"


def test_the_migration_guard_must_be_on_and_fatal_for_production():
    off = health(config__FAIL_ON_PENDING_MIGRATIONS=False)
    assert environment.migration_guard(off, record()).problems == [
        "the service runs with FAIL_ON_PENDING_MIGRATIONS=0; it must be 1 for a production release"
    ]
    assert environment.migration_guard(off, record("development")).is_proven
    unchecked = health(config__CHECK_PENDING_MIGRATIONS=False)
    assert environment.migration_guard(unchecked, record("development")).problems == [
        "the service runs with CHECK_PENDING_MIGRATIONS=0; it must be 1"
    ]


def test_live_flags_are_compared_with_the_rollout_plan():
    live = health(flags={"DB_READ_ONLY": True, "AI_AUTO_APPLY": True, "RETRIEVAL_MODE": "bm25"})
    report = environment.write_flags(live, record())
    assert report.problems == ["DB_READ_ONLY is live as '1', the rollout plan says 0"]
    planned = Rollout(db_read_only=True, ai_auto_apply=True, retrieval_mode="bm25")
    assert environment.write_flags(live, record(rollout=planned)).is_proven


# --- what the proofs put into the evidence ----------------------------------------------------


def test_a_restart_proof_records_both_instances():
    proof = restart.prove(health(), health(instance__id="b2"), schema_head="0004")
    assert proof.as_dict() == {
        "before": {
            "status": 200,
            "instance": "a1",
            "started_at": "2026-12-01T10:00:00+00:00",
            "code": "1.4.0",
            "schema_head": "0004",
        },
        "after": {
            "status": 200,
            "instance": "b2",
            "started_at": "2026-12-01T10:00:00+00:00",
            "code": "1.4.0",
            "schema_head": "0004",
        },
        "problems": [],
        "unreported": [],
    }
    assert restart.prove(None, health(), schema_head=None).before == {}


def test_a_restart_exactly_at_the_migration_time_counts_as_after_it():
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert restart.prove(None, health(), schema_head=None, not_before=at).problems == []


def test_a_freeze_proof_records_every_probe_and_joins_the_leaks_in_one_line():
    answers = {"POST /q": (400, None), "PUT /q/{id}": (404, "NOT_FOUND")}
    proof = freeze.prove(FakeService(answers), health())
    assert proof.explain() == (
        "writes are not blocked on POST /q -> 400; PUT /q/{id} -> 404 NOT_FOUND "
        "(expected 503 READ_ONLY)"
    )
    data = proof.as_dict()
    assert [p["operation"] for p in data["write routes"]] == ["POST /q", "PUT /q/{id}"]
    assert data["session write probe"] == "refused" and data["flags"]["DB_READ_ONLY"] is True


def test_environment_reports_record_what_the_service_and_the_gate_saw():
    report = environment.loaded(health(), SERVER, record())
    assert report.as_dict()["facts"] == {
        "database (gate)": {"url": SERVER.url, "identity": SERVER.token},
        "database (service)": SERVER.token,
        "FLASK_CONFIG": "production",
        "secrets configured": {"SECRET_KEY": True, "API_TOKENS": True},
    }
    guard = environment.migration_guard(health(config__CHECK_PENDING_MIGRATIONS=None), record())
    assert guard.facts == {"CHECK_PENDING_MIGRATIONS": None, "FAIL_ON_PENDING_MIGRATIONS": True}
    assert guard.unreported == ["config.CHECK_PENDING_MIGRATIONS"]
    flags = environment.write_flags(health(), record())
    assert flags.facts == {
        "flags (service)": {"DB_READ_ONLY": True, "AI_AUTO_APPLY": False, "RETRIEVAL_MODE": "bm25"},
        "plan": {"DB_READ_ONLY": "0", "AI_AUTO_APPLY": "1", "RETRIEVAL_MODE": "bm25"},
    }
    assert flags.explain() == (
        "DB_READ_ONLY is live as '1', the rollout plan says 0; "
        "AI_AUTO_APPLY is live as '0', the rollout plan says 1"
    )


def test_no_flags_or_no_rollout_plan_is_named():
    unreported = environment.write_flags(health(flags=None), record())
    assert unreported.unreported == ["flags"] and unreported.problems == []
    unplanned = record()
    unplanned = type(unplanned)(**{**unplanned.__dict__, "rollout": None})
    report = environment.write_flags(health(), unplanned)
    assert report.problems == [
        "release.toml has no [rollout] table: record the planned DB_READ_ONLY, AI_AUTO_APPLY and "
        "RETRIEVAL_MODE"
    ]
    assert environment.loaded(health(), SERVER, record()).not_verified() == (
        "not verified: /health does not report "
    )


def test_reports_join_their_problems_and_unreported_facts_in_plain_words():
    report = environment.EnvironmentReport(problems=["a", "b"], unreported=["x", "y"])
    assert report.explain() == "a; b"
    assert report.not_verified() == "not verified: /health does not report x, y"
    assert report.as_dict() == {"facts": {}, "problems": ["a", "b"], "unreported": ["x", "y"]}
    proof = freeze.FreezeProof(problems=["a", "b"], unreported=["x"])
    assert proof.explain() == "a; b"
    assert proof.as_dict() == {
        "write routes": [],
        "session write probe": None,
        "flags": None,
        "problems": ["a", "b"],
        "unreported": ["x"],
    }
    assert restart.RestartProof({}, {}, problems=["a", "b"]).explain() == "a; b"


class SequenceService:
    """Answers /health from a list, one answer per call (the last one repeats)."""

    def __init__(self, answers):
        self.answers = list(answers)

    def health(self):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_waiting_for_a_new_instance_skips_the_old_one_and_unhealthy_answers():
    old, new = health(), health(instance__id="b2")
    service = SequenceService([old, Health(503, {}), new])
    found, convergence = restart.wait_for_new_instance(service, old, timeout=5)
    assert found is new and convergence.ok and convergence.attempts == 3


def test_waiting_for_a_new_instance_gives_up_when_only_the_old_one_answers():
    old = health()
    found, convergence = restart.wait_for_new_instance(SequenceService([old]), old, timeout=0)
    assert found is None and not convergence.ok


def test_without_a_previous_instance_any_healthy_one_will_do():
    found, _ = restart.wait_for_new_instance(SequenceService([health()]), None, timeout=0)
    assert found is not None
