/**
 * The stack configuration schema (`observability:*` keys of `Pulumi.<stack>.yaml`).
 *
 * One schema for both roles; the cloud-specific parts (`cluster`, `network`) are chosen by
 * `observability:cloud`. Every rule here is something a wrong value would otherwise break
 * at `pulumi up` time, or worse, deploy quietly in the wrong place.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { CLOUDS, type Cloud, isRegionOf, onPremCountry, PUBLIC_S3_PROFILES, regionInZone, S3_PROFILES, S3_PUBLIC_REGIONS, zonesOf } from "./regions";
import { DEPLOYED_VERSIONS } from "../versions";
import { S3_PROFILE_SPECS } from "../clouds/s3/profiles";

/** A Prometheus-style duration with a single unit (`48h`, `30d`, `2y`). */
const DURATION = /^([1-9][0-9]*)(s|m|h|d|w|y)$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** Seconds in a duration string accepted by the schema. */
export function durationSeconds(d: string): number {
  const m = DURATION.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * UNIT_SECONDS[m[2]];
}

/** Whole days in a duration, rounded up (object-store lifecycle rules count in days). */
export function durationDays(d: string): number {
  return Math.ceil(durationSeconds(d) / 86400);
}

const duration = z
  .string()
  .regex(DURATION, { error: "expected a duration with one unit, like 48h, 30d or 2y" });

const dnsLabel = z
  .string()
  .regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, {
    error: "expected a DNS label: lowercase letters, digits and '-', starting with a letter",
  });

const hostname = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
    error: "expected a fully qualified DNS name the hub can resolve, like thanos.dev-01.obs.example.eu",
  });

/** Stack names: what `pulumi stack init` accepts, restricted to what we can put in names and labels. */
export const STACK_NAME = /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/;
const stackName = z.string().regex(STACK_NAME, {
  error: "expected a stack name of lowercase letters, digits and '-' (3-32 characters), like dev-01",
});

const semver = z.string().regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, { error: "expected a chart version like 88.5.3" });

const cidr = z.string().refine(
  (v) => {
    const [ip, prefix, ...rest] = v.split("/");
    if (rest.length > 0 || prefix === undefined || !/^[0-9]{1,3}$/.test(prefix)) return false;
    const family = isIP(ip);
    const max = family === 4 ? 32 : family === 6 ? 128 : -1;
    return max > 0 && Number(prefix) <= max;
  },
  { error: "expected a CIDR block like 10.20.0.0/16" },
);

const httpsUrl = z
  .string()
  .refine((v) => URL.canParse(v) && new URL(v).protocol === "https:", { error: "expected an https:// URL" });

/**
 * Schemas of values that must be Pulumi secrets. The set of secret leaves per role and cloud
 * ({@link secretLeaves}) is read off the schema through this marker, so the validator, the
 * offline engine's stand-ins and `fleet secrets` can never disagree on which keys are secret.
 */
const SECRET_SCHEMAS = new WeakSet<z.ZodType>();
function secret<T extends z.ZodType>(schema: T): T {
  const marked = schema.clone();
  SECRET_SCHEMAS.add(marked);
  return marked;
}

const webhook = z.strictObject({ url: secret(httpsUrl) });

const egress = z
  .strictObject({
    mode: z.enum(["create", "existing"]).default("create"),
    count: z.int().min(1).max(8).default(2),
    addresses: z.array(z.string().min(1)).default([]),
  })
  .superRefine((e, ctx) => {
    if (e.mode === "existing" && e.addresses.length !== e.count) {
      ctx.addIssue({
        code: "custom",
        path: ["addresses"],
        message: `mode existing adopts exactly 'count' (${e.count}) addresses; ${e.addresses.length} given`,
      });
    }
    if (e.mode === "create" && e.addresses.length > 0) {
      ctx.addIssue({ code: "custom", path: ["addresses"], message: "addresses are only adopted with mode: existing" });
    }
  });

const pki = z
  .strictObject({
    caValidityHours: z.int().min(24 * 365).default(87600),
    caEarlyRenewalHours: z.int().min(0).default(8760),
    leafValidityHours: z.int().min(24).max(24 * 398).default(2160),
    leafEarlyRenewalHours: z.int().min(0).default(720),
    /** Issue a next CA and trust both until the current one is retired. */
    rotateCa: z.boolean().default(false),
  })
  .superRefine((p, ctx) => {
    if (p.caEarlyRenewalHours >= p.caValidityHours)
      ctx.addIssue({ code: "custom", path: ["caEarlyRenewalHours"], message: "must be below caValidityHours" });
    if (p.leafEarlyRenewalHours >= p.leafValidityHours)
      ctx.addIssue({ code: "custom", path: ["leafEarlyRenewalHours"], message: "must be below leafValidityHours" });
  });

const versions = z.strictObject({
  thanos: z.string().regex(/^v[0-9]+\.[0-9]+\.[0-9]+$/, { error: "expected a Thanos image tag like v0.42.4" }).default(DEPLOYED_VERSIONS.thanos),
  kubePrometheusStack: semver.default(DEPLOYED_VERSIONS.kubePrometheusStack),
  loki: semver.default(DEPLOYED_VERSIONS.loki),
  alloy: semver.default(DEPLOYED_VERSIONS.alloy),
  grafana: semver.default(DEPLOYED_VERSIONS.grafana),
});

const retention = z
  .strictObject({
    /** Raw (full-resolution) blocks in the bucket. */
    raw: duration.default("30d"),
    /** 5m downsampled blocks. */
    fiveMinutes: duration.default("180d"),
    /** 1h downsampled blocks. */
    oneHour: duration.default("2y"),
    /** Log chunks. */
    logs: duration.default("30d"),
    /** Local TSDB window of each Prometheus replica (the sidecar uploads every 2h). */
    local: duration.default("24h"),
    /** How long overwritten or deleted object versions are kept. */
    noncurrentVersions: duration.default("7d"),
  })
  .superRefine((r, ctx) => {
    const s = (d: string): number => (DURATION.test(d) ? durationSeconds(d) : NaN);
    // Thanos downsamples raw blocks older than 40h to 5m, and 5m blocks older than 10d to 1h.
    if (s(r.raw) < 40 * 3600)
      ctx.addIssue({ code: "custom", path: ["raw"], message: "must be at least 40h, or blocks are deleted before they are downsampled" });
    if (s(r.fiveMinutes) < 10 * 86400)
      ctx.addIssue({ code: "custom", path: ["fiveMinutes"], message: "must be at least 10d, or 5m blocks are deleted before they are downsampled" });
    if (s(r.local) < 4 * 3600)
      ctx.addIssue({ code: "custom", path: ["local"], message: "must be at least 4h: two 2h blocks must fit before upload" });
    if (s(r.noncurrentVersions) < 2 * 86400)
      ctx.addIssue({ code: "custom", path: ["noncurrentVersions"], message: "must be at least 2d, at least the compactor's delete delay" });
  });

const encryption = z
  .strictObject({
    /** `provider`: cloud-managed keys; `customer`: a customer-managed key (created here unless keyId adopts one). */
    mode: z.enum(["provider", "customer"]).default("provider"),
    keyId: z.string().min(1).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.mode === "provider" && e.keyId !== undefined)
      ctx.addIssue({ code: "custom", path: ["keyId"], message: "keyId is only used with mode: customer" });
  });

const alertingSpoke = z.strictObject({
  /** Receives the always-firing Watchdog; alerts when it stops. */
  deadMansSwitch: webhook,
  /** Default receiver of the spoke's own alerts. */
  receiver: webhook,
  /** Forward alerts to the hub Alertmanager over mTLS as well. */
  forwardToHub: z.boolean().default(true),
});

