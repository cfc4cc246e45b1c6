"""The HTTP request log standard: reading the log source, checking lines, finding requests."""

import io
import json
import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from releaseops.errors import ConfigurationError, LogSourceError
from releaseops.service import logcheck, logline, logscan

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
    assert (report.scan.bad_lines, report.scan.request_lines) == (1, 1)
    assert report.scan.counts == {"invalid_utf8": 1}
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


# --- open_source: the streaming reader -------------------------------------------------------


def test_file_source_streams_the_bytes(tmp_path):
    (tmp_path / "api.log").write_bytes(b"a\r\nb\n")
    with logcheck.open_source("file:api.log", cwd=tmp_path) as stream:
        assert stream.read() == b"a\r\nb\n"


def test_missing_streamed_file_is_named(tmp_path):
    missing = f"file:{tmp_path / 'nowhere.log'}"
    with (
        pytest.raises(LogSourceError, match=r"log file .*nowhere\.log .*does not exist"),
        logcheck.open_source(missing),
    ):
        pass


def test_command_stream_gives_stdout_and_reports_a_failure_after_reading():
    script = "import sys; print('one'); sys.stderr.write('boom'); sys.exit(4)"
    with (
        pytest.raises(LogSourceError, match=r"exited with code 4: boom"),
        logcheck.open_source(f'cmd:{sys.executable} -c "{script}"') as stream,
    ):
        assert stream.read() == b"one\n"


def test_command_stream_that_runs_too_long_is_stopped():
    script = "import time; print('x', flush=True); time.sleep(30)"
    source = f'cmd:{sys.executable} -c "{script}"'
    with (
        pytest.raises(LogSourceError, match=r"did not finish within 0.5 s"),
        logcheck.open_source(source, timeout=0.5) as stream,
    ):
        stream.read()


def test_command_stream_of_a_missing_tool_is_named():
    with (
        pytest.raises(LogSourceError, match=r"no-such-log-tool not found"),
        logcheck.open_source("cmd:no-such-log-tool --tail=200"),
    ):
        pass


# --- the engine: every defect kind at its line, no false alarm on tricky valid lines ---------


def raw_line(**changes):
    return line(**changes).encode()


