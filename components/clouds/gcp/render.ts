/**
 * Pure renderers of the GCP cloud module: which principal gets which role on which bucket,
 * lifecycle rules, bucket IP filter, Thanos objstore and Loki storage values, and the reader
 * key rotation schedule. The components call these; the tests call them directly.
 */
import { stringify } from "yaml";
import { durationDays, type Retention } from "../../config";
import type { BucketUser, WorkloadRef, Writer } from "../types";

/** The buckets a stack can own. */
export type BucketRole = "metrics" | "logs";

/** Who is granted access: a workload of this stack, or the hub's read-only credential. */
export type GcsPrincipal = BucketUser | "hub-reader";

/** Predefined Cloud Storage roles this module grants, and nothing broader. */
export const GCS_ROLES = {
  objectViewer: "roles/storage.objectViewer",
  objectCreator: "roles/storage.objectCreator",
  objectAdmin: "roles/storage.objectAdmin",
} as const;
export type GcsRole = (typeof GCS_ROLES)[keyof typeof GCS_ROLES];

/** One bucket-level IAM grant. */
export interface GcsBinding {
  principal: GcsPrincipal;
  bucket: BucketRole;
  role: GcsRole;
  /** Why this principal needs this role (shown in plans and reviews). */
  why: string;
}

/** What the bindings plan depends on. */
export interface BindingsInput {
  buckets: readonly BucketRole[];
  writers: Partial<Record<Writer, WorkloadRef>>;
  store?: WorkloadRef;
  /** Whether the hub's read-only credential exists. */
  hubReader: boolean;
}

/**
 * Least-privilege bucket grants. The sidecar gets objectViewer besides objectCreator because
 * Thanos documents both for uploading deployments (docs/storage.md; thanos-io/thanos#290:
 * uploads fail with creator alone); objectCreator cannot delete or overwrite, so a
 * compromised sidecar cannot destroy history. Only the compactor deletes (objectAdmin, one per
 * bucket); the store gateway and the hub reader only list and read. Loki runs its own
 * retention and compaction on the logs bucket, hence objectAdmin there and nothing on metrics.
 */
export function planBucketBindings(input: BindingsInput): GcsBinding[] {
  const has = (b: BucketRole): boolean => input.buckets.includes(b);
  const need = (who: GcsPrincipal, b: BucketRole): void => {
    if (!has(b)) throw new Error(`${who} needs the ${b} bucket, which this stack does not own (buckets: ${input.buckets.join(", ") || "none"})`);
  };
  const out: GcsBinding[] = [];
  if (input.writers.sidecar !== undefined) {
    need("sidecar", "metrics");
    out.push({ principal: "sidecar", bucket: "metrics", role: GCS_ROLES.objectCreator, why: "uploads TSDB blocks" });
    out.push({ principal: "sidecar", bucket: "metrics", role: GCS_ROLES.objectViewer, why: "Thanos uploads fail without object read (thanos-io/thanos#290); still cannot delete" });
  }
  if (input.writers.compactor !== undefined) {
    need("compactor", "metrics");
    out.push({ principal: "compactor", bucket: "metrics", role: GCS_ROLES.objectAdmin, why: "compacts, downsamples and deletes blocks" });
  }
  if (input.writers.loki !== undefined) {
    need("loki", "logs");
    out.push({ principal: "loki", bucket: "logs", role: GCS_ROLES.objectAdmin, why: "writes chunks and index, applies retention" });
  }
  if (input.store !== undefined) {
    need("store", "metrics");
    out.push({ principal: "store", bucket: "metrics", role: GCS_ROLES.objectViewer, why: "lists and reads blocks" });
  }
  if (input.hubReader) {
    need("hub-reader", "metrics");
    out.push({ principal: "hub-reader", bucket: "metrics", role: GCS_ROLES.objectViewer, why: "the hub's store gateway lists and reads blocks" });
  }
  return out;
}

/**
 * The Kubernetes ServiceAccount as a GKE Workload Identity principal. The pool is the
 * cluster project's `<project>.svc.id.goog`; nothing else may impersonate a writer.
 */
export function workloadIdentityMember(clusterProject: string, ref: WorkloadRef): string {
  return `serviceAccount:${clusterProject}.svc.id.goog[${ref.namespace}/${ref.serviceAccount}]`;
}

/** A lifecycle rule as `gcp.storage.Bucket` takes it (plain values). */
export interface GcsLifecycleRule {
  action: { type: "Delete" | "AbortIncompleteMultipartUpload" };
  condition: { age?: number; daysSinceNoncurrentTime?: number; withState?: "LIVE" | "ARCHIVED" | "ANY" };
}

/** Days after which a bucket's live objects are deleted: the longest tier it stores. */
export function bucketRetentionDays(role: BucketRole, retention: Retention): number {
  if (role === "logs") return durationDays(retention.logs);
  return Math.max(durationDays(retention.raw), durationDays(retention.fiveMinutes), durationDays(retention.oneHour));
}

/**
 * Lifecycle rules of a bucket. The metrics rule is a backstop behind the compactor's own
 * retention: it fires only after the longest tier, and an object is never older than the data
 * it holds, so it never deletes a block the compactor would still keep. Deleted and
 * overwritten objects stay as noncurrent versions for `noncurrentVersions`, then go.
 * Incomplete multipart (XML API) uploads are aborted after a day.
 */
