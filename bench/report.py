"""docs/performance.md (and its plots) regenerated from one results JSON.

``python bench/report.py [bench/results/latest.json]`` redraws the page without measuring again.
Plots are drawn only when matplotlib is importable in the running interpreter; it is not a
project dependency, and the page says when they were skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "performance.md"
PLOT_DIR = REPO / "docs" / "performance"
NOTES = REPO / "bench" / "notes.md"
"""Hand-written analysis (hot spots, what each optimisation bought), appended to the page verbatim."""

TARGET_ADDED_P50_MS = 0.5
TARGET_RPS_PER_CORE = 3000
BUSY_WARNING_CORES = 0.2


def _f(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _i(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _code_line(meta: dict[str, Any]) -> str:
    code = meta.get("code")
    if not code:
        return "the live checkout"
    if code["source"] == "worktree":
        where = f"a copy of the working tree taken when the run started, on commit `{code.get('commit', '?')[:12]}`"
        where += " with uncommitted changes" if code.get("dirty") else ""
    else:
        where = f"commit `{code.get('commit', '?')[:12]}` (`{code['source']}`)"
    return f"{where}; bytespike package sha256 `{code['sha256'][:12]}`"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue-2 targets with the measured figure and whether each is met."""
    out = []
    latency = results.get("scenarios", {}).get("added_latency")
    if latency:
        worst = max(latency.values(), key=lambda r: r["added_p50_ms"])
        added = {p: r["added_p50_ms"] for p, r in latency.items()}
        out.append(
            {
                "target": f"added latency at concurrency 1, p50 ≤ {TARGET_ADDED_P50_MS} ms",
                "measured": ", ".join(f"{p}: {_f(v, 3)} ms" for p, v in added.items()),
                "met": worst["added_p50_ms"] <= TARGET_ADDED_P50_MS,
            }
        )
    sweep = results.get("scenarios", {}).get("throughput")
    if sweep:
        best = max(sweep["gateway"]["points"], key=lambda p: p["rps"])
        out.append(
            {
                "target": f"≥ {TARGET_RPS_PER_CORE:,} requests/s per core at 0 ms upstream (auth and billing on)",
                "measured": f"{_i(best['rps'])} req/s at c={best['connections']} (p99 {_f(best['p99_ms'])} ms)",
                "met": best["rps"] >= TARGET_RPS_PER_CORE,
            }
        )
    return out


def _plot(results: dict[str, Any]) -> tuple[list[str], str | None]:
    """Latency-vs-concurrency and throughput PNGs; (relative paths, reason if skipped)."""
    sweep = results.get("scenarios", {}).get("throughput")
    if not sweep:
        return [], "no throughput sweep in these results"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "matplotlib is not importable in the benchmark's interpreter, so no plots were drawn"
    PLOT_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, style in (("gateway", "o-"), ("direct", "s--")):
        pts = sweep[name]["points"]
        cs = [p["connections"] for p in pts]
        ax.plot(cs, [p["p50_ms"] for p in pts], style, label=f"{name} p50")
        ax.plot(cs, [p["p99_ms"] for p in pts], style, alpha=0.5, label=f"{name} p99")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("concurrent connections (wrk)")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Latency vs concurrency, 0 ms upstream")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    path = PLOT_DIR / "latency-vs-concurrency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path.relative_to(DOC.parent).as_posix())
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, style in (("gateway", "o-"), ("direct", "s--")):
        pts = sweep[name]["points"]
        ax.plot([p["connections"] for p in pts], [p["rps"] for p in pts], style, label=name)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("concurrent connections (wrk)")
    ax.set_ylabel("requests/s")
    ax.set_title("Throughput vs concurrency, 0 ms upstream")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path = PLOT_DIR / "throughput-vs-concurrency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path.relative_to(DOC.parent).as_posix())
    return paths, None


