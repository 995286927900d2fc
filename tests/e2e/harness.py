"""End-to-end harness: real `switchyard serve` processes, real PostgreSQL,
real clients (boto3 and the aws CLI of whichever generation runs the test).

Standard library only (unittest, subprocess, urllib); boto3/botocore are
imported from the interpreter that runs the test. Environment (set by ctest,
see tests/CMakeLists.txt):

  SY_BINARY        the switchyard binary
  SY_TEST_PGHOST   socket directory of the fixture PostgreSQL (scripts/testpg)
  SY_TEST_PGPORT   its port
  SY_BUILD_DIR     logs go to <build>/e2e-logs/<gen>/<test id>/
  SY_SOURCE_DIR    the source tree (schema/)
  SY_CLIENT_GEN    "deb" (boto3 1.26 + aws 2.9: SQS query protocol) or
                   "new" (boto3 1.43 + aws 1.45: SQS JSON protocol)
  SY_AWS_CLI       the aws CLI of that generation

Typical use:

    class T(harness.SwitchyardTestCase):
        def test_x(self):
            sqs = self.client("sqs")          # broker started in setUp
            r = self.aws("sqs", "list-queues")
            self.broker.stop()                # SIGTERM, asserts exit 0
"""

import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

REGION = "us-east-1"
ACCOUNT = "000000000000"
DEFAULT_KEY = ("test", "test")
HEALTH_TIMEOUT = float(os.environ.get("SY_E2E_HEALTH_TIMEOUT", "90"))


def env(name, default=None):
    v = os.environ.get(name)
    return v if v else default


