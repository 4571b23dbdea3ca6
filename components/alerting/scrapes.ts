/**
 * What the spoke's Prometheus scrapes, as one table: the `job` label each scrape produces, what
 * creates it (a ServiceMonitor of this project, or a chart value), and the metric families its
 * target exports. The spoke program refuses rules that no scrape can feed
 * ({@link deadRuleSelectors}); the tests resolve the same table against the recorded plan.
 *
 * `job` of a ServiceMonitor target is the Service's name unless the monitor sets `jobLabel`
 * (prometheus-operator v0.93.1 ServiceMonitor CRD, `spec.jobLabel`: "If the value of this field
 * is empty or if the label doesn't exist for the given Service, the `job` label of the metrics
 * defaults to the name of the associated Kubernetes `Service`").
 */
import { RELEASES } from "../endpoints";
import type { RuleGroup } from "./types";

/** What creates a scrape. */
export type ScrapeOrigin =
  /** A ServiceMonitor of this project selecting the named Service (typed Thanos components). */
  | { kind: "servicemonitor"; service: string }
  /** A chart's own ServiceMonitor, rendered when every value path in `enabledBy` is true. */
  | { kind: "chart"; chart: "kube-prometheus-stack" | "loki" | "alloy"; enabledBy: readonly string[] };

/** One scrape job of the spoke's Prometheus. */
export interface SpokeScrape {
  /** The `job` label value of its series. */
  job: string;
  origin: ScrapeOrigin;
  /** Prefixes of the metric names its targets export (`up` and `scrape_*` exist for every job). */
  metrics: readonly string[];
}

/** What decides which scrapes a spoke has. */
export interface SpokeScrapeParams {
  namespace: string;
  lokiMode: "single-binary" | "simple-scalable";
  /** A store gateway runs on the spoke (`queryPath: spoke-query`). */
  spokeQuery: boolean;
  /** kube-proxy is scraped (`observability:kubeProxy`). */
  kubeProxy: boolean;
  /** The zone receiver runs (`receive.enabled`): its routers and ingesters are scraped. */
  receiver?: boolean;
}

/** Every Thanos component serves Go/process metrics and its objstore client metrics when it has one. */
const THANOS_COMMON = ["thanos_", "process_", "go_"] as const;

/**
 * The spoke's scrape jobs.
 *
 * kube-prometheus-stack 88.5.3 names: its Services are `<fullname>-<component>` with
 * `fullnameOverride: kps` (Prometheus `kps-prometheus`, sidecars `kps-thanos-discovery`); the
 * API server's ServiceMonitor uses `jobLabel: component` on the `kubernetes` Service (label
 * `component=apiserver`, values.yaml `kubeApiServer.serviceMonitor.jobLabel`); the
 * kube-state-metrics subchart's monitor uses `jobLabel: app.kubernetes.io/name`
 * (charts/kube-state-metrics/templates/servicemonitor.yaml), so its job is `kube-state-metrics`. Loki 18.11.0 prefixes the job with the
 * namespace (`monitoring.serviceMonitor.jobPrefix`). Alloy 1.11.1's monitor selects the Service
 * named after the release (templates/servicemonitor.yaml).
 */
