"""Bearer-token authentication (API_TOKENS) for the management and AI endpoints."""

from __future__ import annotations

import hmac

from flask import current_app, request

from exambank.errors import ApiError


def token_is_valid(token: str) -> bool:
    """Compare against every configured token in constant time."""
    candidates = current_app.config["API_TOKENS"]
    matches = [hmac.compare_digest(token.encode(), t.encode()) for t in candidates]
    return any(matches)


def require_token() -> None:
    """Blueprint hook: 401 AUTH_REQUIRED without a bearer token, AUTH_INVALID for a wrong one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(401, "AUTH_REQUIRED", "send Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "AUTH_INVALID", "the Authorization header must be 'Bearer <token>'")
    if not token_is_valid(token.strip()):
        raise ApiError(401, "AUTH_INVALID", "the bearer token is not valid")
