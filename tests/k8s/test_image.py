"""ctest k8s_image: the images deploy/podman/build-images made (fixture
K8S_IMAGES) hold what the Containerfiles promise, and run.

- localhost/switchyard: a non-root user, the binary with every library it
  links resolved, no compiler or build tree, the schema migrations; `serve`
  runs on a read-only root filesystem (as the manifests run it) against the
  fixture PostgreSQL, answers SQS through boto3, and exits 0 on SIGTERM;
- localhost/switchyard-food-delivery (the worker image example): the C
  handlers' shared object links, the custom runtime's tools are there, and a
  worker in it runs the example's C handler for an Invoke through the broker
  container.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import unittest

import fleet

sys.path.insert(0, os.path.join(fleet.SOURCE_DIR, "tests", "e2e"))
import harness  # noqa: E402

IMAGE = "localhost/switchyard:latest"
WORKER_IMAGE = "localhost/switchyard-food-delivery:latest"


def run(image, *args, entrypoint=None):
    cmd = ["run", "--rm"]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    return fleet.podman(*(cmd + [image] + list(args)), check=False)


class ImageTest(unittest.TestCase):
    def test_runtime_image_contents(self):
        rc, out, _ = run(IMAGE, "-u", entrypoint="id")
        self.assertEqual((rc, out.strip()), (0, "10001"))
        rc, out, err = run(IMAGE, "/usr/local/bin/switchyard", entrypoint="ldd")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("not found", out)
        for lib in ("libzmq", "libjansson", "libpq", "libprotobuf-c", "libmicrohttpd", "libcurl", "libcrypto"):
            self.assertIn(lib, out)
        # the final stage has no toolchain and no sources
        rc, out, _ = run(IMAGE, "-c", "for c in cc gcc cmake make protoc-c; do command -v $c; done; "
                         "ls -d /src /build 2>/dev/null; true",
                         entrypoint="/bin/sh")
        self.assertEqual(out.strip(), "", "build tools or trees in the final image")
        rc, out, _ = run(IMAGE, "/usr/share/switchyard/schema", entrypoint="ls")
        self.assertEqual(sorted(out.split()), sorted(f for f in os.listdir(os.path.join(fleet.SOURCE_DIR, "schema"))
                                                     if f.endswith(".sql")))
        rc, out, _ = run(IMAGE, "serve", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("--database-url", out)

    def test_worker_image_contents(self):
        rc, out, err = run(WORKER_IMAGE, "/opt/switchyard/functions/food-delivery/libfooddelivery.so", entrypoint="ldd")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("not found", out)
        rc, out, _ = run(WORKER_IMAGE, "-c", "for c in bash curl jq; do command -v $c; done; test -x "
                         "/opt/switchyard/functions/food-delivery/runtime/bootstrap && echo bootstrap",
                         entrypoint="/bin/sh")
        self.assertEqual(len(out.split()), 4, out)
        rc, out, _ = run(WORKER_IMAGE, "-u", entrypoint="id")
        self.assertEqual(out.strip(), "10001")

    def test_serve_and_worker_run(self):
        """A broker container (read-only root, as the manifests run it) on
        the fixture PostgreSQL, and a worker container from the example
        image; an SQS round trip and an Invoke of the example's C handler."""
        db = harness.create_database("sy_k8s_image")
        self.addCleanup(harness.drop_database, db)
        http, zmq = harness.free_ports(2)
        tag = "sy-k8s-image-%d" % os.getpid()
        sock = harness.PGHOST
        url = "postgresql://postgres@/%s?host=/pgsock&port=%s" % (db, harness.PGPORT)
        broker = tag + "-broker"
        worker = tag + "-worker"
        self.addCleanup(fleet.podman, "rm", "-f", "-t", "2", broker, worker, check=False)
        fleet.podman("run", "-d", "--name", broker, "--network", "host", "--read-only",
                     "--tmpfs", "/tmp", "--tmpfs", "/var/lib/switchyard:mode=1777",
                     "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                     "-v", "%s:/pgsock" % sock,
                     "-e", "SWITCHYARD_DATABASE_URL=" + url,
                     "-e", "SWITCHYARD_LISTEN=127.0.0.1:%d" % http,
                     "-e", "SWITCHYARD_WORKER_LISTEN=tcp://127.0.0.1:%d" % zmq,
                     IMAGE, "serve")
        endpoint = "http://127.0.0.1:%d" % http

        def healthy():
            try:
                return harness.http_request(endpoint + "/health", timeout=3)[0] == 200
            except Exception:
                return False
        ok = harness.wait_until(healthy, 180, 0.5)
        self.assertTrue(ok, fleet.podman("logs", broker, check=False)[1:])

        import boto3
        from botocore.config import Config
        s = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        cfg = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=60)
        sqs = s.client("sqs", endpoint_url=endpoint, config=cfg)
        q = sqs.create_queue(QueueName="image-q")["QueueUrl"]
        sqs.send_message(QueueUrl=q, MessageBody="from a container")
        got = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=5)["Messages"]
        self.assertEqual([m["Body"] for m in got], ["from a container"])

        so = "/opt/switchyard/functions/food-delivery/libfooddelivery.so"
        fleet.podman("run", "-d", "--name", worker, "--network", "host", "--read-only", "--tmpfs", "/tmp",
                     "--cap-drop", "ALL", WORKER_IMAGE, "worker", "--broker", "tcp://127.0.0.1:%d" % zmq,
                     "--function", "charge-payment=so:%s:charge_payment" % so)
        lam = s.client("lambda", endpoint_url=endpoint, config=cfg)
        event = {"order": {"order_id": "o-1", "card": "tok_visa", "total": 9.5}, "attempt": 0}

        def invoked():
            try:
                r = lam.invoke(FunctionName="charge-payment", Payload=json.dumps(event))
            except lam.exceptions.ResourceNotFoundException:
                return None  # the worker has not announced it yet
            except lam.exceptions.ResourceNotReadyException:
                return None
            except lam.exceptions.TooManyRequestsException:
                return None  # the broker's concurrency share is not leased yet (a second or so)
            return r
        r = harness.wait_until(invoked, 120, 1.0)
        self.assertIsNotNone(r, fleet.podman("logs", worker, check=False)[1:])
        out = json.loads(r["Payload"].read())
        self.assertNotIn("FunctionError", r, out)
        self.assertEqual(out, {"payment_id": "pay-o-1", "amount": 9.5, "attempts": 1})

        # SIGTERM: both drain and exit 0
        for name in (worker, broker):
            t0 = time.time()
            fleet.podman("stop", "-t", "30", name)
            self.assertEqual(fleet.container_state(name), ("exited", 0), name)
            self.assertLess(time.time() - t0, 29, "%s needed SIGKILL" % name)


if __name__ == "__main__":
    if not shutil.which("podman"):
        print("podman is not installed (scripts/install-deps installs it): skipping", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
