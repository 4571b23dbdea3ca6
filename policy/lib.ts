/**
 * Shared reading helpers of the policy pack: safe access to resource properties (which are
 * partly unknown during `pulumi preview`), the stack's declared region/zone/role/hub reader,
 * provider regions, the links between a data store and its side resources, and the stack's
 * outputs (its root resource).
 *
 * Policies only ever see what CrossGuard hands them (`PolicyResource`-shaped objects); the
 * offline adapter (`policy/offline.ts`) builds exactly that shape from the engine's records.
 */
import { UnknownValueError, type PolicyProviderResource, type PolicyResource, type ReportViolation, type StackValidationArgs } from "@pulumi/policy";
import { CLOUDS, regionInZone, zonesOf, type Cloud } from "../components/config/regions";
import { defaultReaderAuth } from "../components/config/schema";

/** A value the engine does not know yet (preview of a resource not created). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Maybe<T> = T | typeof UNKNOWN | undefined;

/** Runs a read; an unknown value (CrossGuard throws for those during preview) becomes {@link UNKNOWN}. */
export function read<T>(f: () => T): T | typeof UNKNOWN {
  try {
    return f();
  } catch (e) {
    if (e instanceof UnknownValueError) return UNKNOWN;
    throw e;
  }
}

/** A plain object, or an empty one. */
export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Walks a property path; undefined when missing, {@link UNKNOWN} when unknown at preview. */
export function at(v: unknown, ...path: (string | number)[]): unknown {
  return read(() => {
    let cur: unknown = v;
    for (const k of path) {
      if (cur === null || typeof cur !== "object") return undefined;
      cur = (cur as Record<string | number, unknown>)[k];
    }
    return cur;
  });
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Array elements (an unknown or missing array is empty). */
export function arr(v: unknown): unknown[] {
  if (!Array.isArray(v)) return [];
  const n = read(() => v.length);
  if (n === UNKNOWN) return [];
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(at(v, i));
  return out;
}

/** Object entries, each value read safely. */
export function entries(v: unknown): [string, unknown][] {
  if (!isObj(v)) return [];
  const keys = read(() => Object.keys(v));
  return keys === UNKNOWN ? [] : keys.map((k) => [k, at(v, k)]);
}

/**
 * A value that may have been JSON-encoded: provider inputs (and some policy documents) travel
 * as JSON strings, so nested objects are parsed back before reading.
 */
export function decoded(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return v;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return v;
  }
}

// ---- resource types -----------------------------------------------------------------------

