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

# --- backup --------------------------------------------------------------------------------

# --- restore -------------------------------------------------------------------------------

# --- FTS -----------------------------------------------------------------------------------

# --- service -------------------------------------------------------------------------------
