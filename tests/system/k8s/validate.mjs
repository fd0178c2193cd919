// Offline validation of Kubernetes manifests (tests/system/test_k8s.sh).
//
//   node validate.mjs FILE...          validate every document of each file
//   node validate.mjs --rules FILE     print spec of the PrometheusRule in FILE
//                                      as a Prometheus rule file (for promtool)
//   node validate.mjs --grace FILE     the termination arithmetic of the Pod in
//                                      FILE against the gorral.yaml it mounts
//                                      from a ConfigMap of the same file
//
// Each document is checked twice:
//   1. the schema, with the models' own check (`new Pod(obj).validate()`:
//      the Kubernetes OpenAPI schema compiled by kubernetes-models, and the
//      prometheus-operator CRDs' schema): types, required fields, enums;
//   2. unknown fields, as `kubectl apply --validate=strict` refuses them: the
//      OpenAPI schema leaves additionalProperties open, so a typo'd field
//      passes (1) silently. The compiled validator reads exactly the fields
//      its schema knows (and every key of a map it validates), so running it
//      over a Proxy that records which keys it read leaves, as unread, the
//      keys the schema does not have.
// One line per document: "FILE: KIND/NAME: ok" or "FILE: KIND/NAME: error:
// ..." naming the field (data/spec/... for the schema, a dotted path for
// an unknown field). Exit 0 when every document passed, 1 otherwise, 2 for
// usage or unreadable input. Nothing here touches the network.
import { readFileSync } from "node:fs";
import { parseAllDocuments, stringify } from "yaml";
// apiVersion/kind -> the module of its model, imported when a document of
// that kind is met (the packages' indexes load every model: a second each).
const models = {
        "v1/Pod": ["kubernetes-models/v1/Pod", "Pod"],
        "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap"],
        "v1/Service": ["kubernetes-models/v1/Service", "Service"],
        "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "Deployment"],
        "monitoring.coreos.com/v1/ServiceMonitor": [
                "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor", "ServiceMonitor"],
        "monitoring.coreos.com/v1/PrometheusRule": [
                "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule", "PrometheusRule"],
        "monitoring.coreos.com/v1/PodMonitor": [
                "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor", "PodMonitor"],
};

async function modelOf(obj) {
        const m = models[`${obj.apiVersion}/${obj.kind}`];
        return m ? (await import(m[0]))[m[1]] : null;
}

function readDocs(file) {
        let text;
        try {
                text = readFileSync(file, "utf8");
        } catch (e) {
                console.error(`${file}: ${e.message}`);
                process.exit(2);
        }
        const docs = parseAllDocuments(text);
        const out = [];
        for (const d of docs) {
                if (d.errors.length) {
                        console.error(`${file}: YAML: ${d.errors[0].message}`);
                        process.exit(2);
                }
                const obj = d.toJS();
                if (obj !== null && obj !== undefined)
                        out.push(obj);
        }
        return out;
}

// tracked(obj): a Proxy tree over obj that records, per path, the keys read.
function tracked(obj, path, seen) {
        if (obj === null || typeof obj !== "object")
                return obj;
        const read = new Set();
        seen.push({ path, obj, read });
        const kids = new Map();
        const child = (k) => {
                if (!kids.has(k)) {
                        const p = Array.isArray(obj) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
                        kids.set(k, tracked(obj[k], p, seen));
                }
                return kids.get(k);
        };
        return new Proxy(obj, {
                get(t, k) {
                        if (typeof k !== "string" || !Object.prototype.hasOwnProperty.call(t, k))
                                return Reflect.get(t, k);
                        read.add(k);
                        return child(k);
                },
                has(t, k) {
                        if (typeof k === "string")
                                read.add(k);
                        return Reflect.has(t, k);
                },
                getOwnPropertyDescriptor(t, k) {
                        if (typeof k === "string")
                                read.add(k);
                        const d = Reflect.getOwnPropertyDescriptor(t, k);
                        if (d && "value" in d && typeof k === "string")
                                d.value = child(k);
                        return d;
                },
        });
}

function unknownFields(Model, model) {
        const seen = [];
        const root = tracked(model, "", seen);
        Model.prototype.validate.call(root);
        const bad = [];
        for (const { path, obj, read } of seen) {
                if (Array.isArray(obj))
                        continue;
                for (const k of Object.keys(obj))
                        if (!read.has(k))
                                bad.push(path ? `${path}.${k}` : k);
        }
        return bad;
}

async function check(file, obj) {
        const id = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
        const Model = await modelOf(obj);
        if (!Model)
                return `${file}: ${id}: error: no model for apiVersion ${obj.apiVersion} kind ${obj.kind}`;
        let model;
        try {
                model = new Model(obj);
                model.validate();
        } catch (e) {
                return `${file}: ${id}: error: ${e.message}`;
        }
        const bad = unknownFields(Model, model);
        if (bad.length)
                return `${file}: ${id}: error: unknown field${bad.length > 1 ? "s" : ""} ${bad.join(", ")}`;
        return null;
}

