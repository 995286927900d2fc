"""Access policies (docs/security.md): identity policies attached to access
keys in the --policies file, resource policies on queues (Policy,
AddPermission) and topics, the services' refusals in their own shapes, and
`switchyard policy simulate`. Runs under both client generations."""
import json
import os
import subprocess
import unittest
import urllib.request

import harness

ACCOUNT = "000000000000"
ROOT = ("AKROOT", "rootSecret-5f1d")
ALICE = ("AKALICE", "aliceSecret-93ab")
BOB = ("AKBOB", "bobSecret-77c2")
EVE = ("AKEVE", "eveSecret-1e0f")  # another account
MALLORY = ("AKMALLORY", "mallorySecret-4d21")

IDENTITIES = {"Identities": [
    {"AccessKeyId": ROOT[0], "Arn": "arn:aws:iam::%s:root" % ACCOUNT},
    {"AccessKeyId": ALICE[0], "Arn": "arn:aws:iam::%s:user/alice" % ACCOUNT, "Policies": [
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
             "Resource": "arn:aws:sqs:*:%s:orders-*" % ACCOUNT},
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
            {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
            {"Effect": "Allow", "Action": "states:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "states:ListStateMachines", "Resource": "*"},
        ]}]},
    {"AccessKeyId": BOB[0], "Arn": "arn:aws:iam::%s:user/bob" % ACCOUNT},
    {"AccessKeyId": EVE[0], "Arn": "arn:aws:iam::999999999999:user/eve", "Policies": [
        {"Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}}]},
    {"AccessKeyId": MALLORY[0], "Arn": "arn:aws:iam::%s:user/mallory" % ACCOUNT, "Policies": [
        {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                       {"Effect": "Deny", "Action": "sqs:ReceiveMessage", "Resource": "*"}]}]},
]}


class SecurityTestCase(harness.SwitchyardTestCase):
    START_BROKER = False

    def setUp(self):
        super().setUp()
        d = self.tmpdir("authz")
        self.creds_path = os.path.join(d, "credentials")
        with open(self.creds_path, "w") as f:
            for k in (ROOT, ALICE, BOB, EVE, MALLORY, harness.DEFAULT_KEY):
                f.write("%s %s\n" % k)
        self.policies_path = os.path.join(d, "policies.json")
        with open(self.policies_path, "w") as f:
            json.dump(IDENTITIES, f)
        self.broker = self.start_broker(extra_args=("--credentials", self.creds_path,
                                                    "--policies", self.policies_path))

    def refused(self, fn):
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            fn()
        e = cm.exception.response
        return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"].get("Message", "")

    def sqs(self, key):
        return self.client("sqs", key=key)


class TestQueuePolicies(SecurityTestCase):
    def test_identity_policy_allows_and_refuses(self):
        url = self.sqs(ROOT).create_queue(QueueName="orders-1")["QueueUrl"]
        other = self.sqs(ROOT).create_queue(QueueName="payments")["QueueUrl"]
        alice = self.sqs(ALICE)
        alice.send_message(QueueUrl=url, MessageBody="hello")
        code, status, msg = self.refused(lambda: alice.receive_message(QueueUrl=url))
        self.assertEqual((code, status), ("AccessDenied", 403))
        self.assertIn("sqs:ReceiveMessage", msg)
        self.assertIn("arn:aws:iam::%s:user/alice" % ACCOUNT, msg)
        # the resource pattern: orders-* only
        self.assertEqual(self.refused(lambda: alice.send_message(QueueUrl=other, MessageBody="x"))[:2],
                         ("AccessDenied", 403))
        # a condition that does not hold (the client is 127.0.0.1, not 10/8)
        self.assertEqual(self.refused(lambda: alice.list_queues())[:2], ("AccessDenied", 403))
        # nothing changed on refusal: exactly the one message alice was allowed to send
        got = self.sqs(ROOT).receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([m["Body"] for m in got], ["hello"])
        self.assertEqual(self.sqs(ROOT).receive_message(QueueUrl=other).get("Messages", []), [])

    def test_queue_policy_grants_a_principal_without_identity_policies(self):
        url = self.sqs(ROOT).create_queue(QueueName="jobs")["QueueUrl"]
        self.sqs(ROOT).send_message(QueueUrl=url, MessageBody="job-1")
        bob = self.sqs(BOB)
        self.assertEqual(self.refused(lambda: bob.receive_message(QueueUrl=url))[:2], ("AccessDenied", 403))
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:user/bob" % ACCOUNT},
            "Action": ["sqs:ReceiveMessage", "sqs:GetQueueAttributes"], "Resource": "*"}]}
        self.sqs(ROOT).set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        self.assertEventually(lambda: self._try(lambda: bob.receive_message(QueueUrl=url)), timeout=5,
                              msg="the queue policy should let bob receive")
        self.assertEqual(self.refused(lambda: bob.purge_queue(QueueUrl=url))[:2], ("AccessDenied", 403))

    def _try(self, fn):
        from botocore.exceptions import ClientError
        try:
            fn()
            return True
        except ClientError:
            return False

    def test_add_permission_for_another_account_lives_in_policy(self):
        url = self.sqs(ROOT).create_queue(QueueName="shared")["QueueUrl"]
        eve = self.sqs(EVE)
        code, status, msg = self.refused(lambda: eve.send_message(QueueUrl=url, MessageBody="x"))
        self.assertEqual((code, status), ("AccessDenied", 403))
        self.assertIn("resource-based policy", msg)
        self.sqs(ROOT).add_permission(QueueUrl=url, Label="eve-send", AWSAccountIds=["999999999999"],
                                      Actions=["SendMessage"])
        # queue settings are cached for up to 1 s per broker (docs/compatibility.md)
        get = lambda: self.sqs(ROOT).get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get(
            "Attributes", {}).get("Policy")
        pol = json.loads(self.assertEventually(get, timeout=5))
        sids = [s["Sid"] for s in pol["Statement"]]
        self.assertEqual(sids, ["eve-send"])
        self.assertEqual(pol["Statement"][0]["Principal"], {"AWS": ["arn:aws:iam::999999999999:root"]})
        self.assertEventually(lambda: self._try(lambda: eve.send_message(QueueUrl=url, MessageBody="from eve")),
                              timeout=5)
        # only what was granted: eve's identity allows sqs:* but the queue grants SendMessage
        self.assertEqual(self.refused(lambda: eve.receive_message(QueueUrl=url))[:2], ("AccessDenied", 403))
        # a label twice is refused; removing it takes the grant away
        self.assertEqual(self.refused(lambda: self.sqs(ROOT).add_permission(
            QueueUrl=url, Label="eve-send", AWSAccountIds=["999999999999"], Actions=["SendMessage"]))[0],
            "InvalidParameterValue")
        self.sqs(ROOT).remove_permission(QueueUrl=url, Label="eve-send")
        self.assertEventually(lambda: not self._try(lambda: eve.send_message(QueueUrl=url, MessageBody="y")),
                              timeout=5)

    def test_explicit_deny_beats_allow(self):
        url = self.sqs(ROOT).create_queue(QueueName="audit")["QueueUrl"]
        policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}]}
        self.sqs(ROOT).set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        mallory = self.sqs(MALLORY)
        mallory.send_message(QueueUrl=url, MessageBody="m")
        code, status, msg = self.refused(lambda: mallory.receive_message(QueueUrl=url))
        self.assertEqual((code, status), ("AccessDenied", 403))
        self.assertIn("explicit deny", msg)

    def test_invalid_policy_attribute_refused_and_nothing_changes(self):
        url = self.sqs(ROOT).create_queue(QueueName="strict")["QueueUrl"]
        bad = {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}  # no Principal
        code, status, msg = self.refused(lambda: self.sqs(ROOT).set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json.dumps(bad), "VisibilityTimeout": "99"}))
        self.assertEqual((code, status), ("InvalidAttributeValue", 400))
        self.assertIn("Principal", msg)
        attrs = self.sqs(ROOT).get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertNotIn("Policy", attrs)
        self.assertEqual(attrs["VisibilityTimeout"], "30")


