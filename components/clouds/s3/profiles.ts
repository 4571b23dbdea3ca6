/**
 * What each S3-compatible service can express, per profile, each answer with its source. The
 * storage component creates only what the profile supports; every guarantee it cannot express
 * becomes an advisory in the plan (`fleet.md`) and in the policy pack, never a silent gap; the
 * README's column per profile is this table (a test compares them).
 */
import type { S3Profile } from "../../config/regions";
import type { S3IdentityMode } from "../../config/schema";
import type { S3PolicyStatement } from "./render";

/** One capability of a service, and where that is documented. */
export interface Capability {
  supported: boolean;
  /** Documentation page, or repository path and tag. */
  source: string;
  /** What the answer depends on, or how it is expressed. */
  note?: string;
}

/** The capabilities of one profile. */
export interface S3ProfileSpec {
  id: S3Profile;
  title: string;
  /** Addressing the service documents as its default. */
  addressing: "path" | "virtual-host";
  bucketPolicy: Capability;
  /** `aws:SourceIp` (IpAddress / NotIpAddress) in bucket policies. */
  sourceIp: Capability;
  /** `aws:SecureTransport` in bucket policies. */
  secureTransport: Capability;
  versioning: Capability;
  objectLock: Capability;
  lifecycleExpiration: Capability;
  lifecycleNoncurrent: Capability;
  lifecycleAbortMultipart: Capability;
  /** Default bucket encryption with service-managed keys (PutBucketEncryption AES256). */
  sse: Capability;
  publicAccessBlock: Capability;
  /**
   * Identities created by the stack (`objectStorage.identities: created`): one user per identity
   * through the service's admin API, each bound by an IAM policy of its own (actions, bucket,
   * `aws:SourceIp`) instead of a bucket policy.
   */
  createdIdentities: Capability;
  /**
   * S3 actions the service's IAM policy language does not know: left out of the user policies
   * (a service that validates actions refuses a whole policy naming one).
   */
  unsupportedPolicyActions: readonly string[];
  /** How the bucket policy names identities, and what a principal of this service looks like. */
  principalFormat: { pattern: RegExp; example: string; source: string };
  /** The `Principal` element for these identities. */
  principal(ids: readonly string[]): S3PolicyStatement["Principal"];
  /** The `Resource` element for a bucket or `bucket/*`. */
  resource(path: string): string;
}

const awsPrincipal = (ids: readonly string[]): S3PolicyStatement["Principal"] => ({ AWS: ids.length === 1 ? ids[0] : [...ids] });
const arnResource = (path: string): string => `arn:aws:s3:::${path}`;
const no = (source: string, note?: string): Capability => ({ supported: false, source, ...(note !== undefined ? { note } : {}) });
const yes = (source: string, note?: string): Capability => ({ supported: true, source, ...(note !== undefined ? { note } : {}) });

