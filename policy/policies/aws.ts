/**
 * The S3 items of the hardening checklist. Most settings live on side resources of a bucket
 * (public access block, ownership, versioning, ...), so these are stack validations that find
 * each bucket's side resources through the bucket they depend on.
 */
import type { PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { arr, at, declaredStack, decoded, entries, label, onceReporter, S3_BUCKETS, s3CompatibleEndpoint, sideResources, STACK_CONFIG_SCHEMA, str, T, UNKNOWN } from "../lib";
import { statements } from "./sovereignty";

type BucketCheck = (bucket: PolicyResource, side: (types: readonly string[]) => PolicyResource[], report: (msg: string, urn?: string) => void, args: StackValidationArgs) => void;

/**
 * A stack validation run once per AWS S3 bucket, with the bucket's side resources at hand. A
 * bucket on an S3-compatible service (its provider points at another endpoint) is not AWS's: what
 * its service can express is judged by the s3-compatible policies (./s3-compatible.ts).
 */
function perBucket(check: BucketCheck): (args: StackValidationArgs, report: ReportViolation) => void {
  return (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    for (const b of args.resources.filter((r) => S3_BUCKETS.includes(r.type) && s3CompatibleEndpoint(r) === undefined)) {
      check(b, (types) => sideResources(b, args.resources, types, "bucket"), report, args);
    }
  };
}

const PUBLIC_ACLS = new Set(["public-read", "public-read-write", "authenticated-read"]);
const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** S3.1/S3.8, CKV2_AWS_6, S3.12. */
export const s3PublicAccessBlocked: StackValidationPolicy = {
  name: "s3-public-access-blocked",
  description: "Every S3 bucket has a public access block with all four flags true (S3.1/S3.8, CKV2_AWS_6), BucketOwnerEnforced ownership so ACLs are disabled (S3.12), and no public canned ACL.",
  enforcementLevel: "mandatory",
  validateStack: perBucket((b, side, report) => {
    const pabs = side([T.s3PublicAccessBlock]);
    if (pabs.length === 0) report(`${label(b)} has no public access block (S3.1/S3.8, CKV2_AWS_6)`, b.urn);
    for (const p of pabs) {
      const off = PAB_FLAGS.filter((f) => at(p.props, f) !== true && at(p.props, f) !== UNKNOWN);
      if (off.length > 0) report(`${label(p)} leaves ${off.join(", ")} off for ${b.name} (S3.1/S3.8, CKV2_AWS_6)`, p.urn);
    }
    const own = side([T.s3Ownership]);
    if (!own.some((o) => at(o.props, "rule", "objectOwnership") === "BucketOwnerEnforced")) report(`${label(b)} does not enforce bucket-owner ownership; ACLs stay enabled (S3.12)`, b.urn);
    const acls = [str(at(b.props, "acl")), ...side([T.s3Acl, T.s3AclV2]).map((a) => str(at(a.props, "acl")))];
    for (const a of acls) if (a !== undefined && PUBLIC_ACLS.has(a)) report(`${label(b)} has the public ACL ${a} (S3.1, S3.12)`, b.urn);
  }),
};

/** True when a policy document denies every non-TLS request to bucket and objects. */
function deniesInsecureTransport(doc: unknown): boolean {
  const d = decoded(doc);
  return arr(at(d, "Statement")).some((s) => {
    if (at(s, "Effect") !== "Deny") return false;
    const v = at(s, "Condition", "Bool", "aws:SecureTransport");
    const actions = ((a: unknown) => (typeof a === "string" ? [a] : arr(a)))(at(s, "Action"));
    return (v === "false" || v === false) && actions.some((a) => a === "s3:*" || a === "*");
  });
}

/** S3.5, CKV_AWS_379. */
export const s3TlsOnly: StackValidationPolicy = {
  name: "s3-tls-only",
  description: "Every S3 bucket has a bucket policy that denies s3:* when aws:SecureTransport is false (S3.5, CKV_AWS_379).",
  enforcementLevel: "mandatory",
  validateStack: perBucket((b, side, report) => {
    const docs = [at(b.props, "policy"), ...side([T.s3Policy]).map((p) => at(p.props, "policy"))];
    if (docs.some((d) => d === UNKNOWN)) return;
    if (!docs.some((d) => d !== undefined && deniesInsecureTransport(d))) report(`${label(b)} has no bucket policy denying requests without TLS (S3.5, CKV_AWS_379)`, b.urn);
  }),
};

/** CKV_AWS_70. */
export const s3NoPublicPrincipals: StackValidationPolicy = {
  name: "s3-no-public-principals",
  description: "No S3 bucket policy or KMS key policy allows Principal '*' (CKV_AWS_70).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    for (const r of args.resources.filter((x) => x.type === T.s3Policy || S3_BUCKETS.includes(x.type) || x.type === T.kmsKey)) {
      for (const s of statements(at(r.props, "policy"))) {
        if (s.effect === "Allow" && s.principals.includes("*")) report(`${label(r)} allows Principal '*' (CKV_AWS_70)`, r.urn);
      }
    }
  },
};