const alertingHub = z.strictObject({
  deadMansSwitch: webhook,
  /** Routing per environment: `prod` spokes page, everything else goes to `nonProd`. */
  receivers: z.strictObject({ prod: webhook, nonProd: webhook }),
});

// ---- per-cloud cluster and network ------------------------------------------------------

const awsAccount = z.string().regex(/^[0-9]{12}$/, { error: "expected a 12-digit AWS account id" });
const awsId = (prefix: string): z.ZodString =>
  z.string().regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), { error: `expected an id like ${prefix}-0a1b2c3d4e5f60718` });

const awsCluster = z
  .strictObject({
    name: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, { error: "expected an EKS cluster name" }),
    accountId: awsAccount,
    /** How workloads get AWS credentials: EKS Pod Identity (preferred) or IRSA. */
    identity: z.enum(["pod-identity", "irsa"]).default("pod-identity"),
    /**
     * The cluster's OIDC issuer (`aws eks describe-cluster --query cluster.identity.oidc.issuer`);
     * required for IRSA and on a hub that federates its readers. Exactly as EKS publishes it, with
     * no trailing slash: IAM keys its conditions by the issuer's host and path.
     */
    oidcIssuerUrl: z
      .string()
      .regex(/^https:\/\/oidc\.eks\.[a-z]{2}(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?\/id\/[0-9A-Za-z]+$/, {
        error: "expected the EKS issuer, like https://oidc.eks.eu-central-1.amazonaws.com/id/5E7A1C9B3D2F4A6E8C0B1D3F5A7C9E1B (no trailing slash)",
      })
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.identity === "irsa" && c.oidcIssuerUrl === undefined)
      ctx.addIssue({ code: "custom", path: ["oidcIssuerUrl"], message: "required with identity: irsa (aws eks describe-cluster --query cluster.identity.oidc.issuer)" });
  });

const awsNetwork = z.strictObject({
  vpcId: awsId("vpc"),
  /** Public subnets that hold the NAT gateways (one per egress address). */
  publicSubnetIds: z.array(awsId("subnet")).min(1),
  /** Route tables of the cluster's private subnets; their default route goes to the NAT gateways. */
  privateRouteTableIds: z.array(awsId("rtb")).min(1),
  /** CIDR blocks of the cluster's nodes and pods. */
  cidrs: z.array(cidr).min(1),
  /** The S3 gateway endpoint writes must come through: created here, or adopted. */
  s3Endpoint: z
    .strictObject({ mode: z.enum(["create", "existing"]).default("create"), id: awsId("vpce").optional() })
    .superRefine((e, ctx) => {
      if (e.mode === "existing" && e.id === undefined)
        ctx.addIssue({ code: "custom", path: ["id"], message: "required with mode: existing (the vpce- id of the S3 gateway endpoint)" });
      if (e.mode === "create" && e.id !== undefined)
        ctx.addIssue({ code: "custom", path: ["id"], message: "only used with mode: existing" });
    })
    .default({ mode: "create" }),
});

const gcpProject = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { error: "expected a GCP project id" });

const gcpCluster = z.strictObject({
  name: dnsLabel,
  project: gcpProject,
  /** Region or zone of the GKE cluster. */
  location: z.string().min(1),
  /**
   * The operator's confirmation that `project` holds no GKE cluster but this one. The Workload
   * Identity pool `<project>.svc.id.goog` is project-wide ("Identity sameness",
   * https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity): any cluster of
   * the project with the same namespace/ServiceAccount is a writer. `false` is refused; unset
   * warns on every run.
   */
  dedicatedProject: z
    .boolean()
    .refine((v) => v, {
      error:
        "must not be false: the project's Workload Identity pool is shared by every GKE cluster of the project, so another cluster's observability/prometheus ServiceAccount could write this spoke's buckets; run the cluster in a project of its own and set true",
    })
    .optional(),
});

const gcpNetwork = z.strictObject({
  /** Project of the (possibly shared) VPC; defaults to the cluster project. */
  project: gcpProject.optional(),
  network: dnsLabel,
  subnetwork: dnsLabel,
  cidrs: z.array(cidr).min(1),
  /** Restrict bucket access to the spoke VPC and the hub's egress IPs with a bucket IP filter. */
  bucketIpFilter: z.boolean().default(true),
});

const guid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, { error: "expected a GUID" });
const azureName = z.string().regex(/^[-\w._()]{1,90}$/, { error: "expected an Azure resource name" });

const azureCluster = z.strictObject({
  name: azureName,
  subscriptionId: guid,
  tenantId: guid,
  resourceGroup: azureName,
  /**
   * The AKS OIDC issuer (`az aks show --query oidcIssuerProfile.issuerUrl`), exactly as AKS
   * publishes it, trailing slash included: a federated credential's issuer "must match the issuer
   * claim of the external token being exchanged" (Microsoft Graph, federatedIdentityCredential
   * resource type, https://learn.microsoft.com/graph/api/resources/federatedidentitycredential).
   */
  oidcIssuerUrl: httpsUrl.refine((v) => v.endsWith("/"), { error: "expected the AKS issuer exactly as az aks show prints it, ending in '/' (the token's iss claim does)" }),
});

const azureNetwork = z.strictObject({
  resourceGroup: azureName,
  virtualNetwork: azureName,
  /** The cluster's node subnet: NAT gateway and storage VNet rule attach to it. */
  subnet: azureName,
  cidrs: z.array(cidr).min(1),
});

// ---- S3-compatible object storage (cloud s3) -----------------------------------------------

/** A Kubernetes annotation key (`prefix/name` or `name`), as the API server validates it. */
const annotationKey = z.string().regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, {
  error: "expected a Kubernetes annotation key like kubernetes.io/elb.id",
});

const s3Cluster = z.strictObject({
  /** The Kubernetes cluster's name (labels and the contract); the cluster is the operator's, reached through kubeconfig. */
  name: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_.-]{0,99}$/, { error: "expected the cluster's name (letters, digits, '-', '_', '.')" }),
});

const s3Network = z.strictObject({
  /** CIDR blocks of the cluster's nodes and pods (load-balancer health checks come from them). */
  cidrs: z.array(cidr).min(1),
  /**
   * Annotations of the public LoadBalancer Services, exactly as the operator's load-balancer
   * implementation needs them (Open Telekom Cloud CCE: `kubernetes.io/elb.id` of an existing ELB;
   * MetalLB: `metallb.universe.tf/address-pool`). The network is the operator's: adopted, never created.
   */
  loadBalancerAnnotations: z.record(annotationKey, z.string()).default({}),
  /**
   * The addresses the object storage sees when this cluster's writers reach it; empty: the egress
   * addresses (`observability:egress.addresses`). Set it when the service is reached over a
   * private link or an on-premises network that does not pass the egress NAT.
   */
  storageSourceCidrs: z.array(cidr).default([]),
});

/** An access key pair of the S3-compatible service; both halves are Pulumi secrets. */
const s3Credential = z.strictObject({
  accessKey: secret(z.string().regex(/^\S{3,128}$/, { error: "expected an access key id" })),
  secretKey: secret(z.string().min(8, { error: "expected a secret access key" })),
});

/** S3 bucket naming rules (S3 "General purpose bucket naming rules"), which the compatible services share. */
const s3BucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: "expected an S3 bucket name (3-63 lowercase letters, digits, '.', '-')" });

/** Identities of the spoke's bucket users, by the name its bucket policies know them by. */
const s3Identities = {
  sidecar: z.string().min(1),
  compactor: z.string().min(1),
  loki: z.string().min(1),
  /** The spoke's own store gateway (`queryPath: spoke-query`): read-only. */
  store: z.string().min(1).optional(),
  /** The hub's read-only identity (`queryPath: hub-store`). */
  reader: z.string().min(1).optional(),
};

