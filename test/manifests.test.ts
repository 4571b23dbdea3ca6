/**
 * The whole Kubernetes change of every example stack, judged by the upstream software: each
 * Helm release rendered by the pinned `helm template` with the exact chart, values and
 * namespace the program passes; the rendered and typed custom resources validated against the
 * Prometheus Operator CRDs the chart installs; every Thanos container's flags against
 * `thanos <component> --help` of the pinned binary; every rule group through the pinned
 * promtool and every Alertmanager configuration through the pinned amtool.
 */
import assert from "node:assert/strict";
import { readStackFile } from "../components/config";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { REPO_DIR, reveal, type StackRun } from "../offline";
import { chartsDir, manifestsYaml, releasesOf, renderRelease, secretStrings, stackManifests, type Manifest, type StackManifests } from "../offline/manifests";
import { toolPath } from "../toolchain";
import { CrdValidator } from "./support/crds";
import { realFleet } from "./support/fleet";
import { thanosFlags, type ThanosComponent } from "./support/reference";
import { requireTool, runTool } from "./support/tools";

const helm = requireTool("helm");
const promtool = requireTool("promtool");
const amtool = requireTool("amtool");
const thanos = requireTool("thanos");
const CHARTS = chartsDir(REPO_DIR);

const dir = mkdtempSync(join(tmpdir(), "sovereign-manifests-"));
let runs: StackRun[] = [];
const sets = new Map<string, StackManifests>();

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Pod specs of every workload in a manifest set (Deployments, StatefulSets, DaemonSets, Jobs, Pods). */
function podSpecs(ms: readonly Manifest[]): { owner: Manifest; spec: Record<string, unknown> }[] {
  const out: { owner: Manifest; spec: Record<string, unknown> }[] = [];
  for (const m of ms) {
    const spec = m.spec;
    if (!isObject(spec)) continue;
    if (m.kind === "Pod") out.push({ owner: m, spec });
    const template = isObject(spec.template) ? spec.template : isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec) && isObject(spec.jobTemplate.spec.template) ? spec.jobTemplate.spec.template : undefined;
    if (template !== undefined && isObject(template.spec)) out.push({ owner: m, spec: template.spec });
  }
  return out;
}

function containers(spec: Record<string, unknown>): Record<string, unknown>[] {
  return [...(Array.isArray(spec.initContainers) ? spec.initContainers : []), ...(Array.isArray(spec.containers) ? spec.containers : [])].filter(isObject);
}

