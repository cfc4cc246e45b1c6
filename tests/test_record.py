"""The release record: strict loading, owners, waivers, rollout flags and the TOML writer."""

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from releaseops.errors import ConfigurationError, ReleaseRecordInvalid, ReleaseRecordNotFound
from releaseops.migrations import rehearse
from releaseops.release import record

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "fixtures" / "release_record.example.toml"
ROLLBACK = ROOT / "fixtures" / "release_record.rollback.toml"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

MINIMAL = """\
release_id = "2026.11.28-1"
release_owner = "Dana Reyes <dana@example.com>"
rollback_owner = "Sam Okafor <sam@example.com>"
incident_channel = "#inc-exambank"
environment = "production"
staging_verified_at = 2026-11-27T15:00:00Z
"""

WAIVER = """
[[waiver]]
check = "postdeploy.retrieval"
justification = "index rebuild finishes after the window"
approved_by = "Priya Natarajan"
expires = 2026-12-01T00:00:00Z
"""


def write_toml(tmp_path, text, name="record.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path, text):
    return record.load(write_toml(tmp_path, text))


# --- the fixtures --------------------------------------------------------------------------


def test_example_fixture_is_a_complete_production_record():
    rec = record.load(EXAMPLE)
    assert rec.environment == "production"
    assert rec.missing_owners() == []
    assert rec.staging_problem(NOW) is None
    assert rec.rollout == record.Rollout(
        db_read_only=False, ai_auto_apply=True, retrieval_mode="bm25"
    )
    assert rec.rollback is None
    assert rec.waivers == []


def test_rollback_fixture_adds_a_complete_rollback_section():
    rec = record.load(ROLLBACK)
    assert rec.rollback is not None
    assert rec.rollback.status == "rolled back"
    assert rec.rollback.incident_at == datetime(2026, 11, 28, 10, 15, tzinfo=UTC)
    assert rec.rollback.backup_file == "backups/exam_prod_20261128_090000.dump"
    assert rec.rollback.missing() == []
    example = record.load(EXAMPLE)
    assert rec.as_dict() | {"path": "", "rollback": None} == example.as_dict() | {"path": ""}


# --- load: errors --------------------------------------------------------------------------


def test_missing_record_names_the_path_and_the_fix(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ReleaseRecordNotFound, match=r"nowhere\.toml not found.*--release-record"):
        record.load(path)


def test_missing_record_is_a_file_not_found_and_configuration_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="RELEASE_RECORD") as info:
        record.load(tmp_path / "nowhere.toml")
    assert isinstance(info.value, ConfigurationError)
    assert info.value.path == tmp_path / "nowhere.toml"


def test_a_directory_is_not_a_record(tmp_path):
    with pytest.raises(ReleaseRecordInvalid, match="is a directory"):
        record.load(tmp_path)


def test_malformed_toml_reports_line_and_column(tmp_path):
    with pytest.raises(ReleaseRecordInvalid, match=r"not valid TOML: .*line 3, column") as info:
        load_text(tmp_path, 'release_id = "x"\nenvironment = "staging"\nrelease_owner = Dana\n')
    assert (info.value.line, info.value.column) == (3, 17)


