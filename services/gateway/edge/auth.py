"""Who is calling: API keys (stored as SHA-256 hashes) mapped to a company, and per-caller
limits (a token bucket for requests, a cap on open sockets).

Keys come from GATEWAY_API_KEYS ("<sha256hex>=<Company>,...") and/or the file named by
GATEWAY_API_KEYS_FILE (one "<sha256hex> <Company>" per line, # comments). Only hashes are
stored, so the file can be read by ops without revealing keys. `python -m
services.gateway.edge.auth hash <key>` prints the hash of a key. A key is sent in the `X-API-Key`
header (REST and the WebSocket handshake) or in a first WebSocket message
`{"type": "auth", "api_key": ...}` (browsers cannot set headers on a WebSocket); never in a URL.
"""
from __future__ import annotations

import hashlib
import hmac
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.contract import ErrorCode
from services.gateway.edge.errors import ApiError
from services.settings import ConfigError

ANONYMOUS = "anonymous"
ANY_COMPANY = "*"


def key_hash(key: str) -> str:
    # surrogateescape: a header with bytes that are not UTF-8 arrives with them escaped; hash the
    # bytes as sent (an unknown key, 401) instead of failing to encode them (a 500).
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """An authenticated key's company, or anonymous (company None: the Default profile)."""

    identity: str  # rate-limit and socket-count bucket: the key hash, or "anonymous:<ip>"
    company: str | None
    # Whose jobs and client ids these are, on every replica (it travels in each request): all
    # keys of a company share "company:<name>"; an anonymous caller is its source address,
    # hashed so no address is written to Kafka.
    owner: str = ""