/**
 * Where a cloud s3 spoke's identities come from: the operator's (`provided`), or created by the
 * stack through the service's admin API (`created`, profile `minio` only).
 */
export const S3_IDENTITY_MODES = ["provided", "created"] as const;
export type S3IdentityMode = (typeof S3_IDENTITY_MODES)[number];

const s3ObjectStorage = z.strictObject({
  /** What the service is; says what it can express (components/clouds/s3/profiles.ts). */
  profile: z.enum(S3_PROFILES),
  /** The S3 API endpoint, https only (the keys and the telemetry travel over it). */
  endpoint: httpsUrl.refine((v) => !URL.canParse(v) || (new URL(v).pathname === "/" && new URL(v).search === "" && new URL(v).username === ""), {
    error: "expected the endpoint's origin only, like https://obs.eu-de.otc.t-systems.com (no path, query or credentials)",
  }),
  /** Path-style (`endpoint/bucket`) or virtual-host (`bucket.endpoint`) addressing; default: the profile's. */
  addressing: z.enum(["path", "virtual-host"]).optional(),
  /** The region the service expects in SigV4 signatures; default: observability:region (public services must use it). */
  signingRegion: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: "expected a region name like eu-de or us-east-1" }).optional(),
  /** `create` the buckets through the S3 API, or adopt the `existing` ones the operator created. */
  buckets: z
    .strictObject({ mode: z.enum(["create", "existing"]).default("create"), metrics: s3BucketName.optional(), logs: s3BucketName.optional() })
    .superRefine((b, ctx) => {
      for (const k of ["metrics", "logs"] as const) {
        if (b.mode === "existing" && b[k] === undefined) ctx.addIssue({ code: "custom", path: [k], message: "required with mode: existing (the name of the bucket the operator created)" });
      }
    })
    .default({ mode: "create" }),
  /**
   * How the service's bucket policies name each identity (the `Principal`), in the profile's format
   * (components/clouds/s3/profiles.ts): one identity per writing component, the store gateway, and
   * the hub's read-only reader.
   */
  principals: z.strictObject(s3Identities).optional(),
  /**
   * Where the identities come from: `provided` (default), the operator's, named in `principals`
   * with their keys in `credentials`; or `created` by this stack through the service's admin API
   * (profile `minio` only: one MinIO user per identity with its own IAM policy,
   * components/clouds/s3/storage.ts), when `principals` and every key but `provisioner` are absent.
   * Required-ness per mode is checked by the s3 rules of {@link validateStackConfig}.
   */
  identities: z.enum(S3_IDENTITY_MODES).default("provided"),
  /**
   * Access keys, all Pulumi secrets: `provisioner` creates and hardens the buckets (Pulumi's own
   * credential; with `identities: created` also the MinIO admin creating the users); the others
   * are the identities above, one key each (`identities: provided` only).
   */
  credentials: z.strictObject({
    provisioner: s3Credential,
    sidecar: s3Credential.optional(),
    compactor: s3Credential.optional(),
    loki: s3Credential.optional(),
    store: s3Credential.optional(),
    reader: s3Credential.optional(),
  }),
});

const CLUSTER: Record<Cloud, z.ZodType> = { aws: awsCluster, gcp: gcpCluster, azure: azureCluster, s3: s3Cluster };
const NETWORK: Record<Cloud, z.ZodType> = { aws: awsNetwork, gcp: gcpNetwork, azure: azureNetwork, s3: s3Network };
/** Per-cloud settings beyond cluster and network: only cloud s3 has one (its object storage service). */
const OBJECT_STORAGE: Partial<Record<Cloud, z.ZodType>> = { s3: s3ObjectStorage };

// ---- roles --------------------------------------------------------------------------------

/** How the hub reads a spoke's bucket: federated workload identity, or a static key. */
export const READER_AUTH = ["federated", "key"] as const;
export type ReaderAuth = (typeof READER_AUTH)[number];

/**
 * The hub reader of a stack whose file does not set `hubReader.auth`: federated, except on
 * S3-compatible storage (cloud s3), which cannot trust the hub's issuer and reads with a key.
 */
export function defaultReaderAuth(cloud: unknown): ReaderAuth {
  return cloud === "s3" ? "key" : "federated";
}

/** The environments a stack can declare; `prod` alerts page, the others open tickets. */
export const ENVIRONMENTS = ["dev", "test", "stag", "prod", "ops"] as const;

/** The roles a stack can have: a spoke stores its zone's telemetry, the hub queries every spoke, an edge only writes to its zone spoke. */
export const ROLES = ["spoke", "hub", "edge"] as const;
export type Role = (typeof ROLES)[number];

const common = {
  role: z.enum(ROLES),
  cloud: z.enum(CLOUDS),
  region: z.string(),
  environment: z.enum(ENVIRONMENTS),
  sovereigntyZone: z.string().regex(/^[a-z]{2}$/, { error: "expected a jurisdiction code like de or eu" }),
  kubeconfig: secret(z.string().min(1, { error: "expected the cluster's kubeconfig" })),
  namespace: dnsLabel.default("observability"),
  profile: z.enum(["small", "medium", "large"]).default("small"),
  tags: z
    .record(z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, { error: "tag keys must be lowercase (GCP label rules)" }),
      z.string().regex(/^[a-z0-9_-]{0,63}$/, { error: "tag values must be lowercase letters, digits, '_' or '-' (GCP label rules)" }))
    .default({}),
  egress: egress.default({ mode: "create", count: 2, addresses: [] }),
  pki: pki.default({ caValidityHours: 87600, caEarlyRenewalHours: 8760, leafValidityHours: 2160, leafEarlyRenewalHours: 720, rotateCa: false }),
  versions: versions.default({ ...DEPLOYED_VERSIONS }),
  retention: retention.default({ raw: "30d", fiveMinutes: "180d", oneHour: "2y", logs: "30d", local: "24h", noncurrentVersions: "7d" }),
  encryption: encryption.default({ mode: "provider" }),
  cluster: z.unknown(),
  network: z.unknown(),
  /** Cloud s3 only: the S3-compatible service (checked against its schema below). */
  objectStorage: z.unknown().optional(),
};