/** S3.14, CKV_AWS_21, S3.13, CKV_AWS_300. */
export const s3VersioningAndLifecycle: StackValidationPolicy = {
  name: "s3-versioning-and-lifecycle",
  description:
    "Every S3 bucket has versioning Enabled (S3.14, CKV_AWS_21) and an enabled lifecycle configuration that aborts incomplete multipart uploads (S3.13, CKV_AWS_300) and expires noncurrent versions.",
  enforcementLevel: "mandatory",
  validateStack: perBucket((b, side, report) => {
    const versioning = side([T.s3Versioning, T.s3VersioningV2]).map((v) => at(v.props, "versioningConfiguration", "status"));
    const legacy = at(b.props, "versioning", "enabled");
    if (!versioning.includes("Enabled") && legacy !== true && !versioning.includes(UNKNOWN)) report(`${label(b)} is not versioned (S3.14, CKV_AWS_21)`, b.urn);
    const rules = side([T.s3Lifecycle, T.s3LifecycleV2]).flatMap((l) => arr(at(l.props, "rules"))).filter((r) => at(r, "status") === "Enabled");
    if (!rules.some((r) => typeof at(r, "abortIncompleteMultipartUpload", "daysAfterInitiation") === "number")) report(`${label(b)} has no lifecycle rule aborting incomplete multipart uploads (S3.13, CKV_AWS_300)`, b.urn);
    if (!rules.some((r) => typeof at(r, "noncurrentVersionExpiration", "noncurrentDays") === "number")) report(`${label(b)} has no lifecycle rule expiring noncurrent versions (S3.13)`, b.urn);
  }),
};

/** The default encryption algorithms of a bucket's SSE configurations. */
function sseRules(side: (types: readonly string[]) => PolicyResource[]): unknown[] {
  return side([T.s3Encryption, T.s3EncryptionV2]).flatMap((e) => arr(at(e.props, "rules")).map((r) => at(r, "applyServerSideEncryptionByDefault")));
}

/** S3 default encryption (SSE-S3 at least). */
export const s3EncryptionAtRest: StackValidationPolicy = {
  name: "s3-encryption-at-rest",
  description: "Every S3 bucket has a default server-side encryption configuration, SSE-KMS or SSE-S3 (S3.17, CKV_AWS_145: SSE-S3 is the floor when no customer key is configured).",
  enforcementLevel: "mandatory",
  validateStack: perBucket((b, side, report) => {
    const algs = sseRules(side).map((r) => at(r, "sseAlgorithm"));
    if (!algs.some((a) => a === "AES256" || a === "aws:kms" || a === "aws:kms:dsse" || a === UNKNOWN)) report(`${label(b)} has no default encryption configuration`, b.urn);
  }),
};