/** The sources of the table, each read for this profile (limitations and "not supported" sections included). */
const OTC = {
  compat: "https://docs.otc.t-systems.com/object-storage-service/s3api/introduction/compatibility_of_obs_rest_apis.html",
  policy: "https://docs.otc.t-systems.com/object-storage-service/s3api/access_control/bucket_policy.html",
  lifecycle: "https://docs.otc.t-systems.com/object-storage-service/s3api/operations_on_buckets/put_bucket_lifecycle.html",
  encryption: "https://docs.otc.t-systems.com/object-storage-service/s3api/operations_on_buckets/put_bucket_encryption.html",
} as const;
const STACKIT = {
  guide: "stackitcloud/terraform-provider-stackit@v0.113.0:docs/guides/aws_provider_s3_stackit.md",
  groups: "stackitcloud/terraform-provider-stackit@v0.113.0:docs/resources/objectstorage_credentials_group.md",
  faq: "https://docs.stackit.cloud/de/products/storage/object-storage/faq",
} as const;
const IONOS = {
  api: "https://api.ionos.com/docs/s3-contract-owned-buckets/v2/",
  conditions: "ionos-cloud/sdk-go-bundle products/objectstorage/v2 model_bucket_policy_condition.go (vendored in ionos-cloud/terraform-provider-ionoscloud@v6.7.34)",
  policy: "https://docs.ionos.com/cloud/storage-and-backup/ionos-object-storage/settings/bucket-policy/examples",
} as const;
const CEPH = {
  policy: "https://docs.ceph.com/en/latest/radosgw/bucketpolicy/",
  s3: "https://docs.ceph.com/en/tentacle/radosgw/s3/",
  /** IBM Storage Ceph (downstream), "S3 bucket operations": lifecycle actions and public access block. */
  bucketOps: "https://www.ibm.com/docs/en/SSEG27_8.0/developer/S3-bucket-operations.html",
  objectLock: "https://www.ibm.com/docs/en/storage-ceph/9.9.1?topic=operations-s3-put-object-lock",
  encryption: "https://docs.ceph.com/en/quincy/radosgw/encryption/",
} as const;
const MINIO = {
  compat: "https://min.io/docs/minio/linux/reference/s3-api-compatibility.html",
  bucketPolicy: "minio/minio#10578 (maintainers: bucket policies are meant for anonymous users; user-level policies are mc admin policy)",
  /** "Supported S3 Policy Condition Keys": aws:SourceIp and aws:SecureTransport among the keys of every action (minio/docs source/administration/identity-access-management/policy-based-access-control.rst). */
  userPolicy: "https://min.io/docs/minio/linux/administration/identity-access-management/policy-based-access-control.html#minio-policy-conditions",
  /** How the server fills those keys for a request. */
  conditionValues: "minio/minio cmd/bucket-policy.go getConditionValues (SecureTransport is r.TLS != nil; SourceIp is handlers.GetSourceIP: X-Forwarded-For, X-Real-IP or Forwarded when present, else the peer)",
  /** The actions a policy may name; any other is refused with "unsupported action" (policy/actionset.go Validate). */
  actions: "minio/pkg policy/action.go SupportedActions",
  sse: "https://docs.min.io/community/minio-object-store/administration/server-side-encryption/server-side-encryption-sse-s3.html",
  ilm: "https://min.io/docs/minio/linux/reference/minio-mc/mc-ilm-rule-add.html",
} as const;

/** Why no lifecycle resource is created on any S3-compatible service. */
const LIFECYCLE_PROVIDER_BUG = "hashicorp/terraform-provider-aws#49019 and #46021 (aws_s3_bucket_lifecycle_configuration waits for the AWS-only x-amz-transition-default-minimum-object-size header)";

/** Nothing is assumed of a service the project knows nothing of. */
const UNKNOWN_SERVICE = "unknown service: not assumed (profile generic)";