def render(results: dict[str, Any], plots: list[str], plot_note: str | None) -> str:
    meta, machine, sc = results["run"], results["machine"], results.get("scenarios", {})
    plan = meta["plan"]
    lines = [
        "# Performance",
        "",
        "<!-- Generated by bench/report.py from bench/results/"
        f"{meta['results_file']}; edit the generator, not this file. -->",
        "",
        f"Measured {meta['started_utc']} with `{meta['command']}` "
        f"({plan['mode']} mode, {plan['rounds']} interleaved rounds per scenario"
        + (
            ", shorter runs and fewer rounds than the full benchmark: indicative only"
            if plan["mode"] == "quick"
            else ""
        )
        + f"; {meta['elapsed_s']:.0f} s). Raw figures: `bench/results/{meta['results_file']}`.",
        "",
        "Regenerate with `make bench` (full) or `make bench BENCH_ARGS=--quick`; redraw this page from",
        "existing results with `.venv/bin/python bench/report.py bench/results/latest.json`.",
        "",
    ]
    background = results.get("background_load_cores", {})
    if background:
        worst = max(background.values())
        readings = ", ".join(f"{k} {v:.2f}" for k, v in background.items())
        if worst > BUSY_WARNING_CORES:
            lines += [
                f"> **Warning: the machine was not idle.** Other processes kept up to {worst:.2f} cores busy "
                f"(measured while the benchmark's own processes were idle: {readings}). Every figure "
                "below is slowed by that contention; rerun on a quiet machine before drawing conclusions.",
                "",
            ]
        else:
            lines += [
                f"Background load on the machine (cores busy while the benchmark idled): {readings}.",
                "",
            ]
    lines += [
        "## Targets (issue 2)",
        "",
    ]
    lines += _table(
        ["target", "measured", "status"],
        [[t["target"], t["measured"], "met" if t["met"] else "**not met**"] for t in targets(results)],
    )
    lines += [
        "## Method",
        "",
        f"- The gateway (`bytespike serve`, one worker, uvloop + httptools, embedded SQLite + in-process "
        f"state, auth and billing on) is pinned to core {meta['gateway_core']} with `taskset`; the simulator "
        f"(`python -m bytespike.simulator`, request recording off) and every load generator are pinned "
        f"to core {meta['load_core']}. Each run starts both on free loopback ports with a fresh SQLite database "
        "in a temporary directory and a key funded through the CLI (`users create`, `credits grant`, `keys create`).",
        f"- Scheduling niceness of every benchmark process: {meta.get('nice', 0)}"
        + (
            " (raised priority, to shield the figures from other work on the machine)."
            if meta.get("nice", 0) < 0
            else "."
        ),
        "- **direct** sends the same request straight to the simulator (with the upstream model id the "
        "gateway would rewrite to); **gateway** sends it through bytespike. Upstream behaviour is set "
        "by `[[sim:…]]` directives in the prompt, which both paths carry identically (the gateway does "
        "not forward `x-sim-*` headers).",
        "- Every figure is the median over rounds of that round's value; gateway and direct alternate "
        "which runs first in each round. Added = gateway − direct.",
        "- Latency at concurrency 1 and streaming timings come from an open-loop aiohttp client "
        "(requests due at a fixed rate, latency counted from the due time). Throughput comes from "
        f"`wrk -t1 -cC -d{plan['sweep_seconds']}s` (closed loop) with a Lua script for the POST body and auth header.",
        "- Note: the load generator and the simulator share one core, so at high concurrency the "
        "*direct* figures are bounded by that core, not by the simulator alone.",
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu_model']}, {machine['logical_cores']} logical cores, {machine['memory_gib']} GiB",
        f"- Kernel: {machine['kernel']} ({machine['os']})",
        f"- Python {machine['python']} ({machine['python_implementation']})",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v),
        "- Tools: " + ", ".join(f"{v}" for v in machine["tools"].values()),
        f"- Code measured: {_code_line(meta)}",
        "",
    ]
    if "added_latency" in sc:
        a = sc["added_latency"]
        any_proto = next(iter(a.values()))
        lines += [
            "## Added latency at concurrency 1",
            "",
            f"{any_proto['requests_per_round']} requests per round at {any_proto['rate_per_s']:.0f}/s, small "
            "non-streaming request, 0 ms upstream.",
            "",
        ]
        rows = []
        for proto, r in a.items():
            rows.append(
                [
                    proto,
                    _f(r["gateway"]["p50_ms"], 3),
                    _f(r["direct"]["p50_ms"], 3),
                    f"**{_f(r['added_p50_ms'], 3)}**",
                    _f(r["gateway"]["p99_ms"], 3),
                    _f(r["direct"]["p99_ms"], 3),
                    f"**{_f(r['added_p99_ms'], 3)}**",
                    _f(r["gateway"].get("self_reported_overhead_p50_ms"), 3),
                ]
            )
        lines += _table(
            [
                "protocol",
                "gateway p50 ms",
                "direct p50 ms",
                "added p50 ms",
                "gateway p99 ms",
                "direct p99 ms",
                "added p99 ms",
                "X-ByteSpike-Overhead-Ms p50",
            ],
            rows,
        )
    if "throughput" in sc:
        t = sc["throughput"]
        lines += [
            "## Throughput at 0 ms upstream",
            "",
            f"OpenAI chat, small non-streaming request, wrk {t['seconds_per_run']} s per point, "
            f"{t['rounds']} rounds. CPU % is the process's CPU time over the run's wall time (100 % = one core).",
            "",
        ]
        rows = []
        direct_points = {p["connections"]: p for p in t["direct"]["points"]}
        for p in t["gateway"]["points"]:
            d = direct_points[p["connections"]]
            rows.append(
                [
                    str(p["connections"]),
                    _i(p["rps"]),
                    _f(p["p50_ms"]),
                    _f(p["p99_ms"]),
                    _i(p["gateway_cpu_pct"]),
                    _i(d["rps"]),
                    _f(d["p50_ms"]),
                    _f(d["p99_ms"]),
                    _i(d["simulator_cpu_pct"]),
                    _i(p["errors"]),
                    _i(d["errors"]),
                ]
            )
        lines += _table(
            [
                "c",
                "gateway req/s",
                "gateway p50 ms",
                "gateway p99 ms",
                "gateway CPU %",
                "direct req/s",
                "direct p50 ms",
                "direct p99 ms",
                "simulator CPU % (direct)",
                "gateway errors",
                "direct errors",
            ],
            rows,
        )
        rows = []
        for bound_key in t["gateway"]["best_under_p99"]:
            bound = bound_key.removeprefix("p99_le_")
            cells = [f"p99 ≤ {bound}"]
            for name in ("gateway", "direct"):
                best = t[name]["best_under_p99"][bound_key]
                cells.append("none" if best is None else f"{_i(best['rps'])} (c={best['connections']})")
            rows.append(cells)
        lines += ["Highest requests/s with p99 within a bound (over the sweep's concurrencies):", ""]
        lines += _table(["bound", "gateway req/s", "direct req/s"], rows)
        for plot in plots:
            lines += [f"![{Path(plot).stem}]({plot})", ""]
        if plot_note:
            lines += [f"_Plots: {plot_note}._", ""]
    if "streaming" in sc:
        s = sc["streaming"]
        p = s["paced"]
        lines += [
            "## Streaming",
            "",
            f"OpenAI chat stream of {s['chunks']} content deltas paced {s['chunk_delay_ms']} ms apart "
            f"(`[[sim:chunks={s['chunks']},chunk_delay_ms={s['chunk_delay_ms']}]]`), opened at "
            f"{p['rate_per_s']:.0f}/s, {p['streams_per_round']} streams per round.",
            "",
        ]
        lines += _table(
            ["", "gateway", "direct", "added"],
            [
                [
                    "time to first content delta p50 (ms)",
                    _f(p["gateway"]["first_content_p50_ms"], 3),
                    _f(p["direct"]["first_content_p50_ms"], 3),
                    f"**{_f(p['added_first_content_p50_ms'], 3)}**",
                ],
                [
                    "time to first content delta p99 (ms)",
                    _f(p["gateway"]["first_content_p99_ms"], 3),
                    _f(p["direct"]["first_content_p99_ms"], 3),
                    _f(p["added_first_content_p99_ms"], 3),
                ],
                [
                    "inter-chunk gap p50 (ms)",
                    _f(p["gateway"]["gap_p50_ms"], 3),
                    _f(p["direct"]["gap_p50_ms"], 3),
                    f"**{_f(p['added_gap_p50_ms'], 3)}**",
                ],
                [
                    "inter-chunk gap p99 (ms)",
                    _f(p["gateway"]["gap_p99_ms"], 3),
                    _f(p["direct"]["gap_p99_ms"], 3),
                    _f(p["added_gap_p99_ms"], 3),
                ],
            ],
        )
        c = s["concurrent"]
        lines += [
            f"**{c['streams']:,} concurrent streams** ({c['rounds']} round(s)); a stream is complete when it "
            f"answered 200, carried all {s['chunks']} content deltas and ended with the protocol's end marker; "
            f"failed means it never started (an HTTP error); lost deltas and stalls (unfinished, or a gap "
            f"≥ {s['stall_gap_s']:.0f} s) are counted over the streams that started.",
            "",
        ]
        rows = []
        for name in ("gateway", "direct"):
            r = c[name]
            rows.append(
                [
                    name,
                    _i(r["complete"]),
                    _i(r.get("total_failed")),
                    _i(r["total_lost_content_frames"]),
                    _i(r["total_stalled"]),
                    f"{_i(r['frames_min'])}–{_i(r['frames_max'])}",
                    _f(r["first_content_p50_ms"], 1),
                    _f(r["first_content_p99_ms"], 1),
                    _f(r["gap_p50_ms"], 1),
                    _f(r["gap_p99_ms"], 1),
                    _f(r["gap_max_ms"], 0),
                    _f(r["wall_s"], 2),
                ]
            )
        lines += _table(
            [
                "",
                "complete (median)",
                "failed (all rounds)",
                "lost deltas (all rounds)",
                "stalled (all rounds)",
                "frames/stream",
                "first delta p50 ms",
                "first delta p99 ms",
                "gap p50 ms",
                "gap p99 ms",
                "gap max ms",
                "wall s",
            ],
            rows,
        )
        errors = [
            f"{name}: {e}" for name in ("gateway", "direct") for b in c[name]["rounds"] for e in b["errors"]
        ]
        if errors:
            lines += ["Errors seen in these streams (first few):", ""]
            lines += [f"- `{e[:300]}`" for e in errors[:5]] + [""]
    if "memory" in sc:
        m = sc["memory"]
        lines += [
            "## Memory",
            "",
            f"A fresh gateway process per round; idle RSS after a warm-up of 500 small and 10 slow requests and "
            f"1 s of quiet; then {m['held_requests']:,} requests held open by a {m['upstream_latency_ms']} ms "
            "upstream (`[[sim:latency_ms=…]]`), RSS sampled every 20 ms until the first one answered.",
            "",
        ]
        lines += _table(
            [
                "RSS at start",
                "idle RSS (warm)",
                f"peak with {m['held_requests']:,} in flight",
                "per in-flight request",
                "1 s after the burst",
            ],
            [
                [
                    f"{_f(m['cold_idle_kib'] / 1024, 1)} MiB",
                    f"{_f(m['idle_kib'] / 1024, 1)} MiB",
                    f"{_f(m['peak_kib'] / 1024, 1)} MiB",
                    f"**{_f(m['per_request_kib'], 1)} KiB**",
                    f"{_f(m['after_kib'] / 1024, 1)} MiB",
                ]
            ],
        )
    if "cross_protocol" in sc:
        x = sc["cross_protocol"]
        lines += ["## Cross-protocol", ""]
        if x["supported"] and "cross" in x:
            lines += [
                "An Anthropic Messages caller asking for `gpt-5-4` (OpenAI upstream: the gateway translates "
                "both ways) versus asking for `claude-sonnet-4-6` (same protocol, relayed). Each is compared "
                "with its own direct request (for the translated call: the OpenAI chat request the "
                "simulator receives). Same method as the added-latency table.",
                "",
            ]
            rows = []
            for label, key in (
                ("anthropic → openai_chat (translated)", "cross"),
                ("anthropic → anthropic (relayed)", "same"),
            ):
                r = x[key]
                rows.append(
                    [
                        label,
                        _f(r["gateway"]["p50_ms"], 3),
                        _f(r["direct"]["p50_ms"], 3),
                        f"**{_f(r['added_p50_ms'], 3)}**",
                        _f(r["gateway"]["p99_ms"], 3),
                        _f(r["direct"]["p99_ms"], 3),
                        f"**{_f(r['added_p99_ms'], 3)}**",
                    ]
                )
            lines += _table(
                [
                    "path",
                    "gateway p50 ms",
                    "direct p50 ms",
                    "added p50 ms",
                    "gateway p99 ms",
                    "direct p99 ms",
                    "added p99 ms",
                ],
                rows,
            )
            lines += [
                f"Translation costs {_f(x['extra_p50_ms'], 3)} ms at p50 and {_f(x['extra_p99_ms'], 3)} ms at p99 "
                "on top of the same-protocol relay.",
                "",
            ]
        elif x["supported"]:
            lines += ["Supported, but these results hold only the probe.", ""]
        else:
            lines += [
                f"Not measured: an Anthropic caller asking for `gpt-5-4` (OpenAI upstream) got HTTP "
                f"{x['probe_status']}; this gateway version relays same-protocol only.",
                "",
            ]
    prof = results.get("profile")
    if prof and "by_self" in prof:
        lines += [
            "## Profile",
            "",
            f"py-spy, {prof['seconds']} s of the gateway process under wrk at {prof['connections']} connections, "
            f"{prof['samples']:,} samples over all its threads (worker threads included). "
            "Self = the function was the innermost Python frame; total = it was anywhere on the stack. "
            f"Raw collapsed stacks: `{Path(prof['raw']).name}` beside the results.",
            "",
        ]
        columns = (prof["by_self"][:10], prof["by_total"][:10], prof.get("by_total_bytespike", [])[:10])
        rows = []
        for i in range(max(len(c) for c in columns)):
            row = [str(i + 1)]
            for column in columns:
                row += [f"`{column[i]['function']}`", f"{column[i]['pct']}"] if i < len(column) else ["", ""]
            rows.append(row)
        lines += _table(
            ["#", "by self time", "%", "by total time", "%", "bytespike code by total", "%"], rows
        )
    elif prof and "skipped" in prof:
        lines += ["## Profile", "", f"Skipped: {prof['skipped']}.", ""]
    lines += _litellm_section(results)
    issues = results.get("logs", {})
    lines += ["## Server logs during the run", ""]
    for name, info in issues.items():
        lines.append(
            f"- {name}: {info['count']} warning/error lines"
            + (f" (first: `{info['first'][0][:160]}`)" if info["first"] else "")
        )
    lines.append("")
    if NOTES.exists():
        lines += [NOTES.read_text().rstrip(), ""]
    return "\n".join(lines)


