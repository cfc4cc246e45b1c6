"""The service's FTS declaration, named by configuration: FTS_SPEC=module:attribute."""

from __future__ import annotations

import importlib

from releaseops.errors import ConfigurationError
from releaseops.fts import FtsSpec


def load(ref: str | None) -> FtsSpec:
    """Import the FtsSpec that `ref` (`module:attribute`) names; ConfigurationError otherwise."""
    if not ref:
        raise ConfigurationError(
            "no FTS declaration configured: set FTS_SPEC=module:attribute (an FtsSpec), or "
            "fts_spec under [tool.releaseops] in the repository's pyproject.toml"
        )
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
