/**
 * Values of the grafana-community loki chart 18.11.0: a spoke's Loki writing only to its
 * own logs bucket, behind a gateway that the hub reaches with basic auth and a client
 * certificate.
 */
import { z } from "zod";
import type { Profile, Retention } from "../../config";
import { durationSeconds } from "../../config";
import { LOKI_GATEWAY, RELEASES } from "../../endpoints";
import { containerResources, type LokiMode, spokeReplicas } from "../resources";
import { type HelmValues, toJson, type WorkloadIdentity } from "./types";

/** Key of the htpasswd file inside the gateway's basic-auth Secret (the chart mounts it as `/etc/nginx/secrets/.htpasswd`). */
export const LOKI_HTPASSWD_KEY = ".htpasswd";

/** The first day of the tsdb/v13 schema. Fixed: moving it would orphan the index of every day already written. */
export const LOKI_SCHEMA_FROM = "2024-04-01";

/** Where the gateway's TLS Secret is mounted in the nginx container. */
export const LOKI_GATEWAY_TLS_DIR = "/etc/nginx/tls";

/**
 * Loki's own configuration blocks under `loki.*` that the chart's schema leaves open
 * (`additionalProperties: true`): their keys are Loki's, not the chart's, so they cannot be
 * checked against values.yaml.
 */
export const LOKI_FREE_FORM_PATHS = ["loki.limits_config"] as const;

/**
 * Keys the chart documents only in comments of values.yaml (`loki.storage.bucketNames`) and
 * requires in its templates (`required "Please define loki.storage.bucketNames.chunks"`):
 * reference checks add these to the parsed values.yaml.
 */
export const LOKI_COMMENTED_KEYS: HelmValues = { loki: { storage: { bucketNames: { chunks: "", ruler: "" } } } };

/** Environment variables Loki expands in its configuration for an S3 key (`-config.expand-env=true`). */
export const LOKI_S3_KEY_ENV = { accessKey: "LOKI_S3_ACCESS_KEY_ID", secretKey: "LOKI_S3_SECRET_ACCESS_KEY" } as const;

/** A reference Loki expands from its environment (`-config.expand-env=true`): never a key itself. */
const envReference = z.string().regex(/^\$\{[A-Z][A-Z0-9_]*\}$/, { error: "expected an environment reference like ${LOKI_S3_ACCESS_KEY_ID}: keys never enter the Helm values" });

const s3Storage = z.strictObject({
  region: z.string().min(1),
  /** Regional endpoint, e.g. `s3.eu-central-1.amazonaws.com` (keeps traffic on the S3 gateway endpoint). */
  endpoint: z.string().min(1).optional(),
  s3ForcePathStyle: z.boolean().optional(),
  insecure: z.literal(false).optional(),
  disable_dualstack: z.boolean().optional(),
  /** S3-compatible services (cloud s3): Loki's own key, referenced from its environment. */
  accessKeyId: envReference.optional(),
  secretAccessKey: envReference.optional(),
});
const gcsStorage = z.strictObject({
  chunkBufferSize: z.int().min(0).optional(),
  requestTimeout: z.string().optional(),
  enableHttp2: z.boolean().optional(),
});
const azureStorage = z.strictObject({
  accountName: z.string().min(1),
  /** Azure workload identity: a federated token from the pod's ServiceAccount. */
  useFederatedToken: z.boolean().optional(),
  useManagedIdentity: z.boolean().optional(),
  userAssignedId: z.string().optional(),
  endpointSuffix: z.string().optional(),
});
const bucketNames = z.strictObject({
  chunks: z.string().min(1),
  ruler: z.string().min(1),
  /** Read by nothing in chart 18.11.0 (enterprise only); accepted so cloud modules can emit one shape. */
  admin: z.string().min(1).optional(),
});

/**
 * The chart's `loki.storage` as the cloud modules produce it: bucket names plus the one
 * provider block matching `type`. No static credentials: the keys for them are refused.
 */
export const lokiStorageSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("s3"), bucketNames, s3: s3Storage }),
  z.strictObject({ type: z.literal("gcs"), bucketNames, gcs: gcsStorage.default({}) }),
  z.strictObject({ type: z.literal("azure"), bucketNames, azure: azureStorage }),
]);

/** `loki.storage` of the chart, restricted to identity-based access on the three clouds. */
export type LokiStorage = z.output<typeof lokiStorageSchema>;