SOURCE_DIR = env("SY_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = env("SY_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
BINARY = env("SY_BINARY", os.path.join(BUILD_DIR, "switchyard"))
PGHOST = env("SY_TEST_PGHOST", os.path.join(BUILD_DIR, "testpg", "sock"))
PGPORT = env("SY_TEST_PGPORT", "5432")
AWS_CLI = env("SY_AWS_CLI", shutil.which("aws") or "aws")


def client_gen():
    g = env("SY_CLIENT_GEN")
    if g:
        return g
    import botocore
    return "deb" if tuple(int(x) for x in botocore.__version__.split(".")[:2]) < (1, 31) else "new"


CLIENT_GEN = client_gen()


def free_ports(n):
    """n distinct TCP ports free right now on 127.0.0.1 (the caller retries
    on a race). All n are held until all are chosen: a port picked and
    closed can come back from the next pick."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tail(path, lines=80):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "(no log: %s)" % e
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def pid_alive(pid):
    """True if pid runs and is not a zombie."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st[st.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return True


def wait_until(pred, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# --------------------------------------------------------------- PostgreSQL

def pg_url(db, host=None, port=None):
    """libpq URI for a database on the fixture (unix socket)."""
    return "postgresql://postgres@/%s?host=%s&port=%s" % (
        db, urllib.parse.quote(host or PGHOST, safe=""), port or PGPORT)


def psql(sql, db="postgres", host=None, port=None, check=True):
    """Run SQL with psql; returns the unaligned, tuples-only output rows as
    lists of strings (fields separated by '|')."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host or PGHOST,
           "-p", str(port or PGPORT), "-U", "postgres", "-d", db, "-c", sql]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                       env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
    if check and p.returncode != 0:
        raise RuntimeError("psql %r failed: %s" % (sql, p.stderr.decode(errors="replace")))
    out = p.stdout.decode(errors="replace")
    return [line.split("|") for line in out.splitlines() if line != ""]


def psql_value(sql, db="postgres", **kw):
    rows = psql(sql, db=db, **kw)
    return rows[0][0] if rows else None


_db_seq = [0]


def create_database(prefix="sy_e2e"):
    _db_seq[0] += 1
    name = "%s_%d_%d_%d" % (re.sub(r"[^a-z0-9_]", "_", prefix.lower())[:30], os.getpid(),
                            int(time.time() * 1000) % 100000000, _db_seq[0])
    try:
        psql("CREATE DATABASE %s" % name)
    except RuntimeError as e:
        if not os.path.exists(os.path.join(PGHOST, ".s.PGSQL.%s" % PGPORT)):
            raise RuntimeError("the fixture PostgreSQL is not running on %s (start it with "
                               "scripts/testpg start <build>/testpg, or run through ctest): %s"
                               % (PGHOST, e)) from None
        raise
    return name


def drop_database(name):
    psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name, check=False)


# ----------------------------------------------------------------- processes

class Process:
    """A child process with stdout+stderr captured to a log file."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.proc = None
        self.returncode = None

    def start(self):
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        logf = open(self.log_path, "ab")
        logf.write(("--- %s: %s\n" % (time.strftime("%H:%M:%S"), " ".join(self.argv))).encode())
        logf.flush()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd,
                                     start_new_session=True)
        logf.close()
        self.returncode = None
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def wait(self, timeout=30):
        """Wait for exit; returns the exit status (negative: killed by signal),
        or None on timeout."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def terminate(self, timeout=30):
        """SIGTERM and wait; returns the exit status (None: did not exit)."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill9(self):
        if self.running():
            self.proc.kill()
        self.wait(10)
        return self.returncode

    def tail(self, lines=80):
        return tail(self.log_path, lines)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_lines_json(self):
        """The structured log lines (JSON objects) written so far."""
        out = []
        for line in self.log_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out


class Broker(Process):
    """`switchyard serve` on free ports. database_url=None: embedded PostgreSQL
    in data_dir (which must then be traversable by the postgres user)."""

    def __init__(self, log_path, database_url, data_dir, extra_args=(), env=None):
        self.database_url = database_url
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.port, self.worker_port = free_ports(2)
        super().__init__("broker", [], log_path, env=env)
        self._build_argv()

    def _build_argv(self):
        argv = [BINARY, "serve", "--listen", "127.0.0.1:%d" % self.port,
                "--worker-listen", "tcp://127.0.0.1:%d" % self.worker_port,
                "--data-dir", self.data_dir]
        if self.database_url:
            argv += ["--database-url", self.database_url]
        self.argv = argv + self.extra_args

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def worker_endpoint(self):
        return "tcp://127.0.0.1:%d" % self.worker_port

    def http(self, method, path, body=None, headers=None, timeout=30):
        """Raw HTTP to the broker: returns (status, headers dict lower-case, body bytes)."""
        return http_request(self.url + path, method=method, body=body, headers=headers,
                            timeout=timeout)

    def health(self, timeout=10):
        """/health's status; None when nothing answers HTTP on the port (not
        listening yet, or a process that took the port, e.g. a ZeroMQ endpoint)."""
        try:
            return self.http("GET", "/health", timeout=timeout)[0]
        except (OSError, http.client.HTTPException):
            return None

    def start(self, wait=True, timeout=HEALTH_TIMEOUT):
        for attempt in range(3):
            super().start()
            if not wait:
                return self
            ok = self.wait_healthy(timeout)
            if ok:
                return self
            if not self.running() and re.search(r"in use|bind", self.tail(20), re.I) and attempt < 2:
                self.port, self.worker_port = free_ports(2)  # lost a port race
                self._build_argv()
                continue
            state = "exited with %s" % self.proc.poll() if not self.running() else "still running"
            self.kill9()
            raise AssertionError("broker did not become healthy on %s (%s); log %s:\n%s"
                                 % (self.url, state, self.log_path, self.tail(60)))
        return self

    def wait_healthy(self, timeout=HEALTH_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                return False
            if self.health(timeout=5) == 200:
                return True
            time.sleep(0.1)
        return False

    def stop(self, expect=0, timeout=60):
        """SIGTERM, wait, and (expect not None) assert the exit status."""
        rc = self.terminate(timeout)
        if rc is None:
            self.kill9()
            raise AssertionError("broker did not exit within %ss of SIGTERM; log:\n%s"
                                 % (timeout, self.tail(60)))
        if expect is not None and rc != expect:
            raise AssertionError("broker exited with %s after SIGTERM, expected %s; log:\n%s"
                                 % (rc, expect, self.tail(60)))
        return rc

    def restart(self, wait=True):
        """Start again with the same ports, database and data dir."""
        if self.running():
            self.stop()
        return self.start(wait=wait)

    # embedded PostgreSQL
    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data_dir, "pg", "postmaster.pid")) as f:
                return int(f.readline().strip() or 0)
        except (OSError, ValueError):
            return 0