DEFECTS = [
    (raw_line(request_id="r1"), ""),
    (b"", "blank_line"),
    (b"  \t ", "whitespace_line"),
    (
        b'{"request_id":"r2\xff","route":"/a","status":200,"latency":1,"error_code":null}',
        "invalid_utf8",
    ),
    (
        b'{"request_id":"r3\\ud800","route":"/a","status":200,"latency":1,"error_code":null}',
        "lone_surrogate",
    ),
    (
        b'{"request_id":"r4","route":"/a","route":"/b","status":200,"latency":1,"error_code":null}',
        "duplicate_key",
    ),
    (raw_line(request_id="r1"), "duplicate_request_id"),
    (b"Traceback (most recent call last):", "not_json"),
    (b"[1, 2]", "not_object"),
    (raw_line(request_id="r5", latency=...), "missing_field"),
    (raw_line(request_id="r6", status="200"), "wrong_type"),
    (raw_line(request_id="r7", latency=-1), "bad_value"),
    (raw_line(request_id="r8", status=500), "inconsistent_error_code"),
    (
        b'{"message": "migration mismatch: 0002_documents.sql was edited after it was applied"}',
        "migration_mismatch",
    ),
    (b"ERROR schema_migrations mismatch: 0003", "not_json migration_mismatch"),
    (raw_line(request_id="r9", status=503, error_code="MIGRATION_MISMATCH"), "migration_mismatch"),
    (b'{"a":"' + b"x" * 1_000_001 + b'"}', "too_long"),
    (
        b'{"event": "request finished", "request_id": "s1", "route": "/x", "status": "ok", '
        b'"latency": 1, "error_code": null}',
        "wrong_type",
    ),
    (
        b'{"request_id": "s2", "route": "/x", "route" : "/y", "status": 200, "latency": 1, '
        b'"error_code": null}',
        "duplicate_key",
    ),
    (b'{"request_id":"r10","route":"/a","status":NaN,"latency":1,"error_code":null}', "not_json"),
    (b"   \r", "whitespace_line"),
]
TRICKY_VALID = [
    '{"request_id":"u1","route":"/api/search","status":200,"latency":1.5,"error_code":null,'
    '"q":"café 日本 😀"}'.encode(),
    b'{"request_id":"u2","route":"/api/search","status":200,"latency":1.5,"error_code":null,'
    b'"q":"caf\\u00e9 \\ud83d\\ude00"}',
    raw_line(request_id="u3", latency=12),
    raw_line(request_id="u4", latency=0),
    raw_line(request_id="u5") + b"\r",
    b'{"error_code":null,"latency":3.1,"status":200,"route":"/health","request_id":"u6"}',
    b'{"request_id":"u7","route":"/x","status":200,"latency":1,"error_code":null}',
    b'{"request_id":"u8","route":"\\/api\\/manage\\/questions","status":200,"latency":1,'
    b'"error_code":null}',
    raw_line(request_id="u9", status=404, error_code="NOT_FOUND"),
    raw_line(request_id="u10", status=404, error_code="HTTP_404"),
    raw_line(request_id="u11", status=302),
    raw_line(request_id="u12", status=301, error_code=None),
    b'{"event": "startup", "state": "starting"}',
    b'{"event": "question created", "request_id": "ctx-1"}',
    b'{"event":"x","n":123456789012345678901234567890}',
    b'{"event":"x","detail":{"a":"b\\":c","b":{"c":1}}}',
    b'{"request_id" : "u13", "route" : "/x", "status" : 200, "latency" : 1, "error_code" : null}',
    b'{"event": "migration_check", "state": "clean", "level": "INFO", '
    b'"message": "migrations clean: nothing pending, nothing edited"}',
    b'{"level": "INFO", "message": "checksum verified for 0002"}',
    raw_line(request_id="u14", route="/api/checksum", status=500, error_code="HTTP_500"),
    raw_line(request_id="u15", latency=1e-9),
]


def corpus():
    lines = [raw for raw, _ in DEFECTS] + TRICKY_VALID
    expected = sorted(
        (number, kind)
        for number, (_, kinds) in enumerate(DEFECTS, start=1)
        for kind in kinds.split()
    )
    return lines, expected


def found(report):
    return sorted((d.line, d.kind) for d in report.defects)


@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize("block_bytes", [4096, 1 << 18])
def test_every_defect_kind_is_reported_at_its_line_and_no_tricky_line_is(
    final_newline, block_bytes
):
    lines, expected = corpus()
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    report = logscan.scan(logscan.iter_blocks(io.BytesIO(data), block_bytes))
    assert found(report) == expected
    assert report.lines == len(lines)
    assert report.request_lines == 1 + 16  # r1, and the tricky request lines


def test_the_corpus_covers_every_defect_kind():
    _, expected = corpus()
    assert {kind for _, kind in expected} == set(logline.KINDS)


def test_blocks_of_lines_give_the_same_defects_as_a_stream():
    lines, expected = corpus()
    for size in (1, 3, 4096):
        assert found(logscan.scan(logscan.blocks_of(lines, size))) == expected


@pytest.mark.parametrize("separator", [b" :", b"  :", b"\t:", b"\r:", b" \t :"])
def test_a_duplicate_key_hidden_behind_a_spaced_colon_is_found(separator):
    # As many `":` as keys: only the spaced colon tells that a key may be repeated.
    raw = b'{"event": "x", "a"' + separator + b' 1, "a": 2}'
    report = logscan.scan(logscan.blocks_of([raw_line(request_id="ok"), raw]))
    assert found(report) == [(2, "duplicate_key")]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=120) | st.sampled_from(TRICKY_VALID), max_size=25))
