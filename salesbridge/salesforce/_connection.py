"""One logged-in connection to an org: login on first use, call counting, the budget guard, re-login on an
expired session and retries of transient failures, around an unmodified ``simple_salesforce.Salesforce``.

Every call to the org goes through ``Connection.call(operation)``, where ``operation`` receives the current
``Salesforce`` instance. A new login builds a new instance (simple-salesforce keeps the session id in the
instance and its handlers), sharing the same requests session, so counting and TLS settings stay in one place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce

from salesbridge.salesforce import auth
from salesbridge.salesforce._translate import translate
from salesbridge.salesforce._usage import UsageMeter
from salesbridge.salesforce.errors import (
    AuthenticationError,
    BudgetExhausted,
    SessionExpiredError,
    TransientError,
)
from salesbridge.salesforce.retry import RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")


class ApiSession(requests.Session):
    """A requests session that applies our TLS setting and timeout to every request and meters every answer.

    Passing ``verify`` per request matters: requests lets ``REQUESTS_CA_BUNDLE`` override a session-level
    ``verify`` (requests issue 3829), which would stop a session that trusts the sandbox's certificate from
    trusting it. simple-salesforce sets no timeout; a hung connection must not hang a sync run forever.
    """

    def __init__(self, verify: bool | str, timeout: float, meter: UsageMeter) -> None:
        super().__init__()
        self.verify = verify
        self.timeout = timeout
        self.hooks["response"].append(meter.on_response)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


class Connection:
    """The session with one org, shared by the client's reads and writes."""

    def __init__(self, settings: auth.LoginSettings, *, api_version: str, retry: RetryPolicy,
                 budget_share: float | None) -> None:
        if budget_share is not None and not 0 < budget_share <= 1:
            raise ValueError(f"budget_share must be within (0, 1], got {budget_share}")
        self.settings = settings
        self.api_version = api_version
        self.retry = retry
        self.budget_share = budget_share
        self.meter = UsageMeter()
        self.http = ApiSession(settings.verify, settings.timeout, self.meter)
        #: Logins use their own session: token requests are not API calls and are not counted as such.
        self._auth_http = requests.Session()
        self._lock = threading.RLock()
        self._token: auth.Token | None = None
        self._sf: Salesforce | None = None
        self.logins = 0

    # -- session ----------------------------------------------------------------------------------------
    @property
    def token(self) -> auth.Token:
        with self._lock:
            if self._token is None:
                self._install(auth.login(self.settings, self._auth_http, api_version=self.api_version))
            assert self._token is not None
            return self._token

    def salesforce(self) -> Salesforce:
        """The simple-salesforce instance for the current session (logging in first when needed)."""
        with self._lock:
            token = self.token
            if self._sf is None:
                self._sf = Salesforce(instance_url=token.instance_url, session_id=token.access_token,
                                      session=self.http, version=self.api_version, object_pairs_hook=dict)
            return self._sf

    def _install(self, token: auth.Token) -> None:
        self._token = token
        self._sf = None
        self.logins += 1

    def relogin(self, expired: auth.Token | None) -> None:
        """A new session after ``expired`` was refused: by refresh token when we have one, else the configured
        flow. Another thread may have renewed it already; then nothing is done."""
        with self._lock:
            if self._token is not expired and self._token is not None:
                return
            refresh_token = expired.refresh_token if expired else None
            if refresh_token:
                try:
                    self._install(auth.refresh(self.settings, self._auth_http, refresh_token))
                    return
                except AuthenticationError as error:
                    log.warning("refresh token refused (%s); logging in again", error.error_code)
                    if self.settings.flow in ("refresh_token", "session"):
                        raise
            if self.settings.flow == "session":
                raise SessionExpiredError("INVALID_SESSION_ID", "the session expired and the 'session' login "
                                          "flow has no way to renew it (no refresh token)", status=401)
            self._install(auth.login(self.settings, self._auth_http, api_version=self.api_version))

    def close(self) -> None:
        self.http.close()
        self._auth_http.close()

    # -- guard ------------------------------------------------------------------------------------------
    def check_budget(self) -> None:
        """Stop before a call once the org's last reported usage reaches our share of its allowance."""
        if self.budget_share is None:
            return
        usage = self.meter.org_usage
        if usage is not None and usage[0] >= self.budget_share * usage[1]:
            raise BudgetExhausted(usage[0], usage[1], self.budget_share)

    # -- calls ------------------------------------------------------------------------------------------
    def call(self, operation: Callable[[Salesforce], T], *, repeatable: bool = True, guard: bool = True) -> T:
        """Run ``operation`` against the org, renewing an expired session once and retrying transient failures.

        ``repeatable=False`` marks calls whose repetition could duplicate work (creates): they are retried only
        when the failure proves nothing happened (UNABLE_TO_LOCK_ROW, a connection never made). ``guard=False``
        skips the budget check, for the follow-up calls of work already started (polling a Bulk job).
        """
        retries = 0
        renewed = False
        while True:
            if guard:
                self.check_budget()
            used_token = self._token
            try:
                sf = self.salesforce()  # may log in: a transient login failure is retried like any call
                used_token = self._token
                return operation(sf)
            except Exception as raw:  # translated below; anything unknown (a bug) is re-raised as is
                error = translate(raw)
                if error is None:
                    raise
                cause: BaseException = raw
            if isinstance(error, SessionExpiredError) and not renewed:
                renewed = True
                log.info("session expired (%s); logging in again", error.error_code)
                self.relogin(used_token)
                continue
            if (isinstance(error, TransientError) and retries + 1 < self.retry.attempts
                    and (repeatable or not error.may_have_succeeded)):
                waited = self.retry.wait(retries)
                retries += 1
                log.info("transient failure %s (%s); retry %d after %.2fs", error.error_code, error.message,
                         retries, waited)
                continue
            if error is cause:
                raise error
            raise error from cause

