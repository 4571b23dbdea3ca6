/**
 * Thanos command lines and config files, rendered as pure functions (kube-thanos style).
 * Every flag used here exists in `thanos <component> --help` of the pinned version;
 * test/thanos.test.ts checks them against the reference help.
 */
import { stringify } from "yaml";
import type { Retention } from "../config";
import { endpointConfigProblems } from "./endpoints";

/** Where config files and certificates are mounted in Thanos pods. */
export const PATHS = {
  objstore: "/etc/thanos/objstore/objstore.yaml",
  endpoints: "/etc/thanos/endpoints/endpoints.yaml",
  grpcTls: "/etc/thanos/tls/server",
  clientTls: "/etc/thanos/tls/client",
  data: "/var/thanos/data",
  rules: "/etc/thanos/rules",
} as const;

export const GRPC_PORT = 10901;
export const HTTP_PORT = 10902;

/** The external label Prometheus replicas differ by; deduplicated away by Query and the compactor. */
export const REPLICA_LABEL = "prometheus_replica";
/** The replica label of Thanos Ruler replicas. */
export const RULER_REPLICA_LABEL = "rule_replica";

/** Server-side gRPC mTLS: the client CA makes client certificates mandatory. */
function grpcServerTls(dir: string): string[] {
  return [`--grpc-server-tls-cert=${dir}/tls.crt`, `--grpc-server-tls-key=${dir}/tls.key`, `--grpc-server-tls-client-ca=${dir}/ca.crt`, "--grpc-server-tls-min-version=1.3"];
}

const common = ["--log.level=info", "--log.format=json", `--http-address=0.0.0.0:${HTTP_PORT}`];

export interface CompactParams {
  retention: Pick<Retention, "raw" | "fiveMinutes" | "oneHour">;
  /** At least 48h: readers may still hold a block the compactor marked for deletion. */
  deleteDelay: string;
  concurrency: number;
}

/** The compactor of one bucket (exactly one per bucket: it is the only deleter). */
export function compactArgs(p: CompactParams): string[] {
  const hours = /^([0-9]+)h$/.exec(p.deleteDelay);
  const days = /^([0-9]+)d$/.exec(p.deleteDelay);
  const delayHours = hours ? Number(hours[1]) : days ? Number(days[1]) * 24 : NaN;
  if (!(delayHours >= 48)) throw new Error(`compactor delete delay must be at least 48h (got ${p.deleteDelay})`);
  return [
    "compact",
    ...common,
    "--wait",
    "--wait-interval=5m",
    `--data-dir=${PATHS.data}`,
    `--objstore.config-file=${PATHS.objstore}`,
    `--retention.resolution-raw=${p.retention.raw}`,
    `--retention.resolution-5m=${p.retention.fiveMinutes}`,
    `--retention.resolution-1h=${p.retention.oneHour}`,
    `--delete-delay=${p.deleteDelay}`,
    // Vertical compaction merges the HA pair's blocks; penalty dedup is the algorithm for HA Prometheus.
    `--deduplication.replica-label=${REPLICA_LABEL}`,
    "--deduplication.func=penalty",
    `--compact.concurrency=${p.concurrency}`,
    "--block-discovery-strategy=recursive",
  ];
}

export interface StoreParams {
  /** In-memory index cache size, e.g. `512MB`; the cache never touches disk. */
  indexCacheSize: string;
  /** Serve gRPC with mTLS (a spoke store gateway) or plain (hub-local, reached only in-cluster). */
  grpcTls: boolean;
}

/** A store gateway over one bucket. Its data dir is a memory-backed volume. */
export function storeArgs(p: StoreParams): string[] {
  return [
    "store",
    ...common,
    `--grpc-address=0.0.0.0:${GRPC_PORT}`,
    ...(p.grpcTls ? grpcServerTls(PATHS.grpcTls) : []),
    `--data-dir=${PATHS.data}`,
    `--objstore.config-file=${PATHS.objstore}`,
    `--index-cache-size=${p.indexCacheSize}`,
    // No index headers on disk: nothing read from a bucket outlives the pod.
    "--no-cache-index-header",
    "--store.enable-index-header-lazy-reader",
    "--ignore-deletion-marks-delay=24h",
  ];
}