/** S3.15 (optional item). */
export const s3ObjectLock: StackValidationPolicy = {
  name: "s3-object-lock",
  description: "Optional (advisory): S3 buckets use Object Lock for write-once retention (S3.15).",
  enforcementLevel: "advisory",
  validateStack: perBucket((b, side, report) => {
    if (at(b.props, "objectLockEnabled") !== true && side([T.s3ObjectLock, T.s3ObjectLockV2]).length === 0) report(`${label(b)} has no Object Lock (S3.15, optional)`, b.urn);
  }),
};

/** S3.9 (optional item). */
export const s3AccessLogging: StackValidationPolicy = {
  name: "s3-access-logging",
  description: "Optional (advisory): S3 buckets have server access logging (S3.9).",
  enforcementLevel: "advisory",
  validateStack: perBucket((b, side, report) => {
    if (at(b.props, "loggings") === undefined && side([T.s3Logging, T.s3LoggingV2]).length === 0) report(`${label(b)} has no server access logging (S3.9, optional)`, b.urn);
  }),
};

/** What a data store's customer key status is: present, absent, or not applicable. */
export function customerKeyStatus(r: PolicyResource, resources: readonly PolicyResource[]): "present" | "absent" | "n/a" {
  if (S3_BUCKETS.includes(r.type)) {
    const rules = sseRules((types) => sideResources(r, resources, types, "bucket"));
    return rules.some((x) => String(at(x, "sseAlgorithm")).startsWith("aws:kms") && at(x, "kmsMasterKeyId") !== undefined) ? "present" : "absent";
  }
  if (r.type === T.gcsBucket) return at(r.props, "encryption", "defaultKmsKeyName") !== undefined ? "present" : "absent";
  if (r.type === T.azAccount) return at(r.props, "encryption", "keySource") === "Microsoft.Keyvault" ? "present" : "absent";
  return "n/a";
}

function cmkCheck(when: "customer" | "not-customer"): (args: StackValidationArgs, report: ReportViolation) => void {
  return (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const mode = declaredStack(args).encryptionMode;
    if ((when === "customer") !== (mode === "customer")) return;
    for (const r of args.resources) {
      if (customerKeyStatus(r, args.resources) !== "absent") continue;
      report(
        when === "customer"
          ? `${label(r)} is not encrypted with the customer-managed key the stack configures (encryption.mode customer; S3.17, CKV_AWS_145, GCP-0066)`
          : `${label(r)} uses provider-managed keys; a customer-managed key is recommended (S3.17, CKV_AWS_145, GCP-0066)`,
        r.urn,
      );
    }
  };
}

/** S3.17, CKV_AWS_145, GCP-0066, Azure CMK: mandatory when configured. */
export const customerManagedKeysWhenConfigured: StackValidationPolicy = {
  name: "customer-managed-keys-when-configured",
  description:
    "When the stack configures encryption.mode customer (policy config encryptionMode), every S3 bucket uses SSE-KMS with a key (S3.17, CKV_AWS_145), every GCS bucket a default KMS key (Trivy GCP-0066), every storage account a Key Vault key.",
  enforcementLevel: "mandatory",
  configSchema: STACK_CONFIG_SCHEMA,
  validateStack: cmkCheck("customer"),
};

/** The same keys, recommended when not configured. */
export const customerManagedKeysRecommended: StackValidationPolicy = {
  name: "customer-managed-keys-recommended",
  description: "Optional (advisory) when the stack does not configure customer keys: data stores on provider-managed keys are listed (S3.17, CKV_AWS_145, GCP-0066).",
  enforcementLevel: "advisory",
  configSchema: STACK_CONFIG_SCHEMA,
  validateStack: cmkCheck("not-customer"),
};

