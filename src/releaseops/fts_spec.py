"""Which FTS declaration the checks compare against: FTS_SPEC=module:attribute, or exambank's."""

from __future__ import annotations

import importlib
import os

from releaseops.errors import ConfigurationError
from releaseops.fts import FtsSpec

DEFAULT = "exambank.search_spec:SPEC"


def service_spec(ref: str | None = None) -> FtsSpec:
    """Import the service's FtsSpec (default: the reference service's declaration)."""
    ref = ref or os.environ.get("FTS_SPEC") or DEFAULT
    module_name, _, attr = ref.partition(":")
    try:
        spec = getattr(importlib.import_module(module_name), attr or "SPEC")
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"FTS_SPEC={ref!r} cannot be imported ({exc}); use module:attribute naming an FtsSpec"
        ) from None
    if not isinstance(spec, FtsSpec):
        raise ConfigurationError(f"FTS_SPEC={ref!r} is a {type(spec).__name__}, not an FtsSpec")
    return spec
