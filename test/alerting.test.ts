/**
 * Alerting renderers: the generated rules load in promtool and behave as intended under
 * `promtool test rules` (each pipeline-alive alert fires on a broken pipeline and stays
 * silent on a healthy one, the hub notices silent spokes, SLIs compute the expected value),
 * the PrometheusRule objects satisfy the Operator's CRD, and the Alertmanager configs load in
 * amtool and route heartbeats only to the dead-man's switch.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Ajv from "ajv";
import type { RegExpEngine } from "ajv/dist/types";
import { parse } from "yaml";
import {
  RECEIVERS,
  SLI_BASE,
  SLI_ROLLUP,
  hubAlertmanagerConfig,
  hubRuleGroups,
  isAlertingRule,
  prometheusAdditionalAlertmanager,
  prometheusRule,
  prometheusSecretFiles,
  sliNames,
  spokeAlertmanagerConfig,
  spokeRuleGroups,
  toYaml,
  type AlertingRule,
  type RuleGroup,
} from "../components/alerting";
import { REFERENCE_DIR } from "./support/reference";
import { requireTool, runTool } from "./support/tools";
import { CHART_APP_VERSIONS } from "../components/versions";

const promtool = requireTool("promtool");
const amtool = requireTool("amtool");

const dir = mkdtempSync(join(tmpdir(), "alerting-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const SPOKES = [
  { name: "dev-01", environment: "dev", cloud: "aws", region: "eu-central-1" },
  { name: "prod-01", environment: "prod", cloud: "gcp", region: "europe-west3" },
  { name: "stag-01", environment: "stag", cloud: "azure", region: "germanywestcentral" },
];
const spokeGroups = spokeRuleGroups({ stack: "dev-01", runbookBaseUrl: "https://runbooks.example/alerting" });
const hubGroups = hubRuleGroups({ spokes: SPOKES });

/** Prometheus refuses the Thanos-only `partial_response_strategy`; the Operator strips it too. */
function forPrometheus(groups: RuleGroup[]): RuleGroup[] {
  return groups.map(({ partial_response_strategy: _thanosOnly, ...g }) => g);
}

function writeRuleFile(name: string, groups: RuleGroup[]): string {
  const path = join(dir, name);
  writeFileSync(path, toYaml({ groups: forPrometheus(groups) }));
  return path;
}

function findAlert(groups: RuleGroup[], name: string): AlertingRule {
  const found = groups.flatMap((g) => g.rules).filter(isAlertingRule).filter((r) => r.alert === name);
  assert.equal(found.length, 1, `exactly one alert ${name}`);
  return found[0];
}

/** Expands the `{{ $labels.x }}` templates the rules use, as Prometheus will. */
function expand(template: string, labels: Record<string, string>): string {
  return template.replace(/\{\{ \$labels\.([a-zA-Z_]+) \}\}/g, (_m, k: string) => labels[k] ?? "");
}

/** A promtool `exp_alerts` entry: the rule's labels plus the series' labels, annotations expanded. */
function expected(rule: AlertingRule, seriesLabels: Record<string, string>): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } {
  const labels = { ...seriesLabels, ...rule.labels };
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule.annotations)) if (v !== undefined) annotations[k] = expand(v, labels);
  return { exp_labels: labels, exp_annotations: annotations };
}

interface AlertCase {
  alert: string;
  interval: string;
  evalTime: string;
  series: { series: string; values: string }[];
  firing: Record<string, string>[];
}

/** Runs promtool unit tests; returns its output (the assertion names the failing case). */
function promtoolTest(ruleFile: string, tests: object[], name: string, evaluationInterval = "1m"): void {
  const path = join(dir, `${name}.test.yaml`);
  writeFileSync(path, toYaml({ rule_files: [ruleFile], evaluation_interval: evaluationInterval, tests }));
  const r = runTool("promtool", ["test", "rules", path]);
  assert.equal(r.status, 0, `promtool test rules ${name}:\n${r.output}\n--- test file ---\n${readFileSync(path, "utf8")}`);
}

function alertTest(groups: RuleGroup[], c: AlertCase): object {
  const rule = findAlert(groups, c.alert);
  return {
    interval: c.interval,
    input_series: c.series,
    alert_rule_test: [{ eval_time: c.evalTime, alertname: c.alert, exp_alerts: c.firing.map((l) => expected(rule, l)) }],
  };
}

// ---- pure checks ---------------------------------------------------------------------------

