"""The contract between services: topic names, message schemas, error codes.

Every message on every topic is a JSON object with a schema version `v`. Services import this
module and nothing else from each other; it imports no framework and no Kafka client, so any
service can read a message and a test can build one without a broker.

A message grows by adding optional fields. A reader rejects a message whose major version it
does not know (it goes to the dead-letter path as poison) instead of guessing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, Literal, TypeVar

import orjson

from services.render.formats import CONTENT_TYPES

SCHEMA_VERSION = 1
INLINE_FILE_MAX_BYTES = 16 * 1024  # a file carried in a result (file_b64) is at most this

# Topic names. Environment variable BARCODE_TOPIC_PREFIX lets several stacks share a broker.
REQUESTS = "barcode.requests"  # gateway -> router: what the client asked for
RENDER = "barcode.render"  # router -> generator: fully resolved render job
RESULTS = "barcode.results"  # router, generator -> notifier: completed or failed
NOTIFICATIONS = "barcode.notifications"  # notifier -> the client's gateway: what to tell the client
DELIVERIES = "barcode.deliveries"  # gateway -> every gateway: "this client saw that job"
DEADLETTER = "barcode.deadletter"  # any service -> operators / `make redrive`: what could not be done
PROGRESS = "barcode.progress"  # generator -> the client's gateway: steps of jobs that asked for them
# Batches (services/batcher): keyed by batch id, so one batch's events and row results meet in
# one partition of the one batcher that owns it.
BATCHES = "barcode.batches"  # gateway -> batcher: a batch, its rows, a cancel; batcher: "finished"
BATCH_ROWS = "barcode.batch-rows"  # notifier -> batcher: the Result of each batch row
BATCH_STATUS = "barcode.batch-status"  # batcher -> every gateway: a batch's progress, throttled

# The formats a request may name, with their content types (services/render/formats.py has
# the rest of each: how it is drawn, verified, named in a ZIP, placed on a sheet).
FORMATS: dict[str, str] = CONTENT_TYPES

JobStatus = Literal["queued", "completed", "failed"]


class ErrorCode:
    """Stable error codes clients can switch on (documented in docs/api.md)."""

    # Rejected by the gateway before anything reaches Kafka.
    INVALID_JSON = "invalid_json"
    INVALID_REQUEST = "invalid_request"  # missing or wrongly typed field
    UNKNOWN_SYMBOLOGY = "unknown_symbology"
    UNKNOWN_FORMAT = "unknown_format"
    DATA_TOO_LONG = "data_too_long"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNKNOWN_MESSAGE_TYPE = "unknown_message_type"
    NOT_FOUND = "not_found"
    INVALID_RESUME_TOKEN = "invalid_resume_token"
    NOT_READY = "not_ready"
    INVALID_API_KEY = "invalid_api_key"
    COMPANY_NOT_ALLOWED = "company_not_allowed"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_SOCKETS = "too_many_sockets"
    TOO_MANY_IN_FLIGHT = "too_many_in_flight"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    HOST_NOT_ALLOWED = "host_not_allowed"  # a Host header outside GATEWAY_ALLOWED_HOSTS (DNS rebinding)
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # state-changing REST without application/json
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # the same key earlier came with other parameters
    TOO_MANY_AUTH_FAILURES = "too_many_auth_failures"  # wrong API keys from one source, over its budget
    UNAVAILABLE = "unavailable"  # Kafka did not take the request
    INVALID_LINK = "invalid_link"  # a signed image URL that was changed, revoked, foreign or expired
    WAIT_TIMEOUT = "wait_timeout"  # GET /v1/barcode: the new barcode was not ready within GATEWAY_IMAGE_WAIT_SECONDS
    INVALID_CSV = "invalid_csv"  # a batch's CSV body that cannot be read (the message names the line)
    TOO_MANY_ROWS = "too_many_rows"  # a batch over the row limit (100,000)
    REQUEST_TOO_COSTLY = "request_too_costly"  # one request whose estimated cost is over GATEWAY_MAX_REQUEST_COST
    INVALID_SHEET = "invalid_sheet"  # a batch's label-sheet layout that cannot be printed
    # Decided later in the pipeline, delivered as a `failed` notification.
    SYMBOLOGY_NOT_ALLOWED = "symbology_not_allowed"
    FORMAT_NOT_ALLOWED = "format_not_allowed"
    INVALID_CHECK_DIGIT = "invalid_check_digit"
    INVALID_CHARACTERS = "invalid_characters"
    INVALID_LENGTH = "invalid_length"
    INVALID_DATA = "invalid_data"
    INVALID_OPTION = "invalid_option"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    ENRICHMENT_UNAVAILABLE = "enrichment_unavailable"
    RENDER_FAILED = "render_failed"
    VERIFICATION_FAILED = "verification_failed"  # drawn, but did not decode back: a bug
    OUTPUT_TOO_LARGE = "output_too_large"
    RENDER_TIMEOUT = "render_timeout"
    INTERNAL = "internal_error"
    CANCELLED = "cancelled"  # a batch row never started: its batch was cancelled first
    UNDECODABLE = "undecodable_message"  # dead letters only: the bytes did not fit the contract


class SchemaError(ValueError):
    """A message that does not match the contract: poison, never retried."""


def now_ms() -> float:
    return time.time() * 1000.0


@dataclass
class ErrorInfo:
    code: str
    message: str
    retryable: bool = False


@dataclass
class GenerateRequest:
    """barcode.requests: a validated client request, before company routing."""

    job_id: str
    data: str
    symbology: str | None = None  # None: the company profile's default
    format: str | None = None  # None: the company profile's default
    company: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    client_id: str | None = None
    # Milliseconds since the epoch at each hop; read by `make smoke` and the benchmark.
    trace: dict[str, float] = field(default_factory=dict)
    idempotency_key: str | None = None  # a repeat with the same key gets this job back
    progress: bool | None = None  # True: the services report each step on barcode.progress
    # Who asked (services/gateway/edge/auth.py Caller.owner): "company:<name>" for an API key, or
    # "anonymous:<hash of the source address>". Scopes idempotency keys and who may read the job
    # on every replica, whatever that replica's own key settings are.
    owner: str | None = None
    batch_id: str | None = None  # a row of this batch (services/batcher); its result goes to the batcher
    row: int | None = None  # the row's number in its batch, from 1
    # Where the result goes when there is no client: a key on the results partition the asking
    # gateway reads (an image URL's job, whose id it does not choose). None: the job id.
    reply_key: str | None = None
    # Return the drawn file in the result when it is small (INLINE_FILE_MAX_BYTES): an image URL
    # answers with it instead of reading the store back.
    inline_file: bool | None = None
    v: int = SCHEMA_VERSION


@dataclass
class RenderJob:
    """barcode.render: everything the generator needs, company defaults already applied."""

    job_id: str
    company: str  # the profile actually applied (e.g. "Default" for an unknown company)
    symbology: str
    data: str
    format: str
    options: dict[str, Any]
    request_id: str | None = None
    client_id: str | None = None
    trace: dict[str, float] = field(default_factory=dict)
    engine: str | None = None  # None: the symbology's default engine
    verify: bool = True  # decode the output back before publishing it
    progress: bool | None = None
    batch_id: str | None = None  # a row of this batch (services/batcher); its result goes to the batcher
    row: int | None = None  # the row's number in its batch, from 1
    # Where the result goes when there is no client: a key on the results partition the asking
    # gateway reads (an image URL's job, whose id it does not choose). None: the job id.
    reply_key: str | None = None
    # Return the drawn file in the result when it is small (INLINE_FILE_MAX_BYTES): an image URL
    # answers with it instead of reading the store back.
    inline_file: bool | None = None
    v: int = SCHEMA_VERSION


@dataclass
class Result:
    """barcode.results: the final outcome of one job, from the router or the generator."""

    job_id: str
    status: Literal["completed", "failed"]
    company: str | None = None
    request_id: str | None = None
    client_id: str | None = None
    bucket: str | None = None
    key: str | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    cached: bool = False  # the object already existed: nothing was rendered
    error: ErrorInfo | None = None
    trace: dict[str, float] = field(default_factory=dict)
    verified: bool | None = None  # True: decoded back and matched; None: not known (cached) or not decodable
    # verified False: why the file could not be decoded back (a ZPL label with no renderer to
    # draw it, or a printer command that renderer does not draw).
    unverified_reason: str | None = None
    batch_id: str | None = None  # a row of this batch (services/batcher); its result goes to the batcher
    row: int | None = None  # the row's number in its batch, from 1
    # A batch row's image shows its human-readable text itself (the label sheet then prints no
    # caption under it); None for single jobs and failures.
    text_printed: bool | None = None
    # Where the result goes when there is no client: a key on the results partition the asking
    # gateway reads (an image URL's job, whose id it does not choose). None: the job id.
    reply_key: str | None = None
    # The drawn file itself, base64, when the request asked for it and it is small.
    file_b64: str | None = None
    # Progress steps no barcode.progress record carried: the job finished before a person could
    # see them (services/generator/progress.py). The gateway sends them before the final message.
    steps: list[dict[str, Any]] | None = None
    v: int = SCHEMA_VERSION


@dataclass
class Notification:
    """barcode.notifications: what a client is told; read by the gateway replica holding the client
    (services/gateway/results/replies.py)."""

    job_id: str
    status: Literal["completed", "failed"]
    created_ms: float
    company: str | None = None
    request_id: str | None = None
    client_id: str | None = None
    url: str | None = None  # no longer set (the gateway signs per message); read for older records
    bucket: str | None = None
    key: str | None = None
    content_type: str | None = None
    cached: bool = False
    error: ErrorInfo | None = None
    trace: dict[str, float] = field(default_factory=dict)
    size_bytes: int | None = None
    verified: bool | None = None
    unverified_reason: str | None = None  # with verified False: why
    # Not written by the notifier: readers set it to the record's offset. One client's
    # notifications share a partition (keyed by client id), so it orders them: a resuming client
    # passes the last one it saw and gets exactly what came after.
    seq: int | None = None
    # The drawn file itself, base64, when the request asked for it and it is small.
    file_b64: str | None = None
    steps: list[dict[str, Any]] | None = None  # as Result.steps; not kept once pushed
    v: int = SCHEMA_VERSION


@dataclass
class Delivery:
    """barcode.deliveries: a gateway pushed these jobs' results onto their clients' sockets.

    One record carries every receipt of a window (`also`, after the first): a receipt per
    result was a fifth of a WebSocket job's records, each read by every replica. A reader that
    predates `also` takes only the first, and a resume may then repeat a result the client has
    (as with a lost receipt)."""

    job_id: str
    client_id: str
    also: list[list[str]] | None = None  # further [client_id, job_id] pairs
    v: int = SCHEMA_VERSION

    def receipts(self) -> list[tuple[str, str]]:
        """Every (client_id, job_id) this record reports; malformed pairs are skipped."""
        return [(self.client_id, self.job_id),
                *((pair[0], pair[1]) for pair in self.also or () if isinstance(pair, list) and len(pair) == 2
                  and isinstance(pair[0], str) and isinstance(pair[1], str))]


@dataclass
class Progress:
    """barcode.progress: one step of a job whose request asked for progress. Best effort (not
    awaited to the broker): the final notification, not this, is what a client may rely on.

    Only the generator sends these. The router's step (`routed`) rides in `earlier` of the
    generator's first message, from the job's trace: one producer keeps a job's steps in order
    (the router's own message could arrive after the generator's), and one message fewer per job
    is a third less of what progress costs the broker."""

    job_id: str
    client_id: str
    step: str  # "rendered", "stored"
    at_ms: float = field(default_factory=now_ms)
    request_id: str | None = None
    detail: dict[str, Any] | None = None  # e.g. {"verified": true} on "rendered"
    # Steps before this one that no message of their own reported, oldest first:
    # [{"step": "routed", "at_ms": ..., "detail": {"company": ...}}]
    earlier: list[dict[str, Any]] | None = None
    v: int = SCHEMA_VERSION


def progress_of(job: GenerateRequest | RenderJob, step: str, with_routed: bool = False,
                **detail: Any) -> Progress | None:
    """The Progress message for a step of this job, or None if the job did not ask for it.
    `with_routed`: the job's first step from the generator, which carries the router's."""
    if not job.progress or not job.client_id:
        return None
    earlier = routed_step(job) if with_routed and isinstance(job, RenderJob) else None
    return Progress(job_id=job.job_id, client_id=job.client_id, step=step, request_id=job.request_id,
                    detail=detail or None, earlier=earlier or None)


def steps_of(progress: Progress) -> list[dict[str, Any]]:
    """A Progress message's steps, oldest first, as `earlier` and `Result.steps` hold them."""
    return [*(progress.earlier or []), {"step": progress.step, "at_ms": progress.at_ms, "detail": progress.detail}]


