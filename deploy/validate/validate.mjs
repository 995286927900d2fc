// validate.mjs - offline validation of rendered Kubernetes manifests.
//
//   kubectl kustomize deploy/overlays/dev | node deploy/validate/validate.mjs [--label NAME]
//   node deploy/validate/validate.mjs FILE.yaml ...
//   node deploy/validate/validate.mjs --self-test [FILE.yaml ...]
//
// Every document is checked twice:
//  1. against the Kubernetes / KEDA JSON schemas (npm kubernetes-models,
//     @kubernetes-models/keda): types, required fields, enums;
//  2. for unknown keys, which those schemas let through: the schema's
//     compiled validator runs over a proxy of the document that records
//     which keys it looks up on each object; a key the schema never looked
//     up is not in the schema (maps such as labels are iterated, so all
//     their keys are looked up). A misspelled field (livenesProbe) fails.
// An apiVersion/kind it has no schema for fails too.
//
// --self-test proves both checks can fail: built-in bad documents must be
// rejected, and for every object of every given manifest, adding a key that
// no schema has must be rejected (except in maps, where it must pass).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const KEDA = "@kubernetes-models/keda/keda.sh/v1alpha1";

async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  let mod;
  try {
    if (apiVersion === "keda.sh/v1alpha1") mod = await import(KEDA);
    else if (!apiVersion.includes("/")) mod = await import(`kubernetes-models/${apiVersion}`);
    else mod = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    return null;
  }
  const cls = mod[kind];
  return cls && cls.apiVersion === apiVersion && cls.kind === kind ? cls : null;
}

// A deep proxy that records, per object, the keys looked up on it.
function recorder(root) {
  const seen = new WeakMap();
  const proxies = new WeakMap();
  const wrap = (v) => {
    if (v === null || typeof v !== "object") return v;
    if (proxies.has(v)) return proxies.get(v);
    seen.set(v, new Set());
    const p = new Proxy(v, {
      get(t, k, r) {
        if (typeof k === "string") seen.get(t).add(k);
        return wrap(Reflect.get(t, k, r));
      },
      has(t, k) {
        if (typeof k === "string") seen.get(t).add(k);
        return Reflect.has(t, k);
      },
      getOwnPropertyDescriptor(t, k) {
        if (typeof k === "string") seen.get(t).add(k);
        return Reflect.getOwnPropertyDescriptor(t, k);
      },
    });
    proxies.set(v, p);
    return p;
  };
  return { proxy: wrap(root), seen };
}

function unknownKeys(obj, seen, path = "", out = []) {
  if (obj === null || typeof obj !== "object") return out;
  if (Array.isArray(obj)) {
    obj.forEach((v, i) => unknownKeys(v, seen, `${path}/${i}`, out));
    return out;
  }
  const s = seen.get(obj);
  for (const k of Object.keys(obj)) {
    if (!s || !s.has(k)) out.push(`${path}/${k}`);
    else unknownKeys(obj[k], seen, `${path}/${k}`, out);
  }
  return out;
}

// Returns a list of problems (empty: valid).
export async function check(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return ["not an object"];
  const cls = await modelFor(doc.apiVersion, doc.kind);
  if (!cls) return [`no schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`];
  // kustomize's secretGenerator folds long base64 values over lines; the API
  // server decodes with Go's encoding/base64, which skips \r and \n
  if (doc.kind === "Secret" && doc.data && typeof doc.data === "object") {
    doc = { ...doc, data: Object.fromEntries(Object.entries(doc.data).map(
      ([k, v]) => [k, typeof v === "string" ? v.replace(/[\r\n]/g, "") : v])) };
  }
  const { proxy, seen } = recorder(doc);
  const problems = [];
  try {
    cls.prototype.validate.call(proxy);
  } catch (e) {
    problems.push(`schema: ${e.message}`);
  }
  for (const p of unknownKeys(doc, seen)) problems.push(`unknown key ${p}`);
  return problems;
}

function name(doc) {
  return `${doc?.kind ?? "?"}/${doc?.metadata?.name ?? "?"}`;
}

function parse(text, where) {
  const docs = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) throw new Error(`${where}: ${d.errors[0].message}`);
    const v = d.toJS();
    if (v !== null && v !== undefined) docs.push(v);
  }
  return docs;
}

function readInputs(files) {
  if (files.length === 0) return [{ where: "stdin", docs: parse(readFileSync(0, "utf8"), "stdin") }];
  return files.map((f) => ({ where: f, docs: parse(readFileSync(f, "utf8"), f) }));
}

// ------------------------------------------------------------------ self-test

