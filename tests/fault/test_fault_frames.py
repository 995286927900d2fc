"""A worker sending malformed frames inside the fault suite (issue 14): while
two real workers serve the mixed load of fault_common.Workload, three bad
peers (tests/fault/zmtp.py: ZMTP by hand, so anything can be sent) keep
connecting to the broker's worker endpoint and sending garbage envelopes,
a wrong signature, lone and empty frames, a 512 KiB frame, broken ZMTP
framing, stale ACKs — and, having said a valid HELLO for the ledger
function and granted credit, taking deliveries and answering them with
garbage or vanishing. The broker must answer each with DISCONNECT (or drop
the connection), keep serving the real workers, and give the deliveries the
bad peers held to the others: the ledger holds, nothing acknowledged lost."""

import os
import random
import threading
import time
import unittest

import zmtp
from fault_common import LEDGER_SO, Ledger, Workload, so
from fleet_common import metric
from test_fault import FaultCase, report

SIG = b"SYW01"


class TestMalformedFrames(FaultCase):
    def bad_peer(self, b, k, stop, tally):
        rnd = random.Random(k)
        n = 0
        while not stop.is_set() or n < 9:  # every kind at least once, however short the load
            n += 1
            kind = ["garbage", "signature", "lone", "empty", "huge", "framing", "stale_ack", "hello_garbage",
                    "hello_vanish"][n % 9]
            try:
                p = zmtp.Peer("127.0.0.1", b.worker_port)
            except (OSError, EOFError):
                time.sleep(0.1)
                continue
            try:
                answer = self.misbehave(p, kind, rnd, "bad-%d-%d" % (k, n))
                with self.lock:
                    tally[kind + " -> " + answer] = tally.get(kind + " -> " + answer, 0) + 1
            except (OSError, EOFError) as e:
                with self.lock:
                    tally[kind + " -> closed"] = tally.get(kind + " -> closed", 0) + 1
                    if not isinstance(e, (EOFError, ConnectionResetError, BrokenPipeError, TimeoutError,
                                          socket_timeout())):
                        self.peer_errors.append(repr(e))
            finally:
                p.close()
            time.sleep(rnd.uniform(0.05, 0.3))

    def misbehave(self, p, kind, rnd, wid):
        """Send one kind of nonsense; what the broker answered."""
        garbage = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 200)))
        if kind == "garbage":
            p.send(SIG, garbage)
        elif kind == "signature":
            p.send(b"XYZ99", zmtp.HEARTBEAT)
        elif kind == "lone":
            p.send(SIG)
        elif kind == "empty":
            p.send(b"", b"", b"")
        elif kind == "huge":
            p.send(SIG, zmtp.hello(wid, "led", 4), os.urandom(512 * 1024))
            p.send(SIG, os.urandom(512 * 1024))
        elif kind == "framing":
            p.send_raw(b"\x02\xff\xff\xff\xff\xff\xff\xff\xff" + garbage)  # a 2^64-1 byte frame
        elif kind == "stale_ack":
            p.send(SIG, zmtp.hello(wid, "led", 1))
            p.send(SIG, zmtp.ack(rnd.randrange(1, 1 << 40), "led", "lease-that-never-was"), b"{}")
            p.send(SIG, garbage)
        elif kind in ("hello_garbage", "hello_vanish"):
            p.send(SIG, zmtp.hello(wid, "led", 4))
            p.send(SIG, zmtp.credit("led", 4))
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                frames = p.recv()
                cmd = zmtp.envelope_cmd(frames[1]) if len(frames) > 1 else 0
                if cmd == 4:  # a DELIVER: the ledger function's work is now ours
                    with self.lock:
                        self.stolen += 1
                    if kind == "hello_vanish":
                        return "took a delivery, vanished"
                    p.send(SIG, garbage, b"not json")
                    break
                if cmd == 12:
                    return "disconnect"
        return self.answer(p)

    @staticmethod
    def answer(p):
        p.s.settimeout(3)
        while True:
            frames = p.recv()
            if len(frames) > 1 and zmtp.envelope_cmd(frames[1]) == 12:
                return "disconnect"
            if len(frames) > 1 and zmtp.envelope_cmd(frames[1]) in (2, 4, 9):  # WELCOME, DELIVER, HEARTBEAT
                continue
            return "other"

    def test_malformed_frames_under_load(self):
        bs, ws = self.fleet(1, 2)
        b = bs[0]
        self.lock = threading.Lock()
        self.stolen, self.peer_errors = 0, []
        w = Workload(self, bs)
        w.setup()
        ts = self.load(w, 3, 10)
        stop, tally = threading.Event(), {}
        bad = [threading.Thread(target=self.bad_peer, args=(b, k, stop, tally), daemon=True) for k in range(3)]
        for t in bad:
            t.start()
        try:
            for t in ts:
                t.join(300)
        finally:
            stop.set()
            for t in bad:
                t.join(120)
        self.assertTrue(b.running(), "the broker died of a malformed frame")
        self.wait_sessions(b, 2, timeout=60)  # the real workers, still there; no bad session left
        totals = Ledger(self, w, self.ledger, b).check()
        totals["bad_peers"] = dict(sorted(tally.items()))
        totals["deliveries_taken_by_bad_peers"] = self.stolen
        report("malformed frames from 3 bad peers", totals)
        self.assertEqual(self.peer_errors, [])
        self.assertEqual(totals["refused"], 0)
        for kind in ("garbage", "signature", "lone", "stale_ack"):
            self.assertIn(kind + " -> disconnect", tally, "the broker did not DISCONNECT a peer sending %s" % kind)
        self.assertEqual(b.http("GET", "/health")[0], 200)
        self.assertEqual(metric(b, "switchyard_worker_sessions"), 2)


def socket_timeout():
    import socket
    return socket.timeout


if __name__ == "__main__":
    unittest.main()