/** Type tokens the pack reads. */
export const T = {
  s3Bucket: "aws:s3/bucket:Bucket",
  s3BucketV2: "aws:s3/bucketV2:BucketV2",
  s3PublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  s3Ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  s3Versioning: "aws:s3/bucketVersioning:BucketVersioning",
  s3VersioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
  s3Encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  s3EncryptionV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  s3Lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  s3LifecycleV2: "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
  s3Policy: "aws:s3/bucketPolicy:BucketPolicy",
  s3Acl: "aws:s3/bucketAcl:BucketAcl",
  s3AclV2: "aws:s3/bucketAclV2:BucketAclV2",
  s3Replication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
  s3ObjectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
  s3ObjectLockV2: "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
  s3Logging: "aws:s3/bucketLogging:BucketLogging",
  s3LoggingV2: "aws:s3/bucketLoggingV2:BucketLoggingV2",
  kmsKey: "aws:kms/key:Key",
  iamRole: "aws:iam/role:Role",
  iamUser: "aws:iam/user:User",
  iamAccessKey: "aws:iam/accessKey:AccessKey",
  iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
  iamUserPolicy: "aws:iam/userPolicy:UserPolicy",
  iamPolicy: "aws:iam/policy:Policy",
  iamRolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  iamUserPolicyAttachment: "aws:iam/userPolicyAttachment:UserPolicyAttachment",
  iamOidcProvider: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
  gcsBucket: "gcp:storage/bucket:Bucket",
  gcsIamMember: "gcp:storage/bucketIAMMember:BucketIAMMember",
  gcsIamBinding: "gcp:storage/bucketIAMBinding:BucketIAMBinding",
  gcsIamPolicy: "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
  gcsAcl: "gcp:storage/bucketACL:BucketACL",
  gcsAccessControl: "gcp:storage/bucketAccessControl:BucketAccessControl",
  gcsDefaultObjectAccessControl: "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
  gcsObjectAccessControl: "gcp:storage/objectAccessControl:ObjectAccessControl",
  gcsDefaultObjectAcl: "gcp:storage/defaultObjectACL:DefaultObjectACL",
  gcpKeyRing: "gcp:kms/keyRing:KeyRing",
  gcpCryptoKey: "gcp:kms/cryptoKey:CryptoKey",
  gcpCryptoKeyIamMember: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
  gcpCryptoKeyIamBinding: "gcp:kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding",
  gcpProjectIamMember: "gcp:projects/iAMMember:IAMMember",
  gcpProjectIamCustomRole: "gcp:projects/iAMCustomRole:IAMCustomRole",
  gcpServiceAccount: "gcp:serviceaccount/account:Account",
  gcpServiceAccountKey: "gcp:serviceaccount/key:Key",
  gcpWorkloadIdentityPool: "gcp:iam/workloadIdentityPool:WorkloadIdentityPool",
  gcpWorkloadIdentityPoolProvider: "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider",
  azAccount: "azure-native:storage:StorageAccount",
  azContainer: "azure-native:storage:BlobContainer",
  azBlobService: "azure-native:storage:BlobServiceProperties",
  azObjectReplication: "azure-native:storage:ObjectReplicationPolicy",
  azRoleAssignment: "azure-native:authorization:RoleAssignment",
  azIdentity: "azure-native:managedidentity:UserAssignedIdentity",
  azFederatedCredential: "azure-native:managedidentity:FederatedIdentityCredential",
  azVault: "azure-native:keyvault:Vault",
  azKey: "azure-native:keyvault:Key",
  tlsPrivateKey: "tls:index/privateKey:PrivateKey",
  tlsSelfSigned: "tls:index/selfSignedCert:SelfSignedCert",
  tlsLocallySigned: "tls:index/locallySignedCert:LocallySignedCert",
  tlsCertRequest: "tls:index/certRequest:CertRequest",
  k8sService: "kubernetes:core/v1:Service",
  k8sSecret: "kubernetes:core/v1:Secret",
  k8sConfigMap: "kubernetes:core/v1:ConfigMap",
  k8sDeployment: "kubernetes:apps/v1:Deployment",
  k8sStatefulSet: "kubernetes:apps/v1:StatefulSet",
  k8sPvc: "kubernetes:core/v1:PersistentVolumeClaim",
  /** The root resource of a stack: its outputs are the stack's outputs. */
  stack: "pulumi:pulumi:Stack",
} as const;

/** S3 buckets, whichever resource generation declares them. */
export const S3_BUCKETS: readonly string[] = [T.s3Bucket, T.s3BucketV2];

/** Everything that holds telemetry or the keys to it: the data stores of the sovereignty rules. */
export const DATA_STORES: readonly string[] = [T.s3Bucket, T.s3BucketV2, T.kmsKey, T.gcsBucket, T.gcpKeyRing, T.gcpCryptoKey, T.azAccount, T.azContainer, T.azVault, T.azKey];

/** The cloud a type token belongs to. */
export function cloudOfType(type: string): Cloud | undefined {
  const pkg = type.startsWith("pulumi:providers:") ? type.slice("pulumi:providers:".length) : type.split(":")[0];
  if (pkg === "aws") return "aws";
  if (pkg === "gcp" || pkg === "google-native") return "gcp";
  if (pkg === "azure-native" || pkg === "azure") return "azure";
  return undefined;
}

// ---- providers --------------------------------------------------------------------------

/**
 * True when the resource names its provider explicitly. The engine calls a default provider
 * `default` or `default_<version>`, and the offline adapter hands no provider at all for one.
 */
export function hasExplicitProvider(r: { provider?: PolicyProviderResource }): boolean {
  return r.provider !== undefined && !/^default(_|$)/.test(r.provider.name);
}