def routed_step(job: RenderJob) -> list[dict[str, Any]]:
    """The router's step of a job, from the time it stamped into the trace (for `earlier`)."""
    if "routed" not in job.trace:
        return []
    return [{"step": "routed", "at_ms": job.trace["routed"], "detail": {"company": job.company}}]


BatchKind = Literal["created", "rows", "cancel", "finished"]


@dataclass
class BatchEvent:
    """barcode.batches, keyed by batch id. "created" (what the batch is), then "rows" (its rows,
    in chunks under Kafka's message size), from the gateway before it answers 202; "cancel"
    from DELETE; "finished" from the batcher once its outputs are stored. The batcher's state
    of a batch is a fold of these and the batch's row results, so it is rebuilt after a restart."""

    batch_id: str
    kind: BatchKind
    owner: str | None = None
    company: str | None = None
    client_id: str | None = None  # a WebSocket client told of progress
    request_id: str | None = None
    total: int | None = None  # created: the number of rows
    sheet: dict[str, Any] | None = None  # created: the label sheet's layout as the client sent it
    created_ms: float = field(default_factory=now_ms)
    rows: list[dict[str, Any]] | None = None  # rows: services/gateway/batches/rows.py BatchRow.to_json()
    outputs: dict[str, Any] | None = None  # finished: what was stored (BatchStatus's output fields)
    idempotency_key: str | None = None  # created: a repeat with this key gets this batch back
    fingerprint: str | None = None  # created: of what was asked, to refuse a reused key
    v: int = SCHEMA_VERSION


