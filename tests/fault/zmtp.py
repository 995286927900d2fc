"""A ZeroMQ DEALER peer in the Python standard library (ZMTP 3.0, NULL
security; RFC 23/ZMTP), enough for the fault suite to play a worker that
sends what no real worker would: the broker's side is real libzmq. Plus
hand-made protobuf for the few worker-protocol messages the tests need
(proto/worker.proto)."""

import socket
import struct


class Peer:
    def __init__(self, host, port, timeout=5.0):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") + b"\x00" +
                       b"\x00" * 31)
        greeting = self._read(64)
        if greeting[0] != 0xFF or greeting[9] != 0x7F:
            raise IOError("not a ZMTP peer")
        self._send_frame(b"\x05READY" + self._prop(b"Socket-Type", b"DEALER") + self._prop(b"Identity", b""),
                         command=True)
        flags, body = self._read_frame()
        if not flags & 0x04 or not body.startswith(b"\x05READY"):
            raise IOError("no READY from the broker")

    @staticmethod
    def _prop(name, value):
        return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise EOFError("the broker closed the connection")
            out += chunk
        return out

    def _send_frame(self, body, more=False, command=False):
        flags = (0x01 if more else 0) | (0x04 if command else 0)
        if len(body) > 255:
            self.s.sendall(bytes([flags | 0x02]) + struct.pack(">Q", len(body)) + body)
        else:
            self.s.sendall(bytes([flags, len(body)]) + body)

    def _read_frame(self):
        flags = self._read(1)[0]
        size = struct.unpack(">Q", self._read(8))[0] if flags & 0x02 else self._read(1)[0]
        return flags, self._read(size)

    def send(self, *frames):
        for i, f in enumerate(frames):
            self._send_frame(f, more=i + 1 < len(frames))

    def send_raw(self, data):
        """Bytes straight onto the wire (a broken ZMTP frame)."""
        self.s.sendall(data)

    def recv(self):
        """One message (list of frames), skipping commands (PING...)."""
        frames = []
        while True:
            flags, body = self._read_frame()
            if flags & 0x04:
                continue
            frames.append(body)
            if not flags & 0x01:
                return frames

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# ---- protobuf by hand (proto/worker.proto)
def _varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, value):
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    if isinstance(value, str):
        value = value.encode()
    return _varint(num << 3 | 2) + _varint(len(value)) + value


def hello(worker_id, function, concurrency, timeout_ms=5000):
    spec = field(1, function) + field(3, concurrency) + field(4, timeout_ms)
    return field(1, field(1, worker_id) + field(2, "bad-node") + field(3, "0.0.0") + field(4, spec))


def credit(function, amount):
    return field(3, field(1, function) + field(2, amount))


def ack(delivery_id, function, lease_token=""):
    return field(5, field(1, delivery_id) + field(2, lease_token) + field(3, function))


HEARTBEAT = field(9, b"")


def envelope_cmd(data):
    """The oneof field number of an Envelope (4 = DELIVER, 12 = DISCONNECT...), or 0."""
    return data[0] >> 3 if data else 0