/** The profiles. */
export const S3_PROFILE_SPECS: Readonly<Record<S3Profile, S3ProfileSpec>> = {
  otc: {
    id: "otc",
    title: "Open Telekom Cloud OBS",
    // "OBS requires that the bucket name must precede the domain" (OBS user guide, Notes and Constraints).
    addressing: "virtual-host",
    bucketPolicy: yes(OTC.compat, "PUT Bucket policy: supported, with some conditions"),
    sourceIp: yes(OTC.policy),
    secureTransport: yes(OTC.policy),
    versioning: yes(OTC.compat),
    objectLock: yes(OTC.compat, "WORM"),
    lifecycleExpiration: yes(OTC.lifecycle),
    lifecycleNoncurrent: yes(OTC.lifecycle),
    lifecycleAbortMultipart: yes(OTC.lifecycle),
    sse: no(OTC.encryption, "PutBucketEncryption accepts only aws:kms with an OTC KMS key; SSE-S3 (AES256) is not supported"),
    publicAccessBlock: no(OTC.compat, "not in the S3 compatibility table; buckets are created private and no statement allows the anonymous principal"),
    createdIdentities: no(OTC.policy, "identities are IAM users of the Open Telekom Cloud account, created by the operator; not through this program"),
    unsupportedPolicyActions: [],
    principalFormat: { pattern: /^arn:aws:iam::[0-9a-f]{32}:user\/[0-9A-Za-z._-]+$/, example: "arn:aws:iam::219d520ceac84c5a98b237431a2cf4c2:user/b2ea8a1a4c1f4c7e8d4f4a1a2b3c4d5e", source: OTC.policy },
    principal: awsPrincipal,
    resource: arnResource,
  },
  stackit: {
    id: "stackit",
    title: "STACKIT Object Storage",
    addressing: "path",
    bucketPolicy: yes(STACKIT.guide, "the guide manages aws_s3_bucket_policy; identities are credentials groups"),
    sourceIp: no(STACKIT.guide, "no STACKIT page documents the condition keys; not assumed"),
    secureTransport: no(STACKIT.guide, "not documented; the endpoint is https only"),
    versioning: no(STACKIT.faq, "not documented; not assumed"),
    objectLock: yes(STACKIT.faq, "only at bucket creation, at most 365 days"),
    lifecycleExpiration: no(STACKIT.faq, "not documented; not assumed"),
    lifecycleNoncurrent: no(STACKIT.faq, "not documented; not assumed"),
    lifecycleAbortMultipart: no(STACKIT.faq, "not documented; not assumed"),
    sse: no(STACKIT.faq, "not documented; not assumed"),
    publicAccessBlock: no(STACKIT.faq, "not documented; no statement allows the anonymous principal"),
    createdIdentities: no(STACKIT.groups, "identities are credentials groups, created by the operator; not through this program"),
    unsupportedPolicyActions: [],
    principalFormat: { pattern: /^urn:sgws:identity::[0-9]+:group\/[0-9A-Za-z-]+$/, example: "urn:sgws:identity::12345678901234567890:group/5b5c3e2a-0b3c-4c1e-9c3d-1a2b3c4d5e6f", source: STACKIT.groups },
    principal: awsPrincipal,
    resource: (path) => `urn:sgws:s3:::${path}`,
  },
  ionos: {
    id: "ionos",
    title: "IONOS Object Storage (contract-owned buckets)",
    addressing: "path",
    bucketPolicy: yes(IONOS.api),
    sourceIp: yes(IONOS.conditions, "IpAddress/NotIpAddress on aws:SourceIp"),
    secureTransport: no(IONOS.conditions, "only aws:SourceIp, aws:CurrentTime and aws:EpochTime are supported; the endpoint is https only"),
    versioning: yes(IONOS.api),
    objectLock: yes(IONOS.api, "only at bucket creation"),
    lifecycleExpiration: yes(IONOS.api),
    lifecycleNoncurrent: yes(IONOS.api),
    lifecycleAbortMultipart: yes(IONOS.api),
    sse: yes(IONOS.api, "AES256 only"),
    publicAccessBlock: yes(IONOS.api),
    createdIdentities: no(IONOS.policy, "identities are users of the IONOS contract, created by the operator; not through this program"),
    unsupportedPolicyActions: [],
    principalFormat: { pattern: /^arn:aws:iam:::user\/[0-9]+:[0-9a-f-]{36}$/, example: "arn:aws:iam:::user/31000000:9acd8251-3ba2-4c9a-a8a5-1f0b5c6d7e8f", source: IONOS.policy },
    principal: awsPrincipal,
    resource: arnResource,
  },
  ceph: {
    id: "ceph",
    title: "Ceph Object Gateway (RGW)",
    // Virtual-host addressing needs wildcard DNS, and is impossible with tenants (Ceph "Multitenancy").
    addressing: "path",
    bucketPolicy: yes(CEPH.policy),
    sourceIp: yes(CEPH.policy, "behind a proxy the gateway must be told the client address (rgw_remote_addr_param)"),
    secureTransport: yes(CEPH.policy),
    versioning: yes(CEPH.s3),
    objectLock: yes(CEPH.objectLock, "only at bucket creation"),
    lifecycleExpiration: yes(CEPH.bucketOps),
    lifecycleNoncurrent: yes(CEPH.bucketOps),
    lifecycleAbortMultipart: yes(CEPH.bucketOps),
    sse: no(CEPH.encryption, "SSE-S3 needs a Vault backend configured in the gateway; not assumed"),
    publicAccessBlock: yes(CEPH.bucketOps),
    createdIdentities: no(CEPH.policy, "identities are RGW users (radosgw-admin), created by the operator; not through this program"),
    unsupportedPolicyActions: [],
    principalFormat: { pattern: /^arn:aws:iam::[0-9A-Za-z_-]*:user\/[0-9A-Za-z._$:-]+$/, example: "arn:aws:iam:::user/observability-sidecar", source: CEPH.policy },
    principal: awsPrincipal,
    resource: arnResource,
  },
  minio: {
    id: "minio",
    title: "MinIO",
    addressing: "path",
    bucketPolicy: no(MINIO.bucketPolicy, "bucket policies apply to anonymous requests only; users are scoped by the IAM policies attached to them, which the operator manages (mc admin policy), or this stack with identities: created"),
    sourceIp: no(MINIO.bucketPolicy, "only in the users' IAM policies (identities: created)"),
    // MinIO evaluates aws:SecureTransport in IAM policies, but as "did MinIO's own listener terminate
    // TLS": behind a TLS-terminating proxy or ingress every request would be denied. Not applied.
    secureTransport: no(MINIO.conditionValues, "MinIO evaluates aws:SecureTransport as whether its own listener terminated TLS, false behind a TLS-terminating proxy, so a deny would refuse every request there; not applied; the endpoint is https only"),
    versioning: yes(MINIO.compat),
    objectLock: yes(MINIO.compat),
    lifecycleExpiration: yes(MINIO.compat),
    lifecycleNoncurrent: yes(MINIO.ilm, "--noncurrent-expire-days"),
    lifecycleAbortMultipart: no(MINIO.compat, "the AbortIncompleteMultipartUpload lifecycle action is not supported"),
    sse: no(MINIO.sse, "SSE-S3 needs KES and an external KMS on the server; not assumed"),
    publicAccessBlock: no(MINIO.compat, "Get/Put/DeletePublicAccessBlock are unsupported; buckets are private unless an anonymous policy is set"),
    // aws:SourceIp is a condition key of every action in MinIO's IAM policies (MINIO.userPolicy);
    // the server reads it from X-Forwarded-For / X-Real-IP / Forwarded when a request carries them
    // (MINIO.conditionValues), so the binding is as strong as the path to MinIO: a proxy in front
    // must overwrite those headers, or a key holder could claim an address.
    createdIdentities: yes(MINIO.userPolicy, "one MinIO user per identity, each with its own IAM policy; MinIO takes aws:SourceIp from X-Forwarded-For/X-Real-IP when present, so a proxy in front must overwrite them"),
    // No ACL actions in MinIO's policy language: a policy naming them is refused whole.
    unsupportedPolicyActions: ["s3:PutObjectAcl", "s3:PutBucketAcl"],
    principalFormat: { pattern: /^[A-Za-z0-9._@+=,-]{3,128}$/, example: "observability-sidecar", source: MINIO.bucketPolicy },
    principal: awsPrincipal,
    resource: arnResource,
  },
  generic: {
    id: "generic",
    title: "generic S3-compatible",
    addressing: "path",
    bucketPolicy: no(UNKNOWN_SERVICE),
    sourceIp: no(UNKNOWN_SERVICE),
    secureTransport: no(UNKNOWN_SERVICE),
    versioning: no(UNKNOWN_SERVICE),
    objectLock: no(UNKNOWN_SERVICE),
    lifecycleExpiration: no(UNKNOWN_SERVICE),
    lifecycleNoncurrent: no(UNKNOWN_SERVICE),
    lifecycleAbortMultipart: no(UNKNOWN_SERVICE),
    sse: no(UNKNOWN_SERVICE),
    publicAccessBlock: no(UNKNOWN_SERVICE),
    createdIdentities: no(UNKNOWN_SERVICE),
    unsupportedPolicyActions: [],
    principalFormat: { pattern: /^\S+$/, example: "observability-sidecar", source: UNKNOWN_SERVICE },
    principal: awsPrincipal,
    resource: arnResource,
  },
};

