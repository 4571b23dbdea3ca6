/**
 * The endpoints one stack dials on another, with the pod labels that select their servers.
 * Workloads label their pods with these, exposure selects them, certificates name them.
 */

/** Helm release names (they appear in pod labels and service names). */
export const RELEASES = { prometheus: "kps", loki: "loki", alloy: "alloy", grafana: "grafana" } as const;

/** The spoke's local Thanos Query: the single Thanos endpoint the hub dials (gRPC, mTLS). */
export const THANOS_QUERY = {
  port: 10901,
  selector: { "app.kubernetes.io/name": "thanos-query", "app.kubernetes.io/instance": "spoke" },
} as const;

/** The spoke's Loki gateway (HTTPS, basic auth + client certificate). */
export const LOKI_GATEWAY = {
  port: 443,
  targetPort: 8443,
  selector: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": RELEASES.loki, "app.kubernetes.io/component": "gateway" },
} as const;

/** The hub's Alertmanager, ingesting alerts forwarded by spokes (HTTPS, mTLS). */
export const HUB_ALERTMANAGER = {
  port: 443,
  targetPort: 9443,
  selector: { "app.kubernetes.io/name": "alertmanager", alertmanager: `${RELEASES.prometheus}-alertmanager` },
} as const;

/**
 * Kubernetes ServiceAccounts of the workloads that touch buckets. Cloud identities are bound
 * to exactly these names, so a pod under any other account gets no bucket access.
 */
export const SERVICE_ACCOUNTS = {
  /** Prometheus pods, whose Thanos sidecar uploads blocks. */
  sidecar: "prometheus",
  compactor: "thanos-compactor",
  loki: "loki",
  /** A spoke's own store gateway (`spoke-query`). */
  store: "thanos-store",
  /** The hub's ruler, writing its blocks to the hub's bucket. */
  ruler: "thanos-ruler",
  /** The hub's store gateway over its own bucket. */
  hubStore: "thanos-store-hub",
} as const;