/** The region (AWS, GCP) or location (Azure) a provider is pinned to. */
export function providerRegion(p: PolicyProviderResource | undefined): Maybe<string> {
  if (p === undefined) return undefined;
  const cloud = cloudOfType(p.type);
  const key = cloud === "azure" ? "location" : "region";
  const v = at(p.props, key);
  return v === UNKNOWN ? UNKNOWN : str(decoded(v));
}

/**
 * The S3 endpoint an AWS provider is pointed at instead of AWS (`endpoints[].s3`): set only for
 * a stack on S3-compatible storage (cloud s3, components/clouds/s3), whose buckets are the
 * service's, not AWS's. Undefined for a provider that talks to AWS.
 */
export function s3CompatibleEndpoint(r: PolicyResource): Maybe<string> {
  const p = r.provider;
  if (p === undefined || cloudOfType(p.type) !== "aws") return undefined;
  for (const e of arr(decoded(at(p.props, "endpoints")))) {
    const s3 = at(e, "s3");
    if (s3 === UNKNOWN) return UNKNOWN;
    if (typeof s3 === "string" && s3 !== "") return s3;
  }
  return undefined;
}

/** The cloud a data store belongs to: an AWS resource on an S3-compatible provider is the service's (`s3`). */
export function dataStoreCloud(r: PolicyResource): Cloud | undefined {
  const e = s3CompatibleEndpoint(r);
  return e !== undefined ? "s3" : cloudOfType(r.type);
}

/** Azure and GCP compare locations case-insensitively and without blanks (`Germany West Central`). */
export function sameRegion(a: string, b: string): boolean {
  const n = (s: string): string => s.toLowerCase().replace(/\s+/g, "");
  return n(a) === n(b);
}

// ---- the stack's declaration ----------------------------------------------------------------

/**
 * What a stack declares about itself: its region and sovereignty zone, its role and its
 * encryption mode. Read from the policy's config (`--policy-pack-config`, or what the offline
 * plan passes), else from stack tags `observability:<key>`, else from the identity labels the
 * program stamps on every cloud resource (`region`, `sovereignty-zone`, `cloud`).
 */
export interface Declared {
  region?: string;
  sovereigntyZone?: string;
  cloud?: Cloud;
  role?: "spoke" | "hub" | "edge";
  encryptionMode?: "customer" | "provider";
  /** An edge: its zone spoke's receiver host, that spoke's zone, and its Loki gateway host. */
  zoneReceiverHost?: string;
  zoneReceiverZone?: string;
  zoneLokiHost?: string;
  /** How the hub reads this stack's bucket (`observability:hubReader.auth`), when declared. */
  hubReaderAuth?: "federated" | "key";
  /** A spoke's hub stack (`observability:hub.stack`), when declared. */
  hubStack?: string;
  /** Cloud s3: the region the service signs with (`objectStorage.signingRegion`, else `region`). */
  s3SigningRegion?: string;
  /** Cloud s3: the host of the service's endpoint (`objectStorage.endpoint`). */
  s3EndpointHost?: string;
  /** Where region and zone came from. */
  source: "config" | "stack-tags" | "labels" | "none";
}

/** The config every sovereignty policy accepts (same keys as the stack's `observability:*`). */
export interface StackPolicyConfig {
  region?: string;
  sovereigntyZone?: string;
  cloud?: string;
  role?: string;
  encryptionMode?: string;
  /** `observability:hubReader.auth` (the schema's default, federated, when the stack file omits it). */
  hubReaderAuth?: string;
  /** `observability:hub.stack` of a spoke. */
  hubStack?: string;
  /** Cloud s3: the SigV4 region of the service (`objectStorage.signingRegion`, else `region`). */
  s3SigningRegion?: string;
  /** Cloud s3: the host of `objectStorage.endpoint`. */
  s3EndpointHost?: string;
  /** An edge: the host its zone spoke's receiver listens at (the spoke's `observability:receive.endpoint`). */
  zoneReceiverHost?: string;
  /** An edge: the sovereignty zone of that spoke. */
  zoneReceiverZone?: string;
  /** An edge: the host of that spoke's Loki gateway (its `observability:endpoints.loki`). */
  zoneLokiHost?: string;
}

