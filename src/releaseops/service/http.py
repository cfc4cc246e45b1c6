"""HTTP helpers for the post-deploy checks: a session, status/JSON assertions, bounded waiting."""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from releaseops.dburl import MASK, mask

T = TypeVar("T")

BODY_CHARS = 300
# JSON members whose name says they hold a secret: their string value is masked in messages.
_SECRET_MEMBER = re.compile(
    r'("[^"\\]*(?:secret|token|password|passwd|api[_-]?key|authorization)[^"\\]*"\s*:\s*)'
    r'"(?:[^"\\]|\\.)*"',
    re.IGNORECASE,
)
_BEARER = re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# Proxies for a request to a loopback address: none. HTTP_PROXY or ALL_PROXY, set for a CI
# runner's way out, would otherwise send the rehearsal's own 127.0.0.1 traffic to the proxy:
# requests bypasses only what NO_PROXY lists. Other hosts keep the environment's proxies.
_NO_PROXIES = {"http": None, "https": None, "all": None}


def is_loopback(url: str) -> bool:
    """True when `url`'s host is a loopback IP address literal (127.0.0.0/8 or ::1)."""
    host = urlsplit(url).hostname
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _TimeoutSession(requests.Session):
    """A Session that applies a default timeout to every request that does not give one."""

    def __init__(self, default_timeout: float) -> None:
        super().__init__()
        self.default_timeout = default_timeout

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send with the default timeout unless the caller chose one; no proxy for loopback."""
        if kwargs.get("timeout") is None and len(args) <= 6:  # timeout is the 7th optional
            kwargs["timeout"] = self.default_timeout
        address = url.decode() if isinstance(url, bytes) else url
        if kwargs.get("proxies") is None and len(args) <= 8 and is_loopback(address):
            kwargs["proxies"] = dict(_NO_PROXIES)  # proxies is the 9th optional
        return super().request(method, url, *args, **kwargs)


def session(token: str | None = None, timeout: float = 10) -> requests.Session:
    """A requests Session sending `Authorization: Bearer <token>` when given, with a timeout.

    Requests to a loopback address never go through a proxy from the environment.
    """
    http = _TimeoutSession(timeout)
    if token:
        http.headers["Authorization"] = f"Bearer {token}"
    return http


def answers(url: str, timeout: float = 2) -> bool:
    """True when GET `url` gets an HTTP answer, of any status, within `timeout` seconds."""
    with session(timeout=timeout) as probe:
        try:
            probe.get(url)
        except requests.RequestException:
            return False
    return True


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with URL passwords, bearer tokens, secret JSON members and `secrets` masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _SECRET_MEMBER.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    return mask(text)


def _request_secrets(response: requests.Response) -> tuple[str, ...]:
    request = response.request
    if request is None:
        return ()
    header = request.headers.get("Authorization")
    if not header:
        return ()
    value = header.decode("latin-1") if isinstance(header, bytes) else str(header)
    scheme, _, credential = value.partition(" ")
    return (value, credential) if credential else (value,)


def describe(response: requests.Response) -> str:
    """`METHOD URL -> STATUS`, with secrets masked."""
    method = response.request.method if response.request is not None else "?"
    secrets = _request_secrets(response)
    return f"{method} {redact(str(response.url), secrets)} -> {response.status_code}"


def body_excerpt(response: requests.Response, limit: int = BODY_CHARS) -> str:
    """The first `limit` characters of the body, secrets masked first, as a repr."""
    return repr(redact(response.text, _request_secrets(response))[:limit])


def expect_status(response: requests.Response, *codes: int) -> requests.Response:
    """Assert the status is one of `codes`; the message carries the evidence."""
    __tracebackhide__ = True
    if response.status_code not in codes:
        raise AssertionError(
            f"{describe(response)}, expected {codes}; body: {body_excerpt(response)}"
        )
    return response


def expect_json(response: requests.Response) -> dict[str, Any]:
    """The body as a JSON object; a clear AssertionError when it is not one."""
    __tracebackhide__ = True
    content_type = response.headers.get("Content-Type", "no Content-Type")
    try:
        data = response.json()
    except ValueError:
        raise AssertionError(
            f"{describe(response)}: body is not JSON ({content_type}); "
            f"body: {body_excerpt(response)}"
        ) from None
    if not isinstance(data, dict):
        raise AssertionError(
            f"{describe(response)}: expected a JSON object, got a JSON {type(data).__name__}; "
            f"body: {body_excerpt(response)}"
        )
    return data


@dataclass
class Convergence:
    """How waiting for a condition went: for the evidence and for the failure message."""

    ok: bool
    attempts: int
    elapsed_s: float
    last_error: str | None
    last_status: int | None
    timeout_s: float = 0.0

    def explain(self) -> str:
        """One sentence: converged after N attempts, or why not within the timeout."""
        if self.ok:
            return f"converged after {self.attempts} attempt(s) in {self.elapsed_s:.2f} s"
        status = f"; last status {self.last_status}" if self.last_status is not None else ""
        error = f"; last error: {self.last_error}" if self.last_error else ""
        return (
            f"did not converge within {self.timeout_s:g} s "
            f"({self.attempts} attempt(s){status}){error}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict, for the evidence."""
        return asdict(self)


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T | None, Convergence]:
    """Call `probe` until it returns something truthy or `timeout` seconds have passed.

    A probe that raises requests.RequestException or AssertionError, or returns a falsy value
    (a requests.Response with an error status is falsy), is retried every `interval` seconds.
    On timeout the value is the probe's last falsy result, or None when it only raised.
    """
    if timeout < 0 or interval <= 0:
        raise ValueError(f"timeout must be >= 0 and interval > 0, got {timeout} and {interval}")
    start = clock()
    attempts, last, last_error, last_status = 0, None, None, None
    while True:
        attempts += 1
        try:
            value = probe()
        except (requests.RequestException, AssertionError) as exc:
            last_error = redact(f"{type(exc).__name__}: {exc}")
        else:
            last = value
            if isinstance(value, requests.Response):
                last_status = value.status_code
            if value:
                elapsed = clock() - start
                return value, Convergence(
                    ok=True,
                    attempts=attempts,
                    elapsed_s=elapsed,
                    last_error=None,
                    last_status=last_status,
                    timeout_s=timeout,
                )
            last_error = _falsy_reason(value)
        elapsed = clock() - start
        if elapsed >= timeout:
            return last, Convergence(
                ok=False,
                attempts=attempts,
                elapsed_s=elapsed,
                last_error=last_error,
                last_status=last_status,
                timeout_s=timeout,
            )
        sleep(min(interval, timeout - elapsed))


def _falsy_reason(value: object) -> str:
    if isinstance(value, requests.Response):
        return f"{describe(value)}; body: {body_excerpt(value, 120)}"
    return f"probe returned {value!r}"


def wait_for_health(
    base_url: str,
    *,
    timeout: float,
    interval: float = 0.5,
    http: requests.Session | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[requests.Response | None, Convergence]:
    """GET `{base_url}/health` until it answers 2xx or `timeout` seconds have passed.

    Redirects are followed, so "2xx" is any non-error final status (requests' `Response.ok`).
    """
    client = http if http is not None else session()
    url = base_url.rstrip("/") + "/health"
    request_timeout = max(1.0, min(10.0, timeout))
    try:
        return wait_until(
            lambda: client.get(url, timeout=request_timeout),
            timeout=timeout,
            interval=interval,
            clock=clock,
            sleep=sleep,
        )
    finally:
        if http is None:
            client.close()