BatchState = Literal["running", "assembling", "completed", "cancelled"]


@dataclass
class BatchStatus:
    """barcode.batch-status, keyed by batch id: the batcher's latest count of a batch, a few
    times a second at most while it runs. Every gateway reads it to answer GET /v1/batches/{id}
    and to push `batch_progress` to the batch's socket."""

    batch_id: str
    status: BatchState
    total: int
    completed: int = 0
    failed: int = 0
    cancelled: int = 0  # rows never started because the batch was cancelled
    owner: str | None = None
    company: str | None = None
    client_id: str | None = None
    request_id: str | None = None
    created_ms: float = 0.0
    updated_ms: float = field(default_factory=now_ms)
    finished_ms: float | None = None
    rows_per_s: float | None = None
    eta_s: float | None = None
    bucket: str | None = None
    archive_key: str | None = None
    sheet_key: str | None = None
    manifest_key: str | None = None
    labels: int | None = None  # placed on the sheet
    labels_not_placed: int | None = None  # too large for the sheet's label (listed in the manifest)
    zpl_key: str | None = None  # labels.zpl: a ZPL label per row, for a thermal printer
    zpl_labels: int | None = None
    zpl_labels_not_placed: int | None = None
    errors: list[dict[str, Any]] | None = None  # the first few failed rows: row, code, message
    idempotency_key: str | None = None
    fingerprint: str | None = None
    v: int = SCHEMA_VERSION