def test_non_utf8_record_is_refused(tmp_path):
    path = tmp_path / "record.toml"
    path.write_bytes(b'release_id = "\xff"\n')
    with pytest.raises(ReleaseRecordInvalid, match="not UTF-8 text"):
        record.load(path)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('relase_owner = "x"', r"unknown key 'relase_owner' \(did you mean 'release_owner'\?\)"),
        ('deploy_window = "x"', r"unknown key 'deploy_window'; known: release_id, "),
        ("[rollout]\ndb_readonly = false", r"unknown key 'rollout.db_readonly'.*did you mean"),
        ('[[waivers]]\ncheck = "x"', r"unknown key 'waivers' \(did you mean 'waiver'\?\)"),
        ('[rollback]\nstatuss = "rolled back"', r"unknown key 'rollback.statuss'"),
    ],
)
def test_unknown_keys_are_named_so_typos_cannot_pass(tmp_path, extra, problem):
    with pytest.raises(ReleaseRecordInvalid, match=problem):
        load_text(tmp_path, MINIMAL + extra + "\n")


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            '[rollout]\ndb_read_only = "no"\nai_auto_apply = true\nretrieval_mode = "bm25"',
            r"rollout\.db_read_only must be a boolean \(true or false\), got 'no' \(string\)",
        ),
        (
            '[rollout]\ndb_read_only = 0\nai_auto_apply = true\nretrieval_mode = "bm25"',
            r"rollout\.db_read_only must be a boolean .*got 0 \(integer\)",
        ),
        (
            "[rollout]\ndb_read_only = false\nai_auto_apply = true\nretrieval_mode = 25",
            r"rollout\.retrieval_mode must be a string, got 25 \(integer\)",
        ),
        (
            "[rollout]\ndb_read_only = false",
            r"rollout\.ai_auto_apply is required; rollout\.retrieval_mode is required",
        ),
        ('rollout = "bm25"', r"rollout must be a table \(\[rollout\]\)"),
        (
            '[rollback]\nincident_at = "2026-11-28T10:15:00Z"',
            r"rollback\.incident_at must be a TOML",
        ),
        ("[rollback]\nincident_at = 2026-11-28", r"incident_at must be a TOML datetime.* \(date\)"),
        ('[rollback]\nbackup_sha256 = "abc"', r"backup_sha256 must be 64 lowercase hex digits"),
        ('waiver = "none"', r"waiver must be an array of tables \(\[\[waiver\]\]\)"),
    ],
)
def test_wrong_types_name_the_field_and_the_expected_type(tmp_path, extra, problem):
    with pytest.raises(ReleaseRecordInvalid, match=problem):
        load_text(tmp_path, MINIMAL + extra + "\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (MINIMAL.replace('release_id = "2026.11.28-1"\n', ""), r"release_id is required"),
        (MINIMAL.replace('release_id = "2026.11.28-1"', 'release_id = "TBD"'), "release_id must"),
        (MINIMAL.replace('environment = "production"\n', ""), r"environment is required"),
        (MINIMAL.replace('"production"', '"prod"'), r"environment must be one of development, "),
        (MINIMAL.replace('"production"', "true"), r"environment must be a string"),
    ],
)
def test_identity_fields_are_required(tmp_path, text, problem):
    with pytest.raises(ReleaseRecordInvalid, match=problem):
        load_text(tmp_path, text)


def test_naive_datetimes_are_refused(tmp_path):
    text = MINIMAL.replace("2026-11-27T15:00:00Z", "2026-11-27T15:00:00")
    with pytest.raises(ReleaseRecordInvalid, match=r"staging_verified_at is .* without a timezone"):
        load_text(tmp_path, text)


def test_every_problem_is_listed_at_once(tmp_path):
    text = MINIMAL + 'colour = "x"\n[rollout]\ndb_read_only = "no"\n'
    with pytest.raises(ReleaseRecordInvalid, match="is invalid: unknown key 'colour'") as info:
        load_text(tmp_path, text)
    assert len(info.value.problems) == 4
    assert "Compare with fixtures/release_record.example.toml" in str(info.value)


def test_invalid_record_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="environment is required"):
        load_text(tmp_path, 'release_id = "1"\n')


# --- owners and staging --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["", "   ", "TBD", "tbd", "TODO", "?", "<release owner>", "<name>", "N/A", "#"]
)
def test_placeholder_owners_are_missing(tmp_path, value):
    text = MINIMAL.replace('"Sam Okafor <sam@example.com>"', f'"{value}"')
    assert load_text(tmp_path, text).missing_owners() == ["rollback_owner"]


@pytest.mark.parametrize("value", ["Sam Okafor <sam@example.com>", "<sam@example.com>", "sam"])
def test_real_owners_are_not_placeholders(value):
    assert not record.is_placeholder(value)