describe("rule renderers", () => {
  it("every alert has a severity, a summary and a description; spoke rules leave identity labels to external labels", () => {
    for (const r of [...spokeGroups, ...hubGroups].flatMap((g) => g.rules).filter(isAlertingRule)) {
      assert.ok(["critical", "warning", "info", "none"].includes(r.labels.severity), r.alert);
      assert.ok(r.annotations.summary.length > 0 && r.annotations.description.length > 0, r.alert);
    }
    for (const r of spokeGroups.flatMap((g) => g.rules)) assert.equal(r.labels?.cluster, undefined, "a rule-level cluster label would compete with the external label");
    assert.equal(findAlert(spokeGroups, "Watchdog").expr, "vector(1)");
    assert.equal(findAlert(spokeGroups, "Watchdog").labels.severity, "none");
    assert.equal(findAlert(spokeGroups, "ThanosSidecarNoUpload").annotations.runbook_url, "https://runbooks.example/alerting#thanossidecarnoupload");
  });

  it("the hub has one heartbeat and, per spoke, reachability and heartbeat alerts carrying its routing labels", () => {
    const alerts = hubGroups.flatMap((g) => g.rules).filter(isAlertingRule);
    assert.equal(alerts.filter((a) => a.alert === "Watchdog").length, 1);
    for (const s of SPOKES) {
      for (const name of ["SpokeUnreachable", "SpokeWatchdogMissing"]) {
        const a = alerts.find((x) => x.alert === name && x.labels.cluster === s.name);
        assert.ok(a !== undefined, `${name} for ${s.name}`);
        assert.deepEqual({ environment: a.labels.environment, cloud: a.labels.cloud, region: a.labels.region }, { environment: s.environment, cloud: s.cloud, region: s.region });
        assert.match(a.expr, new RegExp(`cluster="${s.name}"`));
      }
    }
    const meta = hubGroups.find((g) => g.name === "meta.spokes");
    assert.equal(meta?.partial_response_strategy, "warn", "one dead spoke must not abort the evaluation that detects it");
  });

  it("long-window SLIs read the hub's hourly rollups; spoke series are read over one hour only", () => {
    for (const s of SPOKES) {
      const g = hubGroups.find((x) => x.name === `sli.${s.name}`);
      const rollup = hubGroups.find((x) => x.name === `sli.${s.name}.rollup`);
      assert.ok(g !== undefined && rollup !== undefined);
      assert.equal(g.partial_response_strategy, "abort");
      assert.equal(rollup.partial_response_strategy, "abort");
      for (const r of rollup.rules) {
        // A spoke keeps raw blocks for weeks only: reading it over more than an hour would shrink long windows silently.
        assert.match(r.expr, new RegExp(`\\{cluster="${s.name}"\\}\\[1h\\]`));
        assert.ok(Object.values(SLI_BASE).some((b) => r.expr.includes(`${b}{`)), r.expr);
      }
      for (const w of ["7d", "30d", "90d"] as const) {
        const n = sliNames(w);
        const avail = g.rules.find((r) => "record" in r && r.record === n.availability);
        assert.ok(avail !== undefined, n.availability);
        assert.match(avail.expr, new RegExp(`avg_over_time\\(${SLI_ROLLUP.errors}\\{cluster="${s.name}"\\}\\[${w}\\]\\)`));
        assert.ok(!Object.values(SLI_BASE).some((b) => avail.expr.includes(`${b}{`)), "no spoke series over a long window");
        assert.ok(!/apiserver_request_total/.test(avail.expr), "no raw counter over a long window");
      }
    }
    assert.equal(sliNames("7d").availability, "cluster:apiserver_availability:ratio_rate7d");
  });

  it("refuses values that would break out of PromQL matchers, duplicate spokes and short upload windows", () => {
    assert.throws(() => spokeRuleGroups({ stack: 'dev"}' }), /DNS label/);
    assert.throws(() => spokeRuleGroups({ stack: "dev-01", jobs: { loki: 'a"b' } }), /without quotes/);
    assert.throws(() => spokeRuleGroups({ stack: "dev-01", noUploadWindow: "1h" }), /2h block cadence/);
    assert.throws(() => hubRuleGroups({ spokes: [SPOKES[0], SPOKES[0]] }), /listed twice/);
    assert.throws(() => prometheusRule({ name: "x", namespace: "m", labels: {}, groups: [...spokeGroups, spokeGroups[0]] }), /appears twice/);
  });
});

