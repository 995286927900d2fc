"""The test overlay (deploy/overlays/test) under `podman kube play`: the
plumbing of tests/k8s/test_fleet.py.

Renders the overlay with `kubectl kustomize`, moves its fixed ports to free
ones and its host paths into a private directory, creates the Secrets as
podman secrets (Secret documents cannot be played), and plays PostgreSQL,
then the three brokers (with their ConfigMaps), then the two workers, each
from its own file, which `down()` stops with `podman kube down`.
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("SY_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
import harness  # noqa: E402  (free_ports, wait_until)

CONTAINERS_CONF = os.path.join(SOURCE_DIR, "deploy", "podman", "containers.conf")
OVERLAY = os.path.join(SOURCE_DIR, "deploy", "overlays", "test")
# what the overlay says (see its kustomization.yaml)
HTTP_PORTS = [24661, 24662, 24663]
WORKER_PORTS = [24671, 24672, 24673]
PG_PORT = 24632
HOST_DIR = "/var/tmp/switchyard-fleet-test"

BROKERS = ["switchyard-broker-%d-pod-0-broker" % i for i in (1, 2, 3)]
WORKERS = ["switchyard-worker-fleet-pod-%d-worker" % i for i in (0, 1)]
POSTGRES = "switchyard-postgres-pod-0-postgres"
SECRETS = ["switchyard-database", "switchyard-postgres", "switchyard-function-credentials"]
OUR_NAME = re.compile(r"^switchyard-(broker-[123]|worker-fleet|postgres)-pod-")


def podman(*args, check=True, timeout=180):
    env = dict(os.environ, CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF", CONTAINERS_CONF))
    p = subprocess.run(["podman"] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=timeout)
    out = p.stdout.decode(errors="replace")
    # podman without systemd complains about healthcheck timers on stderr; noise
    err = "\n".join(line for line in p.stderr.decode(errors="replace").splitlines()
                    if "systemd" not in line)
    if check and p.returncode != 0:
        raise RuntimeError("podman %s failed (%d): %s %s" % (" ".join(map(str, args)), p.returncode, out, err))
    return p.returncode, out, err


def podman_state():
    """What podman holds now: container, pod and volume names, secrets."""
    def names(*args):
        _, out, _ = podman(*args)
        return set(line.strip() for line in out.splitlines() if line.strip())
    return {
        "containers": names("ps", "-a", "--format", "{{.Names}}"),
        "pods": names("pod", "ps", "--format", "{{.Name}}"),
        "volumes": names("volume", "ls", "--format", "{{.Name}}"),
        "secrets": names("secret", "ls", "--format", "{{.Name}}"),
    }


def container_state(name):
    rc, out, _ = podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name, check=False)
    if rc != 0:
        return None, None
    status, code = out.split()
    return status, int(code)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def _remap(value, mapping):
    if isinstance(value, dict):
        return {k: _remap(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_remap(v, mapping) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return mapping.get(value, value)
    if isinstance(value, str):
        value = value.replace(HOST_DIR, mapping["dir"])
        return re.sub(r"(?<![0-9A-Za-z])(2466[1-3]|2467[1-3]|24632)(?![0-9A-Za-z])",
                      lambda m: str(mapping[int(m.group(1))]), value)
    return value


class Fleet:
    """3 brokers + 2 workers + PostgreSQL from the test overlay."""

    def __init__(self, log_dir):
        import yaml  # python3-yaml (Debian; awscli depends on it)
        self.yaml = yaml
        self.log_dir = log_dir
        os.makedirs(log_dir, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="sy-fleet-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        ports = harness.free_ports(7)
        self.http_ports, self.worker_ports, self.pg_port = ports[0:3], ports[3:6], ports[6]
        self.mapping = {"dir": self.dir, PG_PORT: self.pg_port}
        for old, new in zip(HTTP_PORTS + WORKER_PORTS, self.http_ports + self.worker_ports):
            self.mapping[old] = new
        self.urls = ["http://127.0.0.1:%d" % p for p in self.http_ports]
        self.pg_password = "pw-%d" % os.getpid()
        self.database_url = "postgresql://switchyard:%s@127.0.0.1:%d/switchyard" % (self.pg_password, self.pg_port)
        self.files = {}
        self.played = []

    # ---------------------------------------------------------------- render
    def render(self):
        p = subprocess.run(["kubectl", "kustomize", OVERLAY], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        if p.returncode != 0:
            raise RuntimeError("kubectl kustomize failed: %s" % p.stderr.decode(errors="replace"))
        docs = [d for d in self.yaml.safe_load_all(p.stdout.decode()) if d]
        docs = [_remap(d, self.mapping) for d in docs]
        self.docs = docs
        deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
        configmaps = [d for d in docs if d["kind"] == "ConfigMap"]
        parts = {
            "postgres": [deployments["switchyard-postgres"]],
            "brokers": configmaps + [deployments["switchyard-broker-%d" % i] for i in (1, 2, 3)],
            "workers": [deployments["switchyard-worker-fleet"]],
        }
        for name, part in parts.items():
            path = os.path.join(self.dir, "%s.yaml" % name)
            with open(path, "w") as f:
                self.yaml.safe_dump_all(part, f, sort_keys=False)
            self.files[name] = path
        # host paths: the shared ledger, the brokers' names, SigV4 credentials
        for sub, mode in (("ledger", 0o777), ("brokers", 0o755), ("credentials", 0o755)):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
            os.chmod(os.path.join(self.dir, sub), mode)
        # the workers' one name for every broker (a cluster's headless Service)
        with open(os.path.join(self.dir, "brokers", "brokers.hosts"), "w") as f:
            for p in self.worker_ports:
                f.write("127.0.0.1:%d switchyard-broker-workers\n" % p)
        os.chmod(os.path.join(self.dir, "brokers", "brokers.hosts"), 0o644)
        with open(os.path.join(self.dir, "credentials", "credentials"), "w") as f:
            f.write("test test\n")
        os.chmod(os.path.join(self.dir, "credentials", "credentials"), 0o644)
        self.ledger_path = os.path.join(self.dir, "ledger", "ledger.log")
        return self

    # ------------------------------------------------------------------ play
    def clean_stale(self):
        """Leftovers of an interrupted earlier run (same names) would clash."""
        _, out, _ = podman("pod", "ps", "--format", "{{.Name}}")
        stale = [n for n in out.split() if OUR_NAME.match(n)]
        if stale:
            podman("pod", "rm", "-f", "-t", "5", *stale, check=False)
        for s in SECRETS:
            podman("secret", "rm", s, check=False)

    def create_secrets(self):
        values = {
            "switchyard-database": {"url": self.database_url},
            "switchyard-postgres": {"password": self.pg_password},
            "switchyard-function-credentials": {"access-key-id": "test", "secret-access-key": "test"},
        }
        for name, kv in values.items():
            path = os.path.join(self.dir, "secret-%s.json" % name)
            with open(path, "w") as f:
                json.dump({k: b64(v) for k, v in kv.items()}, f)
            podman("secret", "create", name, path)
            os.unlink(path)

    def play(self, part):
        podman("kube", "play", self.files[part])
        self.played.append(part)

    def up(self, timeout=300):
        self.play("postgres")
        if not harness.wait_until(self.pg_ready, timeout, 0.5):
            raise RuntimeError("PostgreSQL did not start:\n" + self.logs(POSTGRES))
        self.play("brokers")
        if not harness.wait_until(lambda: all(self.healthy(i) for i in range(3)), timeout, 0.5):
            raise RuntimeError("brokers did not become healthy:\n" + "\n".join(self.logs(b) for b in BROKERS))
        self.play("workers")
        if not harness.wait_until(lambda: all(self.registered(w) for w in WORKERS), timeout, 0.5):
            raise RuntimeError("workers did not register with all brokers:\n" +
                               "\n".join(self.logs(w) for w in WORKERS))

    def pg_ready(self):
        p = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return p.returncode == 0

    def healthy(self, i):
        try:
            with urllib.request.urlopen(self.urls[i] + "/health", timeout=3) as r:
                return r.status == 200
        except Exception:
            return False

    def registered(self, worker, since=None):
        """The worker's log says it registered with all three brokers (after since: a log line count)."""
        _, out, err = podman("logs", worker, check=False)
        lines = (out + "\n" + err).splitlines()[since or 0:]
        got = set()
        for line in lines:
            if '"registered with broker"' in line:
                for i, p in enumerate(self.worker_ports):
                    if ":%d\"" % p in line:
                        got.add(i)
        return len(got) == 3

    def log_lines(self, name):
        _, out, err = podman("logs", name, check=False)
        return len((out + "\n" + err).splitlines())

    def logs(self, name, lines=60):
        _, out, err = podman("logs", "--tail", str(lines), name, check=False)
        return "--- %s\n%s%s" % (name, out, err)

    def save_logs(self):
        for name in BROKERS + WORKERS + [POSTGRES]:
            _, out, err = podman("logs", name, check=False)
            with open(os.path.join(self.log_dir, name + ".log"), "w") as f:
                f.write(out + err)
        if os.path.exists(getattr(self, "ledger_path", "")):
            shutil.copy(self.ledger_path, os.path.join(self.log_dir, "ledger.log"))

    def down(self):
        errors = []
        for part in reversed(self.played):
            rc, out, err = podman("kube", "down", self.files[part], check=False)
            if rc != 0:
                errors.append("kube down %s: %s %s" % (part, out, err))
        self.played = []
        for s in SECRETS:
            podman("secret", "rm", s, check=False)
        return errors

    def remove_dir(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---------------------------------------------------------------- ledger
    def ledger(self):
        """id -> list of (time, 'start'|'done', worker, request id)."""
        out = {}
        try:
            with open(self.ledger_path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) != 5:
                        continue
                    t, what, worker, rid, ident = parts
                    out.setdefault(ident, []).append((float(t), what, worker, rid))
        except FileNotFoundError:
            pass
        return out


def wait_exit(name, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, code = container_state(name)
        if status in ("exited", "stopped"):
            return code
        time.sleep(0.2)
    return None