const spokeSchema = z.strictObject({
  ...common,
  role: z.literal("spoke"),
  hub: z.strictObject({ stack: stackName }),
  /** `hub-store`: the hub reads this spoke's bucket; `spoke-query`: the hub dials this spoke's local query. */
  queryPath: z.enum(["hub-store", "spoke-query"]).default("hub-store"),
  endpoints: z.strictObject({ thanos: hostname, loki: hostname }),
  loki: z.strictObject({ mode: z.enum(["single-binary", "simple-scalable"]).default("single-binary") }).default({ mode: "single-binary" }),
  /**
   * How the hub reads this spoke's metrics bucket (`hub-store`). `federated` (default): no stored
   * credential; the spoke trusts the hub cluster's ServiceAccount issuer for exactly the hub's store
   * gateway of this spoke. `key`: a static read-only credential in the contract (for hubs whose
   * issuer is not publicly discoverable), replaced every `rotationDays`, the previous one staying
   * valid one more period. `oidcProvider` (AWS): `create` the account's IAM OIDC provider for the
   * hub's issuer, or use the `existing` one (IAM allows one per issuer and account, so spokes sharing
   * an account, or a spoke in the hub's own IRSA account, share it).
   */
  hubReader: z
    .strictObject({
      auth: z.enum(READER_AUTH).default("federated"),
      rotationDays: z.int().min(1).max(365).default(30),
      oidcProvider: z.enum(["create", "existing"]).optional(),
    })
    .default({ auth: "federated", rotationDays: 30 }),
  alerting: alertingSpoke,
  /**
   * Whether the cluster runs a kube-proxy whose metrics Prometheus can reach. Off: no kube-proxy
   * ServiceMonitor and no KubeProxyDown rule (kube-prometheus-stack `kubeProxy.enabled`). The
   * default depends on the cloud (components/workloads/values/kube-prometheus-stack.ts
   * KUBE_PROXY_SCRAPEABLE_BY_DEFAULT).
   */
  kubeProxy: z.boolean().optional(),
  /**
   * The zone receiver: a Thanos Receive (router and ingesters) that takes the remote write of
   * the edges attached to this spoke, one tenant per edge, into the spoke's own metrics bucket.
   * `endpoint` is the name the edges dial (its server certificate's name); `edges` the edge
   * stacks it accepts, each of this spoke's sovereignty zone.
   */
  receive: z
    .strictObject({
      enabled: z.boolean().default(false),
      endpoint: hostname.optional(),
      edges: z.array(stackName).default([]),
    })
    .superRefine((r, ctx) => {
      if (r.enabled && r.endpoint === undefined) ctx.addIssue({ code: "custom", path: ["endpoint"], message: "not set; the edges dial the receiver at this name (e.g. receive.<stack>.obs.example.eu)" });
      if (!r.enabled && r.edges.length > 0) ctx.addIssue({ code: "custom", path: ["enabled"], message: "must be true while edges are attached: they write to this spoke's receiver" });
      const dup = r.edges.filter((e, i) => r.edges.indexOf(e) !== i);
      if (dup.length > 0) ctx.addIssue({ code: "custom", path: ["edges"], message: `lists ${dup.map((d) => `'${d}'`).join(", ")} twice` });
    })
    .default({ enabled: false, edges: [] }),
});

/**
 * An edge: a small cluster whose Prometheus runs in agent mode and writes only to the zone
 * receiver of `spoke`, a spoke of its own sovereignty zone; no buckets, no compactor, no
 * exposure, so no retention, encryption or object storage of its own.
 */
const edgeSchema = z
  .strictObject({
    ...common,
    role: z.literal("edge"),
    /** The spoke of this edge's sovereignty zone that receives its samples and logs. */
    spoke: z.strictObject({ stack: stackName }),
    alerting: z.strictObject({
      /**
       * The edge's own dead man's switch, pinged by the edge while its agent is up and its remote
       * write is progressing; it does not depend on the spoke (agent mode evaluates no rules).
       */
      deadMansSwitch: webhook,
    }),
    kubeProxy: z.boolean().optional(),
  })
  .omit({ retention: true, encryption: true, objectStorage: true });

/** An IPv4 CIDR the hub may expose Grafana to; the whole internet is refused. */
const operatorCidr = cidr
  .refine((v) => isIP(v.split("/")[0]) === 4, { error: "expected an IPv4 CIDR block like 198.51.100.0/24 (the load balancers are IPv4)" })
  .refine((v) => Number(v.split("/")[1]) >= 8, { error: "expected the operators' own ranges (a prefix of /8 or longer), not the whole internet" });

/**
 * Grafana access: exposure to operator ranges only, TLS served by Grafana itself, SSO through
 * generic OAuth (Grafana "Configure generic OAuth2 authentication"). `sso.clientSecret` must be
 * set as a secret (`pulumi config set --secret --path grafana.sso.clientSecret`).
 */
const grafanaAccess = z.strictObject({
  /** Ranges the Grafana LoadBalancer admits; empty: Grafana is not exposed (port-forward only). */
  operatorCidrs: z.array(operatorCidr).default([]),
  /** A kubernetes.io/tls Secret in the namespace with a certificate browsers trust; absent: a certificate from the hub CA. */
  tls: z.strictObject({ existingSecret: dnsLabel.optional() }).default({}),
  sso: z
    .strictObject({
      /** Label of the login button. */
      name: z.string().min(1).default("SSO"),
      authUrl: httpsUrl,
      tokenUrl: httpsUrl,
      /** The provider's OpenID UserInfo endpoint. */
      apiUrl: httpsUrl,
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      scopes: z.array(z.string().regex(/^\S+$/, { error: "expected one scope without spaces" })).min(1).default(["openid", "email", "profile"]),
      /** Only members of these groups may log in (needs groupsAttributePath). */
      allowedGroups: z.array(z.string().min(1)).default([]),
      /** JMESPath to the groups in the ID token or UserInfo (Entra ID: `groups`). */
      groupsAttributePath: z.string().min(1).optional(),
      /** JMESPath mapping claims to Viewer/Editor/Admin; absent: every user is a Viewer. */
      roleAttributePath: z.string().min(1).optional(),
    })
    .refine((s) => s.allowedGroups.length === 0 || s.groupsAttributePath !== undefined, { error: "allowedGroups needs groupsAttributePath: Grafana reads the groups from that claim" })
    .optional(),
});

const hubSchema = z.strictObject({
  ...common,
  role: z.literal("hub"),
  /** Spoke stacks the hub reads, by stack name. Empty on the first (bootstrap) deployment. */
  spokes: z.array(stackName).default([]),
  endpoints: z.strictObject({ grafana: hostname, alertmanager: hostname }),
  alerting: alertingHub,
  grafana: grafanaAccess.default({ operatorCidrs: [], tls: {} }),
  /**
   * `federated` (default): the hub publishes its cluster's ServiceAccount issuer, so spokes can
   * trust its store gateways without any stored credential; the issuer must be publicly
   * discoverable (the clouds' STS fetch its keys). `key`: no issuer is published and every spoke
   * must use `hubReader.auth: key`.
   */
  hubReader: z.strictObject({ auth: z.enum(READER_AUTH).default("federated") }).default({ auth: "federated" }),
});

export type AwsCluster = z.output<typeof awsCluster>;
export type AwsNetwork = z.output<typeof awsNetwork>;
export type GcpCluster = z.output<typeof gcpCluster>;
export type GcpNetwork = z.output<typeof gcpNetwork>;
export type AzureCluster = z.output<typeof azureCluster>;
export type AzureNetwork = z.output<typeof azureNetwork>;

export type S3Cluster = z.output<typeof s3Cluster>;
export type S3Network = z.output<typeof s3Network>;
export type S3ObjectStorage = z.output<typeof s3ObjectStorage>;
export type S3Credential = z.output<typeof s3Credential>;

/** Cluster and network references (and, for S3-compatible storage, the service), discriminated by cloud. */
export type CloudTarget =
  | { cloud: "aws"; cluster: AwsCluster; network: AwsNetwork }
  | { cloud: "gcp"; cluster: GcpCluster; network: GcpNetwork }
  | { cloud: "azure"; cluster: AzureCluster; network: AzureNetwork }
  | { cloud: "s3"; cluster: S3Cluster; network: S3Network; objectStorage: S3ObjectStorage };

type Base<S extends z.ZodType> = Omit<z.output<S>, "cloud" | "cluster" | "network" | "objectStorage">;
/** Validated configuration of a spoke stack. */
export type SpokeConfig = Base<typeof spokeSchema> & CloudTarget & { stack: string };
/** Validated configuration of the hub stack. */
export type HubConfig = Base<typeof hubSchema> & CloudTarget & { stack: string };
/** Validated configuration of an edge stack (no object storage: edges store nothing). */
export type EdgeConfig = Omit<z.output<typeof edgeSchema>, "cloud" | "cluster" | "network"> & Exclude<CloudTarget, { cloud: "s3" }> & { stack: string };
/** Validated configuration of any stack. */
export type StackConfig = SpokeConfig | HubConfig | EdgeConfig;
export type Retention = z.output<typeof retention>;