class TestOtherServices(SecurityTestCase):
    def test_sns_identity_and_topic_policy(self):
        arn = self.client("sns", key=ROOT).create_topic(Name="orders")["TopicArn"]
        alice = self.client("sns", key=ALICE)
        alice.publish(TopicArn=arn, Message="m")
        code, status, msg = self.refused(lambda: alice.create_topic(Name="rogue"))
        self.assertEqual((code, status), ("AuthorizationError", 403))
        self.assertIn("sns:CreateTopic", msg)
        bob = self.client("sns", key=BOB)
        self.assertEqual(self.refused(lambda: bob.publish(TopicArn=arn, Message="m"))[:2],
                         ("AuthorizationError", 403))
        policy = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:user/bob" % ACCOUNT},
                                 "Action": "sns:Publish", "Resource": arn}]}
        self.client("sns", key=ROOT).set_topic_attributes(TopicArn=arn, AttributeName="Policy",
                                                           AttributeValue=json.dumps(policy))
        bob.publish(TopicArn=arn, Message="m")
        stored = self.client("sns", key=ROOT).get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]
        self.assertEqual(json.loads(stored), policy)

    def test_eventbridge_and_step_functions_refuse_in_their_shape(self):
        events = self.client("events", key=ALICE)
        code, status, msg = self.refused(lambda: events.put_events(
            Entries=[{"Source": "a", "DetailType": "b", "Detail": "{}"}]))
        self.assertEqual((code, status), ("AccessDeniedException", 400))
        self.assertIn("events:PutEvents", msg)
        self.assertIn(":event-bus/default", msg)
        self.client("events", key=ROOT).put_events(Entries=[{"Source": "a", "DetailType": "b", "Detail": "{}"}])
        sfn = self.client("stepfunctions", key=ALICE)
        arn = "arn:aws:states:us-east-1:%s:stateMachine:none" % ACCOUNT
        self.assertEqual(self.refused(lambda: sfn.describe_state_machine(stateMachineArn=arn))[0],
                         "StateMachineDoesNotExist")  # states:* lets the call through ...
        code, status, msg = self.refused(lambda: sfn.list_state_machines())  # ... but Deny wins
        self.assertEqual((code, status), ("AccessDeniedException", 400))
        self.assertIn("explicit deny in an identity-based policy", msg)

    def test_lambda_refuses_in_its_shape(self):
        lam = self.client("lambda", key=ALICE)
        code, status, msg = self.refused(lambda: lam.invoke(FunctionName="orders-fn", Payload=b"{}"))
        self.assertEqual((code, status), ("AccessDeniedException", 403))
        self.assertIn("lambda:InvokeFunction", msg)
        self.assertIn(":function:orders-fn", msg)
        code, status, _ = self.refused(lambda: lam.list_functions())
        self.assertEqual((code, status), ("AccessDeniedException", 403))
        # the root gets through the check to the service's own answer
        code, status, _ = self.refused(lambda: self.client("lambda", key=ROOT).get_function(FunctionName="orders-fn"))
        self.assertEqual((code, status), ("ResourceNotFoundException", 404))

    def test_secrets_never_logged_or_exported(self):
        self.sqs(ROOT).create_queue(QueueName="orders-x")
        self.refused(lambda: self.client("sqs", key=(ALICE[0], "wrong-secret")).list_queues())
        self.refused(lambda: self.sqs(BOB).list_queues())
        metrics = urllib.request.urlopen(self.broker.url + "/metrics", timeout=10).read().decode()
        self.assertIn("switchyard_authz_denied_total", metrics)
        text = self.broker.log_text() + metrics
        for _, secret in (ROOT, ALICE, BOB, EVE, MALLORY):
            self.assertNotIn(secret, text)
        self.assertNotIn("wrong-secret", text)


