"""Bounded load on the reference service: loopback only, at most 60 s of traffic in all.

Starts the embedded target (a throwaway cluster and the service under gunicorn on 127.0.0.1,
seeded as the rehearsal seeds it), then drives it from a pool of client threads:

  mixed   reads (health, list, get, search) and writes (create, patch, delete, classify)
  frozen  the service restarted with DB_READ_ONLY=1 and a write-heavy mix; the database's
          fingerprint (every object and every table's content) is taken before and after

and reports, per phase, requests/s and p50/p95/p99 latency. It checks:
  - 0 server errors (any 5xx except the documented 503 READ_ONLY refusal of a frozen write);
  - every line the service logged conforms to the log standard (releaseops logcheck);
  - 0 rows changed under DB_READ_ONLY=1 (the two fingerprints are equal), and every write
    of the frozen phase was refused.
Exit 0 when every check holds, 1 otherwise; the last line printed is one JSON document.

Example:  .venv/bin/python bench/bench_load.py --duration 25 --clients 8
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from releaseops.backup import fingerprint
from releaseops.backup.fingerprint_diff import diff
from releaseops.rehearsal.embedded import EmbeddedTarget
from releaseops.service import logcheck

REPO = Path(__file__).resolve().parents[1]
MAX_TOTAL_S = 60.0
WORDS = ["photosynthesis", "chlorophyll", "mitochondria", "respiration", "enzyme", "cell"]


@dataclass
class Tally:
    """What one phase saw: latencies, statuses, server errors, refused writes."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    writes: int = 0
    refused: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, label: str, response: requests.Response, took: float, *, write: bool) -> None:
        """Count one response."""
        refusal = response.status_code == 503 and _code(response) == "READ_ONLY"
        with self.lock:
            self.latencies.append(took)
            self.statuses[f"{label} {response.status_code}"] += 1
            self.writes += write
            self.refused += write and refusal
            if response.status_code >= 500 and not refusal:
                self.server_errors.append(f"{label} {response.status_code} {response.text[:200]}")

    def summary(self) -> dict[str, Any]:
        """The phase's figures (milliseconds)."""
        cuts = statistics.quantiles(self.latencies, n=100) if len(self.latencies) > 1 else [0] * 99
        return {
            "requests": len(self.latencies),
            "seconds": round(self.seconds, 2),
            "requests_per_s": round(len(self.latencies) / self.seconds, 1),
            "p50_ms": round(cuts[49] * 1000, 1),
            "p95_ms": round(cuts[94] * 1000, 1),
            "p99_ms": round(cuts[98] * 1000, 1),
            "max_ms": round(max(self.latencies) * 1000, 1),
            "server_errors": len(self.server_errors),
            "writes": self.writes,
            "writes_refused": self.refused,
            "statuses": dict(sorted(self.statuses.items())),
        }


def _code(response: requests.Response) -> str | None:
    try:
        return str(response.json().get("error_code"))
    except ValueError:
        return None


class Client:
    """One client thread's session and request mix."""

    def __init__(self, base: str, token: str, ids: list[int], seed: int, *, frozen: bool) -> None:
        self.base, self.ids, self.frozen = base, ids, frozen
        self.rnd = random.Random(seed)
        self.seed = seed
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.mine: list[int] = []
        self.made = 0

    def call(self, tally: Tally, label: str, method: str, path: str, **kw: Any) -> Any:
        """One request, timed and counted."""
        started = time.perf_counter()
        response = self.session.request(method, self.base + path, timeout=30, **kw)
        tally.add(label, response, time.perf_counter() - started, write=method != "GET")
        return response

    def read(self, tally: Tally) -> None:
        """One read: health, a page, a question, or a search."""
        pick = self.rnd.random()
        if pick < 0.15:
            self.call(tally, "health", "GET", "/health")
        elif pick < 0.35:
            self.call(tally, "list", "GET", "/api/manage/questions?per_page=20")
        elif pick < 0.6:
            self.call(tally, "get", "GET", f"/api/manage/questions/{self.rnd.choice(self.ids)}")
        else:
            words = " ".join(self.rnd.sample(WORDS, 2))
            self.call(tally, "search", "GET", "/api/retrieval/search", params={"q": words})

    def write(self, tally: Tally) -> None:
        """One write: create, patch, delete (our own rows) or classify."""
        pick = self.rnd.random()
        if pick < 0.3 or (not self.mine and not self.frozen):
            self.made += 1
            body = {"ref": f"load-{self.seed}-{self.made}", "subject": "load", "stem": "A stem?"}
            made = self.call(tally, "create", "POST", "/api/manage/questions", json=body)
            if made.status_code == 201:
                self.mine.append(int(made.json()["id"]))
            return
        target = self.rnd.choice(self.mine or self.ids)
        if pick < 0.55:
            body = {"stem": f"Edited {self.made}?"}
            self.call(tally, "patch", "PATCH", f"/api/manage/questions/{target}", json=body)
        elif pick < 0.75 and self.mine:
            self.call(tally, "delete", "DELETE", f"/api/manage/questions/{self.mine.pop()}")
        else:
            body = {"question_id": self.rnd.choice(self.ids)}
            self.call(tally, "classify", "POST", "/api/ai/classify", json=body)


