#!/usr/bin/env python3
"""tests/conformance/jsonata_fmt_diff/diff.py - differential test of asl/jsonata/fmt_*.c against
jsonata-js 2.2.2 (the reference the conformance suite was confirmed with).

usage: diff.py DRIVER [COUNT [SEED]]

Generates COUNT pseudo-random tasks (fixed SEED, so a run is reproducible): $formatNumber pictures and
options, $formatInteger/$parseInteger pictures and texts, $formatBase radixes, $fromMillis date
pictures and timezones, $toMillis ISO texts and pictured texts; then, as a second round, $toMillis of
what $fromMillis wrote and $parseInteger of what $formatInteger wrote, with the same pictures. Each
task goes to DRIVER (drv.c) and to ref.js; the answers must be equal. Not compared: answers where
jsonata-js throws a JavaScript error of its own (no JSONata code: a crash of the reference). Compared
loosely, for reasons written at the comparison: lone surrogates (a JavaScript string holds them,
UTF-8 cannot) and letter numbers above 2^53 (V8's Math.pow is not correctly rounded there).
Prints the counts per function and each difference; exits 1 on a difference, 77 (skipped) when
node or the npm project (scripts/install-deps) is missing."""
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1765000000123  # $now() of every task: 2025-12-06T05:46:40.123Z
def rnum():
    c = random.random()
    if c < 0.2: return random.choice([0, 1, -1, 0.5, 1.5, 2.5, -2.5, 0.125, 1e21, 1e20, 123456789, 0.1, 0.001, 99.5, 5890840712243076, 1e-7, 12345.6789, -0.0001])
    if c < 0.5: return random.randint(-10**7, 10**7)
    if c < 0.7: return round(random.uniform(-1e6, 1e6), random.randint(0, 6))
    if c < 0.9: return random.uniform(-1, 1) * 10 ** random.randint(-10, 22)
    return float(random.randint(-10**15, 10**15))
NUMCH = ['#','0','9',',','.','e','%','‰',';','-','a','E',' ','١','①','x','0','#','0','.',',']
def numpic():
    if random.random() < 0.4:
        base = random.choice(['#,##0.00','0.00e0','#.##','000','#,###','0.0%','#‰','00.000e000','#0.0#','9,999.99','#,##0;(#,##0)','$#,##0.00','0','#','.00','#.e9','0e0'])
        if random.random() < 0.3:
            i = random.randrange(len(base)+1); base = base[:i] + random.choice(NUMCH) + base[i:]
        return base
    return ''.join(random.choice(NUMCH) for _ in range(random.randint(1, 10)))
def numopts():
    if random.random() < 0.8: return None
    keys = ['decimal-separator','grouping-separator','exponent-separator','minus-sign','percent','per-mille','zero-digit','digit','pattern-separator']
    o = {}
    for _ in range(random.randint(1, 2)):
        k = random.choice(keys)
        o[k] = random.choice(['.', ',', 'E', '~', 'pc', 'pm', 'A', '٠', '⑟', '*', '|', ' ', 'x', '', '😀', 'ee', '#'])
    return o
INTP = ['#','0','1',',',':','١','０',';','o','c',' ','#','0']
def intpic():
    if random.random() < 0.5:
        return random.choice(['w','W','Ww','i','I','a','A','w;o','W;o','Ww;o','#,##0','0000','#0;o','000;o','#:###,##0','##,##,##0','###١','#,##0;o','0;c','1','01','#','α','9,999,*'])
    return ''.join(random.choice(INTP) for _ in range(random.randint(1, 8)))
COMPS = 'YMDdFWwXxHhmsfPZzCE'
PRES = ['', '', '1', '01', '001', '0001', '#1', 'N', 'n', 'Nn', 'w', 'W', 'Ww', 'i', 'I', 'a', 'A', '1o', 'wo', 'Wwo', '9,999', '01:01', '0101', '0', '01t', '0101t', '##01', '0000']
WID = ['', '', '', ',2', ',*-3', ',3-3', ',2-2', ',1-*', ',4', ',*']
LIT = ['-', ' ', ':', 'T', '/', '.', ', ', '[[', ']]', 'x', ' of ', '']
def datepic():
    if random.random() < 0.3:
        return random.choice(['[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]', '[FNn], [D1o] [MNn] [Y]', '[h]:[m01] [P]', '[Y]-[d]',
                              '[X0001]-W[W01]-[F1]', 'Week: [w] of [xNn]', '[Dwo] [MNn,3-3] [Yw]', '[D#1,2]/[M1,2]/[Y,2]', '[Y0001][M01][D01][H01][m01][s01]',
                              '[H]:[m]', '[Y0001]-[M01]-[D01] [H01]:[m01]:[s01] [z]', '[YI]', '[Da] [MA] [Yi]'])
    out = ''
    for _ in range(random.randint(1, 5)):
        out += random.choice(LIT)
        out += '[' + random.choice(COMPS) + random.choice(PRES) + random.choice(WID) + ']'
    return out
TZ = [None, None, '+0530', '-0500', '0000', '+1000', '-0130', 'x', '+05:30', '-0000', '+2359']
def ms():
    c = random.random()
    if c < 0.1: return random.choice([0, 1, -1, 1521801216617, 1204405500000, 951782400000, -62135596800000, 253402300799999])
    if c < 0.9: return float(random.randint(-3 * 10**12, 4 * 10**12))
    return random.uniform(-1e13, 1e13)