class KeyRing:
    def __init__(self, hashed: dict[str, str], anonymous_companies: frozenset[str] = frozenset({ANY_COMPANY}),
                 owner_salt: bytes = b"") -> None:
        self._companies = dict(hashed)  # sha256 hex -> company
        self.protected = frozenset(hashed.values())  # companies only a key may use
        # Companies a caller without a key may name ("*": any company that has no keys).
        self.anonymous_companies = anonymous_companies
        self._salt = owner_salt  # the replicas' shared secret: one address, one owner, everywhere

    @classmethod
    def load(cls, inline: str, path: str, anonymous_companies: frozenset[str] = frozenset({ANY_COMPANY}),
             owner_salt: bytes = b"") -> "KeyRing":
        hashed: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in inline.split(","))):
            digest, _, company = item.partition("=")
            hashed[_checked(digest, "GATEWAY_API_KEYS")] = company.strip()
        if path:
            try:
                lines = Path(path).read_text().splitlines()
            except OSError as exc:
                raise ConfigError(f"GATEWAY_API_KEYS_FILE: {exc}") from exc
            for number, line in enumerate(lines, 1):
                line = line.split("#", 1)[0].strip()
                if line:
                    digest, _, company = line.partition(" ")
                    hashed[_checked(digest, f"{path}:{number}")] = company.strip()
        if any(not company for company in hashed.values()):
            raise ConfigError("every API key needs a company")
        return cls(hashed, anonymous_companies, owner_salt)

    def caller(self, key: str | None, remote: str) -> Caller:
        if not key:
            address = hmac.new(self._salt, remote.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()
            return Caller(f"{ANONYMOUS}:{remote}", None, f"{ANONYMOUS}:{address[:24]}")
        digest = key_hash(key)
        for known, company in self._companies.items():
            if hmac.compare_digest(known, digest):
                return Caller(digest, company, f"company:{company}")
        raise ApiError(ErrorCode.INVALID_API_KEY, "unknown API key", status=401)

    def effective_company(self, caller: Caller, requested: str | None) -> str | None:
        """A key may use its own company only; anonymous callers get Default, and may not
        name a company that has keys."""
        if caller.company is not None:
            if requested not in (None, caller.company):
                raise ApiError(ErrorCode.COMPANY_NOT_ALLOWED,
                               f"this API key belongs to {caller.company}, not {requested}", status=403)
            return caller.company
        if requested in self.protected:
            raise ApiError(ErrorCode.COMPANY_NOT_ALLOWED, f"{requested} needs its API key", status=403)
        if requested is not None and ANY_COMPANY not in self.anonymous_companies \
                and requested not in self.anonymous_companies:
            raise ApiError(ErrorCode.COMPANY_NOT_ALLOWED, f"{requested} is not open to callers without an API key "
                                                          "(GATEWAY_ANONYMOUS_COMPANIES)", status=403)
        return requested

    def may_read(self, caller: Caller, owner: str | None, company: str | None) -> bool:
        """A keyed company's jobs are its own; an anonymous job is read by whoever holds its id
        (an unguessable capability, as before keys existed). The owner comes from the request
        on Kafka, so a replica with other key settings still keeps a company's jobs to it.
        Before the request is read (only its result is), the company decides as this replica
        knows it."""
        if owner is not None:
            return not owner.startswith("company:") or owner == caller.owner
        return company not in self.protected or caller.company == company


def _checked(digest: str, where: str) -> str:
    digest = digest.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ConfigError(f"{where}: expected a SHA-256 hex digest of the key, not the key itself")
    return digest


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float
    tokens: float | None = None  # None: a new bucket, full (below zero is a debt: costs.py)
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> float:
        """0 if allowed (a token is taken); else seconds until a token is available."""
        wait = self.wait()
        if wait == 0:
            self.tokens = self.balance - 1
        return wait

    def spend(self, tokens: float) -> None:
        """Take `tokens` more, below zero if need be: a costly request admitted while the bucket
        held a token is paid in full, and the caller waits until the debt is refilled. A
        negative amount gives tokens back (never above the burst)."""
        self.wait()  # refill up to now first
        self.tokens = min(self.burst, self.balance - tokens)

    def wait(self) -> float:
        """Seconds until a token is available (0: one is), without taking it."""
        now = time.monotonic()
        start = self.burst if self.tokens is None else self.tokens
        self.tokens = min(self.burst, start + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    @property
    def balance(self) -> float:
        """The tokens as of the last refill (the burst for a bucket never used)."""
        return self.burst if self.tokens is None else self.tokens


class Limits:
    """Per-caller request rate and open sockets, and per-source wrong API keys."""

    def __init__(self, rate: float, burst: float, max_sockets: int, auth_failures_per_minute: float = 10.0,
                 auth_failure_burst: float = 10.0) -> None:
        self.rate, self.burst, self.max_sockets = rate, burst, max_sockets
        self._buckets: dict[str, TokenBucket] = {}
        self.sockets: dict[str, int] = {}
        # Wrong keys cost a token from the source address's bucket; an empty bucket refuses every
        # key from that address (right ones too) until it refills: guessing stays slow.
        self.auth_rate = auth_failures_per_minute / 60.0
        self.auth_burst = auth_failure_burst
        self._auth_failures: dict[str, TokenBucket] = {}

    def check_auth_budget(self, remote: str) -> None:
        bucket = self._auth_failures.get(remote)
        if bucket is not None:
            wait = bucket.wait()
            if wait > 0:
                raise ApiError(ErrorCode.TOO_MANY_AUTH_FAILURES,
                               f"too many wrong API keys from this address; retry after {wait:.0f} s", retry_after=wait)

    def auth_failed(self, remote: str) -> None:
        if len(self._auth_failures) > 100_000:
            self._auth_failures = {k: b for k, b in self._auth_failures.items() if b.wait() > 0}
        self._auth_failures.setdefault(remote, TokenBucket(self.auth_rate, self.auth_burst)).take()

    def take(self, caller: Caller) -> None:
        if self.rate <= 0:
            return
        bucket = self._buckets.setdefault(caller.identity, TokenBucket(self.rate, self.burst))
        wait = bucket.take()
        if wait > 0:
            raise RateLimited(wait)
        if len(self._buckets) > 100_000:  # forget idle callers rather than grow without bound
            self._buckets = {k: b for k, b in self._buckets.items() if time.monotonic() - b.stamp < 60}

    def charge(self, caller: Caller, tokens: float) -> None:
        """The cost of a request beyond the token its arrival took (guard.py): estimated before
        the work, settled with what it really took (services/gateway/jobs/costs.py)."""
        if self.rate <= 0 or tokens == 0:
            return
        self._buckets.setdefault(caller.identity, TokenBucket(self.rate, self.burst)).spend(tokens)

    def check_budget(self, caller: Caller) -> None:
        """429 while the caller is in debt, without taking anything: requests that arrived
        together each took their token before any of them was charged its cost."""
        if self.rate <= 0:
            return
        bucket = self._buckets.get(caller.identity)
        if bucket is not None:
            bucket.wait()  # refilled up to now
            if bucket.balance < 0:
                raise RateLimited(-bucket.balance / self.rate)

    def open_socket(self, caller: Caller) -> None:
        if self.sockets.get(caller.identity, 0) >= self.max_sockets:
            raise ApiError(ErrorCode.TOO_MANY_SOCKETS, f"at most {self.max_sockets} open sockets per caller",
                           status=429)
        self.sockets[caller.identity] = self.sockets.get(caller.identity, 0) + 1

    def close_socket(self, caller: Caller) -> None:
        left = self.sockets.get(caller.identity, 1) - 1
        if left > 0:
            self.sockets[caller.identity] = left
        else:
            self.sockets.pop(caller.identity, None)


class RateLimited(ApiError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, f"too many requests; retry after {retry_after:.2f} s", status=429,
                         retry_after=retry_after)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "hash":
        sys.exit("usage: python -m services.gateway.edge.auth hash <api-key>")
    print(key_hash(sys.argv[2]))
