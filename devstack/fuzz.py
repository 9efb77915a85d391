"""`make fuzz`: the gateway fuzzed at scale on a stack of its own (free loopback ports).

Three fuzzers, one time budget (--max-minutes):
  1. schemathesis over GET /openapi.json: coverage, fuzzing and stateful (link-following)
     phases, repeated until its share of the budget is spent (>= --cases cases), with every
     check our OpenAPI document can satisfy;
  2. Content-Type x body on the state-changing endpoints (hypothesis): a CORS-safelisted type
     must never create anything, every refusal is a documented JSON error;
  3. the WebSocket frame fuzzer (tests/support/ws_fuzz.py), --frames frames.
Prints cases per operation, passed, failures, frames sent and findings; exits 1 on a finding.
"""
from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from devstack import paths
from devstack.stack import Stack
from tests.support import ws_fuzz
from tests.support.keys import GATEWAY_API_KEYS

# What schemathesis checks. Left out, and why:
#   positive_data_acceptance: schema-valid data can still break a rule of one symbology (its
#     max_length, the options it takes, its character set): 400/422 by design, per symbology;
#   ignored_auth, object_level_authorization: the key is optional (anonymous callers exist);
#     tests/e2e/test_security.py covers keys and ownership;
#   use_after_free: the API's only DELETE cancels a batch, which stays readable (cancelled, with
#     the outputs of what was made) by design (docs/api.md).
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
          "unsupported_method", "allow_header_conformance", "missing_required_header",
          "ensure_resource_availability")
WAIT_CAP_S = 1  # a generated ?wait=60 on a queued job would hold a worker for a minute


# ---- 1. schemathesis, run in a child process with our hooks loaded ----

def _shortest(found: dict[str, str], kind: str, reproducer: str) -> None:
    if kind not in found or len(reproducer) < len(found[kind]):
        found[kind] = reproducer


def _schemathesis_child(tally_path: str, argv: list[str]) -> None:
    """`st` itself, plus hooks that count answers per operation and check every error body."""
    import schemathesis
    from schemathesis.cli import schemathesis as cli

    lock = threading.Lock()
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    findings: dict[str, str] = {}

    def label(case: Any) -> str:
        documented = case.method.upper() == case.operation.method.upper()
        return case.operation.label if documented else f"other methods on {case.operation.path}"

    def curl(case: Any) -> str:
        try:
            return str(case.as_curl_command())[:1500]
        except Exception as exc:  # a reproducer we cannot print must not stop the run
            return f"{case.method} {case.formatted_path} ({exc})"

    @schemathesis.hook
    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        wait = (case.query or {}).get("wait")
        if isinstance(wait, (int, float)) and not isinstance(wait, bool) and WAIT_CAP_S < wait <= 60:
            case.query["wait"] = WAIT_CAP_S  # still schema-valid: the case keeps its meaning

    @schemathesis.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        status = response.status_code
        problem = None
        if status >= 500 and status != 503:
            problem = f"{status} on {label(case)}"
        elif status >= 400:
            try:
                code = json.loads(response.content)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = None
            if code not in ws_fuzz.DOCUMENTED:
                problem = f"{status} with undocumented error code {code!r} on {label(case)}"
        with lock:
            statuses[label(case)][status] += 1
            if problem:
                _shortest(findings, problem, curl(case))

    @schemathesis.hook
    def after_network_error(context: Any, case: Any, request: Any) -> None:
        with lock:
            statuses[label(case)][0] += 1
            _shortest(findings, f"no response (connection dropped or timed out) on {label(case)}", curl(case))

    def dump() -> None:
        Path(tally_path).write_text(json.dumps({"statuses": statuses, "findings": findings}))

    atexit.register(dump)
    cli.main(args=argv, prog_name="st")


@dataclass
class RestReport:
    generated: int = 0
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)  # operation -> status -> count
    failed: Counter[str] = field(default_factory=Counter)  # operation -> cases a check failed on
    failures: list[dict[str, Any]] = field(default_factory=list)  # schemathesis' failure groups
    tool_errors: list[dict[str, Any]] = field(default_factory=list)
    phases: dict[str, str] = field(default_factory=dict)  # phase -> success | failure | error | skip
    findings: dict[str, str] = field(default_factory=dict)
    output: str = ""


def _failed_cases(ndjson: Path) -> Counter[str]:
    """Cases with a failed check, per operation, from schemathesis' event stream."""
    failed: Counter[str] = Counter()
    for line in ndjson.read_text().splitlines():
        event = json.loads(line).get("ScenarioFinished")
        recorder = (event or {}).get("recorder", {})
        for case_id, checks in recorder.get("checks", {}).items():
            if any(c["status"] == "failure" for c in checks):
                case = recorder["cases"][case_id]["value"]
                failed[f"{case['method'].upper()} {case['path']}"] += 1
    return failed