def _ratio(a: float | None, b: float | None, digits: int = 1) -> str:
    return "–" if a is None or b is None or b == 0 else f"{a / b:,.{digits}f}×"


def litellm_ratios(results: dict[str, Any]) -> dict[str, Any] | None:
    """bytespike/LiteLLM ratios: requests/s at each p99 bound, best requests/s, added latency p50/p99.

    None when the run had no LiteLLM figures (``--litellm`` not given, or LiteLLM failed)."""
    lite, sc = results.get("litellm"), results.get("scenarios", {})
    if not lite or "failed" in lite:
        return None
    out: dict[str, Any] = {"version": lite.get("version")}
    ours_lat = sc.get("added_latency", {}).get("openai_chat")
    theirs_lat = lite.get("added_latency", {}).get("openai_chat")
    if ours_lat and theirs_lat:
        for q in ("p50", "p99"):
            ours, theirs = ours_lat[f"added_{q}_ms"], theirs_lat[f"added_{q}_ms"]
            out[f"added_{q}_ms"] = {"bytespike": ours, "litellm": theirs, "ratio": _ratio(ours, theirs, 3)}
    ours_t, theirs_t = sc.get("throughput"), lite.get("throughput")
    if ours_t and theirs_t:
        bounds = {}
        for bound_key, ours in ours_t["gateway"]["best_under_p99"].items():
            theirs = theirs_t["gateway"]["best_under_p99"].get(bound_key)
            bounds[bound_key] = {
                "bytespike": ours,
                "litellm": theirs,
                "ratio": (
                    "n/a (LiteLLM never within the bound)"
                    if theirs is None and ours is not None
                    else _ratio(ours and ours["rps"], theirs and theirs["rps"])
                ),
            }
        out["rps_under_p99"] = bounds
        ours_max, theirs_max = ours_t["gateway"]["max_rps"], theirs_t["gateway"]["max_rps"]
        out["max_rps"] = {"bytespike": ours_max, "litellm": theirs_max, "ratio": _ratio(ours_max, theirs_max)}
    return out


