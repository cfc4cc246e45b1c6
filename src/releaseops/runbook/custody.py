"""The rollback's chain of custody: the dump the gate recorded is the dump a rollback restores.

The pre-deploy gate records the release's known-good dump (path, sha256, size, database,
server identity, snapshot time) in `<BACKUP_DIR>/releases/<release id>.json`, next to the
backups both the gate and a later rollback see. A rollback finds that dump by its sha256,
wherever it was moved to; another dump is used only when the release record names it, and
the choice is part of the evidence. A dump of another server or database is refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from releaseops import backup
from releaseops.backup import fingerprint, fingerprint_diff, manifest
from releaseops.backup.catalog import origin_problem
from releaseops.backup.fingerprint_diff import FingerprintDiff
from releaseops.backup.safefiles import write_below
from releaseops.dburl import DatabaseUrl
from releaseops.errors import DumpOfAnotherDatabase, NoRollbackCandidate
from releaseops.pg.identity import ServerIdentity

RELEASES_DIR = "releases"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class KnownGood:
    """The release's known-good dump as the gate recorded it."""

    release_id: str
    path: str
    sha256: str
    size: int
    dbname: str
    system_identifier: str | None
    server_version: str
    snapshot_at: str | None
    recorded_at: str
    gate_run: str

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the facts file and the evidence."""
        return asdict(self)


def facts_path(backup_dir: Path, release_id: str) -> Path:
    """`<BACKUP_DIR>/releases/<release id>.json` (the id made safe for a file name)."""
    return Path(backup_dir) / RELEASES_DIR / f"{_UNSAFE.sub('_', release_id) or 'release'}.json"


def record(backup_dir: Path, release_id: str, dump: backup.Backup, gate_run: str) -> KnownGood:
    """Record `dump` as the release's known-good dump (atomically, readable by its owner only)."""
    found = dump.manifest or manifest.load(dump.path)
    facts = KnownGood(
        release_id=release_id,
        path=str(dump.path),
        sha256=found.sha256,
        size=found.size,
        dbname=found.dbname,
        system_identifier=found.system_identifier,
        server_version=found.server_version,
        snapshot_at=found.snapshot_at,
        recorded_at=datetime.now(UTC).isoformat(),
        gate_run=gate_run,
    )
    data = (json.dumps(facts.as_dict(), indent=2, sort_keys=True) + "\n").encode()
    # Relative to the checked backup directory's descriptor: never through a planted link.
    write_below(Path(backup_dir), RELEASES_DIR, facts_path(backup_dir, release_id).name, data)
    return facts


def load(backup_dir: Path, release_id: str) -> KnownGood | None:
    """The recorded known-good dump of `release_id`, or None when the gate recorded none."""
    path = facts_path(backup_dir, release_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return KnownGood(**{k: data[k] for k in KnownGood.__dataclass_fields__})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NoRollbackCandidate(
            f"{path} (the gate's record of the known-good dump) cannot be read: {exc}",
            out_dir=Path(backup_dir),
            dbname="",
        ) from None


def find_by_sha256(backup_dir: Path, sha256: str) -> Path | None:
    """The dump in `backup_dir` whose manifest carries `sha256` (the file may have moved)."""
    for sidecar in sorted(Path(backup_dir).glob(f"*{manifest.MANIFEST_SUFFIX}")):
        try:
            found = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(found, dict) and found.get("sha256") == sha256:
            return sidecar.with_name(sidecar.name.removesuffix(manifest.MANIFEST_SUFFIX))
    return None


@dataclass(frozen=True)
class Selection:
    """The dump a rollback restores, and why that one."""

    backup: backup.Backup
    chosen_by: str
    known_good: KnownGood | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "dump": self.backup.as_dict(),
            "chosen_by": self.chosen_by,
            "known_good": self.known_good.as_dict() if self.known_good else None,
        }