/** Everything a spoke's Loki release depends on. */
export interface LokiParams {
  profile: Profile;
  mode: LokiMode;
  storage: LokiStorage;
  retention: Pick<Retention, "logs">;
  /** The identity that writes (and, for retention, deletes) log chunks. */
  identity: WorkloadIdentity;
  gateway: {
    /** Secret holding the htpasswd file under {@link LOKI_HTPASSWD_KEY} (bcrypt entries). */
    htpasswdSecret: string;
    /** Secret with the gateway's server certificate (`tls.crt`, `tls.key`) and `ca.crt`, the hub's client CA. */
    tlsSecret: string;
    /**
     * A digest of that Secret's contents, as a pod annotation: nginx reads certificates and client
     * CAs only at start or reload (nginx changelog 1.27.2, "SSL certificates, secret keys, and CRLs
     * are now cached on start or during reconfiguration") and the chart's pod checksum covers its
     * ConfigMap only (loki chart 18.11.0 templates/gateway/deployment.yaml), so a renewed
     * certificate or a new trusted CA (an edge accepted) rolls the gateway.
     */
    tlsChecksum?: string;
  };
  /** Size of the per-replica volume (WAL, index cache); defaults by profile. */
  volumeSize?: string;
  /**
   * A Secret whose keys become Loki's environment, for the references in `storage` (cloud s3:
   * Loki's own access key). Loki expands them with `-config.expand-env=true`.
   */
  credentialsSecret?: string;
}

const VOLUME_SIZE: Record<Profile, string> = { small: "10Gi", medium: "30Gi", large: "100Gi" };

function res(profile: Profile, container: Parameters<typeof containerResources>[1]): HelmValues {
  const r = containerResources(profile, container);
  return { requests: { ...r.requests }, limits: { ...r.limits } };
}

/**
 * A second nginx server in the gateway, for the hub: TLS 1.3 on {@link LOKI_GATEWAY}.targetPort,
 * a client certificate from the hub CA required, basic auth checked here and again by the
 * chart's server it proxies to. The chart's own listener stays plain HTTP for in-cluster use
 * and probes; only the TLS port is exposed outside the cluster.
 */
export function gatewayTlsServer(containerPort: number): string {
  return [
    "server {",
    `  listen ${LOKI_GATEWAY.targetPort} ssl;`,
    `  ssl_certificate ${LOKI_GATEWAY_TLS_DIR}/tls.crt;`,
    `  ssl_certificate_key ${LOKI_GATEWAY_TLS_DIR}/tls.key;`,
    `  ssl_client_certificate ${LOKI_GATEWAY_TLS_DIR}/ca.crt;`,
    "  ssl_verify_client on;",
    "  ssl_verify_depth 2;",
    "  ssl_protocols TLSv1.3;",
    "  ssl_session_cache shared:loki_tls:10m;",
    '  auth_basic "Loki";',
    "  auth_basic_user_file /etc/nginx/secrets/.htpasswd;",
    // Edges (users edge-<stack>) only push: no query, no delete, no ring or admin endpoint. The
    // checks run in the server's rewrite phase; $remote_user is read from the Authorization header
    // (nginx ngx_http_core_module, "$remote_user: user name supplied with the Basic
    // authentication"), and auth_basic still verifies the password afterwards.
    '  set $edge_scope "";',
    '  if ($remote_user ~ "^edge-") { set $edge_scope "edge"; }',
    '  if ($uri != "/loki/api/v1/push") { set $edge_scope "${edge_scope}:other"; }',
    '  if ($edge_scope = "edge:other") { return 403; }',
    "  location / {",
    `    proxy_pass http://127.0.0.1:${containerPort};`,
    "    proxy_set_header Host $host;",
    "    proxy_set_header X-Forwarded-Proto https;",
    "    proxy_set_header X-Client-Cert-Subject $ssl_client_s_dn;",
    "  }",
    "}",
  ].join("\n");
}

/** Loki retention in whole hours (Loki parses `h` everywhere; `y` and `w` are not universal). */
function hours(d: string): string {
  return `${Math.ceil(durationSeconds(d) / 3600)}h`;
}

/**
 * The spoke's Loki values: SingleBinary (`Monolithic`) or SimpleScalable per config,
 * tsdb/v13 schema, retention enforced by the compactor, workload identity on the bucket,
 * no MinIO, no caches or canaries, and the gateway with basic auth plus mTLS for the hub.
 */
