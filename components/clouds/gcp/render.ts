/**
 * Pure renderers of the GCP cloud module: which principal gets which role on which bucket,
 * lifecycle rules, bucket IP filter, Thanos objstore and Loki storage values, and the reader
 * key rotation schedule. The components call these; the tests call them directly.
 */
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import { durationDays, type Retention } from "../../config";
import type { BucketUser, WorkloadRef, Writer } from "../types";

/** The buckets a stack can own. */
export type BucketRole = "metrics" | "logs";

/**
 * Who is granted access: a workload of this stack, the hub's key reader (a service account), or
 * the hub's federated reader (a Workload Identity Federation principal, no service account).
 */
export type GcsPrincipal = BucketUser | "hub-reader" | "hub-federated";

/** Predefined Cloud Storage roles this module grants, and nothing broader. */
export const GCS_ROLES = {
  objectViewer: "roles/storage.objectViewer",
  objectAdmin: "roles/storage.objectAdmin",
} as const;

/**
 * The sidecar's role: a custom role of the stack (see {@link uploaderRoleId}) with exactly the
 * permissions a Thanos upload that may have to be retried needs. Replacing an existing object
 * requires both `storage.objects.create` and `storage.objects.delete` (Cloud Storage docs, "IAM
 * permissions for Cloud Storage", note on `storage.objects.create`:
 * https://cloud.google.com/storage/docs/access-control/iam-permissions; the XML API table
 * https://cloud.google.com/storage/docs/access-control/iam-xml lists `storage.objects.delete` for
 * POST object "when overwriting"), so with objectCreator alone the re-upload of a block whose
 * first upload failed halfway is refused with 403 and the block is never shipped
 * (thanos-io/thanos#3744). Get and list: Thanos reads back `meta.json` and lists blocks
 * (thanos-io/thanos#290). Nothing else: no `update` (custom time, metadata), no IAM, no bucket.
 * Deleting is survivable: versioning turns a deleted live object into a noncurrent version
 * (kept `retention.noncurrentVersions`), and deleting a noncurrent version sends it to soft
 * delete for {@link SOFT_DELETE_SECONDS}.
 */
export const UPLOADER = "uploader";
export const UPLOADER_PERMISSIONS: readonly string[] = ["storage.objects.create", "storage.objects.delete", "storage.objects.get", "storage.objects.list"];

/** Id of the stack's uploader custom role: `[a-zA-Z0-9_.]{3,64}` (IAM custom role id rule). */
export function uploaderRoleId(stack: string): string {
  return `sovereignUploader_${stack.replace(/[^a-zA-Z0-9]/g, "_")}`.slice(0, 64);
}

export type GcsRole = (typeof GCS_ROLES)[keyof typeof GCS_ROLES] | typeof UPLOADER;

/** One IAM grant on one bucket (made at project level, conditioned on the bucket: {@link bucketCondition}). */
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
  /** Whether the hub's read-only key (service account) exists. */
  hubReader: boolean;
  /** Whether the hub reads through Workload Identity Federation. */
  hubFederated?: boolean;
}

/**
 * Least-privilege bucket grants. The sidecar gets the {@link UPLOADER} custom role: create,
 * get, list, and the delete that overwriting an object requires (a retried upload overwrites;
 * versioning and soft delete keep what it replaces). The compactor is the one principal with
 * objectAdmin on metrics; the store gateway and the hub reader only list and read. Loki runs
 * its own retention and compaction on the logs bucket, hence objectAdmin there and nothing on
 * metrics.
 */