/** A stack's retention from its raw `observability:retention` value (absent keys take the schema's defaults). */
export function retentionOf(raw: unknown): Retention {
  return retention.parse(raw ?? {});
}
export type PkiConfig = z.output<typeof pki>;
export type Versions = z.output<typeof versions>;
export type EgressConfig = z.output<typeof egress>;
export type Encryption = z.output<typeof encryption>;
export type Profile = StackConfig["profile"];

/** Dotted paths (without the namespace) of the secret leaves under a schema. */
function secretPaths(schema: z.ZodType, prefix: string): string[] {
  if (SECRET_SCHEMAS.has(schema)) return [prefix];
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) return secretPaths(schema.unwrap() as z.ZodType, prefix);
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([k, v]) => secretPaths(v, prefix === "" ? k : `${prefix}.${k}`));
  }
  return [];
}

/**
 * Every secret leaf a stack of `role` on `cloud` needs, as config paths without the
 * namespace (`kubeconfig`, `alerting.receiver.url`): derived from the schema (the values
 * marked secret), per role and, through `cluster`/`network`, per cloud.
 */
export const SECRET_LEAVES: Readonly<Record<Role, Readonly<Record<Cloud, readonly string[]>>>> = (() => {
  const perCloud = (role: z.ZodObject): Record<Cloud, string[]> =>
    Object.fromEntries(
      CLOUDS.map((c) => {
        const storage = OBJECT_STORAGE[c];
        return [c, [...secretPaths(role, ""), ...secretPaths(CLUSTER[c], "cluster"), ...secretPaths(NETWORK[c], "network"), ...(storage !== undefined ? secretPaths(storage, "objectStorage") : [])]];
      }),
    ) as Record<Cloud, string[]>;
  return { spoke: perCloud(spokeSchema), hub: perCloud(hubSchema), edge: perCloud(edgeSchema) };
})();

/** The secret leaves of a stack of `role` on `cloud` (see {@link SECRET_LEAVES}); none for an unknown role or cloud. */
export function secretLeaves(role: unknown, cloud: unknown): readonly string[] {
  const r = ROLES.find((x) => x === role);
  if (r === undefined) return [];
  const c = CLOUDS.find((x) => x === cloud);
  return c === undefined ? [] : SECRET_LEAVES[r][c];
}

/**
 * The secret leaves one stack needs (`values`: its `observability:*` values): those of its role
 * and cloud ({@link secretLeaves}), except, on cloud s3, the key of the read identity its query
 * path does not use (`reader` with `spoke-query`, `store` with `hub-store`), and, with
 * `objectStorage.identities: created`, every identity's key but the provisioner's (the stack
 * creates the identities and their keys).
 */
export function neededSecretLeaves(values: Record<string, unknown>): readonly string[] {
  const all = secretLeaves(values.role, values.cloud);
  if (values.cloud !== "s3") return all;
  const storage = values.objectStorage;
  const created = storage !== null && typeof storage === "object" && (storage as { identities?: unknown }).identities === "created";
  if (created) return all.filter((l) => !l.startsWith("objectStorage.credentials.") || l.startsWith("objectStorage.credentials.provisioner."));
  const unused = (values.queryPath ?? "hub-store") === "spoke-query" ? "reader" : "store";
  return all.filter((l) => !l.startsWith(`objectStorage.credentials.${unused}.`));
}

/** Top-level keys whose values must be Pulumi secrets (they hold a secret leaf in some role or cloud). */
export const SECRET_KEYS: readonly string[] = [
  ...new Set(Object.values(SECRET_LEAVES).flatMap((byCloud) => Object.values(byCloud).flatMap((paths) => paths.map((p) => p.split(".")[0])))),
];

/** True when a config path (`observability:alerting.receiver.url` or `alerting.receiver.url`) is, or lies inside, a secret. */
export function isSecretPath(path: string): boolean {
  const bare = path.startsWith(`${NS}:`) ? path.slice(NS.length + 1) : path;
  const all = new Set(Object.values(SECRET_LEAVES).flatMap((byCloud) => Object.values(byCloud).flat()));
  return [...all].some((p) => bare === p || bare.startsWith(`${p}.`) || bare.startsWith(`${p}[`) || p.startsWith(`${bare}.`));
}

/** Every top-level key the schema knows, per role. */
export const KEYS = {
  spoke: Object.keys(spokeSchema.shape),
  hub: Object.keys(hubSchema.shape),
  edge: Object.keys(edgeSchema.shape),
} as const;

/** One problem in a stack's configuration. */
export interface ConfigIssue {
  /** The key path as a user types it: `observability:retention.raw`. */
  key: string;
  message: string;
}

/** What the validator needs to know beyond the stack's own values. */
export interface ValidationContext {
  /** The stack being validated. */
  stack: string;
  /** Config keys (`observability:<key>`) that are secret in the stack file. */
  secretKeys: ReadonlySet<string>;
  /**
   * Stacks known in the project directory and their roles, when the validator can see them
   * (the hub's spoke list is checked against it); omitted, those checks are skipped.
   */
  knownStacks?: ReadonlyMap<string, string | undefined>;
  /**
   * The declared `observability:sovereigntyZone` of the stacks in the project directory, when
   * the validator can see them: an edge and its spoke are checked to be of one zone.
   */
  knownZones?: ReadonlyMap<string, string | undefined>;
}

export type ValidationResult = { ok: true; config: StackConfig } | { ok: false; issues: ConfigIssue[] };

const NS = "observability";

function keyPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return `${NS}:<root>`;
  let out = `${NS}:${String(path[0])}`;
  for (const p of path.slice(1)) out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return out;
}

/** "an AWS region", "a GCP region": the clouds as their vendors spell them, with the right article. */
export function cloudName(cloud: Cloud): string {
  return { aws: "an AWS", gcp: "a GCP", azure: "an Azure", s3: "an S3-compatible service's" }[cloud];
}

/** What the user wrote, for a message; secrets and whole maps are never printed. */
function found(path: readonly PropertyKey[], input: unknown): string {
  if (isSecretPath(path.map(String).join("."))) return "a value (not shown: it is a secret)";
  if (input === null) return "null";
  if (Array.isArray(input)) return `a list of ${input.length}`;
  if (typeof input === "object") return "a map";
  return JSON.stringify(input);
}

const KIND: Record<string, string> = { string: "a string", object: "a map", array: "a list", number: "a number", int: "a whole number", boolean: "true or false" };