export function gcsLifecycleRules(role: BucketRole, retention: Retention): GcsLifecycleRule[] {
  return [
    { action: { type: "Delete" }, condition: { age: bucketRetentionDays(role, retention), withState: "LIVE" } },
    { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: durationDays(retention.noncurrentVersions), withState: "ARCHIVED" } },
    { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: 1 } },
  ];
}

/** Soft delete window: 7 days, the minimum GCS allows when enabled. */
export const SOFT_DELETE_SECONDS = 7 * 86400;

/** Bucket IP filter as `gcp.storage.Bucket` takes it (plain values). */
export interface GcsIpFilter {
  mode: "Enabled";
  allowAllServiceAgentAccess: boolean;
  allowCrossOrgVpcs: boolean;
  vpcNetworkSources: { network: string; allowedIpCidrRanges: string[] }[];
  publicNetworkSource?: { allowedIpCidrRanges: string[] };
}

/** What the IP filter admits. */
export interface IpFilterInput {
  /** Project of the (possibly shared) VPC. */
  networkProject: string;
  network: string;
  /** The spoke's node and pod ranges inside that VPC. */
  cidrs: readonly string[];
  /** Public addresses admitted (the hub's egress, the stack's own NAT addresses). */
  publicIps: readonly string[];
}

/** `203.0.113.7` → `203.0.113.7/32` (IPv6: /128); ranges stay as they are. */
export function hostCidr(ip: string): string {
  if (ip.includes("/")) return ip;
  return ip.includes(":") ? `${ip}/128` : `${ip}/32`;
}

/**
 * The bucket IP filter. IAM Conditions cannot restrict Cloud Storage by caller IP, so this
 * filter (or VPC Service Controls) is the only network binding GCS offers. In-VPC writers are
 * admitted as a VPC source (Private Google Access); the stack's own NAT addresses are admitted
 * too, because subnets without Private Google Access reach storage.googleapis.com through
 * Cloud NAT; the hub reader is admitted only from the hub's egress addresses. Service agents
 * get no blanket bypass. The deploying principal needs `storage.buckets.exemptFromIpFilter`
 * (custom role) to manage the bucket from outside these ranges.
 */
export function renderBucketIpFilter(input: IpFilterInput): GcsIpFilter {
  const publicCidrs = [...new Set(input.publicIps.map(hostCidr))].sort();
  return {
    mode: "Enabled",
    allowAllServiceAgentAccess: false,
    allowCrossOrgVpcs: false,
    vpcNetworkSources: [{ network: `projects/${input.networkProject}/global/networks/${input.network}`, allowedIpCidrRanges: [...input.cidrs] }],
    ...(publicCidrs.length > 0 ? { publicNetworkSource: { allowedIpCidrRanges: publicCidrs } } : {}),
  };
}

/** Arguments of {@link renderGcsObjstore}. */
export interface GcsObjstoreInput {
  bucket: string;
  /** Service account key JSON (the hub reader); omitted, Thanos uses ADC (Workload Identity). */
  serviceAccountJson?: string;
}

/**
 * Thanos objstore configuration for GCS (v0.42.4 schema: `type: GCS`, `config.bucket`,
 * `config.service_account`). Writers carry no key: on GKE the Google client finds the
 * Workload Identity credentials through ADC.
 */
export function renderGcsObjstore(input: GcsObjstoreInput): string {
  const config: Record<string, string> = { bucket: input.bucket };
  if (input.serviceAccountJson !== undefined) config.service_account = input.serviceAccountJson;
  return stringify({ type: "GCS", config }, { lineWidth: 0 });
}

/**
 * `loki.storage` values of the loki chart 18.11.0 for the logs bucket, to be set under
 * `loki:`. Chunks and ruler share the spoke's one sovereign logs bucket (different prefixes);
 * no credentials: Loki uses Workload Identity through ADC.
 */
export function renderLokiGcsStorage(bucket: string): { storage: Record<string, unknown> } {
  return {
    storage: {
      type: "gcs",
      bucketNames: { chunks: bucket, ruler: bucket },
      gcs: { chunkBufferSize: 0, requestTimeout: "0s", enableHttp2: true },
    },
  };
}

/** Which reader key is exported, and the keepers that make each key rotate. */
export interface ReaderKeySchedule {
  /** Rotation window index since the Unix epoch. */
  window: number;
  /** Keeper of key `a`: changes at the start of every even window. */
  a: number;
  /** Keeper of key `b`: changes at the start of every odd window. */
  b: number;
  /** The key created most recently, which is exported. */
  current: "a" | "b";
}

/**
 * Two overlapping reader keys. Time is cut into windows of `rotationDays`; key `a` is
 * replaced at the start of even windows, key `b` at odd ones, and the newer one is exported.
 * Every key lives two windows, so the key the hub holds stays valid for a full window after a
 * newer one is exported: the hub has that long to run `pulumi up` and pick it up. Rotation
 * happens when the spoke is deployed after a window boundary (run it at least once a window).
 */
export function readerKeySchedule(now: Date, rotationDays: number): ReaderKeySchedule {
  if (!Number.isInteger(rotationDays) || rotationDays < 1) throw new Error(`readerRotationDays must be a positive integer, got ${rotationDays}`);
  const window = Math.floor(now.getTime() / (rotationDays * 86400_000));
  return { window, a: Math.floor(window / 2), b: Math.floor((window + 1) / 2), current: window % 2 === 0 ? "a" : "b" };
}