def run_schemathesis(url: str, out: Path, max_seconds: int | None, *, workers: int = 1, seed: int | None = None,
                     examples: int = 100, checks: tuple[str, ...] = CHECKS) -> RestReport:
    """`max_seconds`: phases repeat until it is spent; None: one pass of `examples` per operation."""
    out.mkdir(parents=True, exist_ok=True)
    tally = out / "tally.json"
    argv = ["run", f"{url}/openapi.json", "--checks", ",".join(checks), "--max-examples", str(examples),
            *(["--max-time", str(max_seconds)] if max_seconds else []), "--workers", str(workers), "--no-color",
            # Anonymous by default: a generated X-API-Key would make nearly every case a 401.
            "--generation-with-security-parameters", "false", "--generation-database", "none",
            "--request-timeout", "30", "--output-sanitize", "false", "--report", "json,ndjson", "--report-dir", str(out),
            "--suppress-health-check", "all", *(["--seed", str(seed)] if seed is not None else [])]
    run = subprocess.run([sys.executable, "-m", "devstack.fuzz", "--schemathesis-child", str(tally), "--", *argv],
                         cwd=paths.ROOT, capture_output=True, text=True, timeout=(max_seconds or 600) + 600)
    report = RestReport(output=run.stdout + run.stderr[-3000:])
    documents = sorted(out.glob("json-*.json"))
    if documents:
        doc = json.loads(documents[-1].read_text())
        report.generated = doc["test_cases"]["generated"]
        report.failures, report.tool_errors = doc["failures"], doc["errors"]
        report.phases = {name: phase["status"] for name, phase in (doc["phases"] or {}).items()}
    events = sorted(out.glob("ndjson-*.ndjson"))
    if events:
        report.failed = _failed_cases(events[-1])
    if tally.exists():
        counted = json.loads(tally.read_text())
        report.statuses, report.findings = counted["statuses"], counted["findings"]
    for group in report.failures:
        kind = f"schemathesis {group['code']} {group['title']} on {', '.join(group['operations'])}"
        report.findings.setdefault(kind, "see the FAILURES section of the schemathesis output (st replay <id>)")
    return report


# ---- 2. Content-Type x body on the state-changing endpoints ----

# A page on another site can send these without a CORS preflight: they must never create a job.
SIMPLE_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")
CONTENT_TYPES = st.one_of(
    st.sampled_from(["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain",
                     "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
                     "multipart/form-data; boundary=x", "application/xml", "application/vnd.api+json",
                     "text/json", "application/octet-stream", ""]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
BODIES = st.one_of(
    st.just(b'{"data": "HELLO", "symbology": "code128"}'),
    ws_fuzz.GENERATE.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200), st.just(b"data=HELLO&symbology=code128"))


@dataclass
class MediaReport:
    cases: int = 0
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    findings: dict[str, str] = field(default_factory=dict)


async def _media_case(session: aiohttp.ClientSession, url: str, path: str, ctype: str, body: bytes,
                      report: MediaReport) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    async with session.post(f"{url}{path}", data=body, headers=headers, skip_auto_headers=["Content-Type"]) as resp:
        raw = await resp.read()
    report.cases += 1
    mime = ctype.split(";")[0].strip().lower()
    report.statuses[f"POST {path} {mime if mime in ('application/json', *SIMPLE_TYPES) else 'other'}"][resp.status] += 1
    reproducer = f"curl -X POST -H 'Content-Type: {ctype}' --data-binary {body[:300]!r} {url}{path}"
    if resp.status >= 500 and resp.status != 503:
        _shortest(report.findings, f"{resp.status} on POST {path}", reproducer)
    elif resp.status >= 400:
        try:
            code = json.loads(raw)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        if code not in ws_fuzz.DOCUMENTED:
            _shortest(report.findings, f"{resp.status} with undocumented error code {code!r} on POST {path}", reproducer)
    elif path == "/v1/jobs" and (mime in SIMPLE_TYPES or not mime):
        _shortest(report.findings, f"POST /v1/jobs with Content-Type {mime or '(none)'!r} accepted "
                                   f"({resp.status}): a cross-site form can create jobs", reproducer)


def run_media_types(url: str, max_cases: int, max_seconds: float) -> MediaReport:
    report = MediaReport()
    deadline = time.monotonic() + max_seconds
    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(_session())

    @settings(max_examples=max_cases, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(["/v1/jobs", "/v1/validate"]), ctype=CONTENT_TYPES, body=BODIES)
    def one(path: str, ctype: str, body: bytes) -> None:
        if time.monotonic() < deadline:
            loop.run_until_complete(_media_case(session, url, path, ctype, body, report))

    try:
        one()
    finally:
        loop.run_until_complete(session.close())
        loop.close()
    return report


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))


# ---- 3. WebSocket frames ----

