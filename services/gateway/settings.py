"""Gateway settings: GATEWAY_* plus the shared BARCODE_* Kafka and S3 settings."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.companies.profiles import DEFAULT_COMPANIES
from services.gateway.edge.client_address import Network, trusted_networks
from services.settings import ConfigError, Env, KafkaSettings, S3Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewaySettings:
    kafka: KafkaSettings
    s3: S3Settings
    host: str
    port: int
    replica: str  # names this replica in logs and metrics
    max_body_bytes: int  # REST request bodies above this get 413 payload_too_large
    max_batch_bytes: int  # POST /v1/batches bodies (JSON or CSV) above this get 413
    max_batches_per_caller: int  # batches of one caller running at once; more get 429
    max_message_bytes: int  # WebSocket messages above this get an error; the socket stays open
    max_frame_bytes: int  # hard cap: aiohttp closes a socket (1009) on a bigger frame
    max_wait_s: float  # upper bound for GET /v1/jobs/{id}?wait=
    image_wait_s: float  # GET /v1/barcode waits this long for a new barcode, then 504 wait_timeout
    image_max_age_s: int  # Cache-Control max-age of a GET /v1/barcode answer
    image_cache_bytes: int  # image files kept in memory for repeats (0: none)
    link_secret: bytes  # signs image links (POST /v1/links); the same on every replica
    link_rotations: dict[str, int]  # company -> rotation number: raising it revokes its links
    link_ttl_s: int  # a link's lifetime when POST /v1/links does not ask for one
    link_max_ttl_s: int  # the longest lifetime a link may ask for (besides never expiring, where allowed)
    permanent_links: frozenset[str]  # companies whose links may never expire ("*": every one)
    socket_queue: int  # outgoing messages buffered per socket before it counts as stuck
    resume_secret: bytes  # signs resume tokens; the same on every replica
    resume_ttl_s: int  # a resume token expires this long after the hello that issued it
    shutdown_timeout_s: float
    api_keys: str  # inline "<sha256hex>=<Company>,..."
    api_keys_file: str
    rate_limit: float  # requests per second per caller (0: off)
    rate_burst: float
    max_request_cost: float  # tokens one request may be estimated at (batches: all their rows); more get 413
    check_workers: int  # processes for the renderer checks that take more than a millisecond
    max_sockets_per_caller: int
    max_in_flight_per_socket: int
    allowed_origins: frozenset[str]  # browser Origins allowed at the handshake, besides our own host
    idle_timeout_s: float  # a socket that sends nothing for this long is closed
    # How long the feed of other replicas' requests and receipts waits to fill a fetch
    # (notifications are always fetched at once; see services/gateway/results/feed.py).
    state_fetch_wait_ms: int
    # How long another replica's results partition is still read after the last status read,
    # wait or socket that needed it (feed.py `Feed.hold`): a client polling a job's status
    # does not restart the reading each time.
    hold_linger_s: float
    companies_file: str  # the router's company profiles, offered by GET /v1/companies and the page
    max_jobs: int  # jobs held for status and resume; beyond it the oldest go before their TTL
    public_url: str  # base of the links we hand out (file_url, OpenAPI servers); "" = as reached
    # Proxies whose X-Forwarded-For names the caller (client_address.py); none: the peer is the caller.
    trusted_proxies: tuple[Network, ...]
    allowed_hosts: frozenset[str]  # Host header names we answer to ("*": any); stops DNS rebinding
    anonymous_companies: frozenset[str]  # companies callers without a key may name ("*": any without keys)
    url_ttl_s: int  # lifetime of a signed storage URL, signed anew on every read
    auth_failures_per_minute: float  # wrong API keys allowed per source address (after the burst)
    auth_failure_burst: float
    max_auth_failures_per_socket: int  # wrong `auth` messages before a socket is closed (1008)
    slow_client_s: float  # a socket that cannot take a write for this long is closed (1013)
    socket_send_buffer: int  # kernel send buffer per WebSocket (bytes): what a stalled client can pin there
    header_timeout_s: float  # a connection must send its request headers within this time
    max_headers: int  # request header count; more is a 400
    max_header_bytes: int  # size of one request header line; more is a 400

    @classmethod
    def from_env(cls, env: Env | None = None) -> "GatewaySettings":
        env = env or Env()
        secret = env.str("GATEWAY_RESUME_SECRET", "")
        if not secret:
            # Works for one replica; several replicas need the same secret or resumes fail.
            log.warning("GATEWAY_RESUME_SECRET unset: using a random one (resume works on this replica only)")
            secret = secrets.token_hex(32)
        max_message = env.int("GATEWAY_MAX_MESSAGE_BYTES", 64 * 1024, minimum=1024)
        public_url = env.str("GATEWAY_PUBLIC_URL", "").rstrip("/")
        if public_url and urlsplit(public_url).scheme not in ("http", "https"):
            raise ConfigError(f"GATEWAY_PUBLIC_URL must be an http(s) URL, got {public_url!r}")
        return cls(
            kafka=KafkaSettings.from_env(env),
            s3=S3Settings.from_env(env),
            host=env.str("GATEWAY_HOST", "127.0.0.1"),
            port=env.int("GATEWAY_PORT", 8080),
            replica=env.str("GATEWAY_REPLICA", "gateway"),
            max_body_bytes=env.int("GATEWAY_MAX_BODY_BYTES", 64 * 1024, minimum=1024),
            # 100,000 rows of ~100 bytes, with room: 32 MiB.
            max_batch_bytes=env.int("GATEWAY_MAX_BATCH_BYTES", 32 * 1024 * 1024, minimum=1024),
            max_batches_per_caller=env.int("GATEWAY_MAX_BATCHES_PER_CALLER", 4, minimum=1),
            max_message_bytes=max_message,
            max_frame_bytes=max(env.int("GATEWAY_MAX_FRAME_BYTES", 1024 * 1024, minimum=1024), max_message),
            max_wait_s=env.float("GATEWAY_MAX_WAIT_SECONDS", 60.0, minimum=0.0),
            image_wait_s=env.float("GATEWAY_IMAGE_WAIT_SECONDS", 20.0, minimum=0.1),
            # A day: the stored object's own lifetime by default (GENERATOR_OBJECT_TTL_DAYS).
            image_max_age_s=env.int("GATEWAY_IMAGE_MAX_AGE_SECONDS", 86400, minimum=0),
            image_cache_bytes=env.int("GATEWAY_IMAGE_CACHE_BYTES", 32 * 1024 * 1024, minimum=0),
            link_secret=(env.str("GATEWAY_LINK_SECRET", "") or secret).encode(),
            link_rotations=_rotations(env.str("GATEWAY_LINK_ROTATIONS", "")),
            link_ttl_s=env.int("GATEWAY_LINK_TTL_SECONDS", 30 * 86400, minimum=60),
            link_max_ttl_s=env.int("GATEWAY_LINK_MAX_TTL_SECONDS", 366 * 86400, minimum=60),
            permanent_links=_names(env.str("GATEWAY_PERMANENT_LINK_COMPANIES", "")),
            socket_queue=env.int("GATEWAY_SOCKET_QUEUE", 1000, minimum=1),
            resume_secret=secret.encode(),
            resume_ttl_s=env.int("GATEWAY_RESUME_TTL_SECONDS", 3600, minimum=60),
            # Kubernetes sends SIGKILL 30 s after SIGTERM; finish well before that.
            shutdown_timeout_s=env.float("GATEWAY_SHUTDOWN_TIMEOUT_SECONDS", 20.0, minimum=0.0),
            api_keys=env.str("GATEWAY_API_KEYS", ""),
            api_keys_file=env.str("GATEWAY_API_KEYS_FILE", ""),
            rate_limit=env.float("GATEWAY_RATE_LIMIT", 200.0),
            rate_burst=env.float("GATEWAY_RATE_BURST", 400.0, minimum=1.0),
            max_request_cost=env.float("GATEWAY_MAX_REQUEST_COST", 10_000.0, minimum=1.0),
            check_workers=env.int("GATEWAY_CHECK_WORKERS", 1, minimum=1),
            max_sockets_per_caller=env.int("GATEWAY_MAX_SOCKETS_PER_CALLER", 100, minimum=1),
            max_in_flight_per_socket=env.int("GATEWAY_MAX_IN_FLIGHT_PER_SOCKET", 1000, minimum=1),
            allowed_origins=frozenset(o.strip() for o in env.str("GATEWAY_ALLOWED_ORIGINS", "").split(",") if o.strip()),
            idle_timeout_s=env.float("GATEWAY_IDLE_TIMEOUT_SECONDS", 300.0, minimum=1.0),
            state_fetch_wait_ms=env.int("GATEWAY_STATE_FETCH_WAIT_MS", 100, minimum=1),
            hold_linger_s=env.float("GATEWAY_RESULTS_LINGER_SECONDS", 30.0, minimum=0.0),
            companies_file=env.str("ROUTER_COMPANIES_FILE", str(DEFAULT_COMPANIES)),
            max_jobs=env.int("GATEWAY_MAX_JOBS", 100_000, minimum=1000),
            public_url=public_url,
            trusted_proxies=trusted_networks(env.str("GATEWAY_TRUSTED_PROXIES", "")),
            allowed_hosts=_allowed_hosts(env.str("GATEWAY_ALLOWED_HOSTS", ""), public_url),
            anonymous_companies=_names(env.str("GATEWAY_ANONYMOUS_COMPANIES", "*")),
            url_ttl_s=env.int("GATEWAY_URL_TTL_SECONDS", 900, minimum=1),
            auth_failures_per_minute=env.float("GATEWAY_AUTH_FAILURES_PER_MINUTE", 10.0, minimum=0.1),
            auth_failure_burst=env.float("GATEWAY_AUTH_FAILURE_BURST", 10.0, minimum=1.0),
            max_auth_failures_per_socket=env.int("GATEWAY_MAX_AUTH_FAILURES_PER_SOCKET", 3, minimum=1),
            slow_client_s=env.float("GATEWAY_SLOW_CLIENT_SECONDS", 10.0, minimum=0.1),
            socket_send_buffer=env.int("GATEWAY_SOCKET_SEND_BUFFER_BYTES", 256 * 1024, minimum=4096),
            header_timeout_s=env.float("GATEWAY_HEADER_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            max_headers=env.int("GATEWAY_MAX_HEADERS", 48, minimum=8),
            max_header_bytes=env.int("GATEWAY_MAX_HEADER_BYTES", 8190, minimum=1024),
        )


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _rotations(text: str) -> dict[str, int]:
    """"CompanyA=2,CompanyB=1" (Default: the anonymous profile's links)."""
    rotations = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        company, _, number = item.partition("=")
        if not number.strip().isdigit():
            raise ConfigError(f"GATEWAY_LINK_ROTATIONS: {item!r} is not <Company>=<number>")
        rotations["" if company.strip() == "Default" else company.strip()] = int(number)
    return rotations


def _names(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


def _allowed_hosts(text: str, public_url: str) -> frozenset[str]:
    """The configured names, else loopback (what `make run` and kubectl port-forward reach us
    by); the public URL's host is always one of them."""
    hosts = {name.lower() for name in _names(text)} or set(LOOPBACK_NAMES)
    public_host = urlsplit(public_url).hostname if public_url else None
    if public_host:
        hosts.add(public_host.lower())
    return frozenset(hosts)