/** JSON schema of {@link StackPolicyConfig}, for `configSchema`. */
export const STACK_CONFIG_SCHEMA = {
  properties: {
    region: { type: "string" as const, description: "the stack's observability:region" },
    sovereigntyZone: { type: "string" as const, description: "the stack's observability:sovereigntyZone" },
    cloud: { type: "string" as const, enum: [...CLOUDS] },
    role: { type: "string" as const, enum: ["spoke", "hub", "edge"] },
    encryptionMode: { type: "string" as const, enum: ["customer", "provider"] },
    hubReaderAuth: { type: "string" as const, enum: ["federated", "key"], description: "the stack's observability:hubReader.auth" },
    hubStack: { type: "string" as const, description: "a spoke's observability:hub.stack" },
    s3SigningRegion: { type: "string" as const, description: "cloud s3: observability:objectStorage.signingRegion, else observability:region" },
    s3EndpointHost: { type: "string" as const, description: "cloud s3: the host of observability:objectStorage.endpoint" },
    zoneReceiverHost: { type: "string" as const, description: "an edge: its zone spoke's observability:receive.endpoint" },
    zoneReceiverZone: { type: "string" as const, description: "an edge: its zone spoke's observability:sovereigntyZone" },
    zoneLokiHost: { type: "string" as const, description: "an edge: its zone spoke's observability:endpoints.loki" },
  },
};

const asCloud = (v: unknown): Cloud | undefined => CLOUDS.find((c) => c === v);
const asRole = (v: unknown): "spoke" | "hub" | "edge" | undefined => (v === "spoke" || v === "hub" || v === "edge" ? v : undefined);
const asMode = (v: unknown): "customer" | "provider" | undefined => (v === "customer" || v === "provider" ? v : undefined);
const asAuth = (v: unknown): "federated" | "key" | undefined => (v === "federated" || v === "key" ? v : undefined);

/** Identity labels of a resource: AWS `tags`/`defaultTags`, GCP `labels`/`defaultLabels`, Azure `tags`. */
function identityLabels(props: unknown): Obj[] {
  const out: Obj[] = [];
  for (const v of [at(props, "tags"), at(props, "labels"), at(props, "defaultLabels"), at(decoded(at(props, "defaultTags")), "tags")]) {
    const d = decoded(v);
    if (isObj(d)) out.push(d);
  }
  return out;
}

/** The stack's declaration (see {@link Declared}). */
export function declaredStack(args: Pick<StackValidationArgs, "getConfig" | "stackTags"> & { resources?: readonly PolicyResource[] }): Declared {
  const c = args.getConfig<StackPolicyConfig>();
  const tag = (k: string): string | undefined => args.stackTags.get(`observability:${k}`);
  const base = {
    cloud: asCloud(c.cloud) ?? asCloud(tag("cloud")),
    role: asRole(c.role) ?? asRole(tag("role")),
    encryptionMode: asMode(c.encryptionMode) ?? asMode(tag("encryptionMode")),
    hubReaderAuth: asAuth(c.hubReaderAuth) ?? asAuth(tag("hubReader.auth")),
    hubStack: str(c.hubStack) ?? tag("hub.stack"),
    s3SigningRegion: str(c.s3SigningRegion),
    s3EndpointHost: str(c.s3EndpointHost),
    zoneReceiverHost: str(c.zoneReceiverHost),
    zoneReceiverZone: str(c.zoneReceiverZone),
    zoneLokiHost: str(c.zoneLokiHost),
  };
  if (c.region !== undefined && c.sovereigntyZone !== undefined) return { ...base, region: c.region, sovereigntyZone: c.sovereigntyZone, source: "config" };
  const tr = tag("region");
  const tz = tag("sovereigntyZone");
  if (tr !== undefined && tz !== undefined) return { ...base, region: tr, sovereigntyZone: tz, source: "stack-tags" };
  const regions = new Set<string>();
  const zones = new Set<string>();
  const clouds = new Set<Cloud>();
  for (const r of args.resources ?? []) {
    if (cloudOfType(r.type) === undefined) continue;
    for (const l of identityLabels(r.props)) {
      const region = str(l.region);
      const zone = str(l["sovereignty-zone"]);
      const cloud = asCloud(l.cloud);
      // Only the program's own identity label set counts: all three keys, never a stray `region` tag.
      if (region !== undefined && zone !== undefined && cloud !== undefined) {
        regions.add(region);
        zones.add(zone);
        clouds.add(cloud);
      }
    }
  }
  if (regions.size === 1 && zones.size === 1) {
    return { ...base, cloud: base.cloud ?? (clouds.size === 1 ? [...clouds][0] : undefined), region: [...regions][0], sovereigntyZone: [...zones][0], source: "labels" };
  }
  return { ...base, source: "none" };
}

