"""The HTTP request log standard: reading the log source, checking lines, finding requests."""

import json
import re
import sys

import pytest

from releaseops.errors import ConfigurationError, LogSourceError
from releaseops.service import logcheck

GOOD = {
    "request_id": "8fe6034b249d45f6be08b9267f444e18",
    "route": "/api/manage/upload-pdf",
    "status": 201,
    "latency": 24.37,
    "error_code": None,
}


def line(**changes):
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...})


# --- read_source ---------------------------------------------------------------------------


def test_file_source_reads_every_line(tmp_path):
    log = tmp_path / "api.log"
    log.write_text(line() + "\n" + line(status=404, error_code="HTTP_404") + "\n")
    assert logcheck.read_source(f"file:{log}") == [line(), line(status=404, error_code="HTTP_404")]


def test_file_source_is_relative_to_cwd(tmp_path):
    (tmp_path / "api.log").write_text("a\r\nb\n")
    assert logcheck.read_source("file:api.log", cwd=tmp_path) == ["a", "b"]


def test_unicode_line_separator_inside_a_value_does_not_split_the_line(tmp_path):
    log = tmp_path / "api.log"
    log.write_text('{"event":"x","m":"a\u2028b"}\nsecond\n', encoding="utf-8")
    assert len(logcheck.read_source(f"file:{log}")) == 2


def test_non_utf8_bytes_are_kept_as_surrogates_and_reported_not_raised(tmp_path):
    log = tmp_path / "api.log"
    log.write_bytes(b"\xff\xfe\x00garbage\n" + line().encode() + b"\n")
    lines = logcheck.read_source(f"file:{log}")
    report = logcheck.check(lines)
    assert len(report.bad_lines) == 1
    assert len(report.request_lines) == 1
    report.explain().encode("utf-8")  # printable: no lone surrogate leaks into the message
    json.dumps(report.as_dict()).encode("utf-8")


def test_missing_log_file_is_named(tmp_path):
    with pytest.raises(LogSourceError, match=r"log file .*nowhere\.log .*does not exist"):
        logcheck.read_source(f"file:{tmp_path / 'nowhere.log'}")


def test_log_source_error_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        logcheck.read_source(f"file:{tmp_path / 'nowhere.log'}")


@pytest.mark.parametrize("source", ["api.log", "http://logs/api", "file:", "cmd:  ", ""])
def test_unknown_source_form_explains_the_two_accepted_forms(source):
    with pytest.raises(LogSourceError, match=r"use 'file:PATH' .* or 'cmd:COMMAND'"):
        logcheck.read_source(source)


def test_command_source_takes_stdout_without_a_shell(tmp_path):
    script = "import sys; print('one'); print('two'); print('noise', file=sys.stderr)"
    source = f'cmd:{sys.executable} -c "{script}"'
    assert logcheck.read_source(source) == ["one", "two"]


def test_command_source_runs_in_cwd(tmp_path):
    (tmp_path / "api.log").write_text("from-cwd\n")
    assert logcheck.read_source("cmd:cat api.log", cwd=tmp_path) == ["from-cwd"]


def test_shell_syntax_in_command_is_not_interpreted(tmp_path):
    assert logcheck.read_source("cmd:echo a; echo b") == ["a; echo b"]


def test_failing_command_reports_exit_code_and_masked_stderr():
    script = (
        "import sys; sys.stderr.write('cannot reach postgresql://app:hunter2@db/x'); sys.exit(3)"
    )
    with pytest.raises(LogSourceError, match=r"exited with code 3: .*app:\*\*\*@db") as info:
        logcheck.read_source(f'cmd:{sys.executable} -c "{script}"')
    assert "hunter2" not in str(info.value)


def test_missing_command_is_named():
    with pytest.raises(LogSourceError, match=r"no-such-log-tool not found"):
        logcheck.read_source("cmd:no-such-log-tool --tail=200")


def test_slow_command_times_out_with_advice():
    with pytest.raises(LogSourceError, match=r"did not finish within 0.2 s.*--tail=200"):
        logcheck.read_source(f"cmd:{sys.executable} -c 'import time; time.sleep(5)'", timeout=0.2)


def test_unbalanced_quotes_in_command_are_reported():
    with pytest.raises(LogSourceError, match="cannot be split into arguments"):
        logcheck.read_source("cmd:echo 'oops")


# --- parse / check -------------------------------------------------------------------------


def test_the_checklist_example_line_conforms():
    example = (
        '{"request_id":"8fe6034b249d45f6be08b9267f444e18","route":"/api/manage/upload-pdf",'
        '"status":201,"latency":24.37,"error_code":null}'
    )
    report = logcheck.check([example])
    assert report.is_clean, report.explain()
    assert "every request line follows the log standard" in report.explain()