def test_any_bytes_are_judged_and_each_line_lands_in_exactly_one_count(pieces):
    lines = [piece.replace(b"\n", b"") for piece in pieces]
    report = logscan.scan(logscan.blocks_of(lines, 7))
    assert report.lines == len(lines)
    assert report.request_lines + report.event_lines + report.bad_lines == len(lines)
    data = b"".join(line + b"\n" for line in lines)
    streamed = logscan.scan(logscan.iter_blocks(io.BytesIO(data), 64))
    assert found(streamed) == found(report)


@settings(max_examples=100, deadline=None)
@given(
    extra=st.dictionaries(
        st.text(min_size=1, max_size=6).filter(lambda k: k not in GOOD and k != "event"),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        max_size=4,
    ),
    ascii_only=st.booleans(),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (" , ", " : ")]),
)
def test_a_conforming_request_line_is_clean_whatever_else_it_holds(extra, ascii_only, separators):
    data = {**extra, **GOOD}
    text = json.dumps(data, ensure_ascii=ascii_only, separators=separators)
    report = logcheck.check([text])
    assert report.is_clean, report.explain()


def test_a_line_is_bad_once_however_many_defects_it_has():
    report = logcheck.check([line(status="x", latency="y", error_code=...)])
    assert report.scan.bad_lines == 1
    assert sorted(report.scan.counts.elements()) == ["missing_field", "wrong_type", "wrong_type"]


def test_duplicate_request_ids_are_found_across_blocks_and_generations():
    lines = [raw_line(request_id=f"id-{n}") for n in range(30)] + [raw_line(request_id="id-19")]
    report = logscan.scan(logscan.blocks_of(lines, 4), duplicate_window=10)
    assert found(report) == [(31, "duplicate_request_id")]
    assert "already used on line 20" in report.defects[0].detail


def test_duplicate_request_ids_farther_apart_than_two_windows_are_not_remembered():
    lines = [raw_line(request_id=f"id-{n}") for n in range(30)] + [raw_line(request_id="id-0")]
    report = logscan.scan(logscan.blocks_of(lines, 4), duplicate_window=5)
    assert found(report) == []


def test_kept_defects_are_limited_but_counted_in_full():
    report = logscan.scan(logscan.blocks_of([b"junk"] * 50), max_defects=5)
    assert len(report.defects) == 5 and report.counts["not_json"] == 50
    assert report.as_dict()["defects_not_shown"] == 45


def test_observers_see_each_conforming_request_line_once():
    seen = []
    lines = [
        raw_line(request_id="a"),
        b"junk",
        raw_line(request_id="b", status=404, error_code="HTTP_404"),
        raw_line(request_id="a"),
        b'{"event":"x"}',
    ]
    logscan.scan(logscan.blocks_of(lines, 2), [seen.extend])
    assert [(n, d["request_id"]) for n, d in seen] == [(1, "a"), (3, "b")]


def test_a_duplicate_key_found_late_takes_the_line_from_the_observers():
    seen = []
    dup = b'{"request_id":"d","route":"/a","route":"/b","status":200,"latency":1,"error_code":null}'
    report = logscan.scan(logscan.blocks_of([raw_line(request_id="a"), dup]), [seen.extend])
    assert [n for n, _ in seen] == [1]
    assert (report.request_lines, report.bad_lines) == (1, 1)


def test_an_over_long_line_is_cut_and_the_rest_of_the_stream_still_read():
    data = b"x" * 3_000_000 + b"\n" + raw_line(request_id="after") + b"\n"
    report = logscan.scan(logscan.iter_blocks(io.BytesIO(data), 1 << 16))
    assert found(report) == [(1, "too_long")]
    assert report.request_lines == 1


# --- logcheck: what the checks ask ----------------------------------------------------------