/** True when `region` of `cloud` lies inside the zone (an unknown catalogue entry never does). */
export function inZone(cloud: Cloud, region: string, zone: string): boolean {
  const lower = cloud === "azure" ? region.toLowerCase().replace(/\s+/g, "") : region.toLowerCase();
  return regionInZone(cloud, lower, zone);
}

export { zonesOf };

// ---- links between resources ---------------------------------------------------------------

/**
 * The resources a resource depends on through its inputs (its `bucket`, `accountName`, ...):
 * the property dependencies when the engine supplies them, else every dependency.
 */
export function dependenciesOf(r: PolicyResource, property?: string): PolicyResource[] {
  if (property !== undefined) {
    const p = r.propertyDependencies[property];
    if (p !== undefined && p.length > 0) return p;
  }
  return r.dependencies;
}

/** Side resources of `target` among `resources`: those of `types` whose inputs depend on it. */
export function sideResources(target: PolicyResource, resources: readonly PolicyResource[], types: readonly string[], property?: string): PolicyResource[] {
  return resources.filter((r) => types.includes(r.type) && dependenciesOf(r, property).some((d) => d.urn === target.urn));
}

/** A reporter that never reports twice the same message for the same resource. */
export function onceReporter(report: ReportViolation): ReportViolation {
  const seen = new Set<string>();
  return (message: string, urn?: string) => {
    const k = `${urn ?? ""}\u0000${message}`;
    if (seen.has(k)) return;
    seen.add(k);
    report(message, urn);
  };
}

/** A short name for messages: the resource's name and type. */
export function label(r: { name: string; type: string }): string {
  return `${r.type} '${r.name}'`;
}

// ---- the stack's outputs and the hub's read credential ---------------------------------------

/**
 * The stack's outputs: the outputs of its root resource (`pulumi:pulumi:Stack`), which the engine
 * hands stack policies with every other resource. Undefined when no root resource, or one without
 * any output, was handed: then nothing can be told from the outputs.
 */
export function stackOutputs(resources: readonly PolicyResource[]): Obj | undefined {
  const root = resources.find((r) => r.type === T.stack && r.parent === undefined);
  if (root === undefined) return undefined;
  return entries(root.props).length > 0 ? root.props : undefined;
}

/** The stack name of a URN (`urn:pulumi:<stack>::<project>::...`). */
export function stackOfUrn(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

/**
 * Whether the stack hands the hub a static read credential: its secret output `objstoreReadonly`
 * (components/contracts: key-mode spokes, and federated spokes while the hub still reads them with
 * the key, the migration to contract v2). `cannot-tell` when the stack's outputs are not visible;
 * an output whose value is still unknown counts as exported.
 */
export type ReaderKeyExport = "exported" | "not-exported" | "cannot-tell";

export function readerKeyExport(resources: readonly PolicyResource[]): ReaderKeyExport {
  const outputs = stackOutputs(resources);
  if (outputs === undefined) return "cannot-tell";
  return at(outputs, "objstoreReadonly") === undefined ? "not-exported" : "exported";
}

/**
 * How the hub reads the stack's bucket as declared: the policy config or stack tag, else the
 * schema's default for the stack's cloud (components/config/schema.ts defaultReaderAuth).
 */
export function declaredReaderAuth(d: Declared): "federated" | "key" {
  return d.hubReaderAuth ?? defaultReaderAuth(d.cloud);
}