def select(
    backup_dir: Path,
    release_id: str,
    target: ServerIdentity,
    *,
    explicit: Path | None = None,
    allow_cross_server: bool = False,
) -> Selection:
    """The dump to restore: the one the release record names, else the one the gate recorded.

    Raises NoRollbackCandidate when neither exists or the dump is not verified, and
    DumpOfAnotherDatabase when it was taken of another server or database.
    """
    known = load(backup_dir, release_id)
    if explicit is not None:
        path, why = explicit, _explicit_reason(explicit, known)
    elif known is not None:
        path = find_by_sha256(backup_dir, known.sha256) or Path(known.path)
        why = f"recorded by the pre-deploy gate of release {release_id} (run {known.gate_run})"
    else:
        raise NoRollbackCandidate(
            f"no known-good dump is recorded for release {release_id!r}: the pre-deploy gate "
            f"records it in {facts_path(backup_dir, release_id)}; run the gate, or name the dump "
            f"in the release record's [rollback] backup_file",
            out_dir=Path(backup_dir),
            dbname=target.dbname,
        )
    chosen = _verified(path, known if explicit is None else None)
    assert chosen.manifest is not None
    problem = origin_problem(chosen.manifest, target.dbname, target.system_identifier)
    if problem is not None and not allow_cross_server:
        raise DumpOfAnotherDatabase.refusing(path, problem)
    return Selection(chosen, why, known)


def _explicit_reason(path: Path, known: KnownGood | None) -> str:
    why = f"named explicitly in the release record ([rollback] backup_file = {path})"
    if known is not None:
        why += f"; the gate had recorded sha256 {known.sha256[:12]}… ({known.path})"
    return why


def _verified(path: Path, known: KnownGood | None) -> backup.Backup:
    result = backup.verify(path)
    if not result.is_verified or result.manifest is None:
        raise NoRollbackCandidate(
            f"the rollback dump {path} is not verified: {result.explain()}",
            out_dir=path.parent,
            dbname=known.dbname if known else "",
        )
    if known is not None and result.manifest.sha256 != known.sha256:
        raise NoRollbackCandidate(
            f"{path} has sha256 {result.manifest.sha256}, not the {known.sha256} the gate "
            f"recorded: it is not the release's known-good dump",
            out_dir=path.parent,
            dbname=known.dbname,
        )
    return backup.Backup.from_manifest(path, result.manifest)


# What a rollback legitimately changes after the restore: the FTS re-sync's own bookkeeping.
_AFTER_RESTORE: tuple[str, ...] = (".releaseops_fts_sync",)


@dataclass(frozen=True)
class DumpComparison:
    """The database against the recorded dump: schema_migrations rows, then everything else."""

    migrations: list[str]
    fingerprint: FingerprintDiff | None
    content: bool = True

    @property
    def is_equal(self) -> bool:
        """True when the migrations and the whole fingerprint match the dump's."""
        return not self.migrations and self.fingerprint is not None and self.fingerprint.is_equal

    def explain(self) -> str:
        """One line per difference."""
        lines = list(self.migrations)
        if self.fingerprint is None:
            if self.content:
                lines.append("the dump's manifest carries no fingerprint to compare with")
        elif not self.fingerprint.is_equal:
            lines += self.fingerprint.lines()
        return "\n".join(lines) or "matches the dump"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for evidence."""
        return {
            "equal": self.is_equal,
            "migrations": self.migrations,
            "fingerprint": self.fingerprint.as_dict() if self.fingerprint else None,
        }


def compare_with_dump(
    db: DatabaseUrl, dump: Path, *, content: bool = True, except_migrations: bool = False
) -> DumpComparison:
    """Compare `db` with what `dump`'s manifest recorded at backup time (never with itself).

    `except_migrations` leaves schema_migrations' rows to the `migrations` list alone (the
    checklist verifies them as an item of their own).
    """
    recorded = manifest.load(dump)
    with db.connect() as conn:
        rows = manifest.migrations(conn) or []
    want = {str(r["version"]): r.get("checksum") for r in recorded.migrations}
    have = {str(r["version"]): r.get("checksum") for r in rows}
    migrations = [
        f"schema_migrations version {v}: dump has {_short_sum(want, v)}, "
        f"database has {_short_sum(have, v)}"
        for v in sorted(set(want) | set(have))
        if want.get(v) != have.get(v)
    ]
    expected = recorded.dump_fingerprint()
    if expected is None or not content:
        return DumpComparison(migrations, None, content)
    actual = fingerprint.take(db, content_mode=expected.options.content)
    ignored = _AFTER_RESTORE + ((f".{manifest.MIGRATIONS_TABLE}",) if except_migrations else ())
    found = fingerprint_diff.diff(
        expected,
        actual,
        a_label=f"the dump {dump.name}",
        b_label=db.masked(),
        owners=False,
        ignore_objects=lambda key: key.endswith(ignored),
    )
    return DumpComparison(migrations, found)


def _short_sum(checksums: dict[str, str | None], version: str) -> str:
    if version not in checksums:
        return "no such version"
    return (checksums[version] or "no checksum")[:12]