@pytest.mark.parametrize(
    "changes",
    [
        {"status": 404, "error_code": "HTTP_404"},
        {"status": 503, "error_code": "READ_ONLY"},
        {"status": 302},
        {"latency": 0},
        {"latency": 12},
        {"route": "/api/questions/<int:question_id>"},
        {"extra": "fields are allowed"},
    ],
)
def test_conforming_request_lines_are_clean(changes):
    report = logcheck.check([line(**changes)])
    assert report.is_clean, report.explain()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json at all", r"line 1: not JSON: Expecting value"),
        ("[1, 2]", r"line 1: a JSON array, not a JSON object"),
        ('"just a string"', r"line 1: a JSON string, not a JSON object"),
        ("null", r"line 1: a JSON null, not a JSON object"),
        (line(latency=...), r"line 1: missing field 'latency'"),
        (line(error_code=...), r"line 1: missing field 'error_code'"),
        (line(request_id=""), r"request_id must be a non-empty string"),
        (line(request_id=7), r"request_id must be a non-empty string, got 7 \(integer\)"),
        (line(route=None), r"route must be a path or Flask rule starting with '/'"),
        (line(status="200"), r"status must be an integer HTTP status 100-599, got \"200\""),
        (line(status=True), r"status must be an integer .* got true \(boolean\)"),
        (line(status=200.0), r"status must be an integer"),
        (line(status=99), r"status must be an integer HTTP status 100-599, got 99"),
        (line(status=600, error_code="HTTP_600"), r"status must be an integer"),
        (line(latency="24ms"), r"latency must be a number of milliseconds >= 0"),
        (line(latency=-0.5), r"latency must be a number of milliseconds >= 0, got -0.5"),
        (line(latency=False), r"latency must be .* got false \(boolean\)"),
        (line(latency=None), r"latency must be .* got null"),
        (line(status=500), r"line 1: error_code is null but status is 500"),
        (line(status=200, error_code="OK"), r"error_code is \"OK\" .* status 200 is a success"),
        (line(status=404, error_code=""), r"error_code must be a non-empty string for status 404"),
        (line(status=404, error_code=404), r"error_code must be a non-empty string"),
        (line(status=500, error_code="HTTP_404"), r"'HTTP_404' does not match status 500"),
    ],
)
def test_each_broken_line_gets_a_plain_words_problem(text, problem):
    report = logcheck.check([text])
    assert not report.is_clean
    assert len(report.bad_lines) == 1
    assert any(re.search(problem, p) for p in report.problems), report.problems


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_latency_is_a_problem(value):
    text = line().replace("24.37", value)
    assert "latency must be" in logcheck.check([text]).explain()


def test_problems_carry_real_line_numbers_and_blank_lines_are_ignored():
    lines = [line(), "", "   ", line(status=500)]
    parsed = logcheck.parse(lines)
    assert [p.number for p in parsed] == [1, 4]
    assert parsed[1].problems == ["line 4: error_code is null but status is 500"]


def test_event_lines_are_only_checked_for_being_objects():
    lines = [
        '{"event": "startup", "message": "booting"}',
        '{"event": "migration_check", "state": "clean"}',
        line(),
    ]
    report = logcheck.check(lines)
    assert report.is_clean, report.explain()
    assert [len(report.request_lines), len(report.event_lines)] == [1, 2]


def test_every_line_lands_in_exactly_one_list():
    lines = [
        line(),
        '{"event": "x"}',
        "junk",
        line(status=500),
        "",
        line(status=404, error_code="A"),
    ]
    report = logcheck.check(lines)
    assert report.total == 5
    assert [len(report.request_lines), len(report.event_lines), len(report.bad_lines)] == [2, 1, 2]
    assert report.summary() == "5 lines: 2 request lines, 1 events, 2 bad lines"


def test_an_empty_log_is_not_clean_and_says_where_to_look():
    report = logcheck.check(["", '{"event": "startup"}'])
    assert not report.is_clean
    assert "no request line found: check that API_LOG_SOURCE" in report.explain()


def test_explain_shows_the_first_ten_problems_and_counts_the_rest():
    report = logcheck.check([f"junk {n}" for n in range(25)])
    text = report.explain()
    assert "line 10: not JSON" in text
    assert "line 11: not JSON" not in text
    assert "... and 15 more problems" in text
    assert text.startswith("25 lines: 0 request lines, 0 events, 25 bad lines")