describe("Alertmanager renderers", () => {
  it("refuses plain-http receivers without echoing the URL", () => {
    assert.throws(
      () => spokeAlertmanagerConfig({ receiverUrl: "http://hooks.example/T0KEN", deadMansSwitchUrl: "https://dms.example/x" }),
      (e: Error) => /https/.test(e.message) && !e.message.includes("T0KEN"),
    );
  });

  it("forwarding to the hub is a Prometheus alertmanagers entry over mTLS, without heartbeats", () => {
    const files = prometheusSecretFiles("alertmanager-hub-client-tls");
    const e = prometheusAdditionalAlertmanager({ url: "https://alertmanager.ops.example", tlsCertFile: files.certFile, keyFile: files.keyFile, caFile: files.caFile, serverName: "alertmanager.ops.example" });
    assert.equal(e.scheme, "https");
    assert.equal(e.api_version, "v2");
    assert.deepEqual(e.static_configs, [{ targets: ["alertmanager.ops.example:443"] }]);
    assert.equal(e.tls_config.cert_file, "/etc/prometheus/secrets/alertmanager-hub-client-tls/tls.crt");
    assert.equal(e.tls_config.server_name, "alertmanager.ops.example");
    assert.equal(e.path_prefix, undefined);
    assert.deepEqual(e.alert_relabel_configs, [{ source_labels: ["alertname"], regex: "Watchdog", action: "drop" }]);
    const prefixed = prometheusAdditionalAlertmanager({ url: "https://am.ops.example:9443/am/", tlsCertFile: "/c", keyFile: "/k", caFile: "/ca", serverName: "am.ops.example", dropHeartbeats: false });
    assert.deepEqual(prefixed.static_configs, [{ targets: ["am.ops.example:9443"] }]);
    assert.equal(prefixed.path_prefix, "/am");
    assert.equal(prefixed.alert_relabel_configs, undefined);
    assert.throws(() => prometheusAdditionalAlertmanager({ url: "http://am.ops.example", tlsCertFile: "/c", keyFile: "/k", caFile: "/ca", serverName: "x" }), /https/);
    assert.throws(() => prometheusAdditionalAlertmanager({ url: "https://am.ops.example", tlsCertFile: "c", keyFile: "/k", caFile: "/ca", serverName: "x" }), /absolute path/);
  });
});

// ---- PrometheusRule against the Operator CRD -----------------------------------------------

/** Removes Kubernetes structural-schema extensions ajv does not know. */
function stripK8s(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripK8s);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith("x-kubernetes-")).map(([k, x]) => [k, stripK8s(x)]));
  return v;
}

/** The CRD's patterns are Go RE2 and use `(?i)`, which JavaScript spells as a flag. */
const re2ish: RegExpEngine = Object.assign((pattern: string, u: string) => (pattern.includes("(?i)") ? new RegExp(pattern.replaceAll("(?i)", ""), `${u}i`) : new RegExp(pattern, u)), { code: "re2ish" });

describe("PrometheusRule objects validate against the prometheus-operator v0.93.1 CRD", () => {
  const crd = parse(readFileSync(join(REFERENCE_DIR, "crds-prometheus-operator-v0.93.1", "prometheusrules.yaml"), "utf8")) as { spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] } };
  const schema = stripK8s(crd.spec.versions[0].schema.openAPIV3Schema) as object;
  const validate = new Ajv({ strict: false, allErrors: true, code: { regExp: re2ish } }).compile(schema);

  const objects = {
    spoke: prometheusRule({ name: "pipeline-alive", namespace: "monitoring", labels: { release: "kps" }, groups: spokeGroups }),
    hub: prometheusRule({ name: "global", namespace: "monitoring", labels: { role: "thanos-ruler" }, groups: hubGroups }),
  };
  for (const [name, obj] of Object.entries(objects)) {
    it(`${name} PrometheusRule`, () => {
      assert.equal(obj.apiVersion, "monitoring.coreos.com/v1");
      assert.equal(obj.kind, "PrometheusRule");
      assert.ok(validate(obj), JSON.stringify(validate.errors, null, 2));
    });
  }

  it("the validator rejects what the CRD rejects (guards this test itself)", () => {
    const bad = { ...objects.spoke, spec: { groups: [{ name: "x", rules: [{ alert: "A", expr: "1", for: "5 minutes" }] }] } };
    assert.ok(!validate(bad));
    const badStrategy = { ...objects.hub, spec: { groups: [{ name: "x", partial_response_strategy: "maybe", rules: [] }] } };
    assert.ok(!validate(badStrategy));
    const okStrategy = { ...objects.hub, spec: { groups: [{ name: "x", partial_response_strategy: "WARN", rules: [] }] } };
    assert.ok(validate(okStrategy), "(?i) is case-insensitive");
  });
});