def http_request(url, method="GET", body=None, headers=None, timeout=30):
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        data = e.read()
        return e.code, {k.lower(): v for k, v in e.headers.items()}, data


class CliResult:
    def __init__(self, argv, rc, stdout, stderr):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr
        self.json = None
        if stdout.strip():
            try:
                self.json = json.loads(stdout)
            except ValueError:
                pass

    def __repr__(self):
        return "CliResult(rc=%r, stdout=%r, stderr=%r)" % (self.rc, self.stdout[-2000:],
                                                           self.stderr[-2000:])


# ------------------------------------------------------------------ TestCase

class SwitchyardTestCase(unittest.TestCase):
    """Per test: a fresh database on the fixture PostgreSQL and (unless
    START_BROKER is False) a broker on it, `self.broker`. Every process
    started through the helpers is killed at the end; on failure the tails
    of their logs are printed."""

    START_BROKER = True
    BROKER_ARGS = ()

    def setUp(self):
        self._procs = []
        self._dbs = []
        self._tmp = []
        tid = self.id().split(".", 1)[-1]
        self.log_dir = os.path.join(BUILD_DIR, "e2e-logs", CLIENT_GEN, tid)
        shutil.rmtree(self.log_dir, ignore_errors=True)
        os.makedirs(self.log_dir, exist_ok=True)
        self.addCleanup(self._cleanup)
        self.db = self.new_database()
        self.db_url = pg_url(self.db)
        self.broker = self.start_broker(extra_args=self.BROKER_ARGS) if self.START_BROKER else None

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            self.dump_logs()
        return out

    def dump_logs(self, lines=80):
        for p in getattr(self, "_procs", []):
            sys.stderr.write("\n===== %s %s (pid %s), log %s, last %d lines =====\n%s\n"
                             % (p.name, " ".join(p.argv[1:3]), p.pid, p.log_path, lines,
                                p.tail(lines)))
        sys.stderr.flush()

    def _cleanup(self):
        for p in reversed(self._procs):
            if p.running():
                p.kill9()
            if isinstance(p, Broker) and not p.database_url:
                pid = p.postmaster_pid()
                if pid_alive(pid):  # never leak an embedded postmaster
                    try:
                        os.kill(pid, signal.SIGQUIT)
                    except OSError:
                        pass
                    wait_until(lambda: not pid_alive(pid), 20)
        for d in self._dbs:
            drop_database(d)
        for t in self._tmp:
            shutil.rmtree(t, ignore_errors=True)

    # ---- resources
    def new_database(self, prefix=None):
        name = create_database(prefix or self._testMethodName)
        self._dbs.append(name)
        return name

    def tmpdir(self, prefix="sy"):
        """A temporary directory in the build tree, traversable by the postgres user."""
        base = os.path.join(BUILD_DIR, "e2e-tmp")
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o755)
        d = tempfile.mkdtemp(prefix=prefix + "-", dir=base)
        os.chmod(d, 0o755)
        self._tmp.append(d)
        return d

    def _log_path(self, name):
        n = sum(1 for p in self._procs if p.name == name) + 1
        return os.path.join(self.log_dir, "%s-%d.log" % (name, n))

    def broker_env(self, extra=None):
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        if extra:
            e.update(extra)
        return e

    def start_broker(self, database_url="default", data_dir=None, extra_args=(), wait=True,
                     env=None):
        """database_url: "default" = this test's database; None = embedded
        PostgreSQL in data_dir (a fresh temp dir unless given)."""
        if database_url == "default":
            database_url = self.db_url
        b = Broker(self._log_path("broker"), database_url, data_dir or self.tmpdir("data"),
                   extra_args=extra_args, env=self.broker_env(env))
        self._procs.append(b)
        return b.start(wait=wait)

    def start_process(self, name, argv, env=None, cwd=None):
        """Any process (e.g. `switchyard worker ...`) with its log captured."""
        p = Process(name, argv, self._log_path(name), env=self.broker_env(env), cwd=cwd)
        self._procs.append(p)
        return p.start()

    def start_worker(self, *args, env=None, cwd=None):
        return self.start_process("worker", [BINARY, "worker"] + list(args), env=env, cwd=cwd)

    # ---- clients
    def client(self, service, broker=None, key=DEFAULT_KEY, unsigned=False, region=REGION,
               retries=1, **config):
        """A boto3 client of the running generation for `service` on the broker."""
        import boto3
        import botocore
        from botocore.config import Config
        b = broker or self.broker
        cfg = dict(retries={"mode": "standard", "total_max_attempts": retries},
                   connect_timeout=10, read_timeout=60)
        if unsigned:
            cfg["signature_version"] = botocore.UNSIGNED
        cfg.update(config)
        session = boto3.session.Session(aws_access_key_id=key[0], aws_secret_access_key=key[1],
                                        region_name=region)
        c = session.client(service, endpoint_url=b.url, config=Config(**cfg))
        if hasattr(c, "close"):
            self.addCleanup(c.close)  # its pooled keep-alive connections
        return c

    def unsigned_client(self, service, broker=None, **kw):
        return self.client(service, broker=broker, unsigned=True, **kw)

    def client_with(self, service, akid, secret, broker=None, **kw):
        return self.client(service, broker=broker, key=(akid, secret), **kw)

    def protocol(self, service):
        """The wire protocol this generation's botocore speaks for service."""
        return self.client(service).meta.service_model.protocol

    def aws(self, *args, broker=None, key=DEFAULT_KEY, check=False, timeout=120, input=None):
        """Run the aws CLI of this generation against the broker."""
        b = broker or self.broker
        home = self.tmpdir("awshome")
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("AWS_"):
                del e[k]
        e.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1],
                 AWS_DEFAULT_REGION=REGION, AWS_PAGER="", AWS_EC2_METADATA_DISABLED="true",
                 AWS_CONFIG_FILE=os.path.join(home, "config"),
                 AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"),
                 AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard", HOME=home)
        argv = [AWS_CLI, "--endpoint-url", b.url, "--output", "json", "--region", REGION] + list(args)
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                           timeout=timeout, input=input.encode() if isinstance(input, str) else input)
        r = CliResult(argv, p.returncode, p.stdout.decode(errors="replace"),
                      p.stderr.decode(errors="replace"))
        if check and r.rc != 0:
            raise AssertionError("aws %s failed: %r" % (" ".join(args), r))
        return r

    # ---- raw signed requests (for what an SDK will not send)
    def signed_request(self, service, method="POST", path="/", body=b"", headers=None,
                       broker=None, key=DEFAULT_KEY, region=REGION, timeout=30):
        """Send a SigV4-signed raw request; returns (status, headers, body)."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        b = broker or self.broker
        if isinstance(body, str):
            body = body.encode()
        req = AWSRequest(method=method, url=b.url + path, data=body, headers=dict(headers or {}))
        SigV4Auth(Credentials(key[0], key[1]), service, region).add_auth(req)
        return http_request(b.url + path, method=method, body=body or None,
                            headers=dict(req.headers.items()), timeout=timeout)

    # ---- misc
    def schema_files(self):
        return sorted(glob.glob(os.path.join(SOURCE_DIR, "schema", "[0-9]*_*.sql")))

    def assertEventually(self, pred, timeout=15, msg=None, interval=0.1):
        v = wait_until(pred, timeout, interval)
        if not v:
            self.fail(msg or "condition not met within %ss" % timeout)
        return v


def run_in_thread(fn, *args, **kw):
    """Start fn in a thread; returns (thread, box) where box['result'] or
    box['error'] is set when it ends."""
    box = {}

    def target():
        try:
            box["result"] = fn(*args, **kw)
        except BaseException as e:  # reported by the caller
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box