function write(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const all = (stack: string): Manifest[] => {
  const s = sets.get(stack);
  assert.ok(s !== undefined, `manifests of ${stack}`);
  return s.all.map((x) => x.manifest);
};

describe("the full manifest set of every example stack", { skip: helm.skipReason ?? (CHARTS === undefined ? "no ../shared/reference/charts" : undefined) }, () => {
  before(async () => {
    const fleet = await realFleet();
    runs = [...fleet.runs.values()];
    for (const run of runs) sets.set(run.stack, stackManifests(run, { repoDir: REPO_DIR }));
  });

  it("every Helm release of every stack renders with helm template", () => {
    assert.ok(runs.length >= 4);
    for (const run of runs) {
      const set = sets.get(run.stack);
      assert.ok(set !== undefined);
      assert.deepEqual(set.errors, [], run.stack);
      assert.ok(set.releases.length > 0, `${run.stack} has releases`);
      for (const rel of set.releases) {
        assert.ok(rel.manifests.length > 0, `${run.stack} ${rel.release} rendered objects`);
        // Namespaced objects land in the release's namespace (the chart honours --namespace),
        // except the Services kube-prometheus-stack puts beside the control-plane components it
        // scrapes (88.5.3 templates/exporters/*/service.yaml: `namespace: kube-system`).
        const elsewhere = rel.manifests.filter((m) => m.metadata.namespace !== undefined && m.metadata.namespace !== rel.namespace)
          .filter((m) => !(rel.chart === "kube-prometheus-stack" && m.kind === "Service" && m.metadata.namespace === "kube-system" && m.metadata.labels?.jobLabel !== undefined));
        assert.deepEqual(elsewhere.map((m) => `${m.kind}/${m.metadata.name} in ${m.metadata.namespace}`), [], `${run.stack} ${rel.release}`);
      }
    }
  });

  it("manifests.yaml masks every secret unless secrets are shown", () => {
    for (const run of runs) {
      const set = sets.get(run.stack);
      assert.ok(set !== undefined);
      const secrets = secretStrings(run);
      assert.ok(secrets.size > 0, `${run.stack} has secrets`);
      const text = manifestsYaml(set, { showSecrets: false, secrets });
      for (const s of secrets) {
        assert.ok(!text.includes(s), `${run.stack}: a secret value leaked into manifests.yaml`);
        assert.ok(!text.includes(Buffer.from(s).toString("base64")), `${run.stack}: a base64 secret leaked into manifests.yaml`);
      }
      assert.ok(parseAllOk(text), `${run.stack}: manifests.yaml is a YAML stream`);
    }
  });

  // One values mistake per chart that the chart itself refuses (its `fail` or its schema).
  const MISTAKES: Record<string, { values: (v: Record<string, unknown>) => Record<string, unknown>; message: RegExp }> = {
    // loki chart 18.11.0 templates/validate.yaml: a top-level `config` is refused.
    loki: { values: (v) => ({ ...v, config: { auth_enabled: false } }), message: /Top level 'config' is not allowed/ },
    // alloy chart 1.11.1 templates/pdb.yaml: a PodDisruptionBudget is refused for the DaemonSet.
    alloy: { values: (v) => ({ ...v, controller: { ...(isObject(v.controller) ? v.controller : {}), podDisruptionBudget: { enabled: true, maxUnavailable: 1 } } }), message: /PDBs \(Pod Disruption Budgets\) are not intended for DaemonSets/ },
    // grafana chart 12.11.1 templates/_config.tpl: a password in grafana.ini is a leaked secret.
    grafana: { values: (v) => ({ ...v, "grafana.ini": { ...(isObject(v["grafana.ini"]) ? v["grafana.ini"] : {}), database: { password: "hunter2" } } }), message: /Sensitive key 'database.password' should not be defined explicitly/ },
    // kube-prometheus-stack 88.5.3 templates/grafana/dashboards-1.14/*: operator refs need matchLabels.
    "kube-prometheus-stack": { values: (v) => ({ ...v, grafana: { ...(isObject(v.grafana) ? v.grafana : {}), forceDeployDashboards: true, operator: { dashboardsConfigMapRefEnabled: true } } }), message: /grafana.operator.matchLabels must be specified/ },
  };

  it("a values mistake each chart refuses is reported with the stack, the release and helm's message", () => {
    const seen = new Set<string>();
    for (const run of runs) {
      for (const rel of releasesOf(run)) {
        const mistake = MISTAKES[rel.chart];
        if (mistake === undefined || seen.has(rel.chart)) continue;
        seen.add(rel.chart);
        const broken = { ...run, resources: run.resources.map((r) => (r.name === rel.resource ? { ...r, inputs: { ...r.inputs, values: mistake.values(rel.values) } } : r)) };
        const set = stackManifests(broken, { repoDir: REPO_DIR });
        assert.equal(set.errors.length, 1, `${run.stack} ${rel.chart}: ${set.errors.join("\n")}`);
        assert.ok(set.errors[0].startsWith(`${run.stack}: release ${rel.release} (${rel.chart} ${rel.version}`), set.errors[0]);
        assert.match(set.errors[0], mistake.message);
        // The same values without the mistake render.
        assert.equal(renderRelease(rel, { helm: toolPath("helm"), chartsDir: CHARTS ?? "" }).error, undefined);
      }
    }
    assert.deepEqual([...seen].sort(), Object.keys(MISTAKES).sort(), "every pinned chart is deployed by some example stack");
  });

  it("every custom resource validates against the Prometheus Operator CRDs kube-prometheus-stack installs", () => {
    const kps = [...sets.values()].flatMap((s) => s.releases).find((r) => r.chart === "kube-prometheus-stack");
    assert.ok(kps !== undefined);
    const crds = new CrdValidator(kps.manifests);
    for (const kind of ["Prometheus", "Alertmanager", "ServiceMonitor", "PodMonitor", "PrometheusRule"]) {
      assert.ok(crds.kinds.includes(`monitoring.coreos.com/v1/${kind}`), `CRD ${kind} rendered`);
    }
    let checked = 0;
    for (const [stack, set] of sets) {
      for (const { origin, manifest } of set.all) {
        if (!manifest.apiVersion.startsWith("monitoring.coreos.com/")) continue;
        assert.deepEqual(crds.errors(manifest), [], `${stack} ${origin} ${manifest.kind}/${manifest.metadata.name}`);
        checked++;
      }
    }
    assert.ok(checked >= 10, `custom resources checked: ${checked}`);
    // The validator refuses what the operator would drop: a misspelt field and a wrong type.
    const rule = all(runs[0].stack).find((m) => m.kind === "PrometheusRule");
    assert.ok(rule !== undefined);
    assert.notDeepEqual(crds.errors({ ...rule, spec: { ...(rule.spec as object), grops: [] } }), []);
    assert.notDeepEqual(crds.errors({ ...rule, spec: { groups: [{ name: "g", rules: [{ alert: "A", expr: "up", for: 5 }] }] } }), []);
  });

  it("every Thanos container's flags are known to `thanos <component> --help` of the pinned binary", { skip: thanos.skipReason }, () => {
    const COMPONENTS = new Set<ThanosComponent>(["query", "store", "compact", "query-frontend", "rule", "sidecar", "receive"]);
    let checked = 0;
    for (const [stack, set] of sets) {
      for (const { owner, spec } of podSpecs(set.all.map((x) => x.manifest))) {
        for (const c of containers(spec)) {
          if (typeof c.image !== "string" || !/\/thanos\/thanos:/.test(c.image)) continue;
          const args = Array.isArray(c.args) ? c.args.map(String) : [];
          const component = args[0] as ThanosComponent;
          assert.ok(COMPONENTS.has(component), `${stack} ${owner.kind}/${owner.metadata.name}: first arg ${args[0]}`);
          const known = thanosFlags(component);
          const unknown = args.slice(1).filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]).filter((f) => !known.has(f));
          assert.deepEqual(unknown, [], `${stack} ${owner.kind}/${owner.metadata.name} (${component})`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 6, `Thanos containers checked: ${checked}`);
  });

  it("every rule group passes the tool of the component that loads it: promtool for PrometheusRules, thanos for the Ruler's files", { skip: promtool.skipReason ?? thanos.skipReason }, () => {
    let prometheusFiles = 0;
    let thanosFiles = 0;
    for (const [stack, set] of sets) {
      const ms = set.all.map((x) => x.manifest);
      // ConfigMaps mounted into a `thanos rule` container: Thanos rule files, which add
      // `partial_response_strategy` to Prometheus's format (thanos docs/components/rule.md), so
      // only `thanos tools rules-check` judges them.
      const rulerConfigMaps = new Set(podSpecs(ms).filter(({ spec }) => containers(spec).some((c) => Array.isArray(c.args) && c.args[0] === "rule")).flatMap(({ spec }) =>
        (Array.isArray(spec.volumes) ? spec.volumes.filter(isObject) : []).map((v) => (isObject(v.configMap) ? String(v.configMap.name) : undefined)).filter((n): n is string => n !== undefined)));
      for (const { origin, manifest } of set.all) {
        const where = `${stack} ${origin} ${manifest.kind}/${manifest.metadata.name}`;
        if (manifest.kind === "PrometheusRule" && isObject(manifest.spec) && Array.isArray(manifest.spec.groups)) {
          const r = runTool("promtool", ["check", "rules", write(`${stack}-prometheusrule-${manifest.metadata.name}.yaml`, stringify({ groups: manifest.spec.groups }))]);
          assert.equal(r.status, 0, `${where}: ${r.output}`);
          prometheusFiles++;
        }
        if (manifest.kind === "ConfigMap" && isObject(manifest.data)) {
          for (const [key, v] of Object.entries(manifest.data)) {
            const doc = typeof v === "string" ? safeParse(v) : undefined;
            if (!isObject(doc) || !Array.isArray(doc.groups)) continue;
            assert.ok(rulerConfigMaps.has(manifest.metadata.name), `${where}: rule file ${key} is mounted by no Thanos Ruler`);
            const r = runTool("thanos", ["tools", "rules-check", `--rules=${write(`${stack}-thanos-${manifest.metadata.name}-${key}`, String(v))}`]);
            assert.equal(r.status, 0, `${where} ${key}: ${r.output}`);
            thanosFiles++;
          }
        }
      }
    }
    assert.ok(prometheusFiles >= 4, `PrometheusRules checked: ${prometheusFiles}`);
    assert.ok(thanosFiles >= 1, `Thanos rule files checked: ${thanosFiles}`);
  });

  // The heartbeat route groups by every label (`group_by: ["..."]`, components/alerting), and
  // Alertmanager notifies once per group (prometheus/alertmanager docs/configuration.md,
  // `group_by`): two always-firing alerts on one Prometheus, the chart's general.rules Watchdog
  // beside ours, send the dead-man's switch two heartbeats per period (seen on the loopback fleet).
  it("every spoke's Prometheus ships exactly one always-firing heartbeat, the one the hub tells apart", () => {
    for (const [stack, set] of sets) {
      const heartbeats = set.all
        .filter(({ manifest }) => manifest.kind === "PrometheusRule" && isObject(manifest.spec) && Array.isArray(manifest.spec.groups))
        .flatMap(({ manifest }) => (manifest.spec as { groups: { rules?: Record<string, unknown>[] }[] }).groups.flatMap((g) => g.rules ?? []))
        .filter((r) => typeof r.alert === "string" && (r.alert === "Watchdog" || String(r.expr).trim() === "vector(1)"));
      if (readStackFile(REPO_DIR, stack).values.role === "hub") {
        assert.equal(heartbeats.length, 0, `${stack}: the hub's heartbeat is the Ruler's, not a PrometheusRule`);
        continue;
      }
      if (readStackFile(REPO_DIR, stack).values.role === "edge") {
        // Agent mode evaluates no rules: the edge's heartbeat is its CronJob pinging its own switch.
        assert.equal(heartbeats.length, 0, `${stack}: an edge ships no rule`);
        assert.equal(set.all.filter(({ manifest }) => manifest.kind === "CronJob" && manifest.metadata.name === "edge-heartbeat").length, 1, `${stack}: one heartbeat CronJob`);
        continue;
      }
      assert.equal(heartbeats.length, 1, `${stack}: ${heartbeats.length} always-firing alerts in its PrometheusRules: ${JSON.stringify(heartbeats.map((r) => r.labels))}`);
      assert.deepEqual((heartbeats[0].labels as Record<string, string>).watchdog, "spoke", stack);
    }
  });

  it("every Alertmanager configuration the stacks ship passes the pinned amtool", { skip: amtool.skipReason }, () => {
    let files = 0;
    for (const [stack, set] of sets) {
      for (const { origin, manifest } of set.all) {
        if (manifest.kind !== "Secret") continue;
        const entries: [string, string][] = [
          ...Object.entries(isObject(manifest.stringData) ? manifest.stringData : {}).map(([k, v]) => [k, String(v)] as [string, string]),
          ...Object.entries(isObject(manifest.data) ? manifest.data : {}).map(([k, v]) => [k, Buffer.from(String(v), "base64").toString("utf8")] as [string, string]),
        ];
        for (const [key, text] of entries) {
          if (key !== "alertmanager.yaml") continue;
          const file = write(`${stack}-${manifest.metadata.name}-alertmanager.yaml`, text);
          const r = runTool("amtool", ["check-config", file]);
          assert.equal(r.status, 0, `${stack} ${origin} Secret/${manifest.metadata.name}: ${r.output}`);
          files++;
        }
      }
    }
    assert.ok(files >= 2, `Alertmanager configs checked: ${files}`);
  });

  it("every objstore file the stacks ship is accepted by the pinned thanos, and a misspelt field is refused", { skip: thanos.skipReason }, async () => {
    // `thanos tools bucket ls` builds the bucket client from the file exactly as every component
    // does (objstore client.NewBucketFromConfig: strict YAML into the provider's Config, then the
    // provider's own checks). Run without a network (`unshare -n`), a file that parses gets as far
    // as reaching the cloud or its credential chain; a refused file fails before that.
    const reachedTheCloud = /dial tcp|network is unreachable|no such host|could not find default credentials|DefaultAzureCredential|failed to refresh cached credentials|no EC2 IMDS role found/;
    const refused = /unmarshal errors|not found in type|parsing config|parse config|invalid/i;
    const bucketLs = (file: string): Promise<string> => new Promise((done) => {
      const child = spawn("unshare", ["-n", toolPath("thanos"), "tools", "bucket", "ls", `--objstore.config-file=${file}`], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        done(`exit=${String(code)}\n${out}`);
      });
    });
    const files: { where: string; file: string }[] = [];
    for (const [stack, set] of sets) {
      for (const { manifest } of set.all) {
        if (manifest.kind !== "Secret" || !isObject(manifest.stringData)) continue;
        for (const [key, v] of Object.entries(manifest.stringData)) {
          const doc = typeof v === "string" ? safeParse(v) : undefined;
          if (!isObject(doc) || typeof doc.type !== "string" || !isObject(doc.config)) continue;
          files.push({ where: `${stack} Secret/${manifest.metadata.name} ${key}`, file: write(`${stack}-${manifest.metadata.name}-${key}`, String(v)) });
        }
      }
    }
    const types = new Set(files.map((f) => (parse(readFileSync(f.file, "utf8")) as { type: string }).type));
    assert.deepEqual([...types].sort(), ["AZURE", "GCS", "S3"], "every cloud's objstore file is checked");
    const corrupted = write("corrupted-objstore.yaml", readFileSync(files[0].file, "utf8").replace("config:\n", "config:\n  bucket_name: misspelt\n"));
    const results = await Promise.all([...files.map((f) => bucketLs(f.file)), bucketLs(corrupted)]);
    files.forEach((f, i) => {
      assert.doesNotMatch(results[i], refused, `${f.where}: ${results[i]}`);
      assert.match(results[i], /loading bucket configuration/, f.where);
      assert.ok(/exit=0/.test(results[i]) || reachedTheCloud.test(results[i]), `${f.where}: ${results[i]}`);
    });
    const last = results[results.length - 1];
    assert.match(last, /field bucket_name not found in type/, last);
  });

  it("Loki and Alloy, as the charts render their configuration, keep every spoke's logs in its own bucket and cluster", () => {
    for (const run of runs.filter((r) => r.role === "spoke")) {
      const set = sets.get(run.stack);
      assert.ok(set !== undefined);
      const outputs = reveal(run.outputs) as { buckets: { logs: string }; region: string };
      const loki = set.releases.find((r) => r.chart === "loki");
      const alloy = set.releases.find((r) => r.chart === "alloy");
      assert.ok(loki !== undefined && alloy !== undefined, `${run.stack} runs Loki and Alloy`);
      const namespace = loki.namespace;
      // loki chart 18.11.0 templates/config.yaml: the rendered Loki configuration is the
      // `config.yaml` of the ConfigMap (or Secret) named after the release.
      const cm = loki.manifests.find((m) => (m.kind === "ConfigMap" || m.kind === "Secret") && m.metadata.name === loki.release && isObject(m.data) && "config.yaml" in m.data);
      assert.ok(cm !== undefined && isObject(cm.data), `${run.stack}: Loki config rendered`);
      const raw = String(cm.data["config.yaml"]);
      const config = parse(cm.kind === "Secret" ? Buffer.from(raw, "base64").toString("utf8") : raw) as Record<string, Record<string, unknown>>;
      const text = JSON.stringify(config);
      // Chunks, index and rules go to the spoke's own logs bucket, and to nothing else.
      const buckets = [...text.matchAll(/"(?:bucketnames|bucket_name|container_name|bucket)":"([^"]+)"/g)].map((m) => m[1]);
      assert.ok(buckets.length >= 2, `${run.stack}: Loki storage names its bucket (${text.slice(0, 200)})`);
      assert.deepEqual([...new Set(buckets)], [outputs.buckets.logs.replace(/^.*\//, "")], `${run.stack}: Loki writes only its logs bucket`);
      // Writers authenticate as the workload, or (cloud s3) with a key Loki expands from its
      // environment: no static key in the rendered configuration, only `${...}` references.
      assert.doesNotMatch(text, /"(?:access_key_id|secret_access_key|account_key|service_account)":"(?!\$\{[A-Z0-9_]+\}")[^"]/, `${run.stack}: no static credential in Loki's config`);
      assert.equal(config.compactor.retention_enabled, true, `${run.stack}: retention is enforced by the compactor`);
      // Alloy ships only to this cluster's Loki (alloy chart 1.11.1: `config.alloy` of the release's ConfigMap).
      const alloyCm = alloy.manifests.find((m) => m.kind === "ConfigMap" && isObject(m.data) && "config.alloy" in m.data);
      assert.ok(alloyCm !== undefined && isObject(alloyCm.data), `${run.stack}: Alloy config rendered`);
      const urls = [...String(alloyCm.data["config.alloy"]).matchAll(/url\s*=\s*"([^"]+)"/g)].map((m) => new URL(m[1]));
      assert.ok(urls.length >= 1, `${run.stack}: Alloy writes somewhere`);
      for (const u of urls) assert.ok(u.hostname.endsWith(`.${namespace}.svc.cluster.local`), `${run.stack}: Alloy ships to ${u.href}, not this cluster's Loki`);
    }
  });

  it("Grafana provisions, as the chart renders it, the global Thanos datasource and one Loki datasource per wired spoke with its CA and a client certificate", () => {
    const hub = runs.find((r) => r.role === "hub");
    assert.ok(hub !== undefined);
    const grafana = sets.get(hub.stack)?.releases.find((r) => r.chart === "grafana");
    assert.ok(grafana !== undefined, "the hub renders Grafana");
    const datasources = grafana.manifests
      .filter((m) => m.kind === "ConfigMap" || m.kind === "Secret")
      .flatMap((m) => Object.entries({ ...(isObject(m.data) ? m.data : {}), ...(isObject(m.stringData) ? m.stringData : {}) }).map(([k, v]) => ({ m, k, text: m.kind === "Secret" && isObject(m.data) && k in m.data ? Buffer.from(String(v), "base64").toString("utf8") : String(v) })))
      .filter((e) => e.k.endsWith(".yaml") && /datasources:/.test(e.text))
      .flatMap((e) => {
        const doc = safeParse(e.text);
        return isObject(doc) && Array.isArray(doc.datasources) ? doc.datasources.filter(isObject) : [];
      });
    const spokes = (hub.config.spokes as string[] | undefined) ?? [];
    assert.ok(spokes.length >= 3);
    // One Thanos datasource on the hub's query frontend, in-cluster; one Loki datasource per
    // spoke, dialled across clouds, so each presents the hub's client certificate and pins the
    // spoke's CA (Grafana docs, "Loki data source": tlsAuth, tlsAuthWithCACert, secureJsonData).
    const prometheus = datasources.filter((d) => d.type === "prometheus");
    assert.equal(prometheus.length, 1);
    assert.match(String(prometheus[0].url), /thanos-query-frontend/);
    const loki = datasources.filter((d) => d.type === "loki");
    assert.equal(loki.length, spokes.length);
    for (const d of loki) {
      assert.match(String(d.url), /^https:\/\//);
      const json = isObject(d.jsonData) ? d.jsonData : {};
      const secure = isObject(d.secureJsonData) ? d.secureJsonData : {};
      assert.equal(json.tlsAuth, true, `${String(d.name)} presents a client certificate`);
      assert.equal(json.tlsAuthWithCACert, true, `${String(d.name)} pins a CA`);
      for (const k of ["tlsCACert", "tlsClientCert", "tlsClientKey", "basicAuthPassword"]) assert.ok(typeof secure[k] === "string" && secure[k] !== "", `${String(d.name)} ${k}`);
    }
  });
});

function safeParse(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}

function parseAllOk(text: string): boolean {
  try {
    return text.split(/^---$/m).every((doc) => safeParse(doc) !== undefined || doc.trim().startsWith("#"));
  } catch {
    return false;
  }
}