export interface QueryParams {
  /** Serve gRPC with mTLS (the spoke's local query, dialled by the hub). */
  grpcTls: boolean;
  /** Endpoints from a reloadable file (`--endpoint.sd-config-file`), or static addresses. */
  endpoints: { file: string } | { static: readonly string[] };
  queryTimeout: string;
  /** Per-store timeout: below the query timeout, so a dead spoke yields a warning, not an error. */
  storeResponseTimeout: string;
  partialResponse: boolean;
}

function seconds(d: string): number {
  const m = /^([0-9]+)(s|m|h)$/.exec(d);
  if (!m) throw new Error(`expected a duration in s, m or h: ${d}`);
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as const)[m[2] as "s" | "m" | "h"];
}

/** A Thanos Query over stores, deduplicating HA replicas. */
export function queryArgs(p: QueryParams): string[] {
  if (seconds(p.storeResponseTimeout) >= seconds(p.queryTimeout)) {
    throw new Error(`store response timeout (${p.storeResponseTimeout}) must be below the query timeout (${p.queryTimeout})`);
  }
  return [
    "query",
    ...common,
    `--grpc-address=0.0.0.0:${GRPC_PORT}`,
    ...(p.grpcTls ? grpcServerTls(PATHS.grpcTls) : []),
    ...("file" in p.endpoints
      ? [`--endpoint.sd-config-file=${p.endpoints.file}`, "--endpoint.sd-config-reload-interval=1m"]
      : p.endpoints.static.map((e) => `--endpoint=${e}`)),
    `--query.replica-label=${REPLICA_LABEL}`,
    `--query.replica-label=${RULER_REPLICA_LABEL}`,
    `--query.timeout=${p.queryTimeout}`,
    `--store.response-timeout=${p.storeResponseTimeout}`,
    p.partialResponse ? "--query.partial-response" : "--no-query.partial-response",
    "--query.auto-downsampling",
  ];
}

export interface QueryFrontendParams {
  downstreamUrl: string;
  /** Split range queries by this interval (a day: one cache entry per day). */
  splitInterval: string;
  cacheMaxSize: string;
}

/** The in-memory results cache of the query frontend (Cortex/Thanos `IN-MEMORY` cache). */
export function queryFrontendCacheConfig(p: Pick<QueryFrontendParams, "cacheMaxSize">): string {
  return stringify({ type: "IN-MEMORY", config: { max_size: p.cacheMaxSize, max_size_items: 0, validity: "0s" } });
}

/** The query frontend in front of the global query. */
export function queryFrontendArgs(p: QueryFrontendParams): string[] {
  return [
    "query-frontend",
    ...common,
    `--query-frontend.downstream-url=${p.downstreamUrl}`,
    `--query-range.split-interval=${p.splitInterval}`,
    "--query-range.partial-response",
    `--query-range.response-cache-config=${queryFrontendCacheConfig(p)}`,
    "--query-frontend.compress-responses",
    "--query-frontend.log-queries-longer-than=10s",
  ];
}

export interface RuleParams {
  queryUrl: string;
  alertmanagerUrl: string;
  evalInterval: string;
  /** Labels identifying this ruler's series, incl. the replica label. */
  labels: Record<string, string>;
  /**
   * The label whose value differs between the ruler replicas (one of `labels`). It is dropped
   * from every alert before it is sent, so the Alertmanager sees one alert, not one per replica.
   */
  replicaLabel: string;
}

/**
 * Thanos Ruler evaluating global rules through the query frontend, uploading to the hub's bucket.
 *
 * HA rulers: each replica carries its own replica label (needed so the blocks of the two replicas
 * do not clash) and drops it with `--alert.label-drop` before alerting, so the two copies of an
 * alert are identical and the Alertmanager deduplicates them (Thanos docs, "Ruler HA":
 * https://thanos.io/tip/components/rule.md/#ruler-ha, docs/components/rule.md at v0.42.4:
 * "Labels that need to be dropped just before sending to alermanager in order for alertmanager
 * to deduplicate alerts e.g `--alert.label-drop="replica"`").
 */
