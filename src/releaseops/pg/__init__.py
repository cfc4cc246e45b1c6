"""PostgreSQL client tools, scratch databases and archive listings (`pg.find`, `pg.run`, ...)."""

from releaseops.pg.scratch import ScratchDatabase, create_database, drop_database
from releaseops.pg.tools import (
    DEFAULT_PG_ROOT,
    SERVER_TOOLS,
    TOOLS,
    Tool,
    build_argv,
    candidate_dirs,
    child_env,
    failure,
    find,
    locate,
    masked_argv,
    psql,
    require_at_least,
    run,
    server_major,
)

__all__ = [
    "DEFAULT_PG_ROOT",
    "SERVER_TOOLS",
    "TOOLS",
    "ScratchDatabase",
    "Tool",
    "build_argv",
    "candidate_dirs",
    "child_env",
    "create_database",
    "drop_database",
    "failure",
    "find",
    "locate",
    "masked_argv",
    "psql",
    "require_at_least",
    "run",
    "server_major",
]