/** IAM documents the pack reads for address conditions: bucket, identity and trust policies. */
const IAM_DOCUMENTS: readonly { type: string; key: string }[] = [
  { type: T.s3Policy, key: "policy" },
  { type: T.iamRolePolicy, key: "policy" },
  { type: T.iamUserPolicy, key: "policy" },
  { type: T.iamPolicy, key: "policy" },
  { type: T.iamRole, key: "assumeRolePolicy" },
];

/**
 * Address conditions a request through a VPC endpoint escapes. Such a request carries no
 * `aws:SourceIp` (IAM "AWS global condition context keys", aws:SourceIp: "If the request comes
 * from a host that uses an Amazon VPC endpoint, then the aws:SourceIp key is not present",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceip).
 * With the key absent, `IpAddress` is false, negated operators (`NotIpAddress`) are true, and
 * `...IfExists` operators are true (IAM "Condition operators", "...IfExists condition operators"
 * and "Negated matching condition operators",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
 * So a Deny on `IpAddress` stops nothing that comes through an endpoint, and an Allow on
 * `NotIpAddress`, `NotIpAddressIfExists` or `IpAddressIfExists` grants to any endpoint, unless the
 * same statement pins the endpoint (`aws:SourceVpce`/`aws:SourceVpc` with StringEquals).
 * Fail-closed forms (Allow on `IpAddress`, Deny on `NotIpAddress`) are the ones the program uses.
 */
export function vpceBypassedIpConditions(doc: unknown): string[] {
  const d = decoded(doc);
  if (d === UNKNOWN) return [];
  const out: string[] = [];
  arr(at(d, "Statement")).forEach((st, i) => {
    const effect = str(at(st, "Effect"));
    const cond = at(st, "Condition");
    const sid = str(at(st, "Sid")) ?? `#${i}`;
    const ops = entries(cond).filter(([, v]) => entries(v).some(([k]) => k.toLowerCase() === "aws:sourceip")).map(([op]) => op);
    if (ops.length === 0) return;
    const pinsEndpoint = entries(at(cond, "StringEquals")).some(([k]) => ["aws:sourcevpce", "aws:sourcevpc"].includes(k.toLowerCase()));
    for (const op of ops) {
      if (effect === "Deny" && op === "IpAddress") out.push(`statement ${sid} denies by IpAddress on aws:SourceIp: a request through a VPC endpoint carries no aws:SourceIp and is not denied`);
      if (effect === "Allow" && ["NotIpAddress", "NotIpAddressIfExists", "IpAddressIfExists"].includes(op) && !pinsEndpoint) out.push(`statement ${sid} allows by ${op} on aws:SourceIp: a request through any VPC endpoint carries no aws:SourceIp and is allowed`);
    }
  });
  return out;
}

/** IAM address conditions that a VPC endpoint bypasses. */
export const awsIpConditionsNotBypassed: StackValidationPolicy = {
  name: "aws-ip-conditions-not-bypassed-by-vpc-endpoint",
  description:
    "No bucket, identity or trust policy restricts by aws:SourceIp in a form a request through a VPC endpoint escapes (it carries no aws:SourceIp): no Deny on IpAddress, no Allow on NotIpAddress/IpAddressIfExists without an aws:SourceVpce pin (SECURITY-CHECKLIST Identities: aws:SourceIp exists only on public-path requests; IAM global condition keys, aws:SourceIp).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    for (const { type, key } of IAM_DOCUMENTS) {
      for (const r of args.resources.filter((x) => x.type === type)) {
        for (const problem of vpceBypassedIpConditions(at(r.props, key))) report(`${label(r)}: ${problem}`, r.urn);
      }
    }
  },
};

/** Every S3 and key policy. */
export const awsPolicies: StackValidationPolicy[] = [
  s3PublicAccessBlocked,
  s3TlsOnly,
  s3NoPublicPrincipals,
  s3VersioningAndLifecycle,
  s3EncryptionAtRest,
  s3ObjectLock,
  s3AccessLogging,
  customerManagedKeysWhenConfigured,
  customerManagedKeysRecommended,
  awsIpConditionsNotBypassed,
];
