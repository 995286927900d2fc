#!/usr/bin/env python3
"""tests/fuzz/conformance_seeds.py - write fuzz seeds taken from
../shared/conformance/ into a directory of the build tree (the conformance
corpus is read where it is, never copied into the repository), plus the
committed regression inputs of tests/fuzz/corpus/<target>/.

usage: conformance_seeds.py TARGET CONFORMANCE_DIR OUT_DIR
TARGET:
  fuzz_flatten     every event of event-patterns/*.jsonl
  fuzz_sns_filter  byte mode + pattern + NUL + event, for the SNS vectors
                   (body scope, and the attributes scope for flat events)
                   and the rest of aws-docs.jsonl
  fuzz_intrinsics  every "States.…(…)" string of asl*/ definitions
  fuzz_pattern_lf  byte mode + pattern + NUL + event of every vector (the
                   libFuzzer seeds of fuzz_pattern)
  fuzz_asl_lf      every definition of asl*/ (the libFuzzer seeds of fuzz_asl)
"""
import glob
import hashlib
import json
import os
import shutil
import sys


def vectors(conf):
    for f in sorted(glob.glob(os.path.join(conf, "event-patterns", "*.jsonl"))):
        with open(f, encoding="utf-8") as fp:
            for line in fp:
                line = line.strip()
                if line:
                    yield os.path.basename(f), json.loads(line)


def definitions(conf):
    for f in sorted(glob.glob(os.path.join(conf, "asl*", "*.json"))):
        try:
            with open(f, encoding="utf-8") as fp:
                d = json.load(fp)
        except (OSError, ValueError):
            continue
        if isinstance(d, dict) and isinstance(d.get("definition"), (dict, str)):
            yield d["definition"]


def strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)


def main():
    target, conf, out = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    seeds = set()
    if target == "fuzz_flatten":
        for _, v in vectors(conf):
            if isinstance(v.get("event"), str):
                seeds.add(v["event"].encode())
    elif target in ("fuzz_sns_filter", "fuzz_pattern_lf"):
        for name, v in vectors(conf):
            p, e = v.get("pattern"), v.get("event")
            if not isinstance(p, str) or not isinstance(e, str):
                continue
            body = p.encode() + b"\0" + e.encode()
            if target == "fuzz_pattern_lf":
                seeds.add(b"\0" + body)
                continue
            sns = "sns" in json.dumps(v).lower()
            if sns or name == "aws-docs.jsonl":
                seeds.add(b"\0" + body)
                try:
                    flat = json.loads(e)
                except ValueError:
                    flat = None
                if isinstance(flat, dict) and all(not isinstance(x, dict) for x in flat.values()):
                    seeds.add(b"\1" + body)
    elif target == "fuzz_intrinsics":
        for d in definitions(conf):
            if isinstance(d, str):
                try:
                    d = json.loads(d)
                except ValueError:
                    continue
            for s in strings(d):
                if s.startswith("States.") and "(" in s:
                    seeds.add(s.encode())
    elif target == "fuzz_asl_lf":
        for d in definitions(conf):
            seeds.add((d if isinstance(d, str) else json.dumps(d)).encode())
    else:
        sys.exit("unknown target " + target)
    for s in seeds:
        with open(os.path.join(out, hashlib.sha1(s).hexdigest()), "wb") as fp:
            fp.write(s)
    mine = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", target)
    for f in glob.glob(os.path.join(mine, "*")):
        shutil.copy(f, out)
    print("%s: %d seeds from %s" % (target, len(seeds), conf))


if __name__ == "__main__":
    main()
