"""URL converters: ids in paths are ASCII digits only.

Werkzeug's `int` converter matches any Unicode decimal digit, so `/questions/١٢` would
reach question 12. Every id in every route uses `<id:...>` instead, which accepts 1-19 ASCII
digits (a BIGINT has at most 19); anything else is not a route, so it gets 404.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

ID_CONVERTER = "id"
MAX_ID_DIGITS = 19


class AsciiIdConverter(IntegerConverter):
    """An unsigned integer path segment of 1-19 ASCII digits."""

    regex = rf"[0-9]{{1,{MAX_ID_DIGITS}}}"


def init_app(app: Flask) -> None:
    """Register `<id:name>`; call before the blueprints are registered."""
    app.url_map.converters[ID_CONVERTER] = AsciiIdConverter
