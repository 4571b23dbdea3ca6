/**
 * The fleet overview dashboard: per spoke of one environment, is it up, is it shipping
 * blocks, how much does it ingest, and how much query traffic leaves it. Rendered as JSON
 * for Grafana's file provisioning.
 */
import type { Json } from "./types";

/** Uid of the global Thanos (Prometheus-type) datasource the dashboard queries. */
export const THANOS_DATASOURCE_UID = "thanos-global";

/** What the dashboard of one environment needs to know. */
export interface FleetDashboardParams {
  environment: string;
  /** Spoke stack names of this environment (the `cluster` external label). */
  clusters: readonly string[];
  /** Namespace of the platform's workloads on the spokes. */
  namespace: string;
}

interface PanelSpec {
  title: string;
  unit: string;
  description: string;
  targets: { expr: string; legend: string }[];
}

function panel(spec: PanelSpec, id: number): Json {
  return {
    id,
    type: "timeseries",
    title: spec.title,
    description: spec.description,
    datasource: { type: "prometheus", uid: THANOS_DATASOURCE_UID },
    gridPos: { h: 8, w: 12, x: ((id - 1) % 2) * 12, y: Math.floor((id - 1) / 2) * 8 },
    fieldConfig: { defaults: { unit: spec.unit }, overrides: [] },
    options: { legend: { displayMode: "table", placement: "right", calcs: ["lastNotNull"] }, tooltip: { mode: "multi" } },
    targets: spec.targets.map((t, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: { type: "prometheus", uid: THANOS_DATASOURCE_UID },
      expr: t.expr,
      legendFormat: t.legend,
    })),
  };
}

/** Escapes a value for a PromQL regex inside a double-quoted string. */
function re(values: readonly string[]): string {
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&")).join("|");
}

/** The fleet overview of one environment, as a Grafana dashboard model. */
export function fleetDashboard(p: FleetDashboardParams): Json {
  // Selecting the listed clusters (not only the environment) keeps a stray spoke out of the fleet view.
  const sel = `environment="${p.environment}", cluster=~"${re(p.clusters)}"`;
  const panels: PanelSpec[] = [
    {
      title: "Targets up",
      unit: "percentunit",
      description: "Share of scrape targets up, per spoke. A spoke missing here is not reachable through the global query.",
      targets: [{ expr: `sum by (cluster) (up{${sel}}) / count by (cluster) (up{${sel}})`, legend: "{{cluster}}" }],
    },
    {
      title: "Block upload lag",
      unit: "s",
      description: "Seconds since each Prometheus replica's sidecar last shipped a block, and shipper failures; above ~3h the bucket is falling behind.",
      targets: [
        { expr: `time() - max by (cluster, prometheus_replica) (thanos_objstore_bucket_last_successful_upload_time{${sel}, container="thanos-sidecar"})`, legend: "{{cluster}} {{prometheus_replica}}" },
        { expr: `sum by (cluster) (increase(thanos_shipper_upload_failures_total{${sel}}[6h]))`, legend: "{{cluster}} failed uploads (6h)" },
        { expr: `sum by (cluster) (increase(thanos_shipper_uploads_total{${sel}}[6h]))`, legend: "{{cluster}} uploads (6h)" },
      ],
    },
    {
      title: "Loki ingestion",
      unit: "Bps",
      description: "Bytes per second received by each spoke's Loki distributors.",
      targets: [{ expr: `sum by (cluster) (rate(loki_distributor_bytes_received_total{${sel}}[5m]))`, legend: "{{cluster}}" }],
    },
    {
      title: "Query egress",
      unit: "Bps",
      description: "Bytes per second sent by the pods that answer the hub (Thanos query/store, sidecars, Loki gateway): what leaves each spoke on demand.",
      targets: [
        {
          expr: `sum by (cluster) (rate(container_network_transmit_bytes_total{${sel}, namespace="${p.namespace}", pod=~"thanos-query.*|thanos-store.*|prometheus-.*|loki-gateway.*"}[5m]))`,
          legend: "{{cluster}}",
        },
      ],
    },
  ];
  return {
    uid: `fleet-${p.environment}`,
    title: `Fleet overview (${p.environment})`,
    tags: ["sovereign-observability", "fleet", p.environment],
    timezone: "utc",
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: "1m",
    time: { from: "now-6h", to: "now" },
    templating: { list: [] },
    panels: panels.map((s, i) => panel(s, i + 1)),
  };
}