/** What the messages of one validation need to know: the stack and its secret leaves. */
interface MessageContext {
  stack: string;
  leaves: readonly string[];
  /** The values validated: refinements report no input, so the value found is looked up here. */
  root: Record<string, unknown>;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** The fix for a value that is not set: secrets have their own command, and are set leaf by leaf. */
function notSet(path: readonly PropertyKey[], ctx: MessageContext, expected: string): string {
  const bare = path.map(String).join(".");
  const leaves = ctx.leaves.filter((l) => l === bare || l.startsWith(`${bare}.`));
  if (leaves.length > 0) {
    const cmds = leaves.map((l) => `pulumi config set --secret --path '${NS}:${l}' <value> -s ${ctx.stack}`).join("; ");
    return `not set; ${leaves.length === 1 ? "it is a secret" : `it holds the secrets ${leaves.map((l) => `${NS}:${l}`).join(", ")}`}: set ${leaves.length === 1 ? "it" : "them"} with npm run fleet -- secrets --stacks ${ctx.stack} (or ${cmds})`;
  }
  return `not set; expected ${expected}`;
}

/** One sentence per zod issue, in the project's words, with the value found. */
function describe(issue: z.core.$ZodIssue, path: readonly PropertyKey[], ctx: MessageContext): string {
  // A refinement's issue carries the object it refined (or nothing), not the value at its path.
  const input: unknown = issue.code === "custom" ? valueAt(ctx.root, path) : issue.input;
  if (issue.code === "invalid_type") {
    const kind = KIND[issue.expected] ?? issue.expected;
    return input === undefined ? notSet(path, ctx, kind) : `found ${found(path, input)}, expected ${kind}`;
  }
  if (issue.code === "invalid_value") {
    const allowed = issue.values.map(String).join(", ");
    return input === undefined ? notSet(path, ctx, `one of ${allowed}`) : `found ${found(path, input)}, expected one of ${allowed}`;
  }
  // zod's own wording ("Too small: expected number to be >=1") is replaced; a message the schema wrote is kept.
  if ((issue.code === "too_small" || issue.code === "too_big") && /^Too (small|big)/.test(issue.message)) {
    const bound = `${issue.code === "too_small" ? "at least" : "at most"} ${String(issue.code === "too_small" ? issue.minimum : issue.maximum)}`;
    const what = issue.origin === "array" ? `a list of ${bound} item(s)` : issue.origin === "string" ? `${bound} character(s)` : bound;
    return `found ${found(path, input)}, expected ${what}`;
  }
  if (issue.code === "invalid_key") {
    const inner = issue.issues[0]?.message;
    return `key ${found(path.slice(0, -1), path[path.length - 1])} is not allowed${inner !== undefined ? `: ${inner}` : ""}`;
  }
  if (input === undefined || (input !== null && typeof input === "object")) return issue.message;
  return `${issue.message} (found ${found(path, input)})`;
}

function collect(error: z.ZodError, ctx: MessageContext, prefix: readonly PropertyKey[] = []): ConfigIssue[] {
  return error.issues.flatMap((i) => {
    if (i.code === "unrecognized_keys") {
      return i.keys.map((k) => ({ key: keyPath([...prefix, ...i.path, k]), message: "unknown key; check its spelling against the configuration reference in README.md" }));
    }
    const path = [...prefix, ...i.path];
    return [{ key: keyPath(path), message: describe(i, path, ctx) }];
  });
}

/**
 * Validates the `observability:*` values of one stack (keys without the namespace,
 * objects already parsed). Returns every problem at once.
 */
export function validateStackConfig(values: Record<string, unknown>, ctx: ValidationContext): ValidationResult {
  const issues: ConfigIssue[] = [];
  const role = values.role;
  const cloudValue = values.cloud;
  const knownRole = ROLES.find((r) => r === role);
  const schema = knownRole === "hub" ? hubSchema : knownRole === "edge" ? edgeSchema : spokeSchema;
  if (knownRole === undefined) {
    issues.push({ key: `${NS}:role`, message: role === undefined ? "not set; expected 'spoke', 'hub' or 'edge'" : `found ${found(["role"], role)}, expected 'spoke', 'hub' or 'edge'` });
  }
  // reportInput: zod 4 leaves the offending value out of its issues unless asked.
  const parsed = schema.safeParse(knownRole !== undefined ? values : { ...values, role: "spoke" }, { reportInput: true });
  const messages: MessageContext = { stack: ctx.stack, root: values, leaves: secretLeaves(knownRole ?? "spoke", CLOUDS.find((c) => c === cloudValue) ?? "aws") };
  // `cluster` and `network` are checked below against the schema of the stack's cloud, once.
  const ownChecks = new Set([`${NS}:role`, `${NS}:cluster`, `${NS}:network`, `${NS}:objectStorage`]);
  if (!parsed.success) issues.push(...collect(parsed.error, messages).filter((i) => !ownChecks.has(i.key)));

  const cloud = CLOUDS.find((c) => c === cloudValue);
  if (cloud === undefined) {
    if (!issues.some((i) => i.key === `${NS}:cloud`))
      issues.push({ key: `${NS}:cloud`, message: cloudValue === undefined ? `not set; expected one of ${CLOUDS.join(", ")}` : `found ${found(["cloud"], cloudValue)}, expected one of ${CLOUDS.join(", ")}` });
  } else {
    const storageSchema = OBJECT_STORAGE[cloud];
    if (knownRole === "edge" && values.objectStorage !== undefined) {
      issues.push({ key: `${NS}:objectStorage`, message: "an edge stores nothing (no buckets: its samples are written to its zone spoke's receiver): remove it" });
    } else if (storageSchema === undefined && values.objectStorage !== undefined) {
      issues.push({ key: `${NS}:objectStorage`, message: `is only used with cloud s3 (an S3-compatible service); a ${cloud} stack's storage is its cloud's own: remove it` });
    }
    for (const [part, schemas] of [["cluster", CLUSTER], ["network", NETWORK], ["objectStorage", OBJECT_STORAGE]] as const) {
      const schema = schemas[cloud];
      if (schema === undefined) continue;
      if (values[part] === undefined) {
        if (part === "objectStorage") {
          issues.push({ key: `${NS}:objectStorage`, message: `not set; a ${cloud} stack names its S3-compatible service: profile, endpoint, principals and credentials (see "S3-compatible spokes" in README.md)` });
          continue;
        }
        issues.push({ key: `${NS}:${part}`, message: `not set; expected a map describing the existing ${cloud} ${part} this stack deploys into (see "Per cloud" in README.md)` });
        continue;
      }
      const r = schema.safeParse(values[part], { reportInput: true });
      if (!r.success) issues.push(...collect(r.error, messages, [part]));
    }
    const region = values.region;
    if (typeof region === "string" && !isRegionOf(cloud, region)) {
      issues.push({
        key: `${NS}:region`,
        message:
          cloud === "s3"
            ? `found ${JSON.stringify(region)}, which is neither a region of a public S3-compatible service (${Object.values(S3_PUBLIC_REGIONS).flatMap((r) => Object.keys(r)).join(", ")}) nor an on-premises location named <country>-<site>, like de-fra1`
            : `found ${JSON.stringify(region)}, which is not ${cloudName(cloud)} region known to this project; use one listed in components/config/regions.ts`,
      });
    } else if (typeof region === "string" && typeof values.sovereigntyZone === "string" && !regionInZone(cloud, region, values.sovereigntyZone)) {
      issues.push({
        key: `${NS}:sovereigntyZone`,
        message: `found ${JSON.stringify(values.sovereigntyZone)}, but ${cloud} ${region} lies outside zone '${values.sovereigntyZone}' (it is in ${zonesOf(cloud, region).join(" / ")}): declare that zone, or choose a region inside '${values.sovereigntyZone}'`,
      });
    }
  }

  // A secret leaf written in plain text. Plain values beside the secrets (alerting.forwardToHub)
  // are fine: Pulumi marks the whole key secret once a leaf is set with --secret --path.
  for (const leaf of messages.leaves) {
    const [top] = leaf.split(".");
    if (valueAt(values, leaf.split(".")) === undefined || ctx.secretKeys.has(`${NS}:${top}`)) continue;
    const cmd = leaf === top ? `pulumi config set --secret ${NS}:${leaf} -s ${ctx.stack} < <file>` : `pulumi config set --secret --path '${NS}:${leaf}' <value> -s ${ctx.stack}`;
    issues.push({ key: `${NS}:${leaf}`, message: `is in plain text in the stack file and must be a secret: remove it and set it with npm run fleet -- secrets --stacks ${ctx.stack} (or ${cmd})` });
  }

  if (role === "hub" && values.grafana !== null && typeof values.grafana === "object" && (values.grafana as { sso?: unknown }).sso !== undefined && !ctx.secretKeys.has(`${NS}:grafana`)) {
    // The OAuth client secret lands in a Kubernetes Secret only; in the stack file it must be ciphertext.
    issues.push({ key: `${NS}:grafana.sso.clientSecret`, message: `must be a secret: pulumi config set --secret --path '${NS}:grafana.sso.clientSecret' ... -s ${ctx.stack}` });
  }
  if (role === "hub" && Array.isArray(values.spokes)) {
    const seen = new Set<string>();
    values.spokes.forEach((s: unknown, i: number) => {
      if (typeof s !== "string") return;
      if (seen.has(s)) issues.push({ key: `${NS}:spokes[${i}]`, message: `spoke '${s}' is listed twice` });
      seen.add(s);
      if (s === ctx.stack) issues.push({ key: `${NS}:spokes[${i}]`, message: "a hub cannot list itself as a spoke" });
      else if (ctx.knownStacks !== undefined) {
        if (!ctx.knownStacks.has(s)) issues.push({ key: `${NS}:spokes[${i}]`, message: `no stack '${s}' in this project (Pulumi.${s}.yaml not found)` });
        else if (ctx.knownStacks.get(s) !== "spoke") issues.push({ key: `${NS}:spokes[${i}]`, message: `stack '${s}' is not a spoke (its observability:role is ${JSON.stringify(ctx.knownStacks.get(s))})` });
      }
    });
  }
  if (role === "spoke" && cloud === "gcp" && (values.queryPath ?? "hub-store") === "hub-store" && values.network !== null && typeof values.network === "object" && (values.network as { bucketIpFilter?: unknown }).bucketIpFilter === false) {
    // IAM Conditions cannot bind GCS access to an IP: without the filter the hub's reader would work from anywhere.
    issues.push({ key: `${NS}:network.bucketIpFilter`, message: "must be true when queryPath is hub-store: the bucket IP filter is the only thing binding the hub's read access (key or federated) to the hub's egress IPs on GCP" });
  }
  const hubReader = values.hubReader !== null && typeof values.hubReader === "object" ? (values.hubReader as { auth?: unknown; oidcProvider?: unknown }) : {};
  if (role === "spoke" && cloud !== undefined && cloud !== "aws" && hubReader.oidcProvider !== undefined) {
    issues.push({ key: `${NS}:hubReader.oidcProvider`, message: `is an AWS setting (the account's IAM OIDC provider for the hub's issuer); remove it: ${cloud} federates through its own ${cloud === "gcp" ? "Workload Identity pool" : "federated identity credential"}` });
  }
  if (role === "spoke" && (hubReader.auth ?? "federated") === "key" && hubReader.oidcProvider !== undefined) {
    issues.push({ key: `${NS}:hubReader.oidcProvider`, message: "is only used with hubReader.auth: federated; remove it" });
  }
  const awsCluster = cloud === "aws" && values.cluster !== null && typeof values.cluster === "object" ? (values.cluster as { oidcIssuerUrl?: unknown }) : undefined;
  if (role === "hub" && awsCluster !== undefined && (hubReader.auth ?? "federated") === "federated" && awsCluster.oidcIssuerUrl === undefined) {
    issues.push({
      key: `${NS}:cluster.oidcIssuerUrl`,
      message: `not set; required with hubReader.auth: federated (the default): spokes trust this cluster's ServiceAccount issuer for the hub's store gateways. Set it from aws eks describe-cluster --name <cluster> --query cluster.identity.oidc.issuer (the issuer must be publicly discoverable), or set ${NS}:hubReader.auth: key in Pulumi.${ctx.stack}.yaml`,
    });
  }
  const issuer = awsCluster?.oidcIssuerUrl;
  // Only against a valid region: a wrong region is reported once, by itself.
  if (typeof issuer === "string" && typeof values.region === "string" && isRegionOf("aws", values.region)) {
    const m = /^https:\/\/oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com/.exec(issuer);
    if (m !== null && m[1] !== values.region)
      issues.push({ key: `${NS}:cluster.oidcIssuerUrl`, message: `is the issuer of an EKS cluster in ${m[1]}, but this stack's cluster is in ${values.region}: copy the issuer of the stack's own cluster` });
  }
  if (cloud === "azure" && values.retention !== null && typeof values.retention === "object") {
    // On Azure the recovery window is blob soft delete, whose retention is 1-365 days (DeleteRetentionPolicy.days,
    // https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview); a longer window cannot be expressed.
    const nc = (values.retention as { noncurrentVersions?: unknown }).noncurrentVersions;
    if (typeof nc === "string" && DURATION.test(nc) && durationSeconds(nc) > 365 * 86400)
      issues.push({ key: `${NS}:retention.noncurrentVersions`, message: `must be at most 365d on Azure (got ${nc}): the recovery window is blob soft delete, which keeps at most 365 days` });
  }
  if (role === "spoke" && values.hub !== null && typeof values.hub === "object" && ctx.knownStacks !== undefined) {
    const hub = (values.hub as { stack?: unknown }).stack;
    if (typeof hub === "string" && ctx.knownStacks.has(hub) && ctx.knownStacks.get(hub) !== "hub")
      issues.push({ key: `${NS}:hub.stack`, message: `stack '${hub}' is not a hub` });
  }

  if (cloud === "s3" && knownRole === "edge") {
    issues.push({ key: `${NS}:cloud`, message: "an edge on cloud s3 is not supported yet: an edge stores nothing, and cloud s3 names an S3-compatible storage service; declare the cloud whose network gives the edge its egress addresses (aws, gcp or azure)" });
  } else if (cloud === "s3") issues.push(...s3Issues(values, ctx.stack));
  issues.push(...zoneIssues(values, ctx));

  if (issues.length > 0 || !parsed.success || cloud === undefined) {
    return { ok: false, issues: dedupe(issues) };
  }
  const storageSchema = OBJECT_STORAGE[cloud];
  const config = {
    ...parsed.data,
    // An S3-compatible service has no workload identity federation: its hub reader is a key unless set otherwise (and refused then).
    ...(knownRole === "spoke" && (values.hubReader as { auth?: unknown } | undefined)?.auth === undefined ? { hubReader: { ...(parsed.data as z.output<typeof spokeSchema>).hubReader, auth: defaultReaderAuth(cloud) } } : {}),
    cloud,
    cluster: CLUSTER[cloud].parse(values.cluster),
    network: NETWORK[cloud].parse(values.network),
    ...(storageSchema !== undefined ? { objectStorage: storageSchema.parse(values.objectStorage) } : {}),
    stack: ctx.stack,
  } as StackConfig;
  return { ok: true, config };
}

/**
 * The rules of a stack on S3-compatible storage that relate several keys: the role, the egress
 * (adopted: the network is the operator's), the hub reader (a key: these services federate no
 * workload identity), the profile's regions and signing region, and the identities the read
 * path needs. Run on the raw values; the schemas have already reported malformed ones.
 */
function s3Issues(values: Record<string, unknown>, stack: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  if (values.role === "hub") {
    out.push({ key: `${NS}:cloud`, message: "a hub on cloud s3 is not supported: the hub federates its readers through its cluster's issuer and needs a cloud that can trust it; run the hub on aws, gcp or azure, and this cluster as a spoke" });
    return out;
  }
  const egressMode = obj(values.egress).mode ?? "create";
  if (egressMode !== "existing") {
    out.push({ key: `${NS}:egress.mode`, message: `found ${JSON.stringify(egressMode)}; a cloud s3 stack adopts the cluster's egress addresses (the network is the operator's): set mode: existing with count and addresses in Pulumi.${stack}.yaml` });
  }
  const auth = obj(values.hubReader).auth;
  if (auth === "federated") {
    out.push({ key: `${NS}:hubReader.auth`, message: "found \"federated\", but an S3-compatible service cannot trust the hub cluster's ServiceAccount issuer: remove it (cloud s3 reads with a key) or set key" });
  }
  const storage = obj(values.objectStorage);
  const profile = S3_PROFILES.find((p) => p === storage.profile);
  const region = values.region;
  // An unknown region was reported already, once.
  if (profile !== undefined && typeof region === "string" && isRegionOf("s3", region)) {
    const publicProfile = PUBLIC_S3_PROFILES.find((p) => p === profile);
    if (publicProfile !== undefined && !Object.prototype.hasOwnProperty.call(S3_PUBLIC_REGIONS[publicProfile], region)) {
      out.push({ key: `${NS}:region`, message: `found ${JSON.stringify(region)}, which is not a region of profile ${profile}; use one of ${Object.keys(S3_PUBLIC_REGIONS[publicProfile]).join(", ")}` });
    } else if (publicProfile === undefined && onPremCountry(region) === undefined) {
      out.push({ key: `${NS}:region`, message: `found ${JSON.stringify(region)}; an on-premises ${profile} service is located by <country>-<site>, like de-fra1 (the country decides the sovereignty zone)` });
    }
    if (publicProfile !== undefined && storage.signingRegion !== undefined && storage.signingRegion !== region) {
      out.push({ key: `${NS}:objectStorage.signingRegion`, message: `found ${JSON.stringify(storage.signingRegion)}; profile ${profile} signs requests with its region (${region}): remove it` });
    }
  }
  const principals = obj(storage.principals);
  const credentials = obj(storage.credentials);
  if (storage.identities === "created") {
    // The stack creates the identities (components/clouds/s3/storage.ts): only where the profile can
    // create and bind them, and with nothing of the operator's beside them (a key given here would be
    // silently ignored, or worse, mistaken for the one in use).
    if (profile !== undefined && !S3_PROFILE_SPECS[profile].createdIdentities.supported) {
      out.push({
        key: `${NS}:objectStorage.identities`,
        message: `found "created" on profile ${profile}, but this program creates identities only on profile minio (${S3_PROFILE_SPECS[profile].createdIdentities.note ?? S3_PROFILE_SPECS[profile].title}): remove it from Pulumi.${stack}.yaml (the default, provided, takes them from objectStorage.principals and objectStorage.credentials)`,
      });
    }
    if (storage.principals !== undefined) {
      out.push({ key: `${NS}:objectStorage.principals`, message: `must be absent with identities: created (the stack creates one user per identity, named <stack>-<identity>): remove it from Pulumi.${stack}.yaml` });
    }
    for (const identity of Object.keys(credentials).filter((k) => k !== "provisioner")) {
      out.push({ key: `${NS}:objectStorage.credentials.${identity}`, message: `must be absent with identities: created (the stack creates this identity and its key): remove it with pulumi config rm --path '${NS}:objectStorage.credentials.${identity}' -s ${stack}` });
    }
    return out;
  }
  if (values.objectStorage !== undefined && storage.principals === undefined) {
    out.push({
      key: `${NS}:objectStorage.principals`,
      message: `not set; with identities: provided (the default) name each identity as the service's bucket policies know it (sidecar, compactor, loki, and reader or store) in Pulumi.${stack}.yaml${profile === undefined || S3_PROFILE_SPECS[profile].createdIdentities.supported ? ", or set objectStorage.identities: created to have the stack create them (profile minio)" : ""}`,
    });
  }
  for (const writer of ["sidecar", "compactor", "loki"] as const) {
    if (storage.credentials !== undefined && credentials[writer] === undefined)
      out.push({ key: `${NS}:objectStorage.credentials.${writer}`, message: `not set; the ${writer} writes with its own key (identities: provided): set it with npm run fleet -- secrets --stacks ${stack} (or pulumi config set --secret --path '${NS}:objectStorage.credentials.${writer}.secretKey' <value> -s ${stack}, and accessKey likewise)` });
  }
  if (profile !== undefined) {
    // Each service names identities in its own format (components/clouds/s3/profiles.ts, with sources):
    // a principal in another format matches no request, and its grants and denies silently do nothing.
    const format = S3_PROFILE_SPECS[profile].principalFormat;
    for (const [identity, p] of Object.entries(principals)) {
      if (typeof p === "string" && !format.pattern.test(p))
        out.push({ key: `${NS}:objectStorage.principals.${identity}`, message: `found ${JSON.stringify(p)}, which is not how ${S3_PROFILE_SPECS[profile].title} names an identity in a bucket policy; expected the form ${format.example} (${format.source})` });
    }
  }
  const queryPath = values.queryPath ?? "hub-store";
  const needed = queryPath === "spoke-query" ? "store" : "reader";
  const unused = queryPath === "spoke-query" ? "reader" : "store";
  const why = needed === "reader" ? "the hub's store gateway reads the metrics bucket with it (queryPath: hub-store)" : "the spoke's own store gateway reads the metrics bucket with it (queryPath: spoke-query)";
  if (values.objectStorage !== undefined && principals[needed] === undefined) out.push({ key: `${NS}:objectStorage.principals.${needed}`, message: `not set; ${why}: name the read-only identity as the service's bucket policies know it` });
  if (values.objectStorage !== undefined && credentials[needed] === undefined)
    out.push({ key: `${NS}:objectStorage.credentials.${needed}`, message: `not set; ${why}: set its key with npm run fleet -- secrets --stacks ${stack} (or pulumi config set --secret --path '${NS}:objectStorage.credentials.${needed}.secretKey' <value> -s ${stack}, and accessKey likewise)` });
  if (principals[unused] !== undefined) out.push({ key: `${NS}:objectStorage.principals.${unused}`, message: `is not used with queryPath ${String(queryPath)}; remove it, so no identity is granted a read it does not make` });
  return out;
}

/**
 * The zone rule, as far as the stack files in the project directory show it: an edge attaches
 * only to a spoke of its own sovereignty zone, and a spoke accepts only edges of its zone (the
 * programs check it again on the other stack's outputs, which may differ from its file).
 */
function zoneIssues(values: Record<string, unknown>, ctx: ValidationContext): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const zone = typeof values.sovereigntyZone === "string" ? values.sovereigntyZone : undefined;
  const other = (stack: string, role: Role, key: string): void => {
    const theirRole = ctx.knownStacks?.get(stack);
    if (ctx.knownStacks?.has(stack) === true && theirRole !== role) {
      out.push({ key, message: `stack '${stack}' is not ${role === "edge" ? "an edge" : "a spoke"} (its observability:role is ${JSON.stringify(theirRole)})` });
      return;
    }
    const theirZone = ctx.knownZones?.get(stack);
    if (zone !== undefined && theirZone !== undefined && theirZone !== zone)
      out.push({
        key,
        message: `${role === "edge" ? "edge" : "spoke"} '${stack}' is of sovereignty zone '${theirZone}', this stack of '${zone}': raw samples never leave their zone, so an edge attaches only to a spoke of its own zone; attach ${role === "edge" ? `'${stack}' to a spoke of zone '${theirZone}'` : `this edge to a spoke of zone '${zone}'`}`,
      });
  };
  if (values.role === "edge" && values.spoke !== null && typeof values.spoke === "object") {
    const spoke = (values.spoke as { stack?: unknown }).stack;
    if (typeof spoke === "string") other(spoke, "spoke", `${NS}:spoke.stack`);
  }
  if (values.role === "spoke" && values.receive !== null && typeof values.receive === "object") {
    const edges = (values.receive as { edges?: unknown }).edges;
    if (Array.isArray(edges)) edges.forEach((e, i) => typeof e === "string" && other(e, "edge", `${NS}:receive.edges[${i}]`));
  }
  return out;
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.key}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
