// tests/conformance/jsonata_fmt_diff/ref.js - the same tasks as drv.c, answered by jsonata-js 2.2.2
// (node_modules of this directory, scripts/install-deps), one JSON line each; "now" fixes new Date()
// so $toMillis defaults the same fields as the C side. {"js": message} is a JavaScript error without
// a JSONata code (a crash of the reference), which diff.py does not compare.
const RealDate = Date;
let fixedNow = null;
global.Date = class extends RealDate { constructor(...a) { if (a.length === 0 && fixedNow !== null) super(fixedNow); else super(...a); } static now() { return fixedNow !== null ? fixedNow : RealDate.now(); } };
const jsonata = require(require('path').join(__dirname, 'node_modules', 'jsonata'));
const readline = require('readline');
const rl = readline.createInterface({input: process.stdin});
const lines = [];
rl.on('line', l => lines.push(l));
rl.on('close', async () => {
  const cache = {};
  const E = s => cache[s] || (cache[s] = jsonata(s));
  for (const l of lines) {
    const t = JSON.parse(l);
    fixedNow = t.now || null;
    let expr;
    const b = {v: t.v, p: t.p === null ? undefined : t.p, s: t.s === null ? undefined : t.s, o: t.o === null ? undefined : t.o, r: t.r === null ? undefined : t.r};
    switch (t.f) {
      case 'N': expr = t.o === null ? '$formatNumber($v, $p)' : '$formatNumber($v, $p, $o)'; break;
      case 'I': expr = '$formatInteger($v, $p)'; break;
      case 'P': expr = '$parseInteger($s, $p)'; break;
      case 'B': expr = t.r === null ? '$formatBase($v)' : '$formatBase($v, $r)'; break;
      case 'F': expr = t.p === null ? (t.s === null ? '$fromMillis($v)' : '$fromMillis($v, (), $s)') : (t.s === null ? '$fromMillis($v, $p)' : '$fromMillis($v, $p, $s)'); break;
      case 'T': expr = t.p === null ? '$toMillis($s)' : '$toMillis($s, $p)'; break;
    }
    let out;
    try {
      const timer = setTimeout(() => {}, 0);
      const r = await E(expr).evaluate({}, b);
      clearTimeout(timer);
      if (r === undefined) out = {u: true};
      else if (typeof r === 'number') out = {r: Number.isNaN(r) ? 'NaN' : r};
      else out = {r: r};
    } catch (e) {
      out = e.code ? {e: e.code} : {js: String(e.message || e)};
    }
    console.log(JSON.stringify(out));
  }
});