export function spokeScrapes(p: SpokeScrapeParams): SpokeScrape[] {
  const kps = RELEASES.prometheus;
  const scrapes: SpokeScrape[] = [
    { job: `${kps}-prometheus`, origin: { kind: "chart", chart: "kube-prometheus-stack", enabledBy: ["prometheus.enabled", "prometheus.serviceMonitor.selfMonitor"] }, metrics: ["prometheus_", "process_", "go_", "net_conntrack_"] },
    { job: `${kps}-thanos-discovery`, origin: { kind: "chart", chart: "kube-prometheus-stack", enabledBy: ["prometheus.thanosService.enabled", "prometheus.thanosServiceMonitor.enabled"] }, metrics: [...THANOS_COMMON] },
    { job: "thanos-compact", origin: { kind: "servicemonitor", service: "thanos-compact" }, metrics: [...THANOS_COMMON] },
    { job: "thanos-query", origin: { kind: "servicemonitor", service: "thanos-query" }, metrics: [...THANOS_COMMON] },
    { job: "apiserver", origin: { kind: "chart", chart: "kube-prometheus-stack", enabledBy: ["kubeApiServer.enabled"] }, metrics: ["apiserver_", "process_", "go_", "etcd_", "rest_client_", "workqueue_"] },
    { job: "kube-state-metrics", origin: { kind: "chart", chart: "kube-prometheus-stack", enabledBy: ["kubeStateMetrics.enabled"] }, metrics: ["kube_"] },
    { job: `${p.namespace}/${p.lokiMode === "simple-scalable" ? `${RELEASES.loki}-write` : RELEASES.loki}`, origin: { kind: "chart", chart: "loki", enabledBy: ["monitoring.serviceMonitor.enabled"] }, metrics: ["loki_", "process_", "go_", "cortex_"] },
    { job: RELEASES.alloy, origin: { kind: "chart", chart: "alloy", enabledBy: ["service.enabled", "serviceMonitor.enabled"] }, metrics: ["alloy_", "loki_write_", "loki_source_", "process_", "go_"] },
  ];
  if (p.spokeQuery) scrapes.push({ job: "thanos-store", origin: { kind: "servicemonitor", service: "thanos-store" }, metrics: [...THANOS_COMMON] });
  if (p.receiver === true) {
    scrapes.push(
      { job: "thanos-receive-router", origin: { kind: "servicemonitor", service: "thanos-receive-router" }, metrics: [...THANOS_COMMON] },
      { job: "thanos-receive", origin: { kind: "servicemonitor", service: "thanos-receive" }, metrics: [...THANOS_COMMON, "prometheus_tsdb_"] },
    );
  }
  if (p.kubeProxy) scrapes.push({ job: "kube-proxy", origin: { kind: "chart", chart: "kube-prometheus-stack", enabledBy: ["kubeProxy.enabled", "kubeProxy.serviceMonitor.enabled"] }, metrics: ["kubeproxy_", "process_", "go_"] });
  return scrapes;
}

/** One `metric{matchers}` selector of a rule expression. */
export interface RuleSelector {
  rule: string;
  metric: string;
  /** The `job` matcher, as a full-match regular expression; undefined when the selector has none. */
  job?: RegExp;
}

/** Metric names Prometheus synthesises for every target or from rule evaluation. */
const SYNTHETIC = /^(up|scrape_.*|ALERTS|ALERTS_FOR_STATE)$/;
/** PromQL words that precede `{` only as part of a grouping, not as metric names. */
const NOT_METRICS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The `metric{...}` selectors of every rule of the groups (recorded series of the same groups excluded). */
export function ruleSelectors(groups: readonly RuleGroup[]): RuleSelector[] {
  const recorded = new Set(groups.flatMap((g) => g.rules.flatMap((r) => ("record" in r ? [r.record] : []))));
  const out: RuleSelector[] = [];
  for (const g of groups) {
    for (const r of g.rules) {
      const name = "alert" in r ? r.alert : r.record;
      for (const m of r.expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
        const metric = m[1];
        if (NOT_METRICS.has(metric) || recorded.has(metric)) continue;
        const job = /(?:^|,)\s*job\s*(=~|=)\s*"([^"]*)"/.exec(m[2]);
        out.push({ rule: name, metric, job: job === null ? undefined : new RegExp(`^(?:${job[1] === "=~" ? job[2] : escapeRegex(job[2])})$`) });
      }
    }
  }
  return out;
}

/** The scrapes that can feed one selector: a job the matcher admits, exporting the metric. */
export function feedingScrapes(sel: RuleSelector, scrapes: readonly SpokeScrape[]): SpokeScrape[] {
  return scrapes.filter((s) => (sel.job === undefined || sel.job.test(s.job)) && (SYNTHETIC.test(sel.metric) || s.metrics.some((prefix) => sel.metric.startsWith(prefix))));
}

/**
 * Selectors no scrape can feed, one sentence each: such a rule never fires (or records nothing).
 * Empty when every rule reads series some scrape produces.
 */
export function deadRuleSelectors(groups: readonly RuleGroup[], scrapes: readonly SpokeScrape[]): string[] {
  return ruleSelectors(groups)
    .filter((sel) => feedingScrapes(sel, scrapes).length === 0)
    .map((sel) => `rule ${sel.rule}: ${sel.metric}${sel.job !== undefined ? ` with job ${sel.job.source}` : ""} is produced by no scrape (jobs: ${scrapes.map((s) => s.job).join(", ")})`);
}