// ---- promtool ------------------------------------------------------------------------------

describe("promtool check rules", () => {
  it("spoke rules (dev-01)", { skip: promtool.skipReason }, () => {
    const r = runTool("promtool", ["check", "rules", writeRuleFile("spoke-check.yaml", spokeGroups)]);
    assert.equal(r.status, 0, r.output);
  });
  it("spoke rules with overridden jobs and window", { skip: promtool.skipReason }, () => {
    const groups = spokeRuleGroups({ stack: "prod-01", jobs: { prometheus: "prometheus-k8s", thanosSidecar: "thanos-sidecar" }, noUploadWindow: "4h", errorRatio: 0.01, sliBase: false });
    const r = runTool("promtool", ["check", "rules", writeRuleFile("spoke-check-2.yaml", groups)]);
    assert.equal(r.status, 0, r.output);
  });
  it("hub rules (dev-01, prod-01, stag-01)", { skip: promtool.skipReason }, () => {
    const r = runTool("promtool", ["check", "rules", writeRuleFile("hub-check.yaml", hubGroups)]);
    assert.equal(r.status, 0, r.output);
  });
});

describe("promtool test rules: spoke pipeline-alive alerts", () => {
  const ns = "monitoring";
  const sidecar = { job: "kps-thanos-discovery", namespace: ns };
  const s = (metric: string, labels: Record<string, string>): string => `${metric}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`;

  const cases: AlertCase[] = [
    { alert: "Watchdog", interval: "1m", evalTime: "5m", series: [], firing: [{}] },
    {
      alert: "ThanosSidecarUploadFailures",
      interval: "1m",
      evalTime: "40m",
      series: [
        { series: s("thanos_shipper_upload_failures_total", { ...sidecar, instance: "10.0.0.1:10902" }), values: "0+1x60" },
        { series: s("thanos_shipper_upload_failures_total", { ...sidecar, instance: "10.0.0.2:10902" }), values: "0x60" },
      ],
      firing: [{ ...sidecar, instance: "10.0.0.1:10902" }],
    },
    {
      alert: "ThanosSidecarNoUpload",
      interval: "5m",
      evalTime: "4h",
      series: [
        // stuck: up, old enough, nothing shipped
        { series: s("thanos_shipper_uploads_total", { ...sidecar, instance: "stuck:10902" }), values: "3x60" },
        { series: s("up", { ...sidecar, instance: "stuck:10902" }), values: "1x60" },
        { series: s("process_start_time_seconds", { ...sidecar, instance: "stuck:10902" }), values: "0x60" },
        // healthy: shipping
        { series: s("thanos_shipper_uploads_total", { ...sidecar, instance: "healthy:10902" }), values: "0+1x60" },
        { series: s("up", { ...sidecar, instance: "healthy:10902" }), values: "1x60" },
        { series: s("process_start_time_seconds", { ...sidecar, instance: "healthy:10902" }), values: "0x60" },
        // young: started 2h in, its first block is not due yet
        { series: s("thanos_shipper_uploads_total", { ...sidecar, instance: "young:10902" }), values: "0x60" },
        { series: s("up", { ...sidecar, instance: "young:10902" }), values: "1x60" },
        { series: s("process_start_time_seconds", { ...sidecar, instance: "young:10902" }), values: "7200x60" },
        // down: another alert's business
        { series: s("thanos_shipper_uploads_total", { ...sidecar, instance: "down:10902" }), values: "3x60" },
        { series: s("up", { ...sidecar, instance: "down:10902" }), values: "0x60" },
        { series: s("process_start_time_seconds", { ...sidecar, instance: "down:10902" }), values: "0x60" },
      ],
      firing: [{ ...sidecar, instance: "stuck:10902" }],
    },
    {
      alert: "ThanosCompactHalted",
      interval: "1m",
      evalTime: "10m",
      series: [
        { series: s("thanos_compact_halted", { job: "thanos-compact-metrics", namespace: ns, instance: "10.0.1.1:10902" }), values: "1x20" },
        { series: s("thanos_compact_halted", { job: "thanos-compact-logs", namespace: ns, instance: "10.0.1.2:10902" }), values: "0x20" },
      ],
      firing: [{ job: "thanos-compact-metrics", namespace: ns, instance: "10.0.1.1:10902" }],
    },
    {
      alert: "ThanosBucketOperationsFailing",
      interval: "1m",
      evalTime: "30m",
      series: [
        { series: s("thanos_objstore_bucket_operations_total", { job: "thanos-store", namespace: ns, instance: "a:10902", operation: "get" }), values: "0+100x60" },
        { series: s("thanos_objstore_bucket_operation_failures_total", { job: "thanos-store", namespace: ns, instance: "a:10902", operation: "get" }), values: "0+10x60" },
        { series: s("thanos_objstore_bucket_operations_total", { ...sidecar, instance: "b:10902", operation: "upload" }), values: "0+100x60" },
        { series: s("thanos_objstore_bucket_operation_failures_total", { ...sidecar, instance: "b:10902", operation: "upload" }), values: "0+1x60" },
      ],
      firing: [{ job: "thanos-store", namespace: ns, instance: "a:10902" }],
    },
    {
      alert: "LokiPushErrors",
      interval: "1m",
      evalTime: "30m",
      series: [
        { series: s("loki_request_duration_seconds_count", { job: "monitoring/loki", namespace: ns, route: "loki_api_v1_push", status_code: "500" }), values: "0+10x60" },
        { series: s("loki_request_duration_seconds_count", { job: "monitoring/loki", namespace: ns, route: "loki_api_v1_push", status_code: "204" }), values: "0+90x60" },
        // 1% push errors and failing queries: not an ingestion problem
        { series: s("loki_request_duration_seconds_count", { job: "logs/loki", namespace: "logs", route: "loki_api_v1_push", status_code: "503" }), values: "0+1x60" },
        { series: s("loki_request_duration_seconds_count", { job: "logs/loki", namespace: "logs", route: "loki_api_v1_push", status_code: "204" }), values: "0+99x60" },
        { series: s("loki_request_duration_seconds_count", { job: "logs/loki", namespace: "logs", route: "loki_api_v1_query_range", status_code: "500" }), values: "0+100x60" },
      ],
      firing: [{ job: "monitoring/loki", namespace: ns }],
    },
    {
      alert: "LokiDiscardingSamples",
      interval: "1m",
      evalTime: "40m",
      series: [
        { series: s("loki_discarded_samples_total", { job: "monitoring/loki", namespace: ns, reason: "rate_limited", tenant: "fake" }), values: "0+5x60" },
        { series: s("loki_discarded_samples_total", { job: "monitoring/loki", namespace: ns, reason: "line_too_long", tenant: "fake" }), values: "0x60" },
      ],
      firing: [{ job: "monitoring/loki", namespace: ns, reason: "rate_limited" }],
    },
    {
      alert: "AlloyLokiWriteDroppingEntries",
      interval: "1m",
      evalTime: "20m",
      series: [
        { series: s("loki_write_dropped_entries_total", { job: "monitoring/alloy", namespace: ns, instance: "node-1:12345", reason: "ingester_error", component_id: "loki.write.default" }), values: "0+3x30" },
        { series: s("loki_write_dropped_entries_total", { job: "monitoring/alloy", namespace: ns, instance: "node-2:12345", reason: "ingester_error", component_id: "loki.write.default" }), values: "0x30" },
      ],
      firing: [{ job: "monitoring/alloy", namespace: ns, instance: "node-1:12345" }],
    },
    {
      alert: "PrometheusSelfScrapeAbsent",
      interval: "1m",
      evalTime: "15m",
      series: [{ series: s("up", { job: "node-exporter", namespace: ns, instance: "n:9100" }), values: "1x20" }],
      firing: [{}],
    },
    {
      alert: "PrometheusSelfScrapeAbsent",
      interval: "1m",
      evalTime: "15m",
      series: [{ series: s("up", { job: "kps-prometheus", namespace: ns, instance: "10.0.2.1:9090" }), values: "1x20" }],
      firing: [],
    },
    {
      alert: "PrometheusSelfScrapeFailing",
      interval: "1m",
      evalTime: "15m",
      series: [
        { series: s("up", { job: "kps-prometheus", namespace: ns, instance: "10.0.2.1:9090", endpoint: "http-web" }), values: "0x20" },
        { series: s("up", { job: "kps-prometheus", namespace: ns, instance: "10.0.2.2:9090", endpoint: "http-web" }), values: "1x20" },
      ],
      firing: [{ job: "kps-prometheus", namespace: ns, instance: "10.0.2.1:9090" }],
    },
  ];

  it("every spoke alert has a firing case and a silent series (guards this list)", () => {
    const alerts = spokeGroups.flatMap((g) => g.rules).filter(isAlertingRule).map((r) => r.alert);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alert === a);
      assert.ok(mine.some((c) => c.firing.length > 0), `${a} has a firing case`);
      if (a !== "Watchdog") assert.ok(mine.some((c) => c.series.length > c.firing.length || c.firing.length === 0), `${a} has a silent case`);
    }
  });

  it("each alert fires on its broken input and stays silent on the healthy one", { skip: promtool.skipReason }, () => {
    const file = writeRuleFile("spoke-test.yaml", spokeGroups);
    promtoolTest(file, cases.map((c) => alertTest(spokeGroups, c)), "spoke-alerts");
  });

  it("the 5m SLI building blocks: traffic-weighted rates, an explicit zero without 5xx, capped deployment availability", { skip: promtool.skipReason }, () => {
    const file = writeRuleFile("spoke-sli.yaml", spokeGroups);
    const api = (labels: Record<string, string>): string => s("apiserver_request_total", { job: "apiserver", ...labels });
    promtoolTest(
      file,
      [
        {
          interval: "1m",
          input_series: [
            { series: api({ verb: "GET", code: "200" }), values: "0+60x60" },
            { series: api({ verb: "GET", code: "500" }), values: "0+6x60" },
            { series: s("apiserver_request_duration_seconds_count", { job: "apiserver", verb: "GET" }), values: "0+60x60" },
            { series: s("apiserver_request_duration_seconds_bucket", { job: "apiserver", verb: "GET", le: "1" }), values: "0+54x60" },
            // Prometheus 3 spelling of the same bound
            { series: s("apiserver_request_duration_seconds_count", { job: "apiserver", verb: "LIST" }), values: "0+6x60" },
            { series: s("apiserver_request_duration_seconds_bucket", { job: "apiserver", verb: "LIST", le: "1.0" }), values: "0+6x60" },
            // watches last minutes by design: excluded
            { series: s("apiserver_request_duration_seconds_count", { job: "apiserver", verb: "WATCH" }), values: "0+600x60" },
            { series: s("kube_deployment_spec_replicas", { job: "kube-state-metrics", namespace: "a", deployment: "web" }), values: "3x60" },
            { series: s("kube_deployment_status_replicas_available", { job: "kube-state-metrics", namespace: "a", deployment: "web" }), values: "4x60" },
            { series: s("kube_deployment_spec_replicas", { job: "kube-state-metrics", namespace: "a", deployment: "api" }), values: "2x60" },
            { series: s("kube_deployment_status_replicas_available", { job: "kube-state-metrics", namespace: "a", deployment: "api" }), values: "1x60" },
          ],
          promql_expr_test: [
            { expr: SLI_BASE.requests, eval_time: "30m", exp_samples: [{ labels: SLI_BASE.requests, value: 1.1 }] },
            { expr: SLI_BASE.errors, eval_time: "30m", exp_samples: [{ labels: SLI_BASE.errors, value: 0.1 }] },
            { expr: SLI_BASE.latencyCount, eval_time: "30m", exp_samples: [{ labels: SLI_BASE.latencyCount, value: 1.1 }] },
            { expr: SLI_BASE.latencyFast, eval_time: "30m", exp_samples: [{ labels: SLI_BASE.latencyFast, value: 1 }] },
            { expr: SLI_BASE.deploymentSpec, eval_time: "30m", exp_samples: [{ labels: SLI_BASE.deploymentSpec, value: 5 }] },
            { expr: SLI_BASE.deploymentAvailable, eval_time: "30m", exp_samples: [{ labels: SLI_BASE.deploymentAvailable, value: 4 }] },
          ],
        },
        {
          interval: "1m",
          input_series: [{ series: api({ verb: "GET", code: "200" }), values: "0+60x60" }],
          promql_expr_test: [{ expr: SLI_BASE.errors, eval_time: "30m", exp_samples: [{ labels: SLI_BASE.errors, value: 0 }] }],
        },
      ],
      "spoke-sli",
    );
  });
});