def run_websocket(url: str, max_frames: int, max_seconds: float, max_frames_per_socket: int = 12) -> ws_fuzz.Tally:
    tally = ws_fuzz.Tally()
    deadline = time.monotonic() + max_seconds
    loop = asyncio.new_event_loop()

    @settings(max_examples=200, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(handshake=ws_fuzz.HANDSHAKE, frames=st.lists(ws_fuzz.FRAMES, min_size=1, max_size=max_frames_per_socket))
    def one(handshake: tuple[dict[str, str], str], frames: list[ws_fuzz.Frame]) -> None:
        if tally.frames < max_frames and time.monotonic() < deadline:
            loop.run_until_complete(ws_fuzz.exchange(url, handshake, frames, tally))

    try:
        while tally.frames < max_frames and time.monotonic() < deadline:
            one()  # batches of fresh examples (no database: each batch draws anew)
    finally:
        loop.close()
    return tally


# ---- the run ----

def _print_summary(rest: RestReport, media: MediaReport, ws: ws_fuzz.Tally, seconds: dict[str, float]) -> int:
    print("\n==== make fuzz: summary")
    print(f"schemathesis: {rest.generated} cases generated ({seconds['rest']:.0f} s); per operation "
          "(calls seen by our hooks, incl. stateful steps; failed = a schemathesis check failed):")
    print(f"  {'operation':44} {'calls':>7} {'passed':>7} {'failed':>7}  statuses")
    for op in sorted(rest.statuses):
        calls = sum(rest.statuses[op].values())
        failed = rest.failed.get(op, 0)
        codes = " ".join(f"{s}:{n}" for s, n in sorted(rest.statuses[op].items(), key=lambda kv: int(kv[0])))
        print(f"  {op:44} {calls:7} {calls - failed:7} {failed:7}  {codes}")
    for error in rest.tool_errors:
        print(f"  schemathesis tool error (not an answer of ours): {error['title']} x{error['count']}")
    print(f"content types: {media.cases} cases ({seconds['media']:.0f} s)")
    for key in sorted(media.statuses):
        print(f"  {key:60} " + " ".join(f"{s}:{n}" for s, n in sorted(media.statuses[key].items())))
    print(f"websocket: {ws.frames} frames on {ws.exchanges} sockets ({seconds['ws']:.0f} s); sockets ended: "
          + ", ".join(f"{k} x{n}" for k, n in ws.endings.most_common()))
    findings = {**rest.findings, **media.findings, **{f"websocket: {k}": v for k, v in ws.findings.items()}}
    print(f"findings: {len(findings)}")
    for kind, reproducer in sorted(findings.items()):
        print(f"  - {kind}\n      {reproducer[:1200]}")
    return 1 if findings else 0


def fuzz(url: str, out: Path, args: argparse.Namespace) -> int:
    budget = args.max_minutes * 60
    seconds: dict[str, float] = {}
    started = time.monotonic()
    rest = run_schemathesis(url, out / "schemathesis", max(30, int(budget * 0.5)), workers=args.workers,
                            seed=args.seed)
    seconds["rest"] = time.monotonic() - started
    print(rest.output[-6000:])
    started = time.monotonic()
    media = run_media_types(url, args.media_cases, budget * 0.05)
    seconds["media"] = time.monotonic() - started
    started = time.monotonic()
    ws = run_websocket(url, args.frames, max(30.0, budget * 0.4))
    seconds["ws"] = time.monotonic() - started
    if rest.generated < args.cases:
        print(f"NOTE: {rest.generated} schemathesis cases, below the --cases target of {args.cases}")
    return _print_summary(rest, media, ws, seconds)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--schemathesis-child"]:
        _schemathesis_child(argv[1], argv[3:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m devstack.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--max-minutes", type=float, default=15, help="time budget of the fuzzing (stack start aside)")
    parser.add_argument("--cases", type=int, default=10_000, help="schemathesis cases expected at least")
    parser.add_argument("--frames", type=int, default=5_000, help="WebSocket frames to send at most")
    parser.add_argument("--media-cases", type=int, default=600, help="Content-Type cases at most")
    parser.add_argument("--workers", type=int, default=1,
                        help="schemathesis workers (2 trips a CPython 3.11 AST race inside hypothesis: tool errors)")
    parser.add_argument("--seed", type=int, default=None, help="schemathesis seed (to repeat a run)")
    parser.add_argument("--url", help="fuzz this running gateway instead of starting a stack")
    parser.add_argument("--out", type=Path, default=paths.ROOT / ".local" / "fuzz", help="reports and the stack's logs")
    args = parser.parse_args(argv)
    out = args.out / time.strftime("%Y%m%d-%H%M%S")
    print(f"[fuzz] reports in {out}")
    if args.url:
        return fuzz(args.url.rstrip("/"), out, args)
    # The test suite's settings: keys for CompanyA/B, no rate limit (the fuzzer is one caller).
    stack = Stack.create(out / "stack", extra_env={"GATEWAY_API_KEYS": GATEWAY_API_KEYS, "GATEWAY_RATE_LIMIT": "0"})
    try:
        stack.start_infra()
        url = stack.start_pipeline()[0]
        print(f"[fuzz] stack up, gateway {url}")
        return fuzz(url, out, args)
    finally:
        stack.stop()
        print(f"[fuzz] stack stopped; its logs: {out / 'stack' / 'logs'}")


if __name__ == "__main__":
    sys.exit(main())