class TestLimits(harness.SwitchyardTestCase):
    ROLE = "arn:aws:iam::000000000000:role/r"

    def definition(self, chars):
        base = '{"Comment":"%s","StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}'
        d = base % ("x" * (chars - len(base % "")))
        self.assertEqual(len(d), chars)
        return d

    def test_definition_size_quota(self):
        sfn = self.client("stepfunctions")
        arn = sfn.create_state_machine(name="at-quota", definition=self.definition(1048576),
                                       roleArn=self.ROLE)["stateMachineArn"]
        self.assertTrue(arn.endswith(":at-quota"))
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            sfn.create_state_machine(name="over-quota", definition=self.definition(1048577), roleArn=self.ROLE)
        e = cm.exception.response
        self.assertEqual((e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]), ("ValidationException", 400))
        self.assertIn("1048576", e["Error"]["Message"])
        with self.assertRaises(ClientError) as cm:
            sfn.update_state_machine(stateMachineArn=arn, definition=self.definition(1048577))
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")
        names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
        self.assertEqual(names, ["at-quota"])


class TestPolicyCommand(harness.SwitchyardTestCase):
    START_BROKER = False

    def run_cli(self, *args):
        p = subprocess.run([harness.BINARY, "policy"] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30, env=self.broker_env())
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_simulate_and_validate(self):
        d = self.tmpdir("policycli")
        path = os.path.join(d, "policies.json")
        with open(path, "w") as f:
            json.dump(IDENTITIES, f)
        q = "arn:aws:sqs:us-east-1:%s:orders-9" % ACCOUNT
        rc, out, _ = self.run_cli("simulate", "--policies", path, "--principal", ALICE[0],
                                  "--action", "sqs:SendMessage", "--resource", q)
        self.assertEqual(rc, 0, out)
        self.assertEqual(json.loads(out)["decision"], "allowed")
        rc, out, _ = self.run_cli("simulate", "--policies", path, "--principal",
                                  "arn:aws:iam::%s:user/alice" % ACCOUNT, "--action", "sqs:ListQueues",
                                  "--resource", "*", "--context", "aws:SourceIp=10.1.2.3")
        self.assertEqual((rc, json.loads(out)["decision"]), (0, "allowed"))
        rc, out, _ = self.run_cli("simulate", "--policies", path, "--principal", ALICE[0],
                                  "--action", "sqs:DeleteQueue", "--resource", q)
        self.assertEqual((rc, json.loads(out)["decision"]), (1, "implicitDeny"))
        rp = os.path.join(d, "rp.json")
        with open(rp, "w") as f:
            json.dump({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}}, f)
        rc, out, _ = self.run_cli("simulate", "--policies", path, "--principal", ROOT[0],
                                  "--action", "sqs:SendMessage", "--resource", q, "--resource-policy", rp)
        self.assertEqual((rc, json.loads(out)["decision"]), (1, "explicitDeny"))
        self.assertEqual(self.run_cli("validate", "--resource", rp)[0], 0)
        rc, _, err = self.run_cli("validate", rp)  # an identity policy may not name a principal
        self.assertEqual(rc, 1)
        self.assertIn("principal", err)

    def test_broker_refuses_a_bad_policies_file(self):
        d = self.tmpdir("badpol")
        creds = os.path.join(d, "credentials")
        with open(creds, "w") as f:
            f.write("AK SECRET\n")
        path = os.path.join(d, "policies.json")
        with open(path, "w") as f:
            f.write('{"Identities": [{"AccessKeyId": "AK", "Arn": "arn:aws:iam::1:user/x", '
                    '"Policies": [{"Statement": {"Effect": "Permit", "Action": "*", "Resource": "*"}}]}]}')
        b = self.start_broker(extra_args=("--credentials", creds, "--policies", path), wait=False)
        self.assertNotEqual(b.wait(60), 0)
        self.assertIn("Effect must be Allow or Deny", b.log_text())


if __name__ == "__main__":
    unittest.main()