def test_absent_owner_fields_load_and_are_reported_missing(tmp_path):
    rec = load_text(tmp_path, 'release_id = "1"\nenvironment = "staging"\n')
    assert rec.missing_owners() == ["release_owner", "rollback_owner", "incident_channel"]


def test_production_without_staging_verification_is_a_problem(tmp_path):
    rec = load_text(tmp_path, MINIMAL.replace("staging_verified_at = 2026-11-27T15:00:00Z\n", ""))
    assert "staging_verified_at is not recorded" in (rec.staging_problem(NOW) or "")


def test_staging_verification_in_the_future_is_a_problem(tmp_path):
    rec = load_text(tmp_path, MINIMAL)
    assert "is in the future" in (rec.staging_problem(NOW - timedelta(days=2)) or "")


def test_staging_releases_need_no_staging_verification(tmp_path):
    text = 'release_id = "1"\nenvironment = "staging"\n'
    assert load_text(tmp_path, text).staging_problem(NOW) is None


# --- rollout and rollback ------------------------------------------------------------------


def test_rollout_as_env_uses_the_service_flag_names():
    plan = record.Rollout(db_read_only=False, ai_auto_apply=True, retrieval_mode="bm25")
    assert plan.as_env() == {"DB_READ_ONLY": "0", "AI_AUTO_APPLY": "1", "RETRIEVAL_MODE": "bm25"}


def test_rollout_matching_flags_have_no_mismatch():
    plan = record.Rollout(db_read_only=False, ai_auto_apply=True, retrieval_mode="bm25")
    env = {"DB_READ_ONLY": "false", "AI_AUTO_APPLY": "1", "RETRIEVAL_MODE": "BM25"}
    assert plan.mismatches(env) == []


def test_rollout_mismatches_are_spelled_out():
    plan = record.Rollout(db_read_only=False, ai_auto_apply=False, retrieval_mode="bm25")
    env = {"DB_READ_ONLY": "1", "AI_AUTO_APPLY": "maybe", "RETRIEVAL_MODE": None}
    assert plan.mismatches(env) == [
        "DB_READ_ONLY is '1', the rollout plan says 0",
        "AI_AUTO_APPLY is 'maybe', the rollout plan says 0",
        "RETRIEVAL_MODE is unset, the rollout plan says 'bm25'",
    ]


def test_partial_rollback_lists_what_is_missing(tmp_path):
    rec = load_text(tmp_path, MINIMAL + '[rollback]\ntrigger = "errors"\nstatus = "in progress"\n')
    assert rec.rollback is not None
    assert rec.rollback.missing() == ["rollback.incident_at", "rollback.backup_file"]


# --- waivers -------------------------------------------------------------------------------


def test_waiver_is_loaded_and_active_until_it_expires(tmp_path):
    rec = load_text(tmp_path, MINIMAL + WAIVER)
    waiver = rec.waivers[0]
    assert waiver.check == "postdeploy.retrieval"
    assert waiver.is_active(NOW)
    assert not waiver.is_active(waiver.expires)
    assert record.active_waivers(rec, NOW) == {"postdeploy.retrieval": waiver}


def test_expired_waiver_is_void(tmp_path):
    rec = load_text(tmp_path, MINIMAL + WAIVER)
    assert record.active_waivers(rec, datetime(2026, 12, 2, tzinfo=UTC)) == {}


def test_the_longest_running_active_waiver_wins(tmp_path):
    later = WAIVER.replace("2026-12-01T00:00:00Z", "2026-12-05T00:00:00+02:00")
    rec = load_text(tmp_path, MINIMAL + WAIVER + later)
    active = record.active_waivers(rec, NOW)
    assert active["postdeploy.retrieval"].expires.day == 5


def test_activity_needs_an_aware_now(tmp_path):
    rec = load_text(tmp_path, MINIMAL + WAIVER)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        rec.waivers[0].is_active(datetime(2026, 11, 28))