/** The spec of a profile. */
export function s3Profile(id: S3Profile): S3ProfileSpec {
  return S3_PROFILE_SPECS[id];
}

/** One guarantee of the security checklist, and whether a profile expresses it. */
export interface Guarantee {
  id: string;
  /** The checklist item, in a sentence. */
  what: string;
  expressed: boolean;
  /** How it is expressed, or why not, with the source. */
  detail: string;
}

/**
 * The storage guarantees the checklist asks of every spoke, for one profile: which the stack
 * expresses, and for each one it cannot, the advisory (why, with the source) the plan and the
 * policy pack report.
 */
export function s3Guarantees(spec: S3ProfileSpec, identities: S3IdentityMode = "provided"): Guarantee[] {
  if (identities === "created" && !spec.createdIdentities.supported) throw new Error(`profile ${spec.id} cannot create its identities (objectStorage.identities: created)`);
  const g = (id: string, what: string, c: Capability, how: string): Guarantee => ({
    id,
    what,
    expressed: c.supported,
    detail: c.supported ? `${how} (${c.source})` : `${spec.title} cannot express it${c.note !== undefined ? `: ${c.note}` : ""} (${c.source})`,
  });
  const both = (a: Capability, b: Capability): Capability => (a.supported ? b : a);
  // Supported by the service, but not by the AWS provider against it: applied by the operator.
  const byOperator = (c: Capability): Capability =>
    c.supported
      ? { supported: false, source: `${c.source}; ${LIFECYCLE_PROVIDER_BUG}`, note: "the service supports it, but the AWS provider's lifecycle resource never converges against a non-AWS endpoint; apply the rules the plan lists with the service's own tool (Thanos' and Loki's compactors enforce the retention meanwhile)" }
      : c;
  // Created identities are bound by their own IAM policies (render.ts s3UserPolicy), not by a bucket policy.
  const created = identities === "created";
  const proxyCaveat = "; MinIO takes the address from X-Forwarded-For/X-Real-IP when present, so a proxy in front must overwrite them";
  return [
    created
      ? g("writers-bound-to-egress", "writers only from the spoke's addresses", spec.createdIdentities, `IAM policy of each created user: its actions on its bucket allowed by aws:SourceIp, everything denied elsewhere${spec.id === "minio" ? proxyCaveat : ""}`)
      : g("writers-bound-to-egress", "writers only from the spoke's addresses", both(spec.bucketPolicy, spec.sourceIp), "bucket policy: each writer allowed and denied by aws:SourceIp"),
    created
      ? g("reader-bound-to-hub", "the hub reads only from the hub's addresses, and never writes", spec.createdIdentities, `IAM policy of the created reader: allowed by aws:SourceIp from the hub, denied elsewhere and every write${spec.id === "minio" ? proxyCaveat : ""}`)
      : g("reader-bound-to-hub", "the hub reads only from the hub's addresses, and never writes", both(spec.bucketPolicy, spec.sourceIp), "bucket policy: the reader allowed by aws:SourceIp, denied every write"),
    created
      ? g("tls-only", "no request without TLS", spec.secureTransport, "IAM policy: deny aws:SecureTransport false")
      : g("tls-only", "no request without TLS", both(spec.bucketPolicy, spec.secureTransport), "bucket policy: deny aws:SecureTransport false"),
    g("no-public-access", "no public access", spec.publicAccessBlock, "public access block, all four settings"),
    g("versioning", "versioning on", spec.versioning, "bucket versioning enabled"),
    g("lifecycle-retention", "objects expire with the stack's retention", byOperator(spec.lifecycleExpiration), "lifecycle expiration by retention"),
    g("noncurrent-expiry", "noncurrent versions expire", byOperator(both(spec.versioning, spec.lifecycleNoncurrent)), "lifecycle noncurrent-version expiration"),
    g("abort-multipart", "abandoned multipart uploads are removed", byOperator(spec.lifecycleAbortMultipart), "lifecycle abort incomplete multipart uploads after 1 day"),
    g("encryption-at-rest", "default encryption at rest", spec.sse, "default bucket encryption AES256"),
  ];
}

