/**
 * Alert and recording rules, as pure renderers.
 *
 * Spokes evaluate a small "is my pipeline alive?" set next to the data (Prometheus of the
 * spoke), plus the 5-minute SLI building blocks. The hub's Thanos Ruler watches every spoke's
 * heartbeat through the global query and turns the spokes' 5-minute series into 7/30/90-day
 * SLIs. Recording the 5-minute series on the spoke keeps the intermediate data in the spoke's
 * own bucket (sovereignty), keeps it complete while the hub is down, and makes a 90-day window
 * a scan of a handful of pre-aggregated series instead of every raw apiserver series.
 */
import type { AlertingRule, PrometheusRuleObject, RecordingRule, RuleGroup, Severity } from "./types";

/** Label values end up inside PromQL string literals: refuse anything that could escape them. */
const LABEL_VALUE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

function checkName(kind: string, value: string): string {
  if (!LABEL_VALUE.test(value)) throw new Error(`${kind} '${value}' must be a lowercase DNS label (it is used inside PromQL matchers)`);
  return value;
}

function checkRegex(kind: string, value: string): string {
  if (value.length === 0 || /["\\\n]/.test(value)) throw new Error(`${kind} selector '${value}' must be a non-empty regular expression without quotes, backslashes or newlines`);
  try {
    new RegExp(`^(?:${value})$`);
  } catch (e) {
    throw new Error(`${kind} selector '${value}' is not a valid regular expression: ${(e as Error).message}`);
  }
  return value;
}

/** Seconds of a Prometheus duration (`3h`, `1h30m`). */
export function durationSeconds(d: string): number {
  if (!DURATION.test(d)) throw new Error(`'${d}' is not a Prometheus duration`);
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  let total = 0;
  for (const m of d.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}

/**
 * Job-label regular expressions of the scrape jobs the spoke rules watch. The defaults match
 * the names kube-prometheus-stack, the Loki and Alloy charts and this project's Thanos
 * services produce whatever the release name, so a renamed release does not silence them.
 */
export interface SpokeJobSelectors {
  /** Prometheus scraping itself (`<fullname>-prometheus`). */
  prometheus: string;
  /** The Thanos sidecar; kube-prometheus-stack scrapes it through its `thanos-discovery` service. */
  thanosSidecar: string;
  /** The Thanos compactor. */
  thanosCompact: string;
  /** Every Thanos component talking to the bucket (sidecar, compactor, store gateway). */
  thanos: string;
  /** Loki (all targets: single binary, write path or distributor). */
  loki: string;
  /** Alloy, the node log agent. */
  alloy: string;
  /** The Kubernetes API server as kube-prometheus-stack names it. */
  apiserver: string;
  /** kube-state-metrics. */
  kubeStateMetrics: string;
}

/** Default job selectors (see {@link SpokeJobSelectors}). */
export const DEFAULT_SPOKE_JOBS: Readonly<SpokeJobSelectors> = {
  prometheus: ".*-prometheus",
  thanosSidecar: ".*thanos-(sidecar|discovery).*",
  thanosCompact: ".*thanos-compact.*",
  thanos: ".*thanos.*",
  loki: ".*loki.*",
  alloy: ".*alloy.*",
  apiserver: "apiserver",
  kubeStateMetrics: ".*kube-state-metrics.*",
};

/** Parameters of {@link spokeRuleGroups}. */
export interface SpokeRuleParams {
  /** The spoke stack; equal to its `cluster` external label. Named in every annotation. */
  stack: string;
  /** Overrides of the default job selectors. */
  jobs?: Partial<SpokeJobSelectors>;
  /** A sidecar with no successful upload for this long alerts (default `3h`: blocks are cut every 2h). */
  noUploadWindow?: string;
  /** Failed share of bucket operations, and of Loki pushes, above which the pipeline is failing (default 0.05). */
  errorRatio?: number;
  /** Base of runbook links (`<base>#<alertname lowercased>`); omitted when not set. */
  runbookBaseUrl?: string;
  /** Also render the 5-minute SLI building blocks the hub aggregates (default true). */
  sliBase?: boolean;
}

/**
 * Names of the 5-minute series spokes record and the hub aggregates. One place, because a
 * rename on one side only would make every long-window SLI silently empty.
 */
export const SLI_BASE = {
  requests: "cluster:apiserver_requests:rate5m",
  errors: "cluster:apiserver_request_errors:rate5m",
  latencyCount: "cluster:apiserver_request_duration_seconds_count:rate5m",
  latencyFast: "cluster:apiserver_request_duration_seconds_le1:rate5m",
  deploymentSpec: "cluster:kube_deployment_spec_replicas:sum",
  deploymentAvailable: "cluster:kube_deployment_status_replicas_available:sum",
} as const;

/** The long windows of the global SLIs. */
export const SLI_WINDOWS = ["7d", "30d", "90d"] as const;

/** Names of the global SLI series the hub records for one window. */
export function sliNames(window: (typeof SLI_WINDOWS)[number]): { availability: string; latency: string; deployments: string } {
  return {
    availability: `cluster:apiserver_availability:ratio_rate${window}`,
    latency: `cluster:apiserver_latency_le1s:ratio_rate${window}`,
    deployments: `cluster:kube_deployment_availability:ratio_avg${window}`,
  };
}

function annotations(runbookBaseUrl: string | undefined, alert: string, summary: string, description: string): AlertingRule["annotations"] {
  return runbookBaseUrl === undefined ? { summary, description } : { summary, description, runbook_url: `${runbookBaseUrl}#${alert.toLowerCase()}` };
}

function alert(p: { name: string; expr: string; for?: string; severity: Severity; labels?: Record<string, string>; summary: string; description: string; runbookBaseUrl?: string }): AlertingRule {
  const rule: AlertingRule = {
    alert: p.name,
    expr: p.expr,
    labels: { ...p.labels, severity: p.severity },
    annotations: annotations(p.runbookBaseUrl, p.name, p.summary, p.description),
  };
  if (p.for !== undefined) rule.for = p.for;
  return rule;
}

/**
 * Pipeline-alive rules of one spoke, for its Prometheus (PrometheusRule `spec.groups`).
 *
 * The spoke's Prometheus attaches its external labels (`cluster`, `environment`, ...) to every
 * alert it sends and the sidecar attaches them to every series it serves, so the rules set no
 * identity labels themselves: a `cluster` label on a rule would compete with the external one.
 */
export function spokeRuleGroups(params: SpokeRuleParams): RuleGroup[] {
  const stack = checkName("stack", params.stack);
  const jobs: SpokeJobSelectors = { ...DEFAULT_SPOKE_JOBS, ...params.jobs };
  for (const [k, v] of Object.entries(jobs)) checkRegex(k, v);
  const window = params.noUploadWindow ?? "3h";
  const windowSeconds = durationSeconds(window);
  if (windowSeconds < 2 * 3600) throw new Error(`noUploadWindow ${window} is shorter than the 2h block cadence: every sidecar would alert`);
  const ratio = params.errorRatio ?? 0.05;
  if (!(ratio > 0 && ratio < 1)) throw new Error(`errorRatio ${ratio} must be between 0 and 1`);
  const rb = params.runbookBaseUrl;
  const sel = (name: keyof SpokeJobSelectors): string => `job=~"${jobs[name]}"`;
  const by = "namespace, job, instance";
  const pushRoutes = `route=~"loki_api_v1_push|api_prom_push|otlp_v1_logs"`;

  const heartbeat: RuleGroup = {
    name: "pipeline-alive.heartbeat",
    rules: [
      alert({
        name: "Watchdog",
        expr: "vector(1)",
        severity: "none",
        // The hub's Alertmanager tells spoke heartbeats apart from its own by this label.
        labels: { watchdog: "spoke" },
        runbookBaseUrl: rb,
        summary: `Heartbeat of the alerting pipeline of ${stack}; always firing.`,
        description: `Always firing while Prometheus on ${stack} evaluates rules and reaches its Alertmanager. It is routed only to the external dead-man's switch, which pages when the heartbeat stops arriving.`,
      }),
    ],
  };

  const thanos: RuleGroup = {
    name: "pipeline-alive.thanos",
    rules: [
      alert({
        name: "ThanosSidecarUploadFailures",
        expr: `sum by (${by}) (increase(thanos_shipper_upload_failures_total{${sel("thanosSidecar")}}[15m])) > 0`,
        for: "15m",
        severity: "warning",
        runbookBaseUrl: rb,
        summary: `Thanos sidecar on ${stack} fails to upload blocks to the metrics bucket.`,
        description: `Sidecar {{ $labels.instance }} (job {{ $labels.job }}) has failed block uploads for 15 minutes. Check its bucket credentials and the bucket's network rules; blocks not uploaded before local retention expires are lost.`,
      }),
      alert({
        name: "ThanosSidecarNoUpload",
        // Joined with `up` so sidecars that no longer exist do not alert from their old
        // series, and with the process age so a sidecar younger than the window (its first
        // block is cut about 3h after start) does not alert either.
        expr: [
          `(sum by (${by}) (increase(thanos_shipper_uploads_total{${sel("thanosSidecar")}}[${window}])) == 0)`,
          `and on (${by}) (max by (${by}) (up{${sel("thanosSidecar")}}) == 1)`,
          `and on (${by}) (min by (${by}) (time() - process_start_time_seconds{${sel("thanosSidecar")}}) > ${windowSeconds})`,
        ].join("\n"),
        for: "15m",
        severity: "critical",
        runbookBaseUrl: rb,
        summary: `Thanos sidecar on ${stack} has uploaded no block for ${window}.`,
        description: `Sidecar {{ $labels.instance }} (job {{ $labels.job }}) is up but shipped nothing to the metrics bucket in ${window}. Long-term history of ${stack} stops here, and local blocks are deleted once Prometheus retention passes.`,
      }),
      alert({
        name: "ThanosCompactHalted",
        expr: `max by (${by}) (thanos_compact_halted{${sel("thanosCompact")}}) == 1`,
        for: "5m",
        severity: "warning",
        runbookBaseUrl: rb,
        summary: `Thanos compactor on ${stack} has halted.`,
        description: `Compactor {{ $labels.instance }} (job {{ $labels.job }}) halted on an error: it no longer compacts, downsamples or applies retention to the metrics bucket of ${stack}. Its logs name the offending block.`,
      }),
      alert({
        name: "ThanosBucketOperationsFailing",
        expr: [
          `(sum by (${by}) (rate(thanos_objstore_bucket_operation_failures_total{${sel("thanos")}}[5m]))`,
          `/ sum by (${by}) (rate(thanos_objstore_bucket_operations_total{${sel("thanos")}}[5m]))) > ${ratio}`,
        ].join("\n"),
        for: "15m",
        severity: "critical",
        runbookBaseUrl: rb,
        summary: `Thanos bucket operations fail on ${stack}.`,
        description: `More than ${ratio * 100}% of the object-store operations of {{ $labels.job }} ({{ $labels.instance }}) fail. Check the bucket, its credentials and its network rules.`,
      }),
    ],
  };

  const logs: RuleGroup = {
    name: "pipeline-alive.logs",
    rules: [
      alert({
        name: "LokiPushErrors",
        expr: [
          `(sum by (namespace, job) (rate(loki_request_duration_seconds_count{${sel("loki")}, ${pushRoutes}, status_code=~"5.."}[5m]))`,
          `/ sum by (namespace, job) (rate(loki_request_duration_seconds_count{${sel("loki")}, ${pushRoutes}}[5m]))) > ${ratio}`,
        ].join("\n"),
        for: "15m",
        severity: "critical",
        runbookBaseUrl: rb,
        summary: `Loki on ${stack} rejects log pushes.`,
        description: `More than ${ratio * 100}% of the pushes to {{ $labels.job }} fail with a server error. Agents retry and then drop: logs of ${stack} are being lost.`,
      }),
      alert({
        name: "LokiDiscardingSamples",
        expr: `sum by (namespace, job, reason) (increase(loki_discarded_samples_total{${sel("loki")}}[15m])) > 0`,
        for: "15m",
        severity: "warning",
        runbookBaseUrl: rb,
        summary: `Loki on ${stack} discards log lines.`,
        description: `{{ $labels.job }} discards log lines (reason {{ $labels.reason }}): limits or too-old entries. Those lines are not stored.`,
      }),
      alert({
        name: "AlloyLokiWriteDroppingEntries",
        expr: `sum by (${by}) (increase(loki_write_dropped_entries_total{${sel("alloy")}}[10m])) > 0`,
        for: "5m",
        severity: "critical",
        runbookBaseUrl: rb,
        summary: `Alloy on ${stack} drops log entries.`,
        description: `Alloy agent {{ $labels.instance }} gave up on log entries after retries: they never reach Loki.`,
      }),
    ],
  };

  const prometheus: RuleGroup = {
    name: "pipeline-alive.prometheus",
    rules: [
      alert({
        name: "PrometheusSelfScrapeAbsent",
        expr: `absent(up{${sel("prometheus")}})`,
        for: "10m",
        severity: "critical",
        runbookBaseUrl: rb,
        summary: `Prometheus on ${stack} does not scrape itself.`,
        description: `No target of the Prometheus job exists on ${stack}: its own ServiceMonitor is missing or selects nothing, so none of its health is visible.`,
      }),
      alert({
        name: "PrometheusSelfScrapeFailing",
        expr: `min by (${by}) (up{${sel("prometheus")}}) == 0`,
        for: "10m",
        severity: "warning",
        runbookBaseUrl: rb,
        summary: `A Prometheus replica on ${stack} cannot be scraped.`,
        description: `Target {{ $labels.instance }} of {{ $labels.job }} has been down for 10 minutes; the HA pair runs on one replica.`,
      }),
    ],
  };

  const groups = [heartbeat, thanos, logs, prometheus];
  if (params.sliBase ?? true) groups.push(spokeSliBaseGroup(jobs));
  return groups;
}

/**
 * The 5-minute SLI building blocks, recorded on the spoke. Numerators and denominators are
 * recorded separately so that the hub can average each over a long window and divide: the
 * ratio of averages weights every 5 minutes by its traffic, an average of ratios would not.
 */
function spokeSliBaseGroup(jobs: SpokeJobSelectors): RuleGroup {
  const api = `job=~"${jobs.apiserver}"`;
  const ksm = `job=~"${jobs.kubeStateMetrics}"`;
  // Long-running verbs are excluded from latency: a WATCH lasts as long as it is open.
  const timed = `${api}, verb!~"WATCH|CONNECT"`;
  const rules: RecordingRule[] = [
    { record: SLI_BASE.requests, expr: `sum(rate(apiserver_request_total{${api}}[5m]))` },
    // Without a 5xx the sum is empty; an explicit zero (only while there is traffic) keeps
    // the long-window division defined.
    {
      record: SLI_BASE.errors,
      expr: `sum(rate(apiserver_request_total{${api}, code=~"5.."}[5m]))\nor\n0 * sum(rate(apiserver_request_total{${api}}[5m]))`,
    },
    { record: SLI_BASE.latencyCount, expr: `sum(rate(apiserver_request_duration_seconds_count{${timed}}[5m]))` },
    // Prometheus 3 writes classic bucket bounds as floats (`1.0`), older versions as `1`.
    { record: SLI_BASE.latencyFast, expr: `sum(rate(apiserver_request_duration_seconds_bucket{${timed}, le=~"1|1[.]0"}[5m]))` },
    { record: SLI_BASE.deploymentSpec, expr: `sum(kube_deployment_spec_replicas{${ksm}})` },
    // min(available, spec) per deployment: surge replicas during a rollout must not lift
    // availability above 1, and a deployment whose status is missing counts as unavailable.
    {
      record: SLI_BASE.deploymentAvailable,
      expr: `sum(\n  kube_deployment_spec_replicas{${ksm}}\n  - clamp_min(kube_deployment_spec_replicas{${ksm}} - kube_deployment_status_replicas_available{${ksm}}, 0)\n)`,
    },
  ];
  return { name: "sli.base-5m", interval: "1m", rules };
}

/** One spoke as the hub knows it (its identity labels). */
export interface HubSpoke {
  name: string;
  environment: string;
  cloud: string;
  region: string;
}

/** Parameters of {@link hubRuleGroups}. */
export interface HubRuleParams {
  spokes: HubSpoke[];
  /** Base of runbook links, as for the spokes. */
  runbookBaseUrl?: string;
}

/**
 * Rules of the hub's Thanos Ruler: its own heartbeat, one heartbeat and one reachability alert
 * per spoke, and per spoke the 7/30/90-day SLIs.
 *
 * Spoke alerts carry `cluster`, `environment`, `cloud`, `region` from the hub's own config, so
 * they route correctly even when the spoke's data (and with it its labels) is what is missing.
 */
export function hubRuleGroups(params: HubRuleParams): RuleGroup[] {
  const seen = new Set<string>();
  for (const s of params.spokes) {
    checkName("spoke name", s.name);
    checkName(`environment of ${s.name}`, s.environment);
    checkName(`cloud of ${s.name}`, s.cloud);
    checkName(`region of ${s.name}`, s.region);
    if (seen.has(s.name)) throw new Error(`spoke '${s.name}' is listed twice`);
    seen.add(s.name);
  }
  const rb = params.runbookBaseUrl;
  const groups: RuleGroup[] = [
    {
      name: "meta.heartbeat",
      partial_response_strategy: "warn",
      rules: [
        alert({
          name: "Watchdog",
          expr: "vector(1)",
          severity: "none",
          labels: { watchdog: "hub" },
          runbookBaseUrl: rb,
          summary: "Heartbeat of the hub's global rule evaluation; always firing.",
          description: "Always firing while the hub's Thanos Ruler evaluates rules and reaches the hub Alertmanager. Routed only to the external dead-man's switch.",
        }),
      ],
    },
  ];
  if (params.spokes.length > 0) {
    groups.push({
      name: "meta.spokes",
      // With `abort` one unreachable spoke fails the whole evaluation and no spoke alert
      // fires at all; with `warn` the missing spoke's data is simply absent, which is
      // exactly what these rules look for.
      partial_response_strategy: "warn",
      rules: params.spokes.flatMap((s) => spokeDownAlerts(s, rb)),
    });
    for (const s of params.spokes) groups.push(...hubSliGroups(s));
  }
  return groups;
}

function spokeDownAlerts(s: HubSpoke, rb: string | undefined): AlertingRule[] {
  const labels = { cluster: s.name, environment: s.environment, cloud: s.cloud, region: s.region };
  return [
    alert({
      name: "SpokeUnreachable",
      expr: `absent(up{cluster="${s.name}"})`,
      for: "5m",
      severity: "critical",
      labels,
      runbookBaseUrl: rb,
      summary: `No series of spoke ${s.name} reach the hub.`,
      description: `The global query returns no 'up' series for ${s.name} (${s.cloud} ${s.region}): its Thanos endpoint, the network path from the hub's egress IPs, or mutual TLS is broken, or its Prometheus is gone.`,
    }),
    alert({
      name: "SpokeWatchdogMissing",
      // The spoke's Prometheus records its firing Watchdog as an ALERTS series; the
      // sidecar serves it with the spoke's external labels, so the hub can see it.
      expr: `absent(ALERTS{alertname="Watchdog", cluster="${s.name}"})`,
      for: "5m",
      severity: "critical",
      labels,
      runbookBaseUrl: rb,
      summary: `The heartbeat of spoke ${s.name} is missing.`,
      description: `The always-firing Watchdog of ${s.name} (${s.cloud} ${s.region}) is not visible through the global query: the spoke's rule evaluation or its query path has stopped.`,
    }),
  ];
}

/** Hourly rollups of the SLI base series, recorded by the hub's ruler into the hub's own bucket. */
export const SLI_ROLLUP = {
  requests: "cluster:apiserver_requests:rate5m_avg1h",
  errors: "cluster:apiserver_request_errors:rate5m_avg1h",
  latencyCount: "cluster:apiserver_request_duration_seconds_count:rate5m_avg1h",
  latencyFast: "cluster:apiserver_request_duration_seconds_le1:rate5m_avg1h",
  deploymentSpec: "cluster:kube_deployment_spec_replicas:sum_avg1h",
  deploymentAvailable: "cluster:kube_deployment_status_replicas_available:sum_avg1h",
} as const;

/**
 * Long-window SLIs of one spoke, in two stages. The ruler's instant queries read raw data, and a
 * spoke keeps raw blocks for weeks only (its compactor downsamples the rest), so a 90d window
 * over the spoke's own series would silently shrink to the spoke's raw retention. Stage one
 * therefore rolls the spoke's 5m series up over the last hour (needing one hour of spoke data);
 * those rollups are the hub's own data, uploaded raw to the hub's bucket where no compactor runs.
 * Stage two computes the 7/30/90d windows over the rollups. A group per spoke with the spoke's
 * `cluster` matcher: Thanos Query then asks only that spoke's endpoint, so `abort` (never record
 * an SLI from partial data) cannot let one dead spoke stop the SLIs of the others.
 */
function hubSliGroups(s: HubSpoke): RuleGroup[] {
  const c = `cluster="${s.name}"`;
  const labels = { environment: s.environment, cloud: s.cloud, region: s.region };
  const rollups: RecordingRule[] = (Object.keys(SLI_BASE) as (keyof typeof SLI_BASE)[]).map((k) => ({
    record: SLI_ROLLUP[k],
    expr: `sum by (cluster) (avg_over_time(${SLI_BASE[k]}{${c}}[1h]))`,
    labels,
  }));
  const avg = (series: string, w: string): string => `sum by (cluster) (avg_over_time(${series}{${c}}[${w}]))`;
  const windows: RecordingRule[] = SLI_WINDOWS.flatMap((w) => {
    const n = sliNames(w);
    return [
      { record: n.availability, expr: `1 - (\n  ${avg(SLI_ROLLUP.errors, w)}\n/\n  ${avg(SLI_ROLLUP.requests, w)}\n)`, labels },
      { record: n.latency, expr: `${avg(SLI_ROLLUP.latencyFast, w)}\n/\n${avg(SLI_ROLLUP.latencyCount, w)}`, labels },
      { record: n.deployments, expr: `${avg(SLI_ROLLUP.deploymentAvailable, w)}\n/\n${avg(SLI_ROLLUP.deploymentSpec, w)}`, labels },
    ];
  });
  // 5m keeps every SLI series fresh within the default 5m lookback of instant queries.
  return [
    // Hourly, over the last hour: consecutive rollups cover disjoint hours, so each hour counts once.
    { name: `sli.${s.name}.rollup`, interval: "1h", partial_response_strategy: "abort", rules: rollups },
    { name: `sli.${s.name}`, interval: "5m", partial_response_strategy: "abort", rules: windows },
  ];
}

/** Parameters of {@link prometheusRule}. */
export interface PrometheusRuleParams {
  name: string;
  namespace: string;
  /** Labels the Prometheus or ThanosRuler `ruleSelector` matches. */
  labels: Record<string, string>;
  groups: RuleGroup[];
}

/** Wraps rule groups into a PrometheusRule resource. */
export function prometheusRule(p: PrometheusRuleParams): PrometheusRuleObject {
  const names = p.groups.map((g) => g.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`rule group '${dup}' appears twice in PrometheusRule ${p.name}`);
  return { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: p.name, namespace: p.namespace, labels: p.labels }, spec: { groups: p.groups } };
}
