"""The org's daily API request allowance, and the middleware that counts requests against it.

Salesforce measures API requests over a rolling 24-hour period. We count in hourly buckets kept in the store's
key/value table (so a restarted sandbox keeps its usage): a request stops counting between 24 and 25 hours after
it was made. Time comes from the org's Clock, so ``advance-clock`` frees the allowance in tests.

Every request under ``/services/data`` made with a valid session counts as one call (a request without a valid
session cannot be attributed to the org and is answered 401 without counting). Once the maximum is reached,
such requests answer 403 REQUEST_LIMIT_EXCEEDED and do not count further. Every answer under ``/services/data``
(errors included) carries ``Sforce-Limit-Info: api-usage=N/M``.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from salesbridge.sandbox.records import Clock
from salesbridge.sandbox.store import Store

if TYPE_CHECKING:
    from salesbridge.sandbox.org import Org, OrgSettings

API_PATH_PREFIX = "/services/data"
_USAGE_KEY = "limits:api_usage"
_BUCKET_SECONDS = 3600
_WINDOW_SECONDS = 24 * 3600
LIMIT_EXCEEDED_BODY = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


class ApiUsage:
    """API requests made in the last 24 hours against ``settings.daily_api_limit``."""

    def __init__(self, store: Store, settings: OrgSettings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, int] = {int(k): v for k, v in store.kv_get(_USAGE_KEY, {}).items()}

    def _current_bucket(self) -> int:
        return int(self.clock.peek().timestamp()) // _BUCKET_SECONDS * _BUCKET_SECONDS

    def _prune(self, current_bucket: int) -> None:
        oldest_kept = current_bucket - _WINDOW_SECONDS + _BUCKET_SECONDS
        for bucket in [b for b in self._buckets if b < oldest_kept]:
            del self._buckets[bucket]

    def _save(self) -> None:
        self.store.kv_set(_USAGE_KEY, {str(k): v for k, v in self._buckets.items()})

    @property
    def maximum(self) -> int:
        return self.settings.daily_api_limit

    @property
    def used(self) -> int:
        with self._lock:
            self._prune(self._current_bucket())
            return sum(self._buckets.values())

    @property
    def remaining(self) -> int:
        return max(self.maximum - self.used, 0)

    def try_count(self) -> bool:
        """Count one request; answers False (and counts nothing) when the allowance is used up."""
        with self._lock:
            bucket = self._current_bucket()
            self._prune(bucket)
            if sum(self._buckets.values()) >= self.maximum:
                return False
            self._buckets[bucket] = self._buckets.get(bucket, 0) + 1
            self._save()
            return True

    def exhaust(self) -> None:
        """Use up what is left of the allowance now (fault injection: "limit exhausted")."""
        with self._lock:
            bucket = self._current_bucket()
            self._prune(bucket)
            missing = self.maximum - sum(self._buckets.values())
            if missing > 0:
                self._buckets[bucket] = self._buckets.get(bucket, 0) + missing
                self._save()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._save()

    def header_value(self) -> str:
        """The ``Sforce-Limit-Info`` value Salesforce sends (clients read it with a regex anchored at start)."""
        return f"api-usage={self.used}/{self.maximum}"


def is_api_path(path: str) -> bool:
    return path == API_PATH_PREFIX or path.startswith(API_PATH_PREFIX + "/")


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer|OAuth <token>`` header, or None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() in ("bearer", "oauth") and token.strip():
                return token.strip()
            return None
    return None


def with_limit_header(send: Send, org: Org) -> Send:
    """Wrap ``send`` so the response start carries the current ``Sforce-Limit-Info``."""

    async def send_with_header(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"sforce-limit-info"]
            headers.append((b"sforce-limit-info", org.api_usage.header_value().encode()))
            message = {**message, "headers": headers}
        await send(message)

    return send_with_header


async def send_json(send: Send, status: int, body: object, extra_headers: list[tuple[bytes, bytes]] = ()) -> None:
    """Answer a JSON body straight from ASGI middleware."""
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json;charset=UTF-8"),
               (b"content-length", str(len(payload)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class ApiLimitMiddleware:
    """Counts API requests, refuses them past the maximum, and adds ``Sforce-Limit-Info`` to every answer.

    The user behind a valid bearer token is left in ``scope["state"]["sandbox_user_id"]`` so that the route's
    ``UserDep`` does not look the token up a second time.
    """

    def __init__(self, app: ASGIApp, org: Org) -> None:
        self.app = app
        self.org = org

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        send = with_limit_header(send, self.org)
        token = bearer_token(scope)
        # In the thread pool: the store's lock may be held for a while by a large write in another request,
        # and the event loop must keep serving meanwhile.
        user_id, admitted = await run_in_threadpool(self._admit, token)
        if user_id is not None:
            scope.setdefault("state", {})["sandbox_user_id"] = user_id
            if not admitted:
                await send_json(send, 403, LIMIT_EXCEEDED_BODY)
                return
        await self.app(scope, receive, send)

    def _admit(self, token: str | None) -> tuple[str | None, bool]:
        """(user behind the token or None, whether the request is within the allowance and was counted)."""
        user_id = self.org.sessions.user_for_token(token) if token else None
        if user_id is None:
            return None, True
        return user_id, self.org.api_usage.try_count()
