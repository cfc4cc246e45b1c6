"""Run the previous release against the migrated copy and see whether it still works.

During a deploy the previous release keeps serving traffic while the migrations run, and until
the new release has replaced it (expand/contract). A migration that drops or renames what it
reads or writes breaks production before the new code is even up. `survives()` starts the
previous release on the migrated drill copy (a `PreviousRelease`), walks its smoke paths
(`service.smoke_paths`: reads and writes, which a throwaway copy can take), and when a request
fails names the pending statements that contract the schema, first those the failure quotes
(`migrations.contracting`).

The database is ahead of the previous release's code, as it is for the running release during
a deploy, so it is started with its startup migration guard off (CHECK_PENDING_MIGRATIONS=0,
FAIL_ON_PENDING_MIGRATIONS=0). An env target starts it with PREVIOUS_RELEASE_COMMAND
(`runbook.previous_command`); the embedded rehearsal with its own service process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from releaseops import dburl, migrations
from releaseops.dburl import DatabaseUrl
from releaseops.errors import ServiceFailedToStart
from releaseops.migrations import contracting
from releaseops.migrations import files as migration_files
from releaseops.migrations.contracting import Suspect
from releaseops.migrations.files import MigrationFile
from releaseops.service import http, smoke_paths
from releaseops.service.smoke_paths import Call

GUARD_OFF = {"CHECK_PENDING_MIGRATIONS": "0", "FAIL_ON_PENDING_MIGRATIONS": "0"}
LOG_CHARS = 200_000
EXCERPT_LINES = 12
RECIPE = (
    "Expand/contract: keep what the running release reads and writes until it is retired; add "
    "the new shape first (a new column or table, written by both releases), switch the code, "
    "and drop or rename the old one in a later release."
)


@dataclass(frozen=True)
class RunningRelease:
    """The previous release while it runs: where it answers, and where its log goes."""

    base_url: str
    description: str
    log_path: Path | None = None
    log_offset: int = 0

    def log_text(self) -> str:
        """What it logged since it started (at most the last LOG_CHARS characters), masked."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            text = log.read().decode("utf-8", errors="replace")
        return dburl.mask(text[-LOG_CHARS:])


class PreviousRelease(Protocol):
    """Starts the previous release's code against a database, for the time of a `with` block."""

    @property
    def description(self) -> str:
        """What is started, for the evidence (never a secret)."""
        ...

    def serve(self, database: DatabaseUrl) -> AbstractContextManager[RunningRelease]:
        """Start it on `database`; stop it when the block ends. ServiceFailedToStart if not."""
        ...


@dataclass(frozen=True)
class Survival:
    """How the previous release fared on the migrated copy, and which statements broke it."""

    release: str
    database: str
    calls: list[Call]
    suspects: list[Suspect] = field(default_factory=list)
    log_excerpt: str = ""
    start_error: str | None = None

    @property
    def failed(self) -> list[Call]:
        """The smoke requests that did not get an expected answer."""
        return [call for call in self.calls if not call.ok]

    @property
    def ok(self) -> bool:
        """True when it started and answered every smoke request as expected."""
        return self.start_error is None and bool(self.calls) and not self.failed

    def explain(self) -> str:
        """What passed; or what failed first and the statement that broke it, then the details.

        The first two lines carry the essentials (the first failing request, the statement
        blamed): a report shows the start of a long message.
        """
        if self.ok:
            reads = sum(call.kind == "read" for call in self.calls)
            return (
                f"{self.release} answered all {len(self.calls)} smoke requests ({reads} reads, "
                f"{len(self.calls) - reads} writes) against the migrated copy {self.database}"
            )
        if self.start_error is not None:
            head = f"{self.release} did not start against the migrated copy: {self.start_error}"
            details: list[str] = []
        else:
            failed = self.failed
            head = (
                f"{self.release} fails against the migrated copy: {failed[0].line(120)} "
                f"({len(failed)} of {len(self.calls)} smoke requests failed)"
            )
            details = ["failed requests:", *(f"  {call.line()}" for call in failed)]
        where = f"the migrated copy: {self.database}"
        return "\n".join([head, *self._blame(), *details, where, RECIPE])

    def _blame(self) -> list[str]:
        if not self.suspects:
            return [
                "no pending statement drops, renames, retypes or constrains anything; the "
                f"previous release's log says:\n{self.log_excerpt or '(nothing logged)'}"
            ]
        named = [s for s in self.suspects if s.named]
        if named:
            return [f"broken by {s.describe()}" for s in named]
        head = "no statement is named by the error; the pending statements that may break it:"
        return [head, *(f"  {s.describe()}" for s in self.suspects)]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "release": self.release,
            "database": self.database,
            "ok": self.ok,
            "start_error": self.start_error,
            "requests": [call.as_dict() for call in self.calls],
            "suspects": [s.as_dict() for s in self.suspects],
            "log_excerpt": self.log_excerpt,
        }


def pending_files(source: DatabaseUrl, directory: Path) -> list[MigrationFile]:
    """The files `source` has not applied yet: what the deploy (and the drill copy) runs."""
    pending = set(migrations.status(source, directory).pending)
    return [f for f in migration_files.discover(directory) if f.name in pending]


_PLAIN_ERROR = re.compile(r"\b(?:ERROR|FATAL|CRITICAL)\b|\w(?:Error|Exception): |does not exist")


def _exception(trace: str) -> str:
    """The exception line of a Python traceback (after its last `File ...` frame)."""
    lines = trace.splitlines()
    frames = [n for n, line in enumerate(lines) if line.lstrip().startswith('File "')]
    after = lines[frames[-1] + 1 :] if frames else lines
    return next((line for line in after if line and not line[0].isspace()), lines[-1])


def _error_line(line: str) -> str | None:
    """One log line as an excerpt line when it tells of an error, else None."""
    try:
        record = json.loads(line)
    except ValueError:
        return line[:300] if _PLAIN_ERROR.search(line) else None
    if not isinstance(record, dict) or record.get("level") not in ("ERROR", "CRITICAL"):
        return None
    traces = [v for v in record.values() if isinstance(v, str) and "Traceback (most" in v]
    if not traces:
        return line[:300]
    where = f" ({record['path']})" if isinstance(record.get("path"), str) else ""
    return f"{record.get('message', 'exception')}{where}: {_exception(traces[0])}"[:600]


def _excerpt(log: str) -> str:
    """The log's error lines (exceptions cut to their message), the last EXCERPT_LINES."""
    found = [shown for line in log.splitlines() if (shown := _error_line(line))]
    return "\n".join(list(dict.fromkeys(found))[-EXCERPT_LINES:])


def survives(
    release: PreviousRelease,
    database: DatabaseUrl,
    pending: Sequence[MigrationFile],
    *,
    token: str | None,
) -> Survival:
    """Start `release` on the migrated `database`, walk its smoke paths, blame what broke it."""
    try:
        with release.serve(database) as running, http.session(token) as api:
            calls = smoke_paths.walk(api, running.base_url)
            log = running.log_text()
    except ServiceFailedToStart as exc:
        message = dburl.mask(str(exc))
        return Survival(
            release.description,
            database.masked(),
            [],
            contracting.suspects(pending, message),
            _excerpt(message),
            start_error=message,
        )
    failed = [call for call in calls if not call.ok]
    failure = "\n".join([*(call.excerpt for call in failed), log])
    return Survival(
        release.description,
        database.masked(),
        calls,
        contracting.suspects(pending, failure) if failed else [],
        _excerpt(log) if failed else "",
    )