/**
 * The README's table of what each profile expresses (section "S3-compatible spokes"): one row
 * per guarantee, one column per profile, each cell yes/no with its source. A test keeps the
 * README equal to it.
 */
export function s3GuaranteeTable(): string {
  // One column per profile, and one more per profile that can create its identities (they are bound differently).
  const columns = Object.values(S3_PROFILE_SPECS).flatMap((spec) => [
    { spec, identities: "provided" as const, label: `${spec.id} (${spec.title})` },
    ...(spec.createdIdentities.supported ? [{ spec, identities: "created" as const, label: `${spec.id} (${spec.title}), identities: created` }] : []),
  ]);
  const rows = s3Guarantees(columns[0].spec).map((g, i) => {
    const cells = columns.map(({ spec, identities }) => {
      const c = s3Guarantees(spec, identities)[i];
      return c.expressed ? `yes: ${c.detail}` : `**no**: ${c.detail}`;
    });
    return `| ${g.what} | ${cells.join(" | ")} |`;
  });
  // Not a guarantee: Thanos' and Loki's compactors delete and rewrite objects, so no lock is applied.
  rows.push(`| object lock available (optional, S3.15; not applied: the compactors delete) | ${columns.map(({ spec }) => `${spec.objectLock.supported ? "yes" : "no"}: ${spec.objectLock.note !== undefined ? `${spec.objectLock.note} ` : ""}(${spec.objectLock.source})`).join(" | ")} |`);
  return [`| guarantee | ${columns.map((c) => c.label).join(" | ")} |`, `|---|${columns.map(() => "---").join("|")}|`, ...rows].join("\n");
}
