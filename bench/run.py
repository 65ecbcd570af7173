"""Run the bytespike benchmark (DESIGN.md §7) and regenerate docs/performance.md.

    .venv/bin/python bench/run.py            # full: 5 interleaved rounds per scenario (~6 min)
    .venv/bin/python bench/run.py --quick    # fewer, shorter rounds (~2 min), indicative only

Pins the gateway to one core and the simulator plus every load generator (this process, wrk) to
the other, runs the scenarios, writes bench/results/<UTC timestamp>.json and latest.json, and
redraws docs/performance.md from that JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import chunk_cost
import deployments
import machine
import processes
import pyspy
import report
import scenarios
import soak
from wrk import WrkRequest

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = (
    "latency",
    "throughput",
    "streaming",
    "cross_protocol",
    "chunk_cost",
    "features",
    "postgres_redis",
    "workers",
    "memory",
    "soak",
)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds (indicative only)")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--rounds", type=int, help="override the number of interleaved rounds")
    parser.add_argument("--gateway-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1, help="core of the simulator and load generators")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="SECONDS",
        default=None,
        help="sample the gateway with py-spy for SECONDS under wrk load (default 10 when py-spy is "
        "installed, e.g. .venv/bin/pip install py-spy; 0 to skip)",
    )
    parser.add_argument(
        "--profile-connections",
        type=int,
        metavar="N",
        default=64,
        help="wrk connections while profiling (default 64; 1 shows what one request alone costs)",
    )
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the gateway, for experiments (e.g. BYTESPIKE_KEY_CACHE_TTL=3600)",
    )
    parser.add_argument(
        "--code",
        metavar="GIT_REF",
        help="benchmark the bytespike package at this git ref (default: a copy of the working tree "
        "taken at the start, so edits during the run cannot mix two versions)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120,
        metavar="SECONDS",
        help="wait up to SECONDS for other processes to leave the CPUs idle before starting (default 120)",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        metavar="N",
        help="scheduling niceness of the whole run (inherited by every server and load generator); a "
        "negative value (root only) shields the figures from other work on a shared machine",
    )
    parser.add_argument(
        "--litellm",
        action="store_true",
        help="also run the added-latency and throughput scenarios against LiteLLM (pinned version, "
        "installed into its own venv under /tmp/bytespike-bench-litellm, one worker on the gateway core)",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str]) -> int:
    args = _parse(argv)
    plan = scenarios.QUICK if args.quick else scenarios.FULL
    if args.rounds:
        plan = scenarios.Plan(**{**plan.__dict__, "rounds": args.rounds})
    wanted = set(args.only or SCENARIOS)
    extra_env = dict(item.split("=", 1) for item in args.gateway_env)
    try:
        tools = processes.ensure_tools()
    except processes.ToolMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    litellm_exe = None
    if args.litellm:
        if not wanted & {"latency", "throughput"}:
            print("bench: --litellm needs the latency or throughput scenario (see --only)", file=sys.stderr)
            return 2
        try:
            litellm_exe = processes.ensure_litellm(_log)
        except processes.ToolMissing as exc:
            print(f"bench: --litellm: {exc}", file=sys.stderr)
            return 2
    quiet = machine.wait_until_quiet(0.2, args.wait_quiet, _log)
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    # This process is a load generator too (the open-loop client): it lives on the load core.
    os.sched_setaffinity(0, {args.load_core})
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    clock = time.perf_counter()
    command = "make bench" if os.environ.get("MAKELEVEL") else ".venv/bin/python bench/run.py"
    command += (" " + shlex.join(argv)) if argv else ""
    if os.environ.get("MAKELEVEL") and argv:
        command = f"make bench BENCH_ARGS={shlex.quote(shlex.join(argv))}"
    if plan.mode == "quick":
        _log(
            "bench: QUICK mode — fewer and shorter rounds than the full benchmark; figures are indicative only"
        )
    workdir = Path(tempfile.mkdtemp(prefix="bytespike-bench-"))
    ws = processes.Workspace(workdir, processes.snapshot_code(workdir, args.code))
    _log(f"bench: work directory {workdir}; code: {ws.code.source} snapshot {ws.code.digest[:12]}")
    results: dict = {
        "run": {
            "started_utc": started.isoformat(timespec="seconds"),
            "command": command,
            "plan": plan.__dict__,
            "gateway_core": args.gateway_core,
            "load_core": args.load_core,
            "results_file": f"{stamp}.json",
            "gateway_extra_env": extra_env,
            "nice": os.getpriority(os.PRIO_PROCESS, 0),
            "code": {
                "source": ws.code.source,
                "commit": ws.code.commit,
                "dirty": ws.code.is_dirty,
                "sha256": ws.code.digest,
            },
        },
        "machine": machine.describe(tools),
        "scenarios": {},
        "background_load_cores": {"start": quiet},
    }
    simulator = gateway = None
    try:
        simulator = processes.start_simulator(ws, core=args.load_core)
        # The key lives where the gateway looks: --gateway-env may name another database.
        key = processes.create_funded_key(ws, simulator.url, extra_env)
        gateway = processes.start_gateway(ws, simulator.url, core=args.gateway_core, extra_env=extra_env)
        bench = scenarios.Bench(
            ws, plan, simulator, gateway, key, args.gateway_core, args.load_core, extra_env
        )
        _log(
            f"bench: simulator {simulator.url} (core {args.load_core}), gateway {gateway.url} (core {args.gateway_core})"
        )
        steps = [
            ("latency", "added_latency", lambda: scenarios.added_latency(bench, _log)),
            ("throughput", "throughput", lambda: scenarios.throughput(bench, _log)),
            ("streaming", "streaming", lambda: scenarios.streaming(bench, _log)),
            ("cross_protocol", "cross_protocol", lambda: scenarios.cross_protocol(bench, _log)),
            ("chunk_cost", "chunk_cost", lambda: chunk_cost.chunk_cost(bench, _log)),
            ("features", "features", lambda: deployments.features(bench, _log)),
            ("postgres_redis", "postgres_redis", lambda: deployments.postgres_redis(bench, _log)),
            ("workers", "workers", lambda: deployments.workers(bench, _log)),
        ]
        for option, key_name, step in steps:
            if option in wanted:
                results["background_load_cores"][key_name] = load = machine.busy_cores(0.5)
                _log(f"bench: {key_name} … (other load on the machine: {load:.2f} cores)")
                results["scenarios"][key_name] = step()
        if litellm_exe is not None:
            results["background_load_cores"]["litellm"] = load = machine.busy_cores(0.5)
            _log(f"bench: LiteLLM {processes.LITELLM_VERSION} side by side … (other load: {load:.2f} cores)")
            try:
                litellm = processes.start_litellm(ws, litellm_exe, simulator.url, core=args.gateway_core)
            except RuntimeError as exc:
                print(f"bench: --litellm: LiteLLM did not start: {exc}", file=sys.stderr)
                results["litellm"] = {"version": processes.LITELLM_VERSION, "failed": str(exc)}
            else:
                try:
                    results["litellm"] = scenarios.litellm_side_by_side(
                        bench,
                        litellm,
                        processes.LITELLM_MASTER_KEY,
                        processes.LITELLM_VERSION,
                        _log,
                        frozenset(wanted),
                    )
                    results["litellm"]["log"] = processes.log_issues(litellm.log_path)
                finally:
                    litellm.stop()
        profile_s = args.profile if args.profile is not None else (10 if pyspy.find_py_spy() else 0)
        if profile_s == 0 and args.profile is None:
            results["profile"] = {"skipped": "py-spy is not installed (.venv/bin/pip install py-spy)"}
        if profile_s:
            _log(f"bench: profiling the gateway with py-spy for {profile_s} s …")
            gw_target, _ = scenarios.pair(bench, "openai_chat")
            results["profile"] = pyspy.profile_under_load(
                gateway,
                WrkRequest(gw_target.url, gw_target.headers, gw_target.body),
                seconds=profile_s,
                connections=args.profile_connections,
                load_core=args.load_core,
                workdir=workdir,
                out_path=RESULTS / f"{stamp}-profile.txt",
            )
        results["logs"] = {"gateway": processes.log_issues(gateway.log_path)}
        gateway.stop()
        if "memory" in wanted:
            results["background_load_cores"]["memory"] = load = machine.busy_cores(0.5)
            _log(f"bench: memory … (other load on the machine: {load:.2f} cores)")
            results["scenarios"]["memory"] = scenarios.memory(bench, _log)
            for r in range(plan.memory_rounds):
                log_path = workdir / f"gateway-memory-{r}.log"
                if log_path.exists():
                    results["logs"][log_path.stem] = processes.log_issues(log_path)
        if "soak" in wanted:
            results["background_load_cores"]["soak"] = load = machine.busy_cores(0.5)
            _log(f"bench: soak … (other load on the machine: {load:.2f} cores)")
            sweep = results["scenarios"].get("throughput")
            capacity = sweep["gateway"]["max_rps"] if sweep else None
            results["scenarios"]["soak"] = soak.soak(bench, _log, capacity)
        results["logs"]["simulator"] = processes.log_issues(simulator.log_path)
    finally:
        for server in (gateway, simulator):
            if server is not None:
                server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results["run"]["elapsed_s"] = time.perf_counter() - clock
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2)
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    _log(f"bench: results in {RESULTS / f'{stamp}.json'}")
    if not args.no_docs:
        _log(f"bench: wrote {report.write_report(results)}")
    _print_summary(results)
    if results.get("litellm", {}).get("failed"):
        print(f"bench: --litellm: LiteLLM was not measured: {results['litellm']['failed']}", file=sys.stderr)
        return 1
    return 0


def _print_summary(results: dict) -> None:
    for t in report.targets(results):
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[t["met"]]
        _log(f"target (issue {t['issue']}): {t['target']}: {t['measured']} → {verdict}")
    if results.get("litellm", {}).get("failed"):
        _log(f"litellm: not measured: {results['litellm']['failed']}")
    ratios = report.litellm_ratios(results)
    if ratios:
        for name, r in ratios.items():
            if name == "rps_under_p99":
                for bound, b in r.items():
                    rps = [x and round(x["rps"]) for x in (b["bytespike"], b["litellm"])]
                    _log(f"litellm: req/s {bound} bytespike {rps[0]} vs LiteLLM {rps[1]} → {b['ratio']}")
            elif isinstance(r, dict):
                _log(
                    f"litellm: {name} bytespike {r['bytespike']:.3f} vs LiteLLM {r['litellm']:.3f} → {r['ratio']}"
                )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
