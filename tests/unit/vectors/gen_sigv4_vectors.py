#!/usr/bin/env python3
"""Generate SigV4 test vectors for tests/unit/test_sigv4.c with botocore's own
signers.  Run once with each client generation and commit the output:

    /usr/bin/python3 gen_sigv4_vectors.py deb > sigv4_vectors_deb.h   # botocore 1.29
    # fuzz seeds: gen_sigv4_vectors.py GEN ../../fuzz/corpus/fuzz_sigv4
    python3          gen_sigv4_vectors.py new > sigv4_vectors_new.h   # botocore 1.43

Requests are produced by real botocore clients (the serializer of each
generation decides query vs JSON for SQS) and captured in the `before-send`
hook, i.e. exactly the bytes that would go on the wire.  The clock is pinned so
the output is reproducible."""
import datetime
import datetime as _dtmod
import sys
from urllib.parse import urlsplit

import botocore
import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

GEN = sys.argv[1] if len(sys.argv) > 1 else "x"
FIXED = datetime.datetime(2026, 11, 25, 12, 18, 16)
AKID, SECRET = "AKIDSWITCHYARD01", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzwitchyard"
ENDPOINT = "http://localhost:4566"


class _FixedDT(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return FIXED

    @classmethod
    def now(cls, tz=None):
        return FIXED if tz is None else FIXED.replace(tzinfo=tz)


class _DTModule:
    datetime = _FixedDT
    timezone = _dtmod.timezone
    timedelta = _dtmod.timedelta


# botocore 1.29 calls datetime.datetime.utcnow(); 1.43 get_current_datetime()
botocore.auth.datetime = _DTModule
try:  # Debian's botocore signs with awscrt (botocore.crt.auth) when it is installed
    import botocore.crt.auth
    botocore.crt.auth.datetime = _DTModule
except ImportError:
    pass
if hasattr(botocore.auth, "get_current_datetime"):
    botocore.auth.get_current_datetime = lambda *a, **k: FIXED


class _Captured(Exception):
    pass


def capture(service, op, params):
    sess = botocore.session.get_session()
    client = sess.create_client(
        service, region_name="us-east-1", endpoint_url=ENDPOINT,
        aws_access_key_id=AKID, aws_secret_access_key=SECRET)
    box = []

    def hook(request, **_):
        box.append(request)
        raise _Captured()

    client.meta.events.register("before-send", hook)
    try:
        getattr(client, op)(**params)
    except _Captured:
        pass
    req = box[0]
    return req.method, req.url, dict(req.headers), req.body or b""


def presign(service, url):
    req = AWSRequest(method="GET", url=url)
    botocore.auth.AUTH_TYPE_MAPS["v4-query"](Credentials(AKID, SECRET), service, "us-east-1",
                                             expires=900).add_auth(req)
    prepared = req.prepare()
    return "GET", prepared.url, dict(prepared.headers), b""


def _signer():
    return botocore.auth.AUTH_TYPE_MAPS["v4"](Credentials(AKID, SECRET), "sqs", "us-east-1")


def messy(service, url, headers, body):
    """Unsorted, repeated and reserved-character query params, a header value
    with runs of spaces, and a dot-segment path."""
    req = AWSRequest(method="POST", url=url, headers=headers, data=body)
    botocore.auth.AUTH_TYPE_MAPS["v4"](Credentials(AKID, SECRET), service,
                                       "us-east-1").add_auth(req)
    prepared = req.prepare()
    return "POST", prepared.url, dict(prepared.headers), body


def c_str(b):
    if isinstance(b, str):
        b = b.encode()
    out = []
    for ch in b:
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= ch < 127 and c != "?":
            out.append(c)
        else:
            out.append("\\%03o" % ch)
    return '"' + "".join(out) + '"'


def emit(name, method, url, headers, body):
    if len(sys.argv) > 2:
        return seed(sys.argv[2], name, method, url, headers, body)
    parts = urlsplit(url)
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()}
    headers.setdefault("host", botocore.auth._host_from_url(url))
    if isinstance(body, str):
        body = body.encode()
    print("    {")
    print(f"        .name = {c_str(GEN + '_' + name)},")
    print(f"        .method = {c_str(method)},")
    print(f"        .path = {c_str(parts.path or '/')},")
    print(f"        .query = {c_str(parts.query)},")
    print(f"        .body = {c_str(body)},")
    print(f"        .body_len = {len(body)},")
    print("        .headers = {")
    for k, v in sorted(headers.items()):
        print(f"            {{{c_str(k)}, {c_str(v)}}},")
    print("            {NULL, NULL},")
    print("        },")
    print("    },")


def seed(outdir, name, method, url, headers, body):
    """A tests/fuzz/fuzz_sigv4 input: METHOD, PATH, QUERY, AUTHORIZATION,
    X-AMZ-DATE, HOST, one more header, then the body. Only requests that sign
    at most one header besides host and x-amz-date fit."""
    import os
    parts = urlsplit(url)
    h = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()}
    h.setdefault("host", botocore.auth._host_from_url(url))
    signed = []
    if "authorization" in h:
        signed = h["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    extra = [x for x in signed if x not in ("host", "x-amz-date")]
    if len(extra) > 1:
        return
    extra_line = f"{extra[0]}:{h[extra[0]]}" if extra else ""
    lines = [method, parts.path or "/", parts.query, h.get("authorization", ""),
             h.get("x-amz-date", ""), h["host"], extra_line]
    data = ("\n".join(lines) + "\n").encode() + (body.encode() if isinstance(body, str) else body)
    with open(os.path.join(outdir, f"{GEN}_{name}"), "wb") as f:
        f.write(data)


def _header():
    crt = "awscrt" if "crt" in type(_signer()).__module__ else "python"
    print(f"/* generated by gen_sigv4_vectors.py with botocore {botocore.__version__} "
          f"({crt} signer); do not edit */")
    print(f"/* clock pinned at {FIXED.isoformat()}Z, key {AKID} */")


def main():
    if len(sys.argv) <= 2:
        _header()
    emit("sqs_send", *capture("sqs", "send_message", {
        "QueueUrl": "http://localhost:4566/000000000000/orders",
        "MessageBody": "hello  world\n{\"k\": \"v\"} ünïcode",
        "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "1"}}}))
    emit("lambda_invoke_arn", *capture("lambda", "invoke", {
        "FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:worker",
        "InvocationType": "Event", "Payload": b'{"k": 1}'}))
    emit("sfn_start", *capture("stepfunctions", "start_execution", {
        "stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:orders",
        "input": "{}"}))
    emit("presigned_get", *presign(
        "sqs", ENDPOINT + "/000000000000/orders?Action=ReceiveMessage&Version=2012-11-05"
        "&AttributeName.1=All&WaitTimeSeconds=0"))
    emit("messy", *messy(
        "lambda", ENDPOINT + "/2015-03-31/functions/f%20n/./x/../invocations"
        "?z=1&a=2&a=1&sp=a%20b&sl=a%2Fb&t=~-_.",
        {"X-Amz-Invocation-Type": "  Event   with   spaces  ",
         "Content-Type": "application/json"}, b"\x00\x01binary\xff"))



if __name__ == "__main__":
    main()
