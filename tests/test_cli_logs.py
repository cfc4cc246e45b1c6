"""`releaseops logs FILE [--json]`: exit codes, line numbers, JSON output."""

import json
import subprocess
import sys

import pytest

from releaseops.cli import logs

GOOD = '{"request_id":"a","route":"/x","status":200,"latency":1.5,"error_code":null,"method":"GET"}'


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "releaseops.cli.main", "logs", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_clean_log_exits_0(tmp_path):
    log = tmp_path / "api.log"
    log.write_text(GOOD + "\n")
    done = run(str(log))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 lines: 1 request lines, 0 events, 0 bad lines; defects: none"


def test_defects_exit_1_with_their_line_numbers(tmp_path):
    log = tmp_path / "api.log"
    log.write_bytes(GOOD.encode() + b"\r\n\n" + GOOD.encode() + b"\njunk\n")
    done = run(str(log))
    assert done.returncode == 1
    assert done.stdout.splitlines()[:3] == [
        "2: blank_line: empty line",
        "3: duplicate_request_id: request_id 'a' was already used on line 1",
        "4: not_json: not JSON: Expecting value: line 1 column 1 (char 0): junk",
    ]


def test_json_output_lists_each_defect_with_line_kind_and_detail(tmp_path):
    log = tmp_path / "api.log"
    log.write_bytes(b"\xff\n" + GOOD.encode())
    done = run(str(log), "--json")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["lines"] == 2 and result["request_lines"] == 1
    assert result["defects"] == [
        {"line": 1, "kind": "invalid_utf8", "detail": "byte 0 is not UTF-8 (invalid start byte)"}
    ]
    assert result["defect_counts"] == {"invalid_utf8": 1}


def test_routes_adds_the_latency_figures(tmp_path):
    log = tmp_path / "api.log"
    log.write_text(GOOD + "\n" + GOOD.replace('"a"', '"b"').replace("1.5", "3.5") + "\n")
    result = json.loads(run(str(log), "--json", "--routes").stdout)
    assert result["routes"]["GET /x"] == {
        "requests": 2,
        "errors_5xx": 0,
        "error_rate": 0.0,
        "p50": 2.5,
        "p95": 3.4,
        "p99": 3.48,
    }


def test_standard_input_is_read_with_a_dash():
    done = run("-", "--json", stdin=(GOOD + "\n").encode())
    assert done.returncode == 0 and json.loads(done.stdout)["request_lines"] == 1


def test_max_defects_limits_the_list_not_the_counts(tmp_path, capsys):
    log = tmp_path / "api.log"
    log.write_text("junk\n" * 5)
    assert logs.main([str(log), "--max-defects", "2"]) == 1
    out = capsys.readouterr().out
    assert "... and 3 more defects (--max-defects)" in out and "defects: 5 not_json" in out


def test_a_missing_file_exits_2_with_one_line(tmp_path):
    done = run(str(tmp_path / "nowhere.log"))
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"error: cannot read {tmp_path / 'nowhere.log'}: No such file or directory"
    )


@pytest.mark.parametrize("args", [[], ["--max-defects", "-1", "x"], ["--bogus", "x"]])
def test_usage_errors_exit_2(args):
    assert run(*args).returncode == 2


def test_help_names_the_exit_codes_and_an_example():
    done = run("--help")
    assert done.returncode == 0
    assert "1   defects found" in done.stdout and "Example:  releaseops logs" in done.stdout
