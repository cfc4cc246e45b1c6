"""ReleaseOpsError and its subclasses, grouped by area; each names what happened."""

from __future__ import annotations

from pathlib import Path


class ReleaseOpsError(Exception):
    """Base of every error this library raises on purpose; `exit_code` is what scripts return."""

    exit_code = 1


# --- configuration -------------------------------------------------------------------------


class ConfigurationError(ReleaseOpsError):
    """A setting is missing, malformed or contradicts another."""

    exit_code = 2


# --- database URL --------------------------------------------------------------------------


class InvalidDatabaseUrl(ReleaseOpsError, ValueError):
    """A database URL could not be understood; the message never carries its password."""

    exit_code = 2


class DatabaseUnreachable(ReleaseOpsError, ConnectionError):
    """A connection to the database could not be opened."""

    exit_code = 3


class ConnectionLost(DatabaseUnreachable):
    """The connection to the database broke while a command was using it."""

    @classmethod
    def during(cls, detail: str) -> ConnectionLost:
        """The error for a connection lost while doing `detail` (what was running, what stays)."""
        return cls(
            f"the connection to the database was lost: {detail}. Once the server accepts "
            f"connections again, run the command again"
        )


# --- tools ---------------------------------------------------------------------------------


class ToolNotFound(ReleaseOpsError, FileNotFoundError):
    """A PostgreSQL client tool is not installed where we looked."""

    exit_code = 4

    def __init__(self, tool: str, searched: list[str]) -> None:
        self.tool = tool
        self.searched = searched
        super().__init__(
            f"{tool} not found (looked in: {', '.join(searched) or 'nowhere'}). "
            f"Install the PostgreSQL client tools (e.g. apt-get install postgresql-client), "
            f"or set PG_BINDIR to the directory that holds {tool}."
        )


class ToolVersionTooOld(ReleaseOpsError):
    """A client tool is older than the server it must work with."""

    exit_code = 4

    def __init__(self, message: str, *, tool: str, tool_major: int, server_major: int) -> None:
        self.tool = tool
        self.tool_major = tool_major
        self.server_major = server_major
        super().__init__(message)

    @classmethod
    def for_server(cls, tool: Path, tool_major: int, server_major: int) -> ToolVersionTooOld:
        """Build the error for a tool that cannot handle the server's major version."""
        return cls(
            f"{tool} is PostgreSQL {tool_major}, but the server is {server_major}. "
            f"{tool.name} must be at least the server's major version. "
            f"Install postgresql-client-{server_major}, or set PG_BINDIR to a newer one.",
            tool=tool.name,
            tool_major=tool_major,
            server_major=server_major,
        )


class ToolFailed(ReleaseOpsError):
    """A PostgreSQL client tool exited non-zero; carries the tool, exit code and stderr tail."""

    exit_code = 5

    def __init__(self, tool: str, returncode: int, stderr_tail: str, argv: list[str]) -> None:
        self.tool = tool
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.argv = argv
        super().__init__(
            f"{tool} exited with code {returncode}: {stderr_tail.strip() or '(no stderr)'}"
        )


# --- embedded cluster ----------------------------------------------------------------------


class ClusterError(ReleaseOpsError):
    """The throwaway PostgreSQL cluster could not be created, started or stopped."""

    exit_code = 6


class DockerUnavailable(ClusterError):
    """No Docker engine is reachable, so a container cluster cannot be started."""


# --- migrations ----------------------------------------------------------------------------


class MigrationError(ReleaseOpsError):
    """Base of the migration runner's errors."""

    exit_code = 10


class InvalidMigrationFile(MigrationError, ValueError):
    """A file in the migrations directory breaks the naming rule or carries a bad directive."""

    exit_code = 10

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        self.path = path
        super().__init__(message)