export function ruleArgs(p: RuleParams): string[] {
  if (!(p.replicaLabel in p.labels)) throw new Error(`ruler replica label '${p.replicaLabel}' is not among the ruler's labels (${Object.keys(p.labels).join(", ")})`);
  return [
    "rule",
    ...common,
    `--grpc-address=0.0.0.0:${GRPC_PORT}`,
    `--data-dir=${PATHS.data}`,
    `--rule-file=${PATHS.rules}/*.yaml`,
    `--query=${p.queryUrl}`,
    `--alertmanagers.url=${p.alertmanagerUrl}`,
    `--eval-interval=${p.evalInterval}`,
    `--objstore.config-file=${PATHS.objstore}`,
    "--tsdb.retention=2d",
    ...Object.entries(p.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `--label=${k}="${v}"`),
    `--alert.label-drop=${p.replicaLabel}`,
  ];
}

/** TLS settings of one endpoint the global query dials. */
export interface EndpointTls {
  /** Directory with the hub client certificate (`tls.crt`, `tls.key`). */
  clientCertDir: string;
  /** File with the CA that must have signed this endpoint's server certificate. */
  caFile: string;
  /** The name the endpoint's certificate must carry. */
  serverName: string;
}

/** One endpoint of a Thanos Query. */
export interface EndpointEntry {
  /** `host:port`, or a DNS service-discovery address (`dns+`, `dnssrv+`, `dnssrvnoa+`, ...). */
  address: string;
  /**
   * Per-endpoint mTLS; only for static addresses (Thanos ignores it on DNS-discovered ones, see
   * {@link renderEndpointConfig}). Omitted: the default client config (plaintext when there is none).
   */
  tls?: EndpointTls;
  /** Keep the endpoint even when its health check fails (static infrastructure only). */
  strict?: boolean;
}

/** A `client_config` / `default_client_config` block of the endpoint config. */
function clientConfig(t: EndpointTls): Record<string, unknown> {
  return {
    tls_config: { enabled: true, cert_file: `${t.clientCertDir}/tls.crt`, key_file: `${t.clientCertDir}/tls.key`, ca_file: t.caFile, min_version: "1.3" },
    server_name: t.serverName,
  };
}

/** Options of {@link renderEndpointConfig}. */
export interface EndpointConfigOptions {
  /**
   * `default_client_config`: the TLS every endpoint without its own `client_config` is dialled
   * with, and the only TLS a DNS-discovered endpoint is ever dialled with.
   */
  defaultTls?: EndpointTls;
}

/**
 * The `--endpoint.sd-config-file` document.
 *
 * Static addresses may carry their own mTLS (the hub pins each spoke to its CA and name).
 * DNS-discovered addresses cannot: Thanos v0.42.4 dials every address its DNS provider resolves
 * with the global option built from `default_client_config` (cmd/thanos/endpointset.go at
 * v0.42.4: per-endpoint dial options only for `!dns.IsDynamicNode(addr)`, the resolved addresses
 * get `globalTLSOpt`; docs/components/query.md: "There is no support for per-endpoint TLS
 * overrides for endpoints supplied by DNS service discovery"). So their TLS goes into
 * `defaultTls`, and a dynamic entry with `tls` is refused here rather than silently dialled in
 * plaintext. Thanos also refuses a strict dynamic entry at load (`validateEndpointConfig`).
 */
export function renderEndpointConfig(entries: readonly EndpointEntry[], opts: EndpointConfigOptions = {}): string {
  const endpoints = [...entries]
    .sort((a, b) => a.address.localeCompare(b.address))
    .map((e) => ({
      address: e.address,
      strict: e.strict ?? false,
      group: false,
      ...(e.tls !== undefined ? { client_config: clientConfig(e.tls) } : {}),
    }));
  const doc = { ...(opts.defaultTls !== undefined ? { default_client_config: clientConfig(opts.defaultTls) } : {}), endpoints };
  const problems = endpointConfigProblems(doc);
  if (problems.length > 0) throw new Error(`endpoint config rejected:\n  ${problems.join("\n  ")}`);
  return stringify(doc);
}

export { endpointConfigProblems, isDynamicAddress } from "./endpoints";