def drive(clients: list[Client], seconds: float, write_share: float) -> Tally:
    """Every client loops until the deadline; returns what the phase saw."""
    tally = Tally()
    deadline = time.monotonic() + seconds

    def loop(client: Client) -> None:
        while time.monotonic() < deadline:
            if client.rnd.random() < write_share:
                client.write(tally)
            else:
                client.read(tally)

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.seconds = time.perf_counter() - started
    return tally


def question_ids(base: str, token: str) -> list[int]:
    """The seeded questions' ids (the first page of 100)."""
    page = requests.get(
        f"{base}/api/manage/questions?per_page=100",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    page.raise_for_status()
    return [int(item["id"]) for item in page.json()["items"]]


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start the target, run both phases, check the logs; the figures and verdicts."""
    target = EmbeddedTarget(REPO, workdir)
    try:
        target.start()
        assert target.service is not None and target.db is not None
        base, token = target.service.base_url, target.token
        ids = question_ids(base, token)
        mixed = drive(
            [Client(base, token, ids, n, frozen=False) for n in range(args.clients)],
            args.duration,
            write_share=0.2,
        )
        target.restart_service(DB_READ_ONLY="1")
        before = fingerprint.take(target.db)
        frozen = drive(
            [Client(base, token, ids, 100 + n, frozen=True) for n in range(args.clients)],
            args.duration,
            write_share=0.8,
        )
        after = fingerprint.take(target.db)
        changes = diff(before, after, a_label="before", b_label="after")
        logs = logcheck.check_source(f"file:{target.log_path}")
    finally:
        target.stop()
    return report(args, mixed, frozen, changes.as_dict(), logs)


def report(
    args: argparse.Namespace, mixed: Tally, frozen: Tally, changes: dict[str, Any], logs: Any
) -> dict[str, Any]:
    """The figures and the three checks."""
    errors = mixed.server_errors + frozen.server_errors
    checks = {
        "no_server_errors": not errors,
        "every_log_line_conforms": logs.format_defect_count == 0 and logs.is_clean,
        "no_rows_changed_while_frozen": changes["equal"],
        "every_frozen_write_refused": frozen.refused == frozen.writes > 0,
    }
    return {
        "clients": args.clients,
        "duration_s": args.duration,
        "mixed": mixed.summary(),
        "frozen": frozen.summary(),
        "server_error_samples": errors[:5],
        "log": {"summary": logs.summary(), "problems": logs.problems[:5]},
        "fingerprint": {"equal": changes["equal"], "differences": len(changes["differences"])},
        "checks": checks,
        "ok": all(checks.values()),
    }


def print_human(result: dict[str, Any]) -> None:
    """A short table, then the checks."""
    for phase in ("mixed", "frozen"):
        s = result[phase]
        print(  # noqa: T201
            f"{phase:7} {s['requests']:6} requests in {s['seconds']:5.1f} s = "
            f"{s['requests_per_s']:7.1f} req/s  p50 {s['p50_ms']:6.1f} ms  p95 "
            f"{s['p95_ms']:6.1f} ms  p99 {s['p99_ms']:6.1f} ms  server errors "
            f"{s['server_errors']}  writes refused {s['writes_refused']}/{s['writes']}"
        )
    print(f"log: {result['log']['summary']}")  # noqa: T201
    for name, passed in result["checks"].items():
        print(f"{'PASS' if passed else 'FAIL'} {name}")  # noqa: T201


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run, print; 0 when every check holds."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--duration", type=float, default=25.0, help="seconds per phase (default 25)")
    p.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    args = p.parse_args(argv)
    if not 0 < args.duration * 2 <= MAX_TOTAL_S or args.clients < 1:
        p.error(f"two phases of --duration must fit in {MAX_TOTAL_S:g} s; --clients >= 1")
    with tempfile.TemporaryDirectory(prefix="releaseops-bench-load-") as workdir:
        result = run(args, Path(workdir))
    print_human(result)
    print(json.dumps(result))  # noqa: T201
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