def iso():
    s = '%04d' % random.randint(0, 9999)
    if random.random() < 0.8: s += '-%02d' % random.randint(0, 19)
    if random.random() < 0.7: s += '-%02d' % random.randint(0, 39)
    if random.random() < 0.6: s += 'T%02d:%02d:%02d' % (random.randint(0, 29), random.randint(0, 59), random.randint(0, 59))
    if random.random() < 0.4: s += '.' + str(random.randint(0, 10**random.randint(1, 6)))
    if random.random() < 0.5: s += random.choice(['Z', '+0000', '-05:00', '+0530', '+23:59', '+25:00', 'z', ''])
    if random.random() < 0.05: s = s.replace('-', '/', 1)
    return s
def generate(N):
    tasks = []
    for _ in range(N):
        k = random.random()
        if k < 0.25: tasks.append({'f': 'N', 'v': rnum(), 'p': numpic(), 's': None, 'o': numopts(), 'r': None})
        elif k < 0.4: tasks.append({'f': 'I', 'v': rnum(), 'p': intpic(), 's': None, 'o': None, 'r': None})
        elif k < 0.45: tasks.append({'f': 'B', 'v': rnum(), 'p': None, 's': None, 'o': None, 'r': random.choice([None, 2, 8, 16, 36, 2.5, 1, 37, 10, 7])})
        elif k < 0.8: tasks.append({'f': 'F', 'v': ms(), 'p': random.choice([None, datepic(), datepic()]), 's': random.choice(TZ), 'o': None, 'r': None})
        elif k < 0.88: tasks.append({'f': 'T', 'v': 0, 'p': None, 's': iso(), 'o': None, 'r': None})
        elif k < 0.94:
            pic = datepic()
            txt = ''.join(random.choice(['2018', '12', '3', '-', ' ', ':', 'am', 'PM', 'March', 'Mon', 'twenty', '-first', ' and ', 'xiv', 'T', '+05:30', '-0500', 'GMT+2', '.', '123456', '[', ']', 'st', 'th', 'a', 'Z']) for _ in range(random.randint(1, 7)))
            tasks.append({'f': 'T', 'v': 0, 'p': pic, 's': txt, 'o': None, 'r': None})
        else:
            txt = ''.join(random.choice(['one', 'two', ' ', ',', '-', 'and', 'hundred', 'thousand', 'million', 'x', 'I', 'V', 'm', 'c', '1', '2', '0', '١', 'st', 'th', 'twelfth', 'A', 'z', '0x1f', ' 12']) for _ in range(random.randint(0, 6)))
            tasks.append({'f': 'P', 'v': 0, 'p': intpic(), 's': txt, 'o': None, 'r': None})
    return tasks


def run(cmd, tasks):
    lines = ''.join(json.dumps(dict(t, now=NOW), ensure_ascii=False) + '\n' for t in tasks)
    env = dict(os.environ, ASAN_OPTIONS='detect_leaks=1:abort_on_error=1')
    p = subprocess.run(cmd, input=lines, capture_output=True, text=True, env=env)
    out = [x for x in p.stdout.split('\n') if x]
    if p.returncode != 0 or len(out) != len(tasks):
        sys.exit('%s failed (exit %d, %d of %d answers): %s' % (cmd[0], p.returncode, len(out), len(tasks), p.stderr[-3000:]))
    return [json.loads(x) for x in out]


def no_lone_surrogates(s):
    # a JavaScript string may hold a lone surrogate (a picture or option split a pair); UTF-8 output
    # carries U+FFFD in its place
    return re.sub('[\ud800-\udfff]', '\ufffd', s)


def same(task, js, c):
    if js == c:
        return True
    if 'r' in js and 'r' in c:
        a, b = js['r'], c['r']
        if isinstance(a, str) and isinstance(b, str):
            return no_lone_surrogates(a) == b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if float(a) == float(b):
                return True
            # lettersToDecimal sums code * Math.pow(26, i); V8's pow is not correctly rounded
            # past 26^11, glibc's is: allow one unit in the last place there
            return task['f'] == 'P' and task['p'] in ('a', 'A') and abs(a) > 2 ** 53 and math.isclose(a, b, rel_tol=4e-16)
    return False


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    driver = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
    random.seed(int(sys.argv[3]) if len(sys.argv) > 3 else 13)
    if not shutil.which('node') or not os.path.isdir(os.path.join(HERE, 'node_modules', 'jsonata')):
        print('SKIP: node or tests/conformance/jsonata_fmt_diff/node_modules missing (scripts/install-deps)')
        sys.exit(77)
    ref = ['node', os.path.join(HERE, 'ref.js')]
    tasks = generate(count)
    js, c = run(ref, tasks), run([driver], tasks)
    more = []
    for t, j in zip(tasks, js):
        if t['f'] == 'F' and 'r' in j and t['p']:
            more.append({'f': 'T', 'v': 0, 'p': t['p'], 's': j['r'], 'o': None, 'r': None})
        if t['f'] == 'I' and 'r' in j:
            more.append({'f': 'P', 'v': 0, 'p': t['p'], 's': j['r'], 'o': None, 'r': None})
    js += run(ref, more)
    c += run([driver], more)
    tasks += more
    stats, diffs = {}, []
    for t, j, x in zip(tasks, js, c):
        key = t['f'] + (' not compared (reference crashed)' if 'js' in j else ' equal' if same(t, j, x) else ' DIFFERENT')
        stats[key] = stats.get(key, 0) + 1
        if 'js' not in j and not same(t, j, x):
            diffs.append((t, j, x))
    for k in sorted(stats):
        print('%-40s %d' % (k, stats[k]))
    for t, j, x in diffs[:40]:
        print('DIFF %s\n     jsonata-js %s\n     C          %s' % (json.dumps(t, ensure_ascii=False), json.dumps(j, ensure_ascii=False), json.dumps(x, ensure_ascii=False)))
    compared = sum(v for k, v in stats.items() if 'not compared' not in k)
    print('%d tasks, %d compared, %d different' % (len(tasks), compared, len(diffs)))
    sys.exit(1 if diffs else 0)


main()