def test_the_checklist_example_line_conforms():
    example = (
        '{"request_id":"8fe6034b249d45f6be08b9267f444e18","route":"/api/manage/upload-pdf",'
        '"status":201,"latency":24.37,"error_code":null}'
    )
    report = logcheck.check([example])
    assert report.is_clean, report.explain()
    assert "every request line follows the log standard" in report.explain()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json at all", r"line 1: not JSON: Expecting value"),
        ("[1, 2]", r"line 1: a JSON array, not a JSON object"),
        ('"just a string"', r"line 1: a JSON string, not a JSON object"),
        (line(latency=...), r"line 1: missing field 'latency'"),
        (line(error_code=...), r"line 1: missing field 'error_code'"),
        (line(request_id=""), r"request_id must be a non-empty string"),
        (line(request_id="  "), r"request_id must be a non-empty string"),
        (line(request_id=7), r"request_id must be a non-empty string, got 7 \(integer\)"),
        (line(route=None), r"route must be a string, got null"),
        (line(route="health"), r"route must be a path or Flask rule starting with '/'"),
        (line(status="200"), r"status must be an integer HTTP status 100-599, got \"200\""),
        (line(status=True), r"status must be an integer .* got true \(boolean\)"),
        (line(status=200.0), r"status must be an integer"),
        (line(status=99), r"status must be an integer HTTP status 100-599, got 99"),
        (line(latency="24ms"), r"latency must be a number of milliseconds >= 0"),
        (line(latency=-0.5), r"latency must be a number of milliseconds >= 0, got -0.5"),
        (line(latency=False), r"latency must be .* got false \(boolean\)"),
        (line(latency=None), r"latency must be .* got null"),
        (line(status=500), r"line 1: error_code is null but status is 500"),
        (line(status=200, error_code="OK"), r"error_code is \"OK\" .* status 200 is a success"),
        (line(status=404, error_code=""), r"error_code must be a non-empty string for status 404"),
        (line(status=404, error_code=" "), r"error_code must be a non-empty string for status"),
        (line(status=404, error_code=404), r"error_code must be a non-empty string"),
        (line(status=500, error_code="HTTP_404"), r"'HTTP_404' does not match status 500"),
    ],
)
def test_each_broken_line_gets_a_plain_words_problem(text, problem):
    report = logcheck.check([text])
    assert not report.is_clean
    assert report.scan.bad_lines == 1
    assert any(re.search(problem, p) for p in report.problems), report.problems


def test_an_event_key_does_not_exempt_a_request_line_from_the_standard():
    structlog = {"event": "request finished", "level": "info", **GOOD, "status": "200"}
    report = logcheck.check([json.dumps(structlog)])
    assert report.problems == [
        'line 1: status must be an integer HTTP status 100-599, got "200" (string)'
    ]


def test_events_and_context_lines_without_request_fields_are_not_request_lines():
    lines = [
        '{"event": "startup", "message": "booting"}',
        '{"event": "migration_check", "state": "clean"}',
        '{"event": "question created", "request_id": "abc"}',
        '{"level": "INFO", "message": "hello"}',
        line(),
    ]
    report = logcheck.check(lines)
    assert report.is_clean, report.explain()
    assert (report.scan.request_lines, report.scan.event_lines) == (1, 4)


def test_counts_and_summary_cover_every_line():
    lines = [
        line(),
        '{"event": "x"}',
        "junk",
        line(request_id="b", status=500),
        "",
        line(request_id="c", status=404, error_code="A"),
    ]
    report = logcheck.check(lines)
    assert report.total == 6
    assert report.summary() == "6 lines: 2 request lines, 1 events, 3 bad lines"


def test_an_empty_log_is_not_clean_and_says_where_to_look():
    report = logcheck.check(['{"event": "startup"}'])
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
    assert data["clean"] is False and data["defect_counts"] == {"not_json": 1}
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
        "\ud800 a lone surrogate in the text itself",
    ],
)
def test_garbage_becomes_a_problem_never_an_exception(garbage):
    report = logcheck.check([garbage])
    assert report.scan.bad_lines == 1
    assert len(report.explain()) < 5_000
    report.explain().encode("utf-8")


def test_huge_valid_line_is_rejected_without_parsing():
    huge = line(route="/" + "a" * logcheck.MAX_LINE_CHARS)
    assert "longer than 1000000 bytes" in logcheck.check([huge]).explain()


