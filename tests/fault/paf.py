"""A local pg_auto_failover formation for the failover fault test (issue 14):
a monitor and two PostgreSQL nodes, all on 127.0.0.1, created with
`pg_autoctl` (Debian package postgresql-15-auto-failover) under a test
directory, each `pg_autoctl run` in its own process group so that a node can
be killed whole (keeper and postgres, as when its host dies).

PostgreSQL refuses to run as root: as root every pg_autoctl runs as the
`postgres` user (as scripts/testpg does). The monitor's failure detection
is tightened for the test (1 s health checks, 2 s before a node counts as
unhealthy, 3 s demote timeout); docs/operations.md says what to use in
production."""

import glob
import os
import shutil
import signal
import subprocess
import time

import harness

# The monitor's settings in the test. Production keeps the defaults
# (docs/operations.md): they trade a slower failover for no split brain.
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "2000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "2000",
    "pgautofailover.primary_demote_timeout": "3000",
}
# Every instance: loopback only, small memory (pg_autoctl sizes shared_buffers
# from the machine's RAM), no fsync (a kill -9 loses no page the kernel holds).
INSTANCE_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "shared_buffers": "32MB",
    "fsync": "off",
    "max_connections": "200",
}


def pg_autoctl():
    return shutil.which("pg_autoctl") or "/usr/bin/pg_autoctl"


def pg_bindir():
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return bins[-1] if bins else "/usr/lib/postgresql/15/bin"


class Formation:
    def __init__(self, case, dbname="sy"):
        self.case, self.dbname = case, dbname
        self.dir = case.tmpdir("paf")
        for d in ("sock", "xdg", "run"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", self.dir], check=True)
        self.mon_port, self.ports = None, []
        self.procs = {}  # name -> harness.Process of its `pg_autoctl run`
        case.addCleanup(self.destroy)

    # ---- running pg_autoctl as the postgres user, in this formation's dirs
    def env_argv(self, argv):
        env = ["PATH=%s:/usr/bin:/bin" % pg_bindir(),
               "HOME=" + self.dir,
               "XDG_CONFIG_HOME=" + os.path.join(self.dir, "xdg", "config"),
               "XDG_DATA_HOME=" + os.path.join(self.dir, "xdg", "data"),
               "XDG_RUNTIME_DIR=" + os.path.join(self.dir, "run"),
               "PG_REGRESS_SOCK_DIR=" + os.path.join(self.dir, "sock"),
               "PGHOST=" + os.path.join(self.dir, "sock")]
        full = ["env", "-i"] + env + argv
        return (["runuser", "-u", "postgres", "--"] + full) if os.geteuid() == 0 else full

    def ctl(self, *args, timeout=180):
        p = subprocess.run(self.env_argv([pg_autoctl()] + list(args)), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        out = p.stdout.decode(errors="replace")
        if p.returncode != 0:
            raise AssertionError("pg_autoctl %s failed (%d):\n%s" % (" ".join(args), p.returncode, out[-4000:]))
        return out

    def pgdata(self, name):
        return os.path.join(self.dir, name)

    def settings(self, name, kv):
        """Appended to postgresql.auto.conf, read last: wins over pg_autoctl's own file."""
        path = os.path.join(self.pgdata(name), "postgresql.auto.conf")
        with open(path, "a") as f:
            for k, v in kv.items():
                f.write("%s = '%s'\n" % (k, v))

    def run(self, name):
        p = harness.Process("pg_autoctl-" + name, self.env_argv([pg_autoctl(), "run", "--pgdata", self.pgdata(name)]),
                            os.path.join(self.case.log_dir, "pg_autoctl-%s.log" % name))
        self.case._procs.append(p)  # its log is printed when the test fails
        self.procs[name] = p.start()
        return p

    @property
    def monitor_uri(self):
        return "postgres://autoctl_node@127.0.0.1:%d/pg_auto_failover?sslmode=disable" % self.mon_port

    @property
    def url(self):
        """What the brokers get: both nodes, the writable one chosen by libpq."""
        return ("postgresql://postgres@%s/%s?target_session_attrs=read-write&connect_timeout=5&sslmode=disable"
                % (",".join("127.0.0.1:%d" % p for p in self.ports), self.dbname))

    # ---- lifecycle
    def create(self):
        self.mon_port, p1, p2 = harness.free_ports(3)
        self.ports = [p1, p2]
        self.ctl("create", "monitor", "--pgdata", self.pgdata("monitor"), "--pgport", str(self.mon_port),
                 "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl")
        self.settings("monitor", dict(INSTANCE_SETTINGS, **MONITOR_SETTINGS))
        self.run("monitor")
        for i, port in enumerate(self.ports):
            name = "node%d" % (i + 1)
            self.ctl("create", "postgres", "--pgdata", self.pgdata(name), "--pgport", str(port),
                     "--listen", "127.0.0.1", "--hostname", "127.0.0.1", "--name", name, "--dbname", self.dbname,
                     "--auth", "trust", "--no-ssl", "--monitor", self.monitor_uri)
            if i == 0:
                self.settings(name, INSTANCE_SETTINGS)  # the standby's copy comes with pg_basebackup
            self.run(name)
        self.case.assertEventually(lambda: self.states() == {"node1": ("primary", "primary"),
                                                             "node2": ("secondary", "secondary")}, 90,
                                   "the formation did not reach primary + secondary: %s" % (self.states(),))

    def destroy(self):
        for p in self.procs.values():
            self.kill_group(p)

    @staticmethod
    def kill_group(p):
        """SIGKILL to the process group of a `pg_autoctl run`: the keeper, its
        postgres and every backend, at once."""
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, TypeError):
            pass
        p.wait(10)

    # ---- looking inside
    def monitor_sql(self, sql):
        return harness.psql(sql, db="pg_auto_failover", host="127.0.0.1", port=self.mon_port, check=False)

    def states(self):
        """node name -> (reported state, goal state), as the monitor sees them."""
        rows = self.monitor_sql("SELECT nodename, reportedstate, goalstate FROM pgautofailover.node ORDER BY nodeid")
        return {r[0]: (r[1], r[2]) for r in rows if len(r) == 3}

    def primary(self):
        """(name, port) of the node the monitor reports primary, or None."""
        rows = self.monitor_sql("SELECT nodename, nodeport FROM pgautofailover.node "
                                "WHERE reportedstate IN ('primary', 'wait_primary') AND goalstate = reportedstate")
        return (rows[0][0], int(rows[0][1])) if len(rows) == 1 else None

    def node_sql(self, port, sql, db=None):
        return harness.psql(sql, db=db or self.dbname, host="127.0.0.1", port=port)

    def wait_for(self, pred, timeout, interval=0.2):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = pred()
            if v:
                return v
            time.sleep(interval)
        return pred()