// Durations as gorral writes them: 10s, 500ms, 1m30s, 2h, or a bare number
// of seconds. Returns seconds, or NaN.
function seconds(v) {
        if (typeof v === "number")
                return v;
        if (typeof v !== "string" || !/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(v))
                return NaN;
        const unit = { ms: 0.001, s: 1, m: 60, h: 3600 };
        let t = 0;
        for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
                t += parseFloat(m[1]) * unit[m[2]];
        return t;
}

// The Pod's gorral container, the gorral.yaml it runs (-c FILE) from a
// ConfigMap volume, and: preStop sleep + drain_delay + the longest chain of
// stop_timeouts (a service is stopped only once everything that depends on
// it has stopped) + margin = terminationGracePeriodSeconds, with a margin of
// 0 to 10 s. Prints the sum; exit 1 when it does not hold.
function graceCheck(file) {
        const docs = readDocs(file);
        const pod = docs.find((o) => o.kind === "Pod");
        if (!pod)
                return `${file}: no Pod`;
        const spec = pod.spec;
        const c = spec.containers.find((x) => (x.command ?? []).includes("-c"));
        if (!c)
                return `${file}: no container runs gorral -c FILE`;
        const cfgPath = c.command[c.command.indexOf("-c") + 1];
        const mount = (c.volumeMounts ?? []).find((m) => cfgPath.startsWith(m.mountPath + "/"));
        const vol = mount && spec.volumes.find((v) => v.name === mount.name);
        const cm = vol?.configMap && docs.find((o) => o.kind === "ConfigMap" && o.metadata.name === vol.configMap.name);
        const key = cfgPath.slice(mount ? mount.mountPath.length + 1 : 0);
        if (!cm || !(key in cm.data))
                return `${file}: ${cfgPath} is not from a ConfigMap of this file`;
        const cfg = parseAllDocuments(cm.data[key], { merge: true })[0].toJS();
        const def = cfg.defaults ?? {};
        const stop = {};
        for (const [name, svc] of Object.entries(cfg.services)) {
                stop[name] = seconds(svc.stop_timeout ?? def.stop_timeout ?? "10s");
                if (Number.isNaN(stop[name]))
                        return `${file}: ${name}: stop_timeout ${svc.stop_timeout} unreadable`;
        }
        const dependents = (name) =>
                Object.entries(cfg.services)
                        .filter(([, s]) => {
                                const d = s.depends_on ?? [];
                                return Array.isArray(d) ? d.includes(name) : name in d;
                        })
                        .map(([n]) => n);
        const until = (name, depth = 0) => {
                if (depth > 256)
                        throw new Error("depends_on cycle");
                const ds = dependents(name);
                const before = ds.length ? Math.max(...ds.map((d) => until(d, depth + 1).t)) : 0;
                const chain = ds.length
                        ? until(ds.reduce((a, b) => (until(a, depth + 1).t >= until(b, depth + 1).t ? a : b)), depth + 1).chain
                        : [];
                return { t: before + stop[name], chain: [...chain, `${name} ${stop[name]}`] };
        };
        let worst = { t: 0, chain: [] };
        for (const name of Object.keys(cfg.services)) {
                const u = until(name);
                if (u.t > worst.t)
                        worst = u;
        }
        const drain = seconds(cfg.drain_delay ?? 0);
        const pre = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
        const grace = spec.terminationGracePeriodSeconds ?? 30;
        const need = pre + drain + worst.t;
        const sum = `preStop ${pre} + drain_delay ${drain} + stop chain (${worst.chain.join(" -> ")}) ${worst.t} = ${need} s; ` +
                `terminationGracePeriodSeconds ${grace} (margin ${grace - need} s)`;
        if (grace < need)
                return `${file}: error: ${sum}: too short, the kubelet would SIGKILL mid-stop`;
        if (grace - need > 10)
                return `${file}: error: ${sum}: more than 10 s of margin`;
        console.log(`${file}: ${sum}`);
        return null;
}

const args = process.argv.slice(2);
if (args[0] === "--grace") {
        const err = args.length === 2 ? graceCheck(args[1]) : "usage: validate.mjs --grace FILE";
        if (err)
                console.log(err);
        process.exit(err ? 1 : 0);
}
if (args[0] === "--rules") {
        if (args.length !== 2) {
                console.error("usage: validate.mjs --rules FILE");
                process.exit(2);
        }
        const rule = readDocs(args[1]).find((o) => o.kind === "PrometheusRule");
        if (!rule) {
                console.error(`${args[1]}: no PrometheusRule`);
                process.exit(2);
        }
        process.stdout.write(stringify({ groups: rule.spec.groups }));
        process.exit(0);
}
if (!args.length) {
        console.error("usage: validate.mjs FILE... | --rules FILE");
        process.exit(2);
}
let rc = 0;
for (const file of args) {
        for (const obj of readDocs(file)) {
                const err = await check(file, obj);
                if (err) {
                        console.log(err);
                        rc = 1;
                } else {
                        console.log(`${file}: ${obj.kind}/${obj.metadata?.name}: ok`);
                }
        }
}
process.exit(rc);