export function lokiValues(p: LokiParams): HelmValues {
  const storage = lokiStorageSchema.parse(p.storage);
  if (storage.type === "s3" && (storage.s3.accessKeyId !== undefined || storage.s3.secretAccessKey !== undefined) && p.credentialsSecret === undefined)
    throw new Error("loki storage references its key from the environment, but no credentialsSecret provides it");
  const r = spokeReplicas(p.profile, p.mode);
  const scalable = p.mode === "simple-scalable";
  const size = p.volumeSize ?? VOLUME_SIZE[p.profile];
  // The write target names its switch `volumeClaimsEnabled`; single binary and backend use `enabled`.
  const volume = { persistence: { enabled: true, size } };
  const containerPort = 8080;
  return {
    // `Monolithic` is the chart's current name for the single binary (`SingleBinary` is deprecated).
    deploymentMode: scalable ? "SimpleScalable" : "Monolithic",
    serviceAccount: { create: true, name: p.identity.serviceAccountName, annotations: { ...p.identity.annotations } },
    loki: {
      // One tenant per spoke: the gateway authenticates, and the spoke owns all its logs.
      auth_enabled: false,
      podLabels: { ...p.identity.podLabels },
      commonConfig: { replication_factor: scalable ? 3 : 1 },
      // `admin` is dropped: chart 18.11.0 reads only chunks and ruler.
      storage: toJson({ ...storage, bucketNames: { chunks: storage.bucketNames.chunks, ruler: storage.bucketNames.ruler } }),
      schemaConfig: {
        configs: [
          { from: LOKI_SCHEMA_FROM, store: "tsdb", object_store: storage.type, schema: "v13", index: { prefix: "loki_index_", period: "24h" } },
        ],
      },
      limits_config: { retention_period: hours(p.retention.logs) },
      compactor: {
        working_directory: "/var/loki/compactor",
        compaction_interval: "10m",
        retention_enabled: true,
        retention_delete_delay: "2h",
        delete_request_store: storage.type,
      },
      // Nothing about the spoke leaves it: no usage reports to grafana.com.
      analytics: { reporting_enabled: false },
    },
    // The chart's documented way to keep credentials out of its config: environment references
    // filled from a Secret (values.yaml, loki.configStorageType). templates/_pod.tpl passes
    // -config.expand-env=true to every Loki container already, and concatenates defaults.extraEnvFrom
    // into each (test/s3-thanos.test.ts renders the chart and checks both).
    ...(p.credentialsSecret !== undefined ? { defaults: { extraEnvFrom: [{ secretRef: { name: p.credentialsSecret } }] } } : {}),
    minio: { enabled: false },
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
    lokiCanary: { enabled: false },
    test: { enabled: false },
    sidecar: { rules: { enabled: false } },
    monitoring: { serviceMonitor: { enabled: true } },
    singleBinary: { replicas: r.lokiSingleBinary, resources: res(p.profile, "loki-single-binary"), ...volume },
    write: { replicas: r.lokiWrite, resources: res(p.profile, "loki-write"), persistence: { volumeClaimsEnabled: true, size } },
    read: { replicas: r.lokiRead, resources: res(p.profile, "loki-read") },
    backend: { replicas: r.lokiBackend, resources: res(p.profile, "loki-backend"), ...volume },
    gateway: {
      enabled: true,
      replicas: r.lokiGateway,
      containerPort,
      verboseLogging: false,
      resources: res(p.profile, "loki-gateway"),
      // The access-log exporter would be one more container; Loki's own request metrics cover ingestion.
      metrics: { enabled: false },
      basicAuth: { enabled: true, existingSecret: p.gateway.htpasswdSecret },
      ...(p.gateway.tlsChecksum !== undefined ? { podAnnotations: { "checksum/tls": p.gateway.tlsChecksum } } : {}),
      extraVolumes: [{ name: "gateway-tls", secret: { secretName: p.gateway.tlsSecret } }],
      extraVolumeMounts: [{ name: "gateway-tls", mountPath: LOKI_GATEWAY_TLS_DIR, readOnly: true }],
      nginxConfig: { httpSnippet: gatewayTlsServer(containerPort) },
    },
  };
}

/**
 * The in-cluster push URL of a spoke's Loki: the distributor of the single binary or of
 * the write path, reached without the gateway (whose basic auth guards the hub's path).
 */
export function lokiPushUrl(namespace: string, mode: LokiMode): string {
  const service = mode === "simple-scalable" ? `${RELEASES.loki}-write` : RELEASES.loki;
  return `http://${service}.${namespace}.svc.cluster.local:3100/loki/api/v1/push`;
}
