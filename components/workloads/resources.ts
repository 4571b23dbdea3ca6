/**
 * Container sizing per profile, and what a spoke asks of its cluster in total.
 *
 * One table for every container the platform runs, so that Helm values, typed Thanos
 * resources and capacity planning all read the same numbers. Requests are what the
 * scheduler reserves; limits cap a runaway process before it starves the node's other
 * tenants (we share the clusters we observe).
 */
import type { Profile } from "../config";

/** Requests and limits of one container, in Kubernetes quantity notation. */
export interface ContainerResources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/** Every container the platform runs, by role (not by image: config-reloader runs in several pods). */
export const CONTAINERS = [
  "prometheus",
  "thanos-sidecar",
  "alertmanager",
  "config-reloader",
  "operator",
  "webhook-certgen",
  "kube-state-metrics",
  "node-exporter",
  "thanos-query",
  "thanos-store",
  "thanos-compact",
  "thanos-query-frontend",
  "thanos-rule",
  /** The zone receiver's routers (stateless: decode, route, forward) and ingesters (a TSDB head per edge). */
  "thanos-receive-router",
  "thanos-receive",
  "loki-single-binary",
  "loki-read",
  "loki-write",
  "loki-backend",
  "loki-gateway",
  "alloy",
  "grafana",
  "tls-proxy",
  // An edge's containers: sized apart so an edge agent stays within its 512 MiB of requests
  // (components/workloads/values/edge.ts, edgeFootprint).
  "edge-prometheus-agent",
  "edge-config-reloader",
  "edge-operator",
  "edge-kube-state-metrics",
  "edge-node-exporter",
  "edge-alloy",
  "edge-heartbeat",
] as const;

/** A container role of {@link CONTAINERS}. */
export type ContainerName = (typeof CONTAINERS)[number];

/** Requests and limits as numbers: CPU in millicores, memory in MiB. */
interface Sizing {
  cpu: number;
  memory: number;
  cpuLimit: number;
  memoryLimit: number;
}

const s = (cpu: number, memory: number, cpuLimit: number, memoryLimit: number): Sizing => ({ cpu, memory, cpuLimit, memoryLimit });

/**
 * small: a dev cluster of a few nodes; medium: a typical shared cluster; large: a busy
 * production cluster (~1M active series, ~100 GB/day of logs). Memory limits sit well above
 * requests for the TSDB-heavy containers, whose usage spikes at head compaction.
 */