@pytest.mark.parametrize("field", ["check", "justification", "approved_by", "expires"])
def test_waiver_without_a_required_field_is_invalid(tmp_path, field):
    text = "\n".join(ln for ln in WAIVER.splitlines() if not ln.startswith(field))
    with pytest.raises(ReleaseRecordInvalid, match=rf"waiver\[1\]\.{field} is required"):
        load_text(tmp_path, MINIMAL + text + "\n")


def test_waiver_with_placeholder_approval_is_invalid(tmp_path):
    text = WAIVER.replace('"Priya Natarajan"', '"TBD"')
    with pytest.raises(ReleaseRecordInvalid, match=r"waiver\[1\]\.approved_by is required"):
        load_text(tmp_path, MINIMAL + text)


def test_waiver_with_naive_expiry_is_invalid(tmp_path):
    text = WAIVER.replace("2026-12-01T00:00:00Z", "2026-12-01T00:00:00")
    with pytest.raises(
        ReleaseRecordInvalid, match=r"waiver\[1\]\.expires is .* without a timezone"
    ):
        load_text(tmp_path, MINIMAL + text)


# --- [migration]: the rehearsal gate's thresholds ------------------------------------------


def test_a_record_without_a_migration_table_has_the_rehearsal_gates_defaults(tmp_path):
    loaded = load_text(tmp_path, MINIMAL)
    assert loaded.migration is None
    assert loaded.migration_budget.as_dict() == {
        "max_rows": rehearse.DEFAULT_MAX_ROWS,
        "max_bytes": rehearse.DEFAULT_MAX_BYTES,
        "lock_budget_ms": rehearse.DEFAULT_LOCK_BUDGET_MS,
    }


def test_migration_table_sets_some_thresholds_and_keeps_the_other_defaults(tmp_path):
    loaded = load_text(tmp_path, MINIMAL + "[migration]\nmax_rows = 1000\nlock_budget_ms = 250\n")
    assert loaded.migration == record.MigrationBudget(
        max_rows=1000, max_bytes=rehearse.DEFAULT_MAX_BYTES, lock_budget_ms=250.0
    )
    assert isinstance(loaded.migration_budget.lock_budget_ms, float)
    assert loaded.as_dict()["migration"]["max_rows"] == 1000
    record.write(loaded.as_toml_dict(), tmp_path / "again.toml")
    assert record.load(tmp_path / "again.toml").migration == loaded.migration


def test_migration_thresholds_are_the_rehearsal_gates_limits(tmp_path):
    budget = load_text(tmp_path, MINIMAL + "[migration]\nmax_bytes = 1048576\n").migration_budget
    report = rehearse.RehearsalReport(
        "db", committed=True, note="", files=[], statements=[], tables={}
    )
    verdict = budget.gate(report)
    assert verdict.limits["max_bytes"] == 1048576.0 and verdict.passed


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (
            "max_row = 5",
            r"unknown key 'migration\.max_row' \(did you mean 'migration\.max_rows'\?\)",
        ),
        ("max_rows = 10.5", r"migration\.max_rows must be an integer, got 10\.5 \(float\)"),
        ("max_bytes = true", r"migration\.max_bytes must be an integer, got True \(boolean\)"),
        ('lock_budget_ms = "1s"', r"migration\.lock_budget_ms must be a number, got '1s'"),
        ("max_rows = -1", r"migration\.max_rows must lie in \[0, inf\], got -1"),
        ("lock_budget_ms = nan", r"migration\.lock_budget_ms must lie in \[0, inf\], got nan"),
    ],
)
def test_migration_table_is_strict(tmp_path, table, problem):
    with pytest.raises(ReleaseRecordInvalid, match=problem):
        load_text(tmp_path, MINIMAL + f"[migration]\n{table}\n")