describe("promtool test rules: hub", () => {
  const hubWatchdog = findAlert(hubGroups, "Watchdog");
  const spokeAlert = (name: string, spoke: (typeof SPOKES)[number]): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } => {
    const rule = hubGroups.flatMap((g) => g.rules).filter(isAlertingRule).find((r) => r.alert === name && r.labels.cluster === spoke.name);
    assert.ok(rule !== undefined);
    return expected(rule, { cluster: spoke.name });
  };
  const [dev, prod, stag] = SPOKES;

  it("a silent spoke fires, a healthy one does not; a reachable spoke without heartbeat fires only the heartbeat alert", { skip: promtool.skipReason }, () => {
    const file = writeRuleFile("hub-test.yaml", hubGroups);
    const replica = "prometheus-kps-prometheus-0";
    promtoolTest(
      file,
      [
        {
          interval: "1m",
          input_series: [
            // dev-01: healthy, heartbeat served by its sidecar with external labels
            { series: `ALERTS{alertname="Watchdog",alertstate="firing",severity="none",watchdog="spoke",cluster="dev-01",environment="dev",prometheus_replica="${replica}"}`, values: "1x30" },
            { series: `up{job="apiserver",cluster="dev-01",environment="dev",prometheus_replica="${replica}"}`, values: "1x30" },
            // stag-01: reachable, but its rule evaluation stopped
            { series: `up{job="apiserver",cluster="stag-01",environment="stag",prometheus_replica="${replica}"}`, values: "1x30" },
            // prod-01: nothing at all
          ],
          alert_rule_test: [
            { eval_time: "15m", alertname: "Watchdog", exp_alerts: [expected(hubWatchdog, {})] },
            { eval_time: "15m", alertname: "SpokeUnreachable", exp_alerts: [spokeAlert("SpokeUnreachable", prod)] },
            { eval_time: "15m", alertname: "SpokeWatchdogMissing", exp_alerts: [spokeAlert("SpokeWatchdogMissing", prod), spokeAlert("SpokeWatchdogMissing", stag)] },
            // `for: 5m` has not elapsed yet
            { eval_time: "3m", alertname: "SpokeUnreachable", exp_alerts: [] },
          ],
        },
      ],
      "hub-meta",
    );
    assert.ok(dev.name === "dev-01");
  });

  it("7d and 90d SLIs are traffic-weighted averages of the spokes' 5m series (through the hourly rollups), robust to the HA pair", { skip: promtool.skipReason }, () => {
    // Only the SLI groups, evaluated hourly instead of every 5m: the values at the checked
    // instant are the same, and promtool steps through a week 168 times instead of 10080.
    const sliGroups = hubGroups.filter((g) => g.name.startsWith("sli.")).map((g) => ({ ...g, interval: "1h" }));
    assert.equal(sliGroups.length, 2 * SPOKES.length, "a rollup group and a window group per spoke");
    const file = writeRuleFile("hub-sli.yaml", sliGroups);
    const base = (name: string, replica: string): string => `${name}{cluster="dev-01",environment="dev",prometheus_replica="prometheus-kps-prometheus-${replica}"}`;
    const both = (name: string, values: string): { series: string; values: string }[] => ["0", "1"].map((r) => ({ series: base(name, r), values }));
    // 168 hourly samples: 84h at 2 req/s without errors, then 84h at 1 req/s with 0.3 errors/s.
    // Traffic-weighted availability is 1 - 0.15/1.5 = 0.9; averaging ratios would give 0.85.
    const identity = `cluster="dev-01",cloud="aws",environment="dev",region="eu-central-1"`;
    // Rounded to 0.01: that separates the traffic-weighted 0.90 from the ratio average 0.85, and
    // tolerates how promtool 2.x's closed ranges blend one coarse hourly test sample at the transition.
    const exp = (record: string, value: number): object => ({ expr: `round(${record}, 0.01)`, eval_time: "167h", exp_samples: [{ labels: `{${identity}}`, value }] });
    promtoolTest(
      file,
      [
        {
          interval: "1h",
          input_series: [
            ...both(SLI_BASE.requests, "2x83 1x83"),
            ...both(SLI_BASE.errors, "0x83 0.3x83"),
            ...both(SLI_BASE.latencyCount, "2x83 1x83"),
            ...both(SLI_BASE.latencyFast, "2x83 0.7x83"),
            ...both(SLI_BASE.deploymentSpec, "10x167"),
            ...both(SLI_BASE.deploymentAvailable, "10x83 8x83"),
          ],
          promql_expr_test: [
            exp(sliNames("7d").availability, 0.9),
            exp(sliNames("90d").availability, 0.9),
            exp(sliNames("7d").latency, 0.9),
            exp(sliNames("30d").deployments, 0.9),
            // another spoke's series never leaks into dev-01's group
            { expr: `${sliNames("7d").availability}{cluster="prod-01"}`, eval_time: "167h", exp_samples: [] },
          ],
        },
      ],
      "hub-sli",
      "1h",
    );
  });
});