const TABLE: Record<ContainerName, Record<Profile, Sizing>> = {
  prometheus: { small: s(200, 1024, 1000, 2048), medium: s(500, 3072, 2000, 6144), large: s(1000, 8192, 4000, 16384) },
  "thanos-sidecar": { small: s(50, 128, 500, 512), medium: s(100, 256, 1000, 1024), large: s(200, 512, 2000, 2048) },
  alertmanager: { small: s(20, 64, 200, 128), medium: s(50, 128, 500, 256), large: s(100, 256, 1000, 512) },
  "config-reloader": { small: s(10, 32, 100, 64), medium: s(10, 32, 100, 64), large: s(20, 64, 200, 128) },
  operator: { small: s(50, 128, 500, 256), medium: s(100, 256, 1000, 512), large: s(200, 512, 1000, 1024) },
  "webhook-certgen": { small: s(10, 32, 100, 64), medium: s(10, 32, 100, 64), large: s(10, 32, 100, 64) },
  "kube-state-metrics": { small: s(20, 64, 200, 256), medium: s(50, 128, 500, 512), large: s(100, 256, 1000, 1024) },
  "node-exporter": { small: s(20, 32, 200, 64), medium: s(50, 64, 250, 128), large: s(100, 128, 500, 256) },
  "thanos-query": { small: s(100, 256, 1000, 1024), medium: s(250, 512, 2000, 2048), large: s(500, 1024, 4000, 4096) },
  "thanos-store": { small: s(100, 512, 1000, 1024), medium: s(250, 1024, 2000, 2048), large: s(500, 2048, 4000, 4096) },
  "thanos-compact": { small: s(100, 512, 1000, 2048), medium: s(250, 1024, 2000, 4096), large: s(500, 2048, 4000, 8192) },
  "thanos-receive-router": { small: s(100, 128, 1000, 512), medium: s(200, 256, 2000, 1024), large: s(400, 512, 4000, 2048) },
  // An edge agent sends a few thousand series; the head holds ~2h of them per tenant (and the WAL replay on restart).
  "thanos-receive": { small: s(100, 512, 1000, 1024), medium: s(250, 1024, 2000, 2048), large: s(500, 2048, 4000, 4096) },
  "thanos-query-frontend": { small: s(50, 256, 500, 512), medium: s(100, 512, 1000, 1024), large: s(250, 1024, 2000, 2048) },
  "thanos-rule": { small: s(50, 256, 500, 512), medium: s(100, 512, 1000, 1024), large: s(250, 1024, 2000, 2048) },
  "loki-single-binary": { small: s(200, 512, 1000, 1536), medium: s(500, 1024, 2000, 3072), large: s(1000, 2048, 4000, 6144) },
  "loki-read": { small: s(100, 256, 1000, 1024), medium: s(250, 512, 2000, 2048), large: s(500, 1024, 4000, 4096) },
  "loki-write": { small: s(100, 256, 1000, 1024), medium: s(250, 1024, 2000, 2048), large: s(500, 2048, 4000, 4096) },
  "loki-backend": { small: s(100, 256, 1000, 512), medium: s(200, 512, 1000, 1024), large: s(400, 1024, 2000, 2048) },
  "loki-gateway": { small: s(20, 32, 200, 128), medium: s(50, 64, 500, 256), large: s(100, 128, 1000, 512) },
  alloy: { small: s(50, 128, 500, 256), medium: s(100, 256, 1000, 512), large: s(200, 512, 2000, 1024) },
  grafana: { small: s(100, 256, 500, 512), medium: s(200, 512, 1000, 1024), large: s(500, 1024, 2000, 2048) },
  "tls-proxy": { small: s(10, 32, 200, 64), medium: s(20, 32, 200, 64), large: s(50, 64, 500, 128) },
  // Edge: the agent keeps only a WAL and its remote-write queues (no head chunks, no queries, no
  // rules), so its request is a fraction of a server's; its limit leaves room for WAL replay.
  "edge-prometheus-agent": { small: s(100, 160, 500, 512), medium: s(200, 192, 1000, 768), large: s(300, 240, 2000, 1024) },
  // One row for the operator's init-config-reloader and config-reloader (the operator applies one
  // --config-reloader-* setting to both) and Alloy's config reloader.
  "edge-config-reloader": { small: s(5, 16, 50, 64), medium: s(5, 16, 50, 64), large: s(5, 16, 50, 64) },
  "edge-operator": { small: s(20, 48, 200, 128), medium: s(20, 48, 200, 128), large: s(50, 48, 500, 192) },
  "edge-kube-state-metrics": { small: s(10, 32, 100, 96), medium: s(20, 40, 200, 128), large: s(50, 48, 500, 192) },
  "edge-node-exporter": { small: s(10, 16, 100, 64), medium: s(10, 16, 100, 64), large: s(20, 24, 200, 96) },
  "edge-alloy": { small: s(30, 64, 300, 192), medium: s(50, 80, 500, 256), large: s(100, 88, 1000, 384) },
  // The heartbeat's sh + curl, for a few seconds per run.
  "edge-heartbeat": { small: s(5, 16, 100, 32), medium: s(5, 16, 100, 32), large: s(5, 16, 100, 32) },
};

/** Requests and limits of one container under a profile. */
export function containerResources(profile: Profile, container: ContainerName): ContainerResources {
  const x = TABLE[container][profile];
  return {
    requests: { cpu: `${x.cpu}m`, memory: `${x.memory}Mi` },
    limits: { cpu: `${x.cpuLimit}m`, memory: `${x.memoryLimit}Mi` },
  };
}

/** CPU and memory summed over containers. */
export interface Footprint {
  cpuMillicores: number;
  memoryMiB: number;
}

