"""Step Functions function tasks on a real worker, applied in the settle
transaction of the function's message (statemachine/executor.c): many
executions whose Parallel branches finish at the same time, so that the two
settle threads hold results of the same executions in their batches. Each
batch must lock executions in one order (by ARN): no deadlock in PostgreSQL
(pg_stat_database.deadlocks of the test's database stays 0) and no outcome
falls back to the executor's work queue
(switchyard_sfn_inline_fallbacks_total stays 0)."""

import json
import os
import re
import time

import harness

HANDLER = os.path.join(harness.BUILD_DIR, "tests", "worker", "sy_test_handler.so")
ACCOUNT = "000000000000"
BRANCHES = 6
EXECUTIONS = 300


def metric(text, name):
    m = re.search(r"^%s(?:\{[^}]*\})? (\d+(?:\.\d+)?)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else 0.0


class SfnGroupCommit(harness.SwitchyardTestCase):
    def test_parallel_branches_settle_without_deadlock(self):
        lam, sfn = self.client("lambda"), self.client("stepfunctions")
        self.start_worker("--broker", self.broker.worker_endpoint, "--function",
                          "echo-fn=so:%s:echo,concurrency=64" % HANDLER)
        lam.create_function(FunctionName="echo-fn", Runtime="provided.al2023", Role="arn:aws:iam::%s:role/r" % ACCOUNT,
                            Handler="echo", Code={"ZipFile": b"x"})
        fn = "arn:aws:lambda:us-east-1:%s:function:echo-fn" % ACCOUNT
        branches = [{"StartAt": "T%d" % k, "States": {
            "T%d" % k: {"Type": "Task", "Resource": fn, "Parameters": {"b": k, "i.$": "$.i"}, "Next": "U%d" % k},
            "U%d" % k: {"Type": "Task", "Resource": fn, "End": True}}} for k in range(BRANCHES)]
        d = {"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": branches, "Next": "Last"},
            "Last": {"Type": "Task", "Resource": fn, "Parameters": {"n.$": "States.ArrayLength($)"}, "End": True}}}
        sm = sfn.create_state_machine(name="fan", definition=json.dumps(d),
                                      roleArn="arn:aws:iam::%s:role/r" % ACCOUNT)["stateMachineArn"]
        deadlocks0 = int(harness.psql_value(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()", db=self.db))
        execs = [sfn.start_execution(stateMachineArn=sm, name="e%d" % i, input=json.dumps({"i": i}))["executionArn"]
                 for i in range(EXECUTIONS)]
        pending = set(execs)
        deadline = time.monotonic() + 180
        while pending and time.monotonic() < deadline:
            for e in list(pending):
                st = sfn.describe_execution(executionArn=e)
                if st["status"] != "RUNNING":
                    self.assertEqual(st["status"], "SUCCEEDED", st)
                    self.assertEqual(json.loads(st["output"]), {"n": BRANCHES})
                    pending.discard(e)
            time.sleep(0.2)
        self.assertEqual(pending, set(), "executions did not finish")
        # each branch's two results and the last task's: the echo of their input
        out = sfn.get_execution_history(executionArn=execs[-1], maxResults=1000)["events"]
        self.assertEqual(sum(1 for x in out if x["type"] == "LambdaFunctionSucceeded"), 2 * BRANCHES + 1)

        metrics = self.broker.http("GET", "/metrics")[2]
        metrics = metrics.decode() if isinstance(metrics, bytes) else metrics
        inline = metric(metrics, "switchyard_sfn_inline_steps_total")
        fallbacks = metric(metrics, "switchyard_sfn_inline_fallbacks_total")
        # every function result was applied in its settle transaction ...
        self.assertGreaterEqual(inline, EXECUTIONS * (2 * BRANCHES + 1), metrics[-2000:])
        # ... and none had to be rolled back to its savepoint (a deadlock does that)
        self.assertEqual(fallbacks, 0)
        time.sleep(1.0)  # statistics are flushed at most once a second
        harness.psql_value("SELECT pg_stat_clear_snapshot()", db=self.db)
        deadlocks = int(harness.psql_value(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()", db=self.db))
        self.assertEqual(deadlocks - deadlocks0, 0, "PostgreSQL broke a deadlock")
        self.assertFalse([x for x in self.broker.log_lines_json()
                          if x.get("msg") == "task outcome queued for the executor"])


if __name__ == "__main__":
    import unittest
    unittest.main()