export function planBucketBindings(input: BindingsInput): GcsBinding[] {
  const has = (b: BucketRole): boolean => input.buckets.includes(b);
  const need = (who: GcsPrincipal, b: BucketRole): void => {
    if (!has(b)) throw new Error(`${who} needs the ${b} bucket, which this stack does not own (buckets: ${input.buckets.join(", ") || "none"})`);
  };
  const out: GcsBinding[] = [];
  if (input.writers.sidecar !== undefined) {
    need("sidecar", "metrics");
    out.push({ principal: "sidecar", bucket: "metrics", role: UPLOADER, why: "uploads TSDB blocks and retries failed uploads (overwrite needs storage.objects.delete); history kept by versioning and soft delete" });
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
  if (input.hubFederated === true) {
    need("hub-federated", "metrics");
    out.push({ principal: "hub-federated", bucket: "metrics", role: GCS_ROLES.objectViewer, why: "the hub's store gateway (federated, one ServiceAccount of the hub cluster) lists and reads blocks" });
  }
  return out;
}

/**
 * A bucket grant as an IAM Condition on a project-level binding: true for the bucket itself
 * (list is checked on the bucket) and for its objects, false for every other resource. Names as
 * Cloud Storage gives them to IAM: `projects/_/buckets/BUCKET` and
 * `projects/_/buckets/BUCKET/objects/OBJECT` (https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name;
 * https://cloud.google.com/storage/docs/key-terms#resource-names). The `/objects/` suffix keeps
 * bucket `b` from matching bucket `b2`.
 *
 * Why not bucket IAM: a bucket with an IP filter refuses `getIamPolicy`/`setIamPolicy` to any
 * caller outside its ranges, and `storage.buckets.exemptFromIpFilter` exempts only GET, PATCH
 * and DELETE bucket (https://cloud.google.com/storage/docs/bypass-ip-filter#supported-operations;
 * terraform-google-modules/terraform-google-cloud-storage#403), so a `BucketIAMMember` fails to
 * create and to refresh from the deployer's network. The project's IAM policy is not subject
 * to the bucket filter.
 */
export function bucketCondition(bucket: string): { title: string; description: string; expression: string } {
  const name = `projects/_/buckets/${bucket}`;
  return {
    title: `bucket ${bucket}`.slice(0, 100),
    description: `Only the bucket ${bucket} and its objects`,
    expression:
      `(resource.type == "storage.googleapis.com/Bucket" && resource.name == "${name}") || ` +
      `(resource.type == "storage.googleapis.com/Object" && resource.name.startsWith("${name}/objects/"))`,
  };
}

/**
 * The Kubernetes ServiceAccount as a GKE Workload Identity principal. The pool is the
 * cluster project's `<project>.svc.id.goog`, shared by every cluster of that project: any
 * cluster of the project with the same namespace and ServiceAccount name gets the same
 * identity ("Identity sameness" in https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity),
 * hence `cluster.dedicatedProject` (see {@link workloadIdentityPoolNotice}).
 */
export function workloadIdentityMember(clusterProject: string, ref: WorkloadRef): string {
  return `serviceAccount:${clusterProject}.svc.id.goog[${ref.namespace}/${ref.serviceAccount}]`;
}

/**
 * What to say about the project-wide Workload Identity pool: `undefined` when the operator has
 * confirmed the project holds only this cluster; a warning while unconfirmed. A project known
 * to be shared is refused by the configuration schema before anything is planned.
 */
export function workloadIdentityPoolNotice(stack: string, project: string, dedicatedProject: boolean | undefined): string | undefined {
  if (dedicatedProject === true) return undefined;
  return (
    `stack ${stack}: the Workload Identity pool ${project}.svc.id.goog is shared by every GKE cluster of project ${project}; ` +
    `a ServiceAccount of the same namespace and name in any of them can write this stack's buckets. ` +
    `Confirm the project holds only this cluster with observability:cluster.dedicatedProject: true in Pulumi.${stack}.yaml.`
  );
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

// ---- the hub's federated reader (Workload Identity Federation) --------------------------------

/** APIs the federated reader needs in the spoke project: the pool lives in IAM, the token exchange is STS. */
export const FEDERATION_SERVICES: readonly string[] = ["iam.googleapis.com", "sts.googleapis.com"];

/** Id of the pool's provider for the hub's issuer: 4-32 characters of `[a-z0-9-]`. */
export const HUB_PROVIDER_ID = "hub-store-reader";

/** Pool and provider ids: 4-32 characters of `[a-z0-9-]`, not starting with `gcp-` (IAM API reference, WorkloadIdentityPool). */
export const POOL_ID = /^(?!gcp-)[a-z0-9][a-z0-9-]{2,30}[a-z0-9]$/;

/**
 * The Workload Identity pool of one spoke for its hub reader (`<stack>-hub`, shortened with a hash
 * when longer than 32). Per spoke, so two spokes in one project never share a pool. A deleted pool's
 * id stays reserved for about 30 days (IAM "Manage workload identity pools and providers",
 * https://cloud.google.com/iam/docs/manage-workload-identity-pools-providers#delete-pool): a stack
 * destroyed and recreated within that time must undelete the pool and import it.
 */
export function workloadIdentityPoolId(stack: string): string {
  const base = `${stack}-hub`;
  const id = base.length <= 32 ? base : `${base.slice(0, 23).replace(/-+$/, "")}-${createHash("sha256").update(base).digest("hex").slice(0, 8)}`;
  if (!POOL_ID.test(id)) throw new Error(`cannot derive a valid Workload Identity pool id from ${base}`);
  return id;
}

/**
 * The provider's attribute mapping and condition: `google.subject` is the token's `sub`, and the
 * condition admits exactly one subject, so no other ServiceAccount of the hub cluster can exchange
 * a token ("Workload Identity Federation with Kubernetes", attribute conditions,
 * https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes). The audience is
 * the provider's own resource name (no `allowedAudiences`: then "the OIDC token audience must be
 * equal to the full canonical resource name of the WorkloadIdentityPoolProvider", IAM API reference,
 * WorkloadIdentityPoolProvider.Oidc.allowedAudiences).
 */
export function hubProviderAttributes(subject: string): { attributeMapping: Record<string, string>; attributeCondition: string } {
  if (!/^system:serviceaccount:[a-z0-9-]+:[a-z0-9.-]+$/.test(subject)) throw new Error(`not a ServiceAccount subject: ${subject}`);
  return { attributeMapping: { "google.subject": "assertion.sub" }, attributeCondition: `assertion.sub == "${subject}"` };
}

/** The federated principal of one subject of a pool (`pool` is its resource name `projects/<number>/locations/global/workloadIdentityPools/<id>`). */
export function federatedPrincipal(pool: string, subject: string): string {
  return `principal://iam.googleapis.com/${pool}/subject/${subject}`;
}

/** The STS audience of a provider (`provider` is its resource name `projects/<number>/.../providers/<id>`). */
export function providerAudience(provider: string): string {
  return `//iam.googleapis.com/${provider}`;
}