const GOOD = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "t", labels: { "any-label": "x", "app.kubernetes.io/name": "t" } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "t" } },
    template: {
      metadata: { labels: { app: "t" }, annotations: { "free.form/annotation": "y" } },
      spec: {
        terminationGracePeriodSeconds: 30,
        containers: [
          {
            name: "c",
            image: "i",
            livenessProbe: { exec: { command: ["true"] } },
            resources: { requests: { cpu: "100m", memory: "64Mi" } },
          },
        ],
      },
    },
  },
};
const SCALED = {
  apiVersion: "keda.sh/v1alpha1",
  kind: "ScaledObject",
  metadata: { name: "s" },
  spec: {
    scaleTargetRef: { name: "t" },
    pollingInterval: 15,
    triggers: [{ type: "metrics-api", metadata: { url: "http://x/keda/backlog", valueLocation: "backlog", targetValue: "8" } }],
  },
};
const clone = (v) => JSON.parse(JSON.stringify(v));
const BAD = [
  ["misspelled top-level key", (d) => { d.metdata = d.metadata; }, GOOD],
  ["misspelled pod field", (d) => { d.spec.template.spec.terminationGracePeriodSecond = 5; }, GOOD],
  ["misspelled probe", (d) => { d.spec.template.spec.containers[0].livenesProbe = d.spec.template.spec.containers[0].livenessProbe; delete d.spec.template.spec.containers[0].livenessProbe; }, GOOD],
  ["unknown key in exec", (d) => { d.spec.template.spec.containers[0].livenessProbe.exec.cmd = ["x"]; }, GOOD],
  ["replicas as a string", (d) => { d.spec.replicas = "two"; }, GOOD],
  ["missing container name", (d) => { delete d.spec.template.spec.containers[0].name; }, GOOD],
  ["unknown kind", (d) => { d.kind = "Deploymnet"; }, GOOD],
  ["misspelled ScaledObject field", (d) => { d.spec.pollingIntervall = 15; }, SCALED],
  ["unknown trigger field", (d) => { d.spec.triggers[0].metricsType = "Value"; }, SCALED],
  ["ScaledObject without triggers", (d) => { delete d.spec.triggers; }, SCALED],
];
const MAPS = new Set(["labels", "annotations", "matchLabels", "data", "stringData", "binaryData",
  "requests", "limits", "nodeSelector"]);

async function selfTest(inputs) {
  let failed = 0;
  const expect = (cond, what) => {
    if (!cond) { failed++; console.log(`FAIL ${what}`); }
  };
  for (const good of [GOOD, SCALED]) {
    const p = await check(clone(good));
    expect(p.length === 0, `a valid ${good.kind} passes (got: ${p.join("; ")})`);
  }
  for (const [what, mutate, base] of BAD) {
    const d = clone(base);
    mutate(d);
    const p = await check(d);
    expect(p.length > 0, `rejects: ${what}`);
    if (p.length) console.log(`ok   rejects ${what}: ${p[0]}`);
  }
  // every object of every given manifest: an extra key is refused, except in maps
  let injected = 0;
  for (const { where, docs } of inputs) {
    for (const doc of docs) {
      const paths = [];
      const walk = (v, path) => {
        if (v === null || typeof v !== "object") return;
        if (Array.isArray(v)) { v.forEach((x, i) => walk(x, [...path, i])); return; }
        paths.push(path);
        for (const k of Object.keys(v)) walk(v[k], [...path, k]);
      };
      walk(doc, []);
      const before = await check(doc);
      expect(before.length === 0, `${where} ${name(doc)} is valid before injection (${before.join("; ")})`);
      for (const path of paths) {
        const d = clone(doc);
        let o = d;
        for (const k of path) o = o[k];
        const last = path[path.length - 1];
        // maps: any key is legal there. `metadata` is ObjectMeta, except a
        // KEDA trigger's; `selector` is a map in a Service only.
        const isMap = (MAPS.has(last) && last !== "metadata") ||
          (last === "metadata" && path[path.length - 3] === "triggers") ||
          (last === "selector" && doc.kind === "Service");
        // a value the map accepts (a label, a quantity; base64 in a Secret)
        o.zzNotAField = last === "data" && doc.kind === "Secret" ? "MQ==" : "1";
        const p = await check(d);
        const rejected = p.some((s) => s.includes("zzNotAField"));
        injected++;
        expect(isMap ? !rejected : rejected,
          `${where} ${name(doc)} /${path.join("/")}: extra key ${isMap ? "accepted in a map" : "rejected"} (${p.join("; ")})`);
      }
    }
  }
  console.log(`self-test: ${BAD.length + 2} built-in cases, ${injected} injections, ${failed} failed`);
  return failed === 0;
}

// ------------------------------------------------------------------ main

const args = process.argv.slice(2);
let label = "";
const files = [];
let self = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--label") label = args[++i] + ": ";
  else if (args[i] === "--self-test") self = true;
  else files.push(args[i]);
}
if (self) {
  const inputs = files.length ? readInputs(files) : [];
  process.exit((await selfTest(inputs)) ? 0 : 1);
}
let bad = 0, n = 0;
for (const { where, docs } of readInputs(files)) {
  if (docs.length === 0) { console.log(`${label}${where}: no documents`); bad++; }
  for (const doc of docs) {
    n++;
    const p = await check(doc);
    if (p.length) {
      bad++;
      for (const s of p) console.log(`${label}FAIL ${name(doc)}: ${s}`);
    } else {
      console.log(`${label}ok   ${doc.apiVersion} ${name(doc)}`);
    }
  }
}
console.log(`${label}${n} documents, ${bad} invalid`);
process.exit(bad ? 1 : 0);
