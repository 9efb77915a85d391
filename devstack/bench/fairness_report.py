"""What `make bench-fairness` concludes from its steps: percentiles, one summary per phase, the
markdown table and the verdict against issue 22's goal (one caller at its full budget raises
another caller's median latency by at most 2x).

Pure functions of the steps' recorded latencies, so they are unit-tested without a stack.
"""
from __future__ import annotations

from typing import Any

BOUND = 2.0  # issue 22: attacked median / alone median, at most
KINDS = ("validate", "jobs")  # the victim's two kinds of request


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile, interpolated between the two nearest ranks (numpy's default);
    None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(latencies_ms: list[float]) -> dict[str, Any]:
    p50, p99 = percentile(latencies_ms, 50), percentile(latencies_ms, 99)
    return {"n": len(latencies_ms), "p50": None if p50 is None else round(p50, 1),
            "p99": None if p99 is None else round(p99, 1)}


def ratio(attacked: float | None, alone: float | None) -> float | None:
    if attacked is None or not alone:
        return None
    return round(attacked / alone, 2)


def _failed(steps: list[dict[str, Any]], kind: str) -> int:
    return sum(n for s in steps for outcome, n in s["victim"][kind]["outcomes"].items() if outcome != "ok")


def phase_summary(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """One phase's steps (alone and attacked, every round) summed up: for each victim request
    kind, the percentiles of all rounds' latencies pooled, alone vs attacked, the ratio of the
    medians (pooled, and round by round: the machine drifts), the victim's failures; the
    attacker's accepted rate and 429s; and whether the phase meets the bound."""
    alone = [s for s in steps if not s["attacked"]]
    attacked = [s for s in steps if s["attacked"]]
    out: dict[str, Any] = {"phase": steps[0]["phase"], "attack": steps[0]["attack"], "rounds": len(attacked)}
    meets = bool(alone and attacked)
    for kind in KINDS:
        quiet = summarize([x for s in alone for x in s["victim"][kind]["latencies_ms"]])
        loud = summarize([x for s in attacked for x in s["victim"][kind]["latencies_ms"]])
        per_round = [ratio(summarize(b["victim"][kind]["latencies_ms"])["p50"],
                           summarize(a["victim"][kind]["latencies_ms"])["p50"])
                     for a, b in zip(alone, attacked)]
        failed = {"alone": _failed(alone, kind), "attacked": _failed(attacked, kind)}
        r = ratio(loud["p50"], quiet["p50"])
        out[kind] = {"alone": quiet, "attacked": loud, "p50_ratio": r, "p50_ratio_per_round": per_round,
                     "failed": failed}
        meets = meets and r is not None and r <= BOUND and failed["attacked"] == 0
    seconds = sum(s["attacker"]["seconds"] for s in attacked)
    accepted = sum(s["attacker"]["accepted"] for s in attacked)
    out["attacker"] = {
        "accepted": accepted, "accepted_per_s": round(accepted / seconds, 2) if seconds else None,
        "rejected_429": sum(s["attacker"]["rejected_429"] for s in attacked),
        "other": _merged([s["attacker"]["other"] for s in attacked]),
        "undrained_steps": sum(1 for s in attacked if not s["drained"]),
        # Phase C: the rows of the attacker's batches by the end of each step (cut while refused)
        "batch_rows": sorted({s["attacker"]["batch_rows"] for s in attacked if s["attacker"].get("batch_rows")}),
    }
    out["meets"] = meets
    return out


def _merged(counts: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            out[k] = out.get(k, 0) + v
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _x(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}x" if value >= 100 else f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def table(phases: list[dict[str, Any]]) -> str:
    lines = ["| phase | attacker sends | victim request | alone p50 ms | alone p99 ms | attacked p50 ms | "
             "attacked p99 ms | p50 ratio (per round) | victim failed (alone/attacked) | attacker accepted/s | "
             "attacker 429s | <= 2x |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in phases:
        a = p["attacker"]
        for n, kind in enumerate(KINDS):
            k = p[kind]
            rounds = ", ".join(_x(r) for r in k["p50_ratio_per_round"])
            first = n == 0
            lines.append("| " + " | ".join([
                p["phase"] if first else "", p["attack"] if first else "", kind,
                _ms(k["alone"]["p50"]), _ms(k["alone"]["p99"]), _ms(k["attacked"]["p50"]), _ms(k["attacked"]["p99"]),
                f"{_x(k['p50_ratio'])} ({rounds})", f"{k['failed']['alone']}/{k['failed']['attacked']}",
                _ms(a["accepted_per_s"]) if first else "", str(a["rejected_429"]) if first else "",
                ("yes" if p["meets"] else "**no**") if first else "",
            ]) + " |")
    return "\n".join(lines)


def verdicts(phases: list[dict[str, Any]]) -> list[str]:
    """One line per phase: meets issue 22's goal or not, and by how much."""
    out = []
    for p in phases:
        parts = [f"{kind} p50 {_ms(p[kind]['alone']['p50'])} -> {_ms(p[kind]['attacked']['p50'])} ms "
                 f"({_x(p[kind]['p50_ratio'])})" for kind in KINDS]
        if p["attacker"]["batch_rows"]:
            rows = ", ".join(str(r) for r in p["attacker"]["batch_rows"])
            parts.append(f"the attacker's batches had {rows} rows")
        failed = sum(p[kind]["failed"]["attacked"] for kind in KINDS)
        if failed:
            parts.append(f"{failed} victim requests failed while attacked")
        if p["attacker"]["undrained_steps"]:
            parts.append(f"{p['attacker']['undrained_steps']} attacked step(s) not drained in time: the next "
                         "alone step ran beside the attacker's leftovers")
        word = "meets" if p["meets"] else "DOES NOT meet"
        out.append(f"Phase {p['phase']} ({p['attack']}) {word} the {BOUND:g}x goal: {'; '.join(parts)}.")
    return out