// ---- amtool --------------------------------------------------------------------------------

describe("amtool", () => {
  const spokeAm = spokeAlertmanagerConfig({ receiverUrl: "https://hooks.example/spoke/TOKEN", deadMansSwitchUrl: "https://dms.example/ping/spoke" });
  const hubAm = hubAlertmanagerConfig({ prodUrl: "https://hooks.example/prod", nonProdUrl: "https://hooks.example/nonprod", deadMansSwitchUrl: "https://dms.example/ping/hub" });
  const write = (name: string, v: object): string => {
    const p = join(dir, name);
    writeFileSync(p, toYaml(v));
    return p;
  };
  const routes = (file: string, labels: string[]): string[] => {
    const r = runTool("amtool", ["config", "routes", "test", `--config.file=${file}`, ...labels]);
    assert.equal(r.status, 0, r.output);
    const line = r.output.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("Warning")).pop() ?? "";
    return line.split(",").map((x) => x.trim());
  };

  it("check-config passes on both configs", { skip: amtool.skipReason }, () => {
    for (const [name, cfg] of [["spoke-am.yaml", spokeAm], ["hub-am.yaml", hubAm]] as const) {
      const r = runTool("amtool", ["check-config", write(name, cfg)]);
      assert.equal(r.status, 0, r.output);
    }
  });

  it("spoke: the Watchdog reaches only the dead-man's switch, everything else the spoke receiver", { skip: amtool.skipReason }, () => {
    const file = write("spoke-am-routes.yaml", spokeAm);
    assert.deepEqual(routes(file, ["alertname=Watchdog", "severity=none"]), [RECEIVERS.deadMansSwitch]);
    assert.deepEqual(routes(file, ["alertname=ThanosSidecarNoUpload", "severity=critical"]), [RECEIVERS.spoke]);
  });

  it("hub: the Watchdog reaches only the dead-man's switch, prod the prod receiver, others non-prod, spoke heartbeats nobody", { skip: amtool.skipReason }, () => {
    const file = write("hub-am-routes.yaml", hubAm);
    assert.deepEqual(routes(file, ["alertname=Watchdog"]), [RECEIVERS.deadMansSwitch]);
    assert.deepEqual(routes(file, ["alertname=Watchdog", "watchdog=hub", "severity=none"]), [RECEIVERS.deadMansSwitch]);
    assert.deepEqual(routes(file, ["alertname=Watchdog", "watchdog=spoke", "cluster=prod-01", "environment=prod"]), [RECEIVERS.discard]);
    assert.deepEqual(routes(file, ["alertname=SpokeUnreachable", "cluster=prod-01", "environment=prod", "severity=critical"]), [RECEIVERS.prod]);
    assert.deepEqual(routes(file, ["alertname=SpokeUnreachable", "cluster=dev-01", "environment=dev", "severity=critical"]), [RECEIVERS.nonProd]);
    assert.deepEqual(routes(file, ["alertname=KubePodCrashLooping", "cluster=stag-01", "environment=stag"]), [RECEIVERS.nonProd]);
  });

  it("the forwarding entry loads as a Prometheus alertmanagers entry", { skip: promtool.skipReason }, () => {
    const certFile = join(dir, "tls.crt");
    const keyFile = join(dir, "tls.key");
    const caFile = join(dir, "ca.crt");
    for (const f of [certFile, keyFile, caFile]) writeFileSync(f, "placeholder\n");
    const entry = prometheusAdditionalAlertmanager({ url: "https://alertmanager.ops.example", tlsCertFile: certFile, keyFile, caFile, serverName: "alertmanager.ops.example" });
    // The pinned promtool is the Prometheus the chart runs, so the whole entry, per-Alertmanager
    // alert relabelling included, is checked by the version that will load it.
    assert.match(runTool("promtool", ["--version"]).output, new RegExp(`version ${CHART_APP_VERSIONS.prometheus.slice(1).replace(/\./g, "\\.")}`));
    assert.ok(entry.alert_relabel_configs !== undefined);
    const config = { global: { external_labels: { cluster: "dev-01" } }, alerting: { alertmanagers: [entry] } };
    const r = runTool("promtool", ["check", "config", "--syntax-only", write("prometheus.yaml", config)]);
    assert.equal(r.status, 0, r.output);
  });
});