def test_migration_must_be_a_table(tmp_path):
    with pytest.raises(ReleaseRecordInvalid, match=r"migration must be a table \(\[migration\]\)"):
        load_text(tmp_path, MINIMAL + 'migration = "strict"\n')


# --- as_dict and write ---------------------------------------------------------------------


def test_as_dict_is_json_ready_evidence(tmp_path):
    rec = load_text(tmp_path, MINIMAL + WAIVER)
    data = rec.as_dict()
    assert data["staging_verified_at"] == "2026-11-27T15:00:00+00:00"
    assert data["waivers"][0]["expires"] == "2026-12-01T00:00:00+00:00"
    assert data["rollout"] is None and data["rollback"] is None
    assert data["path"] == str(tmp_path / "record.toml")


@pytest.mark.parametrize("fixture", [EXAMPLE, ROLLBACK])
def test_fixtures_round_trip_through_write(tmp_path, fixture):
    original = record.load(fixture)
    out = tmp_path / "copy.toml"
    record.write(original.as_toml_dict(), out)
    again = record.load(out)
    assert again.as_toml_dict() == original.as_toml_dict()


def test_written_record_round_trips_with_waivers_and_odd_strings(tmp_path):
    tz = timezone(timedelta(hours=5, minutes=30))
    data = {
        "release_id": "2026.11.28-1",
        "release_owner": 'Dana "DR" Reyes \\ ops',
        "rollback_owner": "Zoë Ångström\ttabs\nnewline\x01\x7f",
        "incident_channel": "#inc-exambank",
        "environment": "production",
        "staging_verified_at": datetime(2026, 11, 27, 15, 0, 0, 123456, tzinfo=tz),
        "rollout": {"db_read_only": True, "ai_auto_apply": False, "retrieval_mode": "bm25"},
        "rollback": {"trigger": "x", "incident_at": NOW, "status": None},
        "waiver": [
            {"check": "a.b", "justification": "j", "approved_by": "p", "expires": NOW},
            {"check": "c.d", "justification": "k", "approved_by": "q", "expires": NOW},
        ],
    }
    path = tmp_path / "record.toml"
    record.write(data, path)
    rec = record.load(path)
    assert rec.release_owner == data["release_owner"]
    assert rec.rollback_owner == data["rollback_owner"]
    assert rec.staging_verified_at == data["staging_verified_at"]
    assert rec.rollout == record.Rollout(
        db_read_only=True, ai_auto_apply=False, retrieval_mode="bm25"
    )
    assert rec.rollback == record.Rollback(trigger="x", incident_at=NOW)
    assert [w.check for w in rec.waivers] == ["a.b", "c.d"]
    assert "status" not in path.read_text()
    assert "2026-11-28T12:00:00Z" in path.read_text()


def test_writer_handles_numbers_dates_arrays_and_nested_tables(tmp_path):
    import tomllib

    data = {
        "n": 3,
        "x": 0.25,
        "big": 1e20,
        "inf": float("inf"),
        "day": date(2026, 11, 28),
        "tags": ["a", "b"],
        "empty": [],
        "weird key": "v",
        "outer": {"inner": {"deep": True}, "flat": 1},
    }
    path = tmp_path / "any.toml"
    record.write(data, path)
    loaded = tomllib.loads(path.read_text())
    assert loaded == data


def test_writer_refuses_a_naive_datetime(tmp_path):
    with pytest.raises(ValueError, match=r"rollback\.incident_at: refusing .* without timezone"):
        record.write({"rollback": {"incident_at": datetime(2026, 11, 28)}}, tmp_path / "r.toml")
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_values_toml_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match=r"release_id: cannot write set as TOML"):
        record.write({"release_id": {1}}, tmp_path / "r.toml")


def test_writer_replaces_an_existing_file_whole(tmp_path):
    path = write_toml(tmp_path, "old = 1\n" * 100)
    record.write({"release_id": "1", "environment": "staging"}, path)
    assert path.read_text() == 'release_id = "1"\nenvironment = "staging"\n'
