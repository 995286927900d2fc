#!/usr/bin/env python3
"""ASL execution corpus through the real Step Functions API.

Starts `switchyard serve` on a fresh database of the test PostgreSQL (with the
--time-scale test clock) and one `switchyard worker` hosting the corpus's
recorded Lambdas under their own names (C handlers in standins.c, symbol per
recorded behaviour). For every case (JSONPath and JSONata): CreateStateMachine (the
corpus definition, the recorded type), StartExecution with the recorded input
(StartSyncExecution for EXPRESS), DescribeExecution until it ends,
GetExecutionHistory; many cases at once. The outcomes go to a JSON file that
`sfn_asl_conformance results` compares with the same rules as the in-process
runner; it prints "N passed, N failed, N skipped" with failures grouped by
feature and every skip's reason, and fails below --min-pct.

  sfn_asl_api.py --corpus DIR --compare BIN --standins SO [--min-pct P]
                 [--time-scale N] [--jobs N] [--only SUBSTRING] [--results FILE]

Environment as for tests/e2e (SY_BINARY, SY_TEST_PGHOST, SY_TEST_PGPORT,
SY_BUILD_DIR); logs in <build>/e2e-logs/asl-api/.
"""

import argparse
import concurrent.futures
import datetime
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

ACCOUNT = "111111111111"  # the account of the recorded ARNs
ROLE = "arn:aws:iam::%s:role/snf_role_arn" % ACCOUNT
CASE_TIMEOUT = 600  # real seconds for one execution

# recorded behaviour (prefix of the corpus's `behaviour`) -> handler symbol
SYMBOLS = [
    ("identity", "standin_identity"),
    ("constant", "standin_constant"),
    ("returns the bytes", "standin_bytes"),
    ("returns a 257 KiB", "standin_oversized"),
    ("sleeps 60", "standin_sleep"),
    ("raises a user-defined exception class named CustomException", "standin_raise_custom"),
    ("raises a plain Python Exception", "standin_raise"),
]


def symbol_for(behaviour):
    for prefix, sym in SYMBOLS:
        if behaviour.startswith(prefix):
            return sym
    return None


# Cases that cannot be replayed through the API at the runner's time scale (they pass in process).
SCALED_AWAY = {
    "evaluate_jsonata__test_base_evaluate_expressions__test_base_task__TIMEOUT_SECONDS":
        "its TimeoutSeconds evaluates to 1 s, 50 ms under --time-scale 20: the stand-in's real round trip "
        "through the worker can take longer, and the recorded outcome needs it to answer in time",
    "evaluate_jsonata__test_base_evaluate_expressions__test_base_task__HEARTBEAT_SECONDS":
        "its HeartbeatSeconds evaluates to 1 s, 50 ms under --time-scale 20 (as TIMEOUT_SECONDS)",
}


def skip_reason(case):
    """The in-process runner's rules (sfn_asl_conformance.c run_case), plus SCALED_AWAY."""
    if case["name"] in SCALED_AWAY:
        return SCALED_AWAY[case["name"]]
    if case["expected"].get("status") == "ABORTED":
        return "outcome comes from a StopExecution call by the test"
    if date_bound(case):
        return "a boundary case of the recording date: the timestamp is no longer too far in the future"
    return None


