"""releaseops: release verification as code for Flask + PostgreSQL services."""

from releaseops.dburl import DatabaseUrl
from releaseops.errors import ReleaseOpsError

__all__ = ["DatabaseUrl", "ReleaseOpsError"]
__version__ = "0.1.0"