def test_as_dict_carries_counts_and_a_masked_excerpt():
    report = logcheck.check([line(), "connecting to postgresql://app:hunter2@db/x failed"])
    data = report.as_dict()
    assert data["lines"] == 2 and data["bad_lines"] == 1 and data["request_lines"] == 1
    assert data["clean"] is False
    assert data["excerpt"] == ["2: connecting to postgresql://app:***@db/x failed"]
    assert "hunter2" not in json.dumps(data)


@pytest.mark.parametrize(
    "garbage",
    [
        "\x00\x01\x02\x03binary",
        "\udcff\udcfe\udcfd",
        "[" * 100_000,
        '{"a": ' * 50_000,
        "x" * (logcheck.MAX_LINE_CHARS + 1),
        '{"request_id": "a"' + " " * 10,
        "\ufeff" + line(),
    ],
)
def test_garbage_becomes_a_problem_never_an_exception(garbage):
    report = logcheck.check([garbage])
    assert len(report.bad_lines) == 1
    assert len(report.explain()) < 5_000
    report.explain().encode("utf-8")


def test_huge_valid_line_is_rejected_without_parsing():
    huge = line(route="/" + "a" * logcheck.MAX_LINE_CHARS)
    assert "characters long, not a request log line" in logcheck.check([huge]).explain()


# --- find_request --------------------------------------------------------------------------


def test_find_request_returns_the_request_lines_with_that_id():
    lines = [
        line(request_id="smoke-123", route="/api/questions", status=200),
        line(request_id="other"),
        '{"event": "audit", "request_id": "smoke-123"}',
        "junk",
    ]
    found = logcheck.find_request(lines, "smoke-123")
    assert found == [{**GOOD, "request_id": "smoke-123", "route": "/api/questions", "status": 200}]


def test_find_request_returns_nothing_for_an_unknown_id():
    assert logcheck.find_request([line()], "missing") == []


# --- migration_errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"event": "migration_check", "state": "mismatch", "levelname": "ERROR"}', "state"),
        ('{"event": "migration_check", "state": "pending", "level": "warning"}', "'pending'"),
        ('{"event": "migration_check", "level": "ERROR", "message": "boom"}', "level ERROR"),
        (
            '{"levelname": "ERROR", "message": "checksum mismatch for 0002_questions.sql"}',
            "migration error logged at level ERROR: checksum mismatch",
        ),
        (
            '{"severity": "critical", "msg": "schema_migrations query error: relation missing"}',
            "level CRITICAL",
        ),
        ("[2026-11-28 10:00:00] [ERROR] schema_migrations mismatch: 0003", "migration error"),
        ("2026-11-28 10:00:00 CRITICAL migration checksum differs", "migration error"),
        ('ts=1 level=error msg="version mismatch for 0004"', "migration error"),
        ("INFO migration_check state=mismatch versions=0001,0002", "state 'mismatch'"),
        ('{"levelname": "WARNING", "message": "migration_check state=pending"}', "'pending'"),
    ],
)
def test_migration_errors_are_found(text, reason):
    found = logcheck.migration_errors(["", text])
    assert len(found) == 1
    assert found[0].number == 2
    assert reason in found[0].problems[0]
    assert found[0].problems[0].startswith("line 2: ")


@pytest.mark.parametrize(
    "text",
    [
        '{"event": "migration_check", "state": "clean", "levelname": "INFO"}',
        '{"event": "migration_check", "state": "ok"}',
        '{"levelname": "INFO", "message": "migration_check state=clean applied=7"}',
        "2026-11-28 10:00:00 INFO migration_check state=clean",
        '{"levelname": "INFO", "message": "checksum verified for 0002"}',
        '{"levelname": "ERROR", "message": "question 7 not found"}',
        "INFO no schema_migrations error found",
        line(route="/api/checksum", status=500, error_code="HTTP_500"),
        "WARNING checksum of upload differs from client value",
        "\udcff garbage",
    ],
)
def test_normal_lines_are_not_migration_errors(text):
    assert logcheck.migration_errors([text]) == []


def test_startup_migration_checks_are_found_and_judged():
    lines = [
        '{"event": "migration_check", "state": "clean", "level": "INFO"}',
        '{"request_id": "a", "route": "/health", "status": 200, "latency": 1, "error_code": null}',
        '{"event": "migration_check", "state": "mismatch", "level": "ERROR"}',
    ]
    found = logcheck.migration_checks(lines)
    assert [ln.data["state"] for ln in found] == ["clean", "mismatch"]
    assert logcheck.is_clean_state("OK") and not logcheck.is_clean_state("pending")