def date_bound(case):
    """A Wait whose TimestampPath was just over AWS's limit (2^31 s ahead) when
    it was recorded: against today's clock the delay is allowed, the
    execution waits for decades and the recorded FAILED cannot be replayed."""
    if "Wait state delay is too long" not in (case["expected"].get("cause") or ""):
        return False
    for v in (case.get("input") or {}).values() if isinstance(case.get("input"), dict) else []:
        try:
            ts = datetime.datetime.fromisoformat(str(v).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
        if ts - time.time() <= 2 ** 31 - 1:
            return True
    return False


def function_name(arn):
    return arn.split(":function:")[-1].split(":")[0]


def events_of(history):
    out = []
    for e in history:
        ev = {"id": e["id"], "previousEventId": e.get("previousEventId", 0), "type": e["type"]}
        for k, v in e.items():
            if k.endswith("EventDetails"):
                ev[k] = v
        out.append(ev)
    return out


def history_problem(events):
    """Ids 1..N in order, previousEventId before the event, timestamps never
    going back: properties of the stored history, not of the interpreter."""
    last = None
    for i, e in enumerate(events, 1):
        if e["id"] != i:
            return "event %d has id %s" % (i, e["id"])
        if not 0 <= e.get("previousEventId", 0) < i:
            return "event %d has previousEventId %s" % (i, e.get("previousEventId"))
        ts = e.get("timestamp")
        if ts is None:
            return "event %d has no timestamp" % i
        if last is not None and ts < last:
            return "event %d timestamp %s before event %d's %s" % (i, ts, i - 1, last)
        last = ts
    return None


def outcome_of(d):
    r = {"status": d["status"]}
    if d.get("output") is not None:
        try:
            r["output"] = json.loads(d["output"])
        except ValueError:
            r["api_error"] = "output is not JSON: %.200s" % d["output"]
    for k in ("error", "cause"):
        if d.get(k) is not None:
            r[k] = d[k]
    return r


def run_case(sfn, idx, name, case):
    sm_name = "asl-%04d" % idx
    sm_type = case.get("state_machine_type", "STANDARD")
    try:
        arn = sfn.create_state_machine(name=sm_name, definition=json.dumps(case["definition"]),
                                       roleArn=ROLE, type=sm_type)["stateMachineArn"]
    except Exception as e:  # noqa: BLE001 - any API refusal is the case's result
        return {"api_error": "CreateStateMachine: %s" % e}
    inp = json.dumps(case.get("input", {}))
    try:
        if sm_type == "EXPRESS":
            return outcome_of(sfn.start_sync_execution(stateMachineArn=arn, name="exec-name", input=inp))
        x = sfn.start_execution(stateMachineArn=arn, name="exec-name", input=inp)["executionArn"]
        deadline = time.monotonic() + CASE_TIMEOUT
        pause = 0.05
        while True:
            d = sfn.describe_execution(executionArn=x)
            if d["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                return {"api_error": "still RUNNING after %d s" % CASE_TIMEOUT}
            time.sleep(pause)
            pause = min(pause * 1.5, 1.0)
        r = outcome_of(d)
        events, token = [], None
        while True:
            kw = {"executionArn": x, "maxResults": 1000}
            if token:
                kw["nextToken"] = token
            h = sfn.get_execution_history(**kw)
            events += h["events"]
            token = h.get("nextToken")
            if not token:
                break
        r["history"] = events_of(events)
        bad = history_problem(events)
        if bad:  # what the durable store must guarantee whatever the interpreter does
            r["api_error"] = "history: " + bad
        return r
    except Exception as e:  # noqa: BLE001
        return {"api_error": "%s: %s" % (type(e).__name__, e)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--compare", required=True, help="the sfn_asl_conformance binary")
    ap.add_argument("--standins", required=True, help="sy_asl_standins.so")
    ap.add_argument("--min-pct", type=float, default=0.0)
    ap.add_argument("--time-scale", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=48)
    ap.add_argument("--only", default="")
    ap.add_argument("--results", default=None)
    a = ap.parse_args()

    files = sorted(f for f in glob.glob(os.path.join(a.corpus, "*.json")))
    cases = {}
    for f in files:
        with open(f) as fh:
            cases[os.path.basename(f)] = json.load(fh)
    run = [n for n in cases if a.only in n and not skip_reason(cases[n])]

    functions = {}
    for n in run:
        for arn, l in cases[n].get("lambdas", {}).items():
            sym = symbol_for(l["behaviour"])
            if sym:
                functions[function_name(arn)] = sym

    log_dir = os.path.join(harness.BUILD_DIR, "e2e-logs", "asl-api")
    shutil.rmtree(log_dir, ignore_errors=True)
    os.makedirs(log_dir, exist_ok=True)
    results_path = a.results or os.path.join(log_dir, "results.json")
    base = os.path.join(harness.BUILD_DIR, "e2e-tmp")
    os.makedirs(base, exist_ok=True)
    data_dir = tempfile.mkdtemp(prefix="asl-api-", dir=base)
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    env["SY_STANDIN_SLEEP_MS"] = str(max(5000, int(60000 / a.time_scale)))
    db = harness.create_database("sy_asl_api")
    broker = worker = None
    results = {}
    try:
        broker = harness.Broker(os.path.join(log_dir, "broker.log"), harness.pg_url(db), data_dir,
                                extra_args=["--time-scale", str(a.time_scale), "--account-id", ACCOUNT], env=env).start()
        argv = [harness.BINARY, "worker", "--broker", broker.worker_endpoint, "--concurrency", "4",
                "--timeout", "300"]
        for fn, sym in sorted(functions.items()):
            argv += ["--function", "%s=so:%s:%s" % (fn, a.standins, sym)]
        worker = harness.Process("worker", argv, os.path.join(log_dir, "worker.log"), env=env).start()

        import boto3
        from botocore.config import Config
        cfg = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=10,
                     read_timeout=300, max_pool_connections=a.jobs + 4, inject_host_prefix=False)
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                        region_name=harness.REGION)
        sfn = session.client("stepfunctions", endpoint_url=broker.url, config=cfg)
        lam = session.client("lambda", endpoint_url=broker.url, config=cfg)
        # every hosted function exists with a timeout above the sleeper's
        for fn in functions:
            try:
                lam.create_function(FunctionName=fn, Runtime="provided.al2023", Role=ROLE,
                                    Handler="h", Code={"ZipFile": b"x"}, Timeout=300)
            except lam.exceptions.ResourceConflictException:
                lam.update_function_configuration(FunctionName=fn, Timeout=300)
        # wait until the worker has announced them
        ident = next((fn for fn, s in functions.items() if s == "standin_identity"), None)
        if ident:
            ok = False
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    r = lam.invoke(FunctionName=ident, Payload=b"{}")
                    if "FunctionError" not in r:
                        ok = True
                        break
                except Exception:  # noqa: BLE001 - not hosted yet
                    pass
                time.sleep(0.3)
            if not ok:
                raise RuntimeError("worker did not host %s within 60 s; log %s" % (ident, worker.log_path))

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            futs = {ex.submit(run_case, sfn, i, n, cases[n]): n for i, n in enumerate(run)}
            for f in concurrent.futures.as_completed(futs):
                results[futs[f]] = f.result()
        print("ran %d cases through the API in %.1f s (time scale %g, %d at once)"
              % (len(run), time.monotonic() - t0, a.time_scale, a.jobs), flush=True)
    finally:
        exits = []
        for p in (worker, broker):
            if p and p.running():
                rc = p.terminate(60)
                if rc is None:
                    p.kill9()
                exits.append((p.name, rc, p.log_path))
        harness.drop_database(db)
        shutil.rmtree(data_dir, ignore_errors=True)
    if a.only:  # cases not selected are reported as skipped
        for n in cases:
            if n not in results and not skip_reason(cases[n]):
                results[n] = {"skip": "not selected (--only %s)" % a.only}
    for n in cases:  # the comparer prints every skip with its reason
        if skip_reason(cases[n]):
            results[n] = {"skip": skip_reason(cases[n])}
    with open(results_path, "w") as fh:
        json.dump(results, fh)
    rc = subprocess.call([a.compare, "results", a.corpus, results_path, str(a.min_pct)])
    for name, code, log in exits:  # a clean SIGTERM exit: no crash, no sanitizer report
        if code != 0:
            print("%s exited with %s after SIGTERM; log %s" % (name, code, log))
            rc = rc or 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