/** Loki's deployment mode, as in the stack config. */
export type LokiMode = "single-binary" | "simple-scalable";

/** Replica counts of the spoke's Helm-managed workloads (Thanos replicas are the caller's). */
export interface SpokeReplicas {
  prometheus: number;
  alertmanager: number;
  lokiSingleBinary: number;
  lokiRead: number;
  lokiWrite: number;
  lokiBackend: number;
  lokiGateway: number;
}

/**
 * Replicas per profile and Loki mode. Prometheus is always a pair (the HA pair Thanos
 * deduplicates); Loki's write path keeps three replicas so the default replication factor
 * of 3 holds; a single binary runs alone with replication factor 1.
 */
export function spokeReplicas(profile: Profile, lokiMode: LokiMode): SpokeReplicas {
  const ha = profile === "small" ? 1 : 2;
  const scalable = lokiMode === "simple-scalable";
  return {
    prometheus: 2,
    alertmanager: ha,
    lokiSingleBinary: scalable ? 0 : 1,
    lokiRead: scalable ? (profile === "large" ? 3 : 2) : 0,
    lokiWrite: scalable ? 3 : 0,
    lokiBackend: scalable ? (profile === "large" ? 3 : 2) : 0,
    lokiGateway: ha,
  };
}

/** What {@link totalRequests} needs to know about a spoke. */
export interface SpokeFootprintParams {
  profile: Profile;
  lokiMode: LokiMode;
  /** Thanos replicas run as typed resources on the spoke (compactor always; store and query with `spoke-query`). */
  thanos: Partial<Record<"thanos-query" | "thanos-store" | "thanos-compact" | "thanos-receive" | "thanos-receive-router", number>>;
}

/** Requests of a spoke: cluster-wide workloads, and the per-node agents that multiply with the node count. */
export interface SpokeFootprint {
  /** Everything scheduled once per cluster (all replicas included). */
  cluster: Footprint;
  /** One node's share of the DaemonSets (node-exporter, Alloy with its config reloader). */
  perNode: Footprint;
  /** Containers counted, with their replica counts (for reports and tests). */
  counted: { cluster: Partial<Record<ContainerName, number>>; perNode: Partial<Record<ContainerName, number>> };
}

function sum(profile: Profile, counts: Partial<Record<ContainerName, number>>): Footprint {
  let cpuMillicores = 0;
  let memoryMiB = 0;
  for (const [name, n] of Object.entries(counts) as [ContainerName, number][]) {
    cpuMillicores += TABLE[name][profile].cpu * n;
    memoryMiB += TABLE[name][profile].memory * n;
  }
  return { cpuMillicores, memoryMiB };
}

/**
 * The CPU (millicores) and memory (MiB) a spoke requests. One-off Jobs (the admission
 * webhook's certificate patch) are left out: they do not hold capacity.
 */
export function totalRequests(p: SpokeFootprintParams): SpokeFootprint {
  const r = spokeReplicas(p.profile, p.lokiMode);
  const cluster: Partial<Record<ContainerName, number>> = {
    prometheus: r.prometheus,
    "thanos-sidecar": r.prometheus,
    alertmanager: r.alertmanager,
    // One reloader beside each Prometheus and each Alertmanager.
    "config-reloader": r.prometheus + r.alertmanager,
    operator: 1,
    "kube-state-metrics": 1,
    "loki-single-binary": r.lokiSingleBinary,
    "loki-read": r.lokiRead,
    "loki-write": r.lokiWrite,
    "loki-backend": r.lokiBackend,
    "loki-gateway": r.lokiGateway,
    ...p.thanos,
  };
  const nonZero = Object.fromEntries(Object.entries(cluster).filter(([, n]) => n > 0)) as Partial<Record<ContainerName, number>>;
  // Alloy's pod carries its own config reloader.
  const perNode: Partial<Record<ContainerName, number>> = { "node-exporter": 1, alloy: 1, "config-reloader": 1 };
  return { cluster: sum(p.profile, nonZero), perNode: sum(p.profile, perNode), counted: { cluster: nonZero, perNode } };
}