class MigrationsRefused(MigrationError):
    """The database and the migration files disagree, so nothing was applied."""

    exit_code = 11

    def __init__(self, message: str, *, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(message)


class ChecksumMismatch(MigrationsRefused):
    """An applied migration file was edited afterwards."""


class MigrationFileMissing(MigrationsRefused):
    """A version recorded as applied has no file any more."""


class DatabaseAheadOfCode(MigrationsRefused):
    """The database has versions newer than every migration file (future versions)."""


class OutOfOrderMigration(MigrationsRefused):
    """A pending file is older than the newest applied version."""


class BaselineRefused(MigrationsRefused):
    """A baseline was asked for where it would falsify the migration history."""


class MigrationFailed(MigrationError):
    """A migration's SQL failed; its transaction was rolled back and no row was recorded."""

    exit_code = 12

    def __init__(
        self,
        message: str,
        *,
        file_name: str,
        line: int | None = None,
        sqlstate: str | None = None,
        pg_message: str | None = None,
    ) -> None:
        self.file_name = file_name
        self.line = line
        self.sqlstate = sqlstate
        self.pg_message = pg_message
        super().__init__(message)


class MigrationBlocked(MigrationFailed):
    """A migration statement waited longer than lock_timeout for a lock held by another session."""


class InvalidIndexLeft(MigrationFailed):
    """A no-transaction migration left an INVALID index behind (a failed concurrent build)."""

    def __init__(self, message: str, *, file_name: str, indexes: list[str]) -> None:
        self.indexes = indexes
        super().__init__(message, file_name=file_name)


class MigrationLockTimeout(MigrationError, TimeoutError):
    """Another runner held the migration advisory lock for longer than we were willing to wait."""

    exit_code = 13

    def __init__(self, message: str, *, waited_s: float, holder: str | None = None) -> None:
        self.waited_s = waited_s
        self.holder = holder
        super().__init__(message)


class LockRetriesExhausted(MigrationBlocked, TimeoutError):
    """A migration statement stayed blocked past lock_timeout on every retry; names the holder."""

    exit_code = 13

    def __init__(
        self, message: str, *, file_name: str, line: int | None, attempts: int, holder: str
    ) -> None:
        self.attempts = attempts
        self.holder = holder
        super().__init__(message, file_name=file_name, line=line, sqlstate="55P03")


class ForeignMigrationTable(MigrationsRefused):
    """schema_migrations exists but was made by another tool (dbmate, Flyway, ...)."""

    @classmethod
    def found(cls, columns: list[str], missing: list[str]) -> ForeignMigrationTable:
        """The refusal for a table with `columns` that lacks the `missing` ones."""
        return cls(
            f"schema_migrations was made by another tool (its columns: {', '.join(columns)}; "
            f"releaseops needs {', '.join(missing)} too), so releaseops neither reads nor "
            f"changes it. Rename it (ALTER TABLE schema_migrations RENAME TO "
            f"schema_migrations_old), then adopt the database with --baseline VERSION",
            problems=[f"schema_migrations lacks {', '.join(missing)}"],
        )


# --- backup --------------------------------------------------------------------------------


class BackupError(ReleaseOpsError):
    """A backup could not be taken, found or trusted."""

    exit_code = 20


class BackupFailed(BackupError):
    """pg_dump (or writing its output) failed; no finished-looking file was left behind."""


class BackupVerificationFailed(BackupError):
    """A freshly written backup failed verification and was discarded."""

    exit_code = 21


class BackupExists(BackupError, FileExistsError):
    """The backup's final name is already taken; nothing was overwritten."""


class BackupNotFound(BackupError, FileNotFoundError):
    """The named dump file or directory does not exist."""

    exit_code = 22


class NoRollbackCandidate(BackupError):
    """No verified backup of the database exists to roll back to."""

    exit_code = 23

    def __init__(self, message: str, *, out_dir: Path, dbname: str) -> None:
        self.out_dir = out_dir
        self.dbname = dbname
        super().__init__(message)


class BackupDirectoryUnsafe(BackupFailed):
    """The backup directory is a link, someone else's, or writable by others: nothing written."""

    def __init__(self, message: str, *, path: Path, problems: list[str], fixes: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.fixes = fixes
        super().__init__(message)

    @classmethod
    def found(cls, path: Path, problems: list[str], fixes: list[str]) -> BackupDirectoryUnsafe:
        """The error naming the directory, what is wrong with it and the commands that fix it."""
        return cls(
            f"{path} is unsafe for backups: {'; '.join(problems)}. Whoever can write there can "
            f"plant a link a backup would write through, or a dump a rollback would restore; "
            f"nothing was written. Fix: {'; '.join(fixes)}",
            path=path,
            problems=problems,
            fixes=fixes,
        )


# --- restore -------------------------------------------------------------------------------


class RestoreError(ReleaseOpsError):
    """A restore was refused or failed."""

    exit_code = 24


class RestoreNotConfirmed(RestoreError):
    """The destructive restore was not confirmed with the target database's exact name."""

    exit_code = 25


class DumpNotVerified(RestoreError):
    """The dump failed verification, so it is not restored."""

    exit_code = 26


class ArchiveVersionUnsupported(RestoreError):
    """The local pg_restore cannot read the dump's archive format version."""

    exit_code = 27


class DumpFromNewerServer(RestoreError):
    """The dump was taken from a newer PostgreSQL major than the target server."""

    exit_code = 27


class DumpOfAnotherDatabase(RestoreError):
    """The dump's manifest names another server or another database than the one expected."""

    exit_code = 29

    @classmethod
    def refusing(cls, dump: Path, problem: str) -> DumpOfAnotherDatabase:
        """The refusal, with the way to allow a deliberate cross-server restore."""
        return cls(
            f"refusing to restore {dump.name}: {problem}. A rollback restores the dump of "
            f"this very database; pass --allow-cross-server to restore it deliberately anyway"
        )


class RestoreFailed(RestoreError):
    """pg_restore failed or reported errors it ignored; the target may be partly restored."""


class RestoreUnfinished(RestoreError):
    """The database carries the mark of a restore that did not finish: it may be partly restored."""

    exit_code = 30

    def __init__(self, message: str, *, dbname: str, unfinished: str) -> None:
        self.dbname = dbname
        self.unfinished = unfinished
        super().__init__(message)

    @classmethod
    def refusing(cls, dbname: str, unfinished: str, what: str) -> RestoreUnfinished:
        """The refusal of `what` (e.g. "migrating it") on a database a restore left unfinished."""
        return cls(
            f"database {dbname!r} may be partly restored: {unfinished}. Refusing {what}; run "
            f"the restore again until it finishes (restore_postgres.py --dump <that dump> "
            f"--confirm-db {dbname}), which removes the mark",
            dbname=dbname,
            unfinished=unfinished,
        )


# --- drill ---------------------------------------------------------------------------------


class DrillError(ReleaseOpsError):
    """The restore drill was refused or could not run."""

    exit_code = 28


class DrillNameRefused(DrillError, ValueError):
    """The drill database name is not a plain identifier."""

    exit_code = 2


class DrillTargetIsSource(DrillError):
    """The drill database is the source database; the drill would destroy it."""

    exit_code = 2


class FingerprintError(ReleaseOpsError):
    """A database fingerprint could not be taken (privileges, bad options)."""

    exit_code = 2

    @classmethod
    def reading(cls, where: str, cause: str) -> FingerprintError:
        """Reading the catalog or the data failed."""
        return cls(
            f"could not fingerprint {where}: {cause}. The role needs what pg_dump needs: "
            f"SELECT on every table and sequence, and read access to every large object."
        )


class FingerprintFileInvalid(FingerprintError, ValueError):
    """A saved fingerprint (file or manifest entry) cannot be read."""

    @classmethod
    def not_a_fingerprint(cls, source: str) -> FingerprintFileInvalid:
        """The data is not a releaseops fingerprint."""
        return cls(
            f'{source} is not a releaseops fingerprint (no "format": '
            f'"releaseops-fingerprint"); save one with: releaseops fingerprint URL -o FILE'
        )

    @classmethod
    def newer(cls, source: str, version: object, supported: int) -> FingerprintFileInvalid:
        """The fingerprint was written by a newer releaseops."""
        return cls(
            f"{source} is fingerprint format version {version!r}; this releaseops reads up to "
            f"version {supported}. Upgrade releaseops, or take the fingerprint again."
        )

    @classmethod
    def malformed(cls, source: str, cause: Exception) -> FingerprintFileInvalid:
        """A field is missing or of the wrong type."""
        return cls(
            f"{source} is a damaged fingerprint ({type(cause).__name__}: {cause}); "
            f"take it again with: releaseops fingerprint URL -o FILE"
        )


# --- FTS -----------------------------------------------------------------------------------


class FtsError(ReleaseOpsError):
    """Full-text search columns could not be inspected or brought in line with the spec."""

    exit_code = 8


class FtsSpecInvalid(FtsError, ValueError):
    """The FTS declaration in code is malformed (unknown weight, unsafe name, no columns)."""

    exit_code = 2


class FtsTableMissing(FtsError):
    """A table or column named in the FTS spec does not exist in the database."""

    @classmethod
    def for_column(cls, table: str, column: str) -> FtsTableMissing:
        """Build the error for a declared column the database lacks."""
        return cls(
            f"FTS spec names {table}.{column}, but the database has no such column. "
            f"Apply the pending migrations first (run_postgres_migrations.py), "
            f"or fix the spec to match the schema."
        )

    @classmethod
    def for_table(cls, table: str) -> FtsTableMissing:
        """Build the error for a declared table the database lacks."""
        return cls(
            f"FTS spec names table {table}, but the database has no such table. "
            f"Apply the pending migrations first (run_postgres_migrations.py)."
        )


# --- service -------------------------------------------------------------------------------


class RestartFailed(ReleaseOpsError):
    """The configured restart/deploy command failed."""

    exit_code = 7

    @classmethod
    def for_command(cls, command: str, code: int, stderr: str) -> RestartFailed:
        """The command exited non-zero."""
        tail = "\n".join(stderr.strip().splitlines()[-10:])
        return cls(
            f"{command!r} exited with {code}: {tail or '(no stderr)'}. Set RESTART_COMMAND "
            f"to the command that restarts the service in this environment."
        )


class RunbookStepFailed(ReleaseOpsError):
    """A runbook step's checklist command exited non-zero."""

    exit_code = 7


class ServiceFailedToStart(ReleaseOpsError):
    """The service process exited or did not answer while starting."""

    exit_code = 7

    @classmethod
    def exited(cls, code: int, log_tail: str) -> ServiceFailedToStart:
        """The process ended during startup."""
        return cls(
            f"the service exited with code {code} during startup; last log lines:\n{log_tail}"
        )

    @classmethod
    def timed_out(cls, seconds: float, log_tail: str) -> ServiceFailedToStart:
        """The process never answered GET /health."""
        return cls(
            f"the service did not answer GET /health within {seconds} s; last log "
            f"lines:\n{log_tail}"
        )


class TrafficRefused(ReleaseOpsError):
    """Generated traffic was refused: the service is not on a loopback address."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(message)


class SloBaselineInvalid(ConfigurationError):
    """A stored SLO baseline cannot be read (not JSON, or not a baseline)."""

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        super().__init__(message)


class PreviousReleaseFailedToStart(ServiceFailedToStart):
    """PREVIOUS_RELEASE_COMMAND ended, or never announced or served its base URL."""

    @classmethod
    def exited(cls, code: int, log_tail: str) -> PreviousReleaseFailedToStart:
        """The command ended before its release answered."""
        return cls(
            f"PREVIOUS_RELEASE_COMMAND exited with code {code} before the previous release "
            f"answered GET /health; it must start the previous release against $DATABASE_URL, "
            f"print its base URL (http://...) on a line of its own and keep running. Last "
            f"output:\n{log_tail}"
        )

    @classmethod
    def timed_out(cls, seconds: float, log_tail: str) -> PreviousReleaseFailedToStart:
        """No base URL was printed, or nothing answered at it, in time."""
        return cls(
            f"PREVIOUS_RELEASE_COMMAND printed no base URL (http://...), or the previous "
            f"release did not answer GET /health there, within {seconds:g} s. Last output:\n"
            f"{log_tail}"
        )


# --- checks --------------------------------------------------------------------------------


class ReleaseRecordNotFound(ConfigurationError, FileNotFoundError):
    """The release record file does not exist."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"release record {path} not found. Pass --release-record PATH or set RELEASE_RECORD "
            f"to the release's record; start from fixtures/release_record.example.toml "
            f"(docs/release-record.md lists every field)."
        )


class ReleaseRecordInvalid(ConfigurationError, ValueError):
    """The release record is not valid TOML or breaks the record's schema."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        problems: list[str] | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.problems = problems or []
        self.line = line
        self.column = column
        super().__init__(message)


class LogSourceError(ConfigurationError):
    """The API log could not be read from API_LOG_SOURCE (bad form, missing file, failure)."""

    def __init__(self, message: str, *, source: str) -> None:
        self.source = source
        super().__init__(message)
