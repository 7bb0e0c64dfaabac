"""A polite HTTP client for JSON APIs: rate-limited, retrying, cached, and careful with keys.

    client = ApiClient(ResponseCache(path), NetworkSettings(requests_per_second=2))
    payload = client.get_json(Request("KOBIS", url, params, secret_params={"key": key}), find_fault=kobis_fault)

Only responses that parse and carry no fault are cached. Timeouts, 429, 5xx and
malformed JSON are retried with exponential backoff; a fault the API reports
in its body (quota, bad key) stops at once with ApiFault. The API key never
reaches the cache, the logs or an error message.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from genre_model.collect.cache import ResponseCache
from genre_model.collect.errors import ApiFault, CollectError

USER_AGENT = "genre_model-collect/1.0 (film synopsis dataset; rate-limited)"
RESUME_HINT = "rerunning the same command resumes from the cache without refetching"


@dataclass(frozen=True)
class NetworkSettings:
    requests_per_second: float = 2.0
    retries: int = 4  # retries after the first attempt
    backoff_s: float = 1.0  # first wait; doubles on each retry
    timeout_s: float = 30.0


@dataclass(frozen=True)
class Request:
    service: str  # "KOBIS", "KMDb": names the API in messages
    url: str
    params: dict[str, str]
    secret_params: dict[str, str] = field(default_factory=dict)  # the API key: sent, never stored

    @property
    def cache_key(self) -> str:
        """The request as text, without the secret parameters."""
        return f"{self.url}?{urllib.parse.urlencode(sorted(self.params.items()))}"

    @property
    def readable(self) -> str:
        """The cache key with its parameters decoded, for messages."""
        return urllib.parse.unquote_plus(self.cache_key)

    def full_url(self) -> str:
        return f"{self.url}?{urllib.parse.urlencode({**self.params, **self.secret_params})}"

    def scrub(self, text: str) -> str:
        """`text` with every form of the secrets in it masked."""
        for secret in self.secret_params.values():
            if secret:
                for form in {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}:
                    text = text.replace(form, "***")
        return text


class _Retryable(Exception):
    """A failure worth another attempt: the next one may well succeed."""


class RateLimiter:
    """At most `per_second` requests per second, spaced evenly."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next_slot = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self._next_slot:
            time.sleep(self._next_slot - now)
        self._next_slot = max(now, self._next_slot) + self._interval


class ApiClient:
    """GET JSON through the cache; counts what came from the network and what from the cache."""

    def __init__(self, cache: ResponseCache, settings: NetworkSettings) -> None:
        self._cache = cache
        self._settings = settings
        self._limiter = RateLimiter(settings.requests_per_second)
        self.fetched = 0
        self.from_cache = 0

    def get_json(self, request: Request, *, find_fault: Callable[[Any], str | None]) -> Any:
        """The parsed response. `find_fault` names a fault the API reports in a 200 body, or returns None."""
        cached = self._cache.get(request.cache_key)
        if cached is not None:
            self.from_cache += 1
            return json.loads(cached)
        body, payload = self._fetch_with_retries(request)
        fault = find_fault(payload)
        if fault is not None:
            raise ApiFault(
                request.scrub(
                    f"{request.service} refused the request ({fault}). This is usually the daily call quota or a "
                    f"wrong API key. Responses cached so far: {len(self._cache)}; {RESUME_HINT}."
                )
            )
        # Responses may echo the request (KMDb's Query fields), so the key is masked before storing.
        self._cache.put(request.cache_key, request.scrub(body))
        self.fetched += 1
        return payload

    def _fetch_with_retries(self, request: Request) -> tuple[str, Any]:
        attempts = self._settings.retries + 1
        for attempt in range(attempts):
            if attempt:
                time.sleep(self._settings.backoff_s * 2 ** (attempt - 1))
            self._limiter.wait()
            try:
                body = self._fetch(request)
                return body, _parse_json(body)
            except _Retryable as failure:
                last_failure = failure
        raise CollectError(
            request.scrub(
                f"{request.service} request {request.readable} failed {attempts} times, last with: {last_failure}. "
                f"The service may be down; {RESUME_HINT}."
            )
        )

    def _fetch(self, request: Request) -> str:
        http_request = urllib.request.Request(request.full_url(), headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(http_request, timeout=self._settings.timeout_s) as response:
                return response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            # HTTPError carries the full URL, key included: only its status leaves this function.
            if error.code == 429 or error.code >= 500:
                raise _Retryable(f"HTTP {error.code}") from None
            raise CollectError(f"{request.service} answered HTTP {error.code} to {request.readable}") from None
        except urllib.error.URLError as error:
            raise _Retryable(request.scrub(f"connection failed ({error.reason})")) from None
        except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
            raise _Retryable(request.scrub(f"{type(error).__name__}: {error}")) from None
        except UnicodeDecodeError:
            raise _Retryable("the response is not UTF-8 text") from None


def _parse_json(body: str) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as error:
        raise _Retryable(f"malformed JSON ({error.msg} at character {error.pos})") from None