def _litellm_section(results: dict[str, Any]) -> list[str]:
    lines = ["## LiteLLM side by side", ""]
    lite = results.get("litellm")
    if not lite:
        return [
            *lines,
            "**Not run**: this benchmark was run without `--litellm`, so there are no LiteLLM figures or "
            "ratios here. Run `.venv/bin/python bench/run.py --litellm` (or `make bench "
            "BENCH_ARGS=--litellm`) to measure it side by side.",
            "",
        ]
    if "failed" in lite:
        return [*lines, f"**Not measured**: LiteLLM {lite.get('version')} failed: {lite['failed']}", ""]
    ratios = litellm_ratios(results) or {}
    lines += [
        f"LiteLLM {lite['version']} (`litellm[proxy]`, pinned; installed by the harness into its own virtual "
        "environment under `/tmp/bytespike-bench-litellm`, never a dependency of bytespike) runs as "
        "`litellm --config … --num_workers 1` on the gateway's core, with no database, `LITELLM_LOG=ERROR` "
        "and a master key; its config maps `gpt-5-4` to `openai/gpt-5.4` at the same simulator. The same "
        "added-latency (OpenAI chat, concurrency 1, interleaved with direct) and throughput-sweep scenarios "
        "run against it as against bytespike, in the same run"
        + (
            f" (LiteLLM's concurrency-1 latency at {lat['rate_per_s']:.0f} requests/s, with its own direct "
            "baseline, since at bytespike's rate it would queue)"
            if (lat := lite.get("added_latency", {}).get("openai_chat"))
            else ""
        )
        + ". Ratios are bytespike ÷ LiteLLM: above 1× "
        "means bytespike serves more requests/s; below 1× means bytespike adds less latency.",
        "",
    ]
    rows = []
    for q in ("p50", "p99"):
        r = ratios.get(f"added_{q}_ms")
        if r:
            rows.append(
                [f"added latency {q} (ms, c=1)", _f(r["bytespike"], 3), _f(r["litellm"], 3), r["ratio"]]
            )
    for bound_key, r in ratios.get("rps_under_p99", {}).items():
        bound = bound_key.removeprefix("p99_le_")

        def cell(best: dict[str, Any] | None) -> str:
            return "none" if best is None else f"{_i(best['rps'])} (c={best['connections']})"

        rows.append([f"requests/s with p99 ≤ {bound}", cell(r["bytespike"]), cell(r["litellm"]), r["ratio"]])
    if "max_rps" in ratios:
        r = ratios["max_rps"]
        rows.append(["highest requests/s (any c)", _i(r["bytespike"]), _i(r["litellm"]), r["ratio"]])
    lines += _table(["figure", "bytespike", f"LiteLLM {lite['version']}", "bytespike / LiteLLM"], rows)
    if "throughput" in lite:
        rows = [
            [
                str(p["connections"]),
                _i(p["rps"]),
                _f(p["p50_ms"]),
                _f(p["p99_ms"]),
                _i(p["gateway_cpu_pct"]),
                _i(p["errors"]),
                _i(p["non_2xx"]),
            ]
            for p in lite["throughput"]["gateway"]["points"]
        ]
        lines += ["LiteLLM throughput sweep:", ""]
        lines += _table(["c", "req/s", "p50 ms", "p99 ms", "LiteLLM CPU %", "errors", "non-2xx"], rows)
    log = lite.get("log")
    if log:
        lines += [f"LiteLLM log: {log['count']} warning/error lines.", ""]
    return lines


def write_report(results: dict[str, Any]) -> Path:
    plots, note = _plot(results)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(results, plots, note))
    return DOC


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else REPO / "bench" / "results" / "latest.json"
    results = json.loads(path.read_text())
    print(f"wrote {write_report(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
