"""Step Functions in JSONata mode through the API: definitions refused the way
AWS refuses them (CreateStateMachine and ValidateStateMachineDefinition),
a STANDARD and an EXPRESS execution with Arguments / Output / Assign /
Condition / Items / ItemSelector and $states, a States.QueryEvaluationError
caught by a Catch with $states.errorOutput, TestState with variables, and the
rules of variables: scopes (refused definitions, what inner scopes see and
keep) and the size quotas."""

import json

import botocore.exceptions

from test_sfn import ROLE, SfnBase


def machine(states, start):
    return {"QueryLanguage": "JSONata", "StartAt": start, "States": states}


ORDER_FLOW = machine({
    "Init": {"Type": "Pass", "Assign": {"rate": 1.5, "customer": "{% $states.input.customer %}"},
             "Output": "{% $states.input.items %}", "Next": "Price"},
    "Price": {"Type": "Map", "Items": "{% $states.input %}", "MaxConcurrency": "{% 1 + 1 %}",
              "ItemSelector": {"sku": "{% $states.context.Map.Item.Value.sku %}",
                               "index": "{% $states.context.Map.Item.Index %}",
                               "gross": "{% $states.context.Map.Item.Value.net * $rate %}"},
              "ItemProcessor": {"StartAt": "Line", "States": {"Line": {
                  "Type": "Pass", "Assign": {"line": "{% $states.input.sku %}"}, "Output": "{% $states.input %}", "End": True}}},
              "Assign": {"total": "{% $round($sum($states.result.gross), 2) %}", "old_rate": "{% $rate %}"},
              "Output": {"lines": "{% $states.result %}", "rate_seen": "{% $rate %}"},
              "Next": "Big?"},
    "Big?": {"Type": "Choice", "Choices": [
        {"Condition": "{% $total > 100 %}", "Next": "Big", "Output": {"kind": "big", "total": "{% $total %}"}}],
        "Default": "Small", "Output": {"kind": "small", "total": "{% $total %}"}},
    "Big": {"Type": "Pass", "Output": "{% $merge([$states.input, {'customer': $customer}]) %}", "End": True},
    "Small": {"Type": "Succeed", "Output": "{% $merge([$states.input, {'customer': $customer}]) %}"},
}, "Init")


