/**
 * The zone spoke's view of its edges (issue 16, "Edge clusters"): an alert per edge that stops
 * writing to the spoke's receiver. Evaluated by the spoke's Prometheus, which scrapes the
 * receiver's routers; the edge's own dead man's switch (components/workloads/heartbeat.ts) covers
 * the edge side, this rule the receiving side, so an edge that is up but whose samples no longer
 * land (refused certificate, tenant dropped from the hashring, network) still alerts.
 *
 * The series: `thanos_receive_write_samples` is a histogram the receiver observes once per remote
 * write request it received over HTTP, labelled `code` (the HTTP status it answered) and `tenant`
 * (the tenant taken from the client certificate) (github.com/thanos-io/thanos, tag v0.42.4,
 * pkg/receive/handler.go: `writeSamplesTotal`, Namespace "thanos", Subsystem "receive", Name
 * "write_samples", labels `code`, `tenant`, observed at the end of `receiveHTTP`). Its `_sum`
 * counts samples; `code="200"` keeps only accepted writes (quorum reached). Only the routers
 * observe it: ingesters receive over gRPC. A tenant refused by the hashring is never observed
 * (the request fails before the per-tenant stats are computed), so a refused edge looks silent,
 * which is what it is.
 */
import { durationSeconds } from "./rules";
import type { AlertingRule, RuleGroup, Severity } from "./types";

/** The per-tenant counter of accepted samples (see the header). */
export const EDGE_WRITE_SERIES = "thanos_receive_write_samples_sum";

/** Parameters of {@link edgeRuleGroups}. */
export interface EdgeRuleParams {
  /** The spoke stack running the receiver; named in annotations. */
  stack: string;
  /** The edges attached to this receiver (its tenants); one alert per silent edge. */
  edges: readonly string[];
  /** Job-label regular expression of the receiver's routers (default `.*thanos-receive.*`). */
  job?: string;
  /** Window with no accepted sample before an edge counts as silent (default `10m`). */
  window?: string;
  /** How long it must stay silent before the alert fires (default `5m`). */
  for?: string;
  severity?: Exclude<Severity, "none">;
  runbookBaseUrl?: string;
}

/** Name of the alert. */
export const EDGE_SILENT_ALERT = "EdgeRemoteWriteSilent";

const LABEL_VALUE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The `edges` rule group of a zone spoke: {@link EDGE_SILENT_ALERT}, firing once per edge (labels
 * `tenant` and `edge`, both the edge's name) that had no accepted sample in `window`, for `for`.
 *
 * An edge with no series at all (never wrote since the routers started, or refused outright) is
 * covered by a zero per expected edge (`label_replace(vector(0), ...)`), which `or` drops for
 * every edge that has a series. Summing by tenant over routers, a request answered by any router
 * counts.
 */
export function edgeRuleGroups(p: EdgeRuleParams): RuleGroup[] {
  if (!LABEL_VALUE.test(p.stack)) throw new Error(`stack '${p.stack}' must be a lowercase DNS label`);
  if (p.edges.length === 0) return [];
  for (const e of p.edges) if (!LABEL_VALUE.test(e)) throw new Error(`edge '${e}' must be a lowercase DNS label (it is used inside PromQL matchers)`);
  if (new Set(p.edges).size !== p.edges.length) throw new Error("an edge is listed twice");
  const job = p.job ?? ".*thanos-receive.*";
  if (job.length === 0 || /["\\\n]/.test(job)) throw new Error(`job selector '${job}' must be a non-empty regular expression without quotes, backslashes or newlines`);
  const window = p.window ?? "10m";
  const pending = p.for ?? "5m";
  durationSeconds(pending);
  // increase() needs two samples inside the window; below 2m a 1m scrape would make it flap.
  if (durationSeconds(window) < 120) throw new Error(`window ${window} is too short: at least 2m (two scrapes) are needed`);
  const edges = [...p.edges].sort();
  const accepted = `sum by (tenant) (increase(${EDGE_WRITE_SERIES}{job=~"${job}", code="200", tenant=~"${edges.join("|")}"}[${window}]))`;
  const expected = edges.map((e) => `label_replace(vector(0), "tenant", "${e}", "", "")`);
  const expr = [`label_replace(`, `  (`, `    ${accepted}`, ...expected.map((x) => `    or ${x}`), `  ) == 0,`, `  "edge", "$1", "tenant", "(.*)"`, `)`].join("\n");
  const rule: AlertingRule = {
    alert: EDGE_SILENT_ALERT,
    expr,
    for: pending,
    labels: { severity: p.severity ?? "warning" },
    annotations: {
      summary: `Edge {{ $labels.edge }} has written nothing to the receiver of ${p.stack} for ${window}.`,
      description: `The zone receiver of ${p.stack} accepted no sample from tenant {{ $labels.tenant }} in ${window}. The edge is down, its agent cannot reach the receiver, or its writes are refused (client certificate, tenant not in the hashring). Its agent buffers in its WAL until the WAL's size limit; past that, samples are lost.`,
      ...(p.runbookBaseUrl !== undefined ? { runbook_url: `${p.runbookBaseUrl}#${EDGE_SILENT_ALERT.toLowerCase()}` } : {}),
    },
  };
  return [{ name: "zone-receiver.edges", rules: [rule] }];
}