@dataclass
class DeadLetter:
    """barcode.deadletter: a message a service gave up on, with why and how often it tried.
    `value` is the original message, base64, so `make redrive` can put it back unchanged."""

    source_topic: str
    partition: int
    offset: int
    service: str
    error: ErrorInfo
    attempts: int
    value: str  # base64 of the original bytes
    key: str | None = None  # base64
    job_id: str | None = None
    failed_ms: float = field(default_factory=now_ms)
    v: int = SCHEMA_VERSION


Message = GenerateRequest | RenderJob | Result | Notification | Delivery | Progress | DeadLetter | BatchEvent | BatchStatus
T = TypeVar("T", GenerateRequest, RenderJob, Result, Notification, Delivery, Progress, DeadLetter, BatchEvent,
            BatchStatus)


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def encode(message: Message) -> bytes:
    # Optional fields that are unset stay off the wire: smaller messages, cleaner logs. A
    # shallow dict: orjson writes the nested dataclasses (ErrorInfo) itself, and
    # dataclasses.asdict's deep copy cost more than the JSON encoding (docs/benchmarks.md).
    return orjson.dumps({name: value for name in _field_names(type(message))
                         if (value := getattr(message, name)) is not None})


def decode(kind: type[T], raw: bytes | None) -> T:
    """Parse one message; anything that does not fit the schema raises SchemaError."""
    if raw is None:
        raise SchemaError("empty message")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise SchemaError("message is not a JSON object")
    version = body.get("v")
    if version != SCHEMA_VERSION:
        raise SchemaError(f"unsupported schema version {version!r} (this reader knows {SCHEMA_VERSION})")
    known = _field_names(kind)
    # Unknown fields are ignored: newer writers may add optional fields.
    kwargs = {k: v for k, v in body.items() if k in known}
    if isinstance(kwargs.get("error"), dict):
        try:
            kwargs["error"] = ErrorInfo(**kwargs["error"])
        except TypeError as exc:
            raise SchemaError(f"bad error object: {exc}") from exc
    try:
        return kind(**kwargs)
    except TypeError as exc:
        raise SchemaError(f"{kind.__name__}: {exc}") from exc


def topic_name(base: str, prefix: str = "") -> str:
    return f"{prefix}{base}"