class SfnJsonataTests(SfnBase):
    def model_has(self, shape, member):
        """Older botocore models (boto3 1.26) drop members they do not know."""
        return member in self.sfn.meta.service_model.shape_for(shape).members

    def validate(self, definition):
        return self.sfn.validate_state_machine_definition(definition=json.dumps(definition))

    def test_definitions_refused(self):
        bad_syntax = machine({"P": {"Type": "Pass", "Output": {"v": "{% $sum($states.input.n %}"}, "End": True}}, "P")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.machine(bad_syntax, name="bad-syntax")
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "InvalidDefinition")
        self.assertIn("INVALID_JSONATA_EXPRESSION", err["Message"])
        self.assertIn("at /States/P/Output/v", err["Message"])
        cases = [
            ("jsonpath field", machine({"P": {"Type": "Pass", "ResultPath": "$.x", "End": True}}, "P"),
             "SCHEMA_VALIDATION_FAILED", "/States/P"),
            ("result in a Pass", machine({"P": {"Type": "Pass", "Output": "{% $states.result %}", "End": True}}, "P"),
             "SCHEMA_VALIDATION_FAILED", "/States/P/Output"),
            ("top-level input", machine({"P": {"Type": "Pass", "Output": "{% total %}", "End": True}}, "P"),
             "UNSUPPORTED_JSONATA_EXPRESSION", "/States/P/Output"),
            ("assigning states", machine({"P": {"Type": "Pass", "Assign": {"states": 1}, "End": True}}, "P"),
             "SCHEMA_VALIDATION_FAILED", "/States/P/Assign"),
            ("no closing marker", machine({"P": {"Type": "Pass", "Output": "{% 1 + 1", "End": True}}, "P"),
             "SCHEMA_VALIDATION_FAILED", "/States/P/Output"),
            ("JSONata field in JSONPath", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": 1, "End": True}}},
             "SCHEMA_VALIDATION_FAILED", "/States/P"),
        ]
        if not hasattr(self.sfn, "validate_state_machine_definition"):
            return  # boto3 1.26 predates the action; CreateStateMachine was checked above
        self.assertEqual(self.validate(ORDER_FLOW)["result"], "OK")
        for what, d, code, loc in cases:
            r = self.validate(d)
            self.assertEqual(r["result"], "FAIL", what)
            self.assertIn((code, loc), [(x["code"], x.get("location")) for x in r["diagnostics"]], (what, r))

    def test_standard_execution(self):
        sm = self.machine(ORDER_FLOW, name="orders-jsonata")
        items = [{"sku": "a", "net": 50}, {"sku": "b", "net": 40}]
        e = self.sfn.start_execution(stateMachineArn=sm, input=json.dumps({"customer": "Ada", "items": items}))
        d = self.wait_done(e["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"kind": "big", "total": 135, "customer": "Ada"})
        h = self.history(e["executionArn"])
        exits = {x["stateExitedEventDetails"]["name"]: x["stateExitedEventDetails"] for x in h
                 if x["type"].endswith("StateExited")}
        # the iterations read the outer $rate; their own Assign stayed inside them
        self.assertEqual(json.loads(exits["Price"]["output"])["rate_seen"], 1.5)
        self.assertEqual(json.loads(exits["Price"]["output"])["lines"],
                         [{"sku": "a", "index": 0, "gross": 75}, {"sku": "b", "index": 1, "gross": 60}])
        if self.model_has("StateExitedEventDetails", "assignedVariables"):
            self.assertEqual({k: json.loads(v) for k, v in exits["Price"]["assignedVariables"].items()},
                             {"total": 135, "old_rate": 1.5})
            lines = [json.loads(x["stateExitedEventDetails"]["assignedVariables"]["line"]) for x in h
                     if x["type"] == "PassStateExited" and x["stateExitedEventDetails"]["name"] == "Line"]
            self.assertEqual(sorted(lines), ["a", "b"])
        # a small order takes the Default with the state's Output
        e = self.sfn.start_execution(stateMachineArn=sm, input=json.dumps({"customer": "Bo", "items": items[:1]}))
        d = self.wait_done(e["executionArn"])
        self.assertEqual(json.loads(d["output"]), {"kind": "small", "total": 75, "customer": "Bo"})

    def test_query_evaluation_error_caught(self):
        sm = self.machine(machine({
            "Fan": {"Type": "Map", "Items": "{% $states.input.list %}",
                    "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                    "Retry": [{"ErrorEquals": ["States.QueryEvaluationError"], "MaxAttempts": 1,
                               "IntervalSeconds": 1}],
                    "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Handled",
                               "Assign": {"why": "{% $states.errorOutput.Error %}"},
                               "Output": {"err": "{% $states.errorOutput %}", "in": "{% $states.input %}"}}],
                    "End": True},
            "Handled": {"Type": "Pass", "Output": {"why": "{% $why %}", "cause": "{% $states.input.err.Cause %}"},
                        "End": True}}, "Fan"), name="qe-caught")
        e = self.sfn.start_execution(stateMachineArn=sm, input=json.dumps({"list": "not an array"}))["executionArn"]
        d = self.wait_done(e)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        out = json.loads(d["output"])
        self.assertEqual(out["why"], "States.QueryEvaluationError")
        self.assertEqual(out["cause"], "An error occurred while executing the state 'Fan' (entered at the event id #2). "
                         "The JSONata expression '$states.input.list' specified for the field 'Items' returned an "
                         "unexpected result type. Expected 'array', but was 'string' for value: \"not an array\"")
        types = [x["type"] for x in self.history(e)]
        self.assertEqual(types.count("EvaluationFailed"), 2)  # the first try and the retry
        if self.model_has("HistoryEvent", "evaluationFailedEventDetails"):
            ev = [x for x in self.history(e) if x["type"] == "EvaluationFailed"][0]["evaluationFailedEventDetails"]
            self.assertEqual((ev["error"], ev["location"], ev["state"]),
                             ("States.QueryEvaluationError", "Items", "Fan"))
        # uncaught: the execution fails with the same error
        sm2 = self.machine(machine({"P": {"Type": "Pass", "Output": "{% $nothing %}", "End": True}}, "P"), name="qe")
        e2 = self.sfn.start_execution(stateMachineArn=sm2, input="{}")["executionArn"]
        d2 = self.wait_done(e2)
        self.assertEqual((d2["status"], d2["error"]), ("FAILED", "States.QueryEvaluationError"))
        self.assertIn("returned nothing (undefined)", d2["cause"])

    def test_express_sync(self):
        sm = self.machine(ORDER_FLOW, name="orders-jsonata-x", type_="EXPRESS")
        r = self.sync_client().start_sync_execution(
            stateMachineArn=sm, input=json.dumps({"customer": "Cy", "items": [{"sku": "z", "net": 100}]}))
        self.assertEqual(r["status"], "SUCCEEDED", r)
        self.assertEqual(json.loads(r["output"]), {"kind": "big", "total": 150, "customer": "Cy"})

    def test_test_state_with_variables(self):
        if not hasattr(self.sfn, "test_state"):
            self.skipTest("boto3 too old for TestState")
        state = {"QueryLanguage": "JSONata", "Type": "Pass", "Next": "After",
                 "Output": {"v": "{% $greeting & ', ' & $states.input.name %}", "n": "{% $sum($states.input.n) %}"}}
        try:
            r = self.sync_client().test_state(definition=json.dumps(state), roleArn=ROLE,
                                              input='{"name": "Ada", "n": [1, 2, 3]}', inspectionLevel="DEBUG",
                                              variables='{"greeting": "Hello"}')
        except botocore.exceptions.ParamValidationError:
            self.skipTest("boto3 too old for TestState variables")
        self.assertEqual(r["status"], "SUCCEEDED", r)
        self.assertEqual(json.loads(r["output"]), {"v": "Hello, Ada", "n": 6})
        self.assertEqual(r["nextState"], "After")
        self.assertEqual(json.loads(r["inspectionData"]["variables"]), {"greeting": "Hello"})
        bad = dict(state, Output="{% $nope %}")
        r = self.sync_client().test_state(definition=json.dumps(bad), roleArn=ROLE, input="{}")
        self.assertEqual((r["status"], r["error"]), ("FAILED", "States.QueryEvaluationError"))

    def test_variable_scopes(self):
        inner_assigns_outer = machine({
            "Init": {"Type": "Pass", "Assign": {"rate": 2}, "Next": "Fan"},
            "Fan": {"Type": "Map", "Items": [1, 2], "ItemProcessor": {"StartAt": "I", "States": {
                "I": {"Type": "Pass", "Assign": {"rate": "{% $states.input %}"}, "End": True}}}, "End": True}}, "Init")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.machine(inner_assigns_outer, name="inner-assigns-outer")
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "InvalidDefinition")
        self.assertIn("'rate' is assigned in an outer scope", err["Message"])
        self.assertIn("at /States/Fan/ItemProcessor/States/I/Assign", err["Message"])
        if hasattr(self.sfn, "validate_state_machine_definition"):
            r = self.validate(inner_assigns_outer)
            self.assertEqual(r["result"], "FAIL")
            self.assertEqual([(x["code"], x.get("location")) for x in r["diagnostics"]],
                             [("SCHEMA_VALIDATION_FAILED", "/States/Fan/ItemProcessor/States/I/Assign")])
        # accepted: sibling branches share a name, the Parallel's own Assign and a later state reuse it
        scopes = machine({
            "Init": {"Type": "Pass", "Assign": {"rate": 2}, "Next": "Par"},
            "Par": {"Type": "Parallel", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"b": "a"},
                                                  "Output": "{% $rate * 10 %}", "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Assign": {"b": "b"},
                                                  "Output": "{% $rate + 1 %}", "End": True}}}],
                "Assign": {"b": "{% $states.result %}"}, "Next": "After"},
            "After": {"Type": "Pass", "Output": {"b": "{% $b %}", "rate": "{% $rate %}"}, "End": True}}, "Init")
        sm = self.machine(scopes, name="scopes")
        e = self.sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
        d = self.wait_done(e)
        self.assertEqual(d["status"], "SUCCEEDED", d)
        self.assertEqual(json.loads(d["output"]), {"b": [20, 3], "rate": 2})
        # a branch's own variable does not leak out of the Parallel
        leak = machine({
            "Par": {"Type": "Parallel", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"inner": 1}, "End": True}}}],
                "Next": "After"},
            "After": {"Type": "Pass", "Output": "{% $inner %}", "End": True}}, "Par")
        e = self.sfn.start_execution(stateMachineArn=self.machine(leak, name="leak"), input="{}")["executionArn"]
        d = self.wait_done(e)
        self.assertEqual((d["status"], d["error"]), ("FAILED", "States.QueryEvaluationError"))
        self.assertIn("'$inner' specified for the field 'Output' returned nothing (undefined)", d["cause"])
        # an inline iteration reads the outer variable, a distributed one does not see it
        for mode, ok in (("INLINE", True), ("DISTRIBUTED", False)):
            reads = machine({
                "Init": {"Type": "Pass", "Assign": {"rate": 3}, "Next": "Fan"},
                "Fan": {"Type": "Map", "Items": [1, 2], "ItemProcessor": {
                    "ProcessorConfig": {"Mode": mode, "ExecutionType": "STANDARD"}, "StartAt": "I", "States": {
                        "I": {"Type": "Pass", "Output": "{% $states.input * $rate %}", "End": True}}},
                    "End": True}}, "Init")
            e = self.sfn.start_execution(stateMachineArn=self.machine(reads, name="reads-" + mode.lower()),
                                         input="{}")["executionArn"]
            d = self.wait_done(e)
            if ok:
                self.assertEqual((d["status"], json.loads(d["output"])), ("SUCCEEDED", [3, 6]), d)
            else:
                # the iteration's error ends the Map (no tolerance given)
                self.assertEqual((d["status"], d["error"]), ("FAILED", "States.QueryEvaluationError"), d)
                self.assertIn("'$states.input * $rate' specified for the field 'Output' returned nothing", d["cause"])

    def test_variable_size_quota(self):
        for what, assign, why in (
                ("one variable", {"big": "{% $pad('', 270000, 'x') %}"}, "for one variable"),
                ("one Assign", {"a": "{% $pad('', 140000, 'x') %}", "b": "{% $pad('', 140000, 'y') %}"},
                 "for one Assign")):
            sm = self.machine(machine({
                "P": {"Type": "Pass", "Assign": assign, "Next": "Q"},
                "Q": {"Type": "Pass", "Output": "unreached", "End": True}}, "P"), name="quota-" + what.replace(" ", "-"))
            e = self.sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"]
            d = self.wait_done(e)
            self.assertEqual((d["status"], d["error"]), ("FAILED", "States.DataLimitExceeded"), what)
            self.assertIn(why, d["cause"])
            types = [x["type"] for x in self.history(e)]
            self.assertNotIn("PassStateExited", types)  # nothing was assigned
        # just under the quota: kept, and readable by the next state
        sm = self.machine(machine({
            "P": {"Type": "Pass", "Assign": {"big": "{% $pad('', 262000, 'x') %}"}, "Next": "Q"},
            "Q": {"Type": "Pass", "Output": "{% $length($big) %}", "End": True}}, "P"), name="quota-ok")
        d = self.wait_done(self.sfn.start_execution(stateMachineArn=sm, input="{}")["executionArn"])
        self.assertEqual((d["status"], json.loads(d["output"])), ("SUCCEEDED", 262000), d)