def test_check_source_reads_the_whole_file_in_one_pass(tmp_path):
    log = tmp_path / "api.log"
    log.write_text(line() + "\n" + "junk\n" + '{"event": "migration_check", "state": "mismatch"}\n')
    report = logcheck.check_source(f"file:{log}")
    assert report.problems == ["line 2: not JSON: Expecting value: line 1 column 1 (char 0): junk"]
    assert [d.text() for d in report.migration_errors] == [
        "line 3: migration check reported state 'mismatch'"
    ]


# --- find_request ---------------------------------------------------------------------------


def test_find_request_returns_the_request_lines_with_that_id():
    lines = [
        line(request_id="smoke-123", route="/api/questions", status=200),
        line(request_id="other"),
        '{"event": "audit", "request_id": "smoke-123"}',
        "junk",
    ]
    found_lines = logcheck.find_request(lines, "smoke-123")
    assert found_lines == [
        {**GOOD, "request_id": "smoke-123", "route": "/api/questions", "status": 200}
    ]


def test_find_request_returns_nothing_for_an_unknown_id():
    assert logcheck.find_request([line()], "missing") == []


# --- migration_errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"event": "migration_check", "state": "mismatch", "levelname": "ERROR"}', "state"),
        ('{"event": "migration_check", "state": "pending", "level": "warning"}', "'pending'"),
        ('{"event": "migration_check", "level": "ERROR", "message": "boom"}', "level ERROR"),
        (
            '{"levelname": "ERROR", "message": "checksum mismatch for 0002_questions.sql"}',
            "migration mismatch logged: checksum mismatch",
        ),
        (
            '{"severity": "critical", "msg": "schema_migrations query error: relation missing"}',
            "level CRITICAL",
        ),
        (
            '{"message": "migration mismatch: 0002_x.sql was edited after it was applied"}',
            "migration mismatch logged",
        ),
        ('{"event": "applied migrations mismatch the files", "level": "info"}', "mismatch"),
        ('{"msg": "found mismatched migrations: 0003"}', "mismatch"),
        (
            '{"route": "/api/x", "status": 503, "error_code": "MIGRATION_PENDING"}',
            "error_code 'MIGRATION_PENDING'",
        ),
        ("[2026-11-28 10:00:00] [ERROR] schema_migrations mismatch: 0003", "migration"),
        ("2026-11-28 10:00:00 CRITICAL migration checksum differs", "migration"),
        ('ts=1 level=error msg="version mismatch for 0004"', "migration error"),
        ("INFO migration_check state=mismatch versions=0001,0002", "state 'mismatch'"),
        ('{"levelname": "WARNING", "message": "migration_check state=pending"}', "'pending'"),
        ("migration mismatch: 0002_documents.sql was edited after it was applied", "mismatch"),
    ],
)
def test_migration_errors_are_found(text, reason):
    errors = logcheck.migration_errors(["", text])
    assert len(errors) == 1
    assert errors[0].number == 2
    assert reason in errors[0].problems[0]
    assert errors[0].problems[0].startswith("line 2: ")


@pytest.mark.parametrize(
    "text",
    [
        '{"event": "migration_check", "state": "clean", "levelname": "INFO"}',
        '{"event": "migration_check", "state": "ok"}',
        '{"levelname": "INFO", "message": "migration_check state=clean applied=7"}',
        "2026-11-28 10:00:00 INFO migration_check state=clean",
        '{"levelname": "INFO", "message": "checksum verified for 0002"}',
        '{"levelname": "INFO", "message": "migrations checksum verified"}',
        '{"levelname": "ERROR", "message": "question 7 not found"}',
        '{"levelname": "ERROR", "message": "checksum of upload 7 differs"}',
        '{"message": "no migration mismatch found"}',
        "INFO no schema_migrations error found",
        line(route="/api/checksum", status=500, error_code="HTTP_500"),
        line(route="/api/migrations/mismatch"),
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
    found_lines = logcheck.migration_checks(lines)
    assert [ln.data["state"] for ln in found_lines] == ["clean", "mismatch"]
    assert logcheck.is_clean_state("OK") and not logcheck.is_clean_state("pending")
