/**
 * Buckets on S3-compatible services (cloud s3, components/clouds/s3): AWS resources whose
 * provider points at the service's endpoint. Such a bucket belongs only in a stack that declares
 * cloud s3 (mandatory: an AWS stack never redirects its S3 calls), and every item of the S3
 * hardening checklist its service cannot express is reported as an advisory, bucket by bucket,
 * read off the resources the stack really has: never a silent gap.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { arr, at, declaredStack, decoded, entries, onceReporter, S3_BUCKETS, s3CompatibleEndpoint, sideResources, STACK_CONFIG_SCHEMA, str, T, UNKNOWN } from "../lib";

/**
 * The S3-compatible buckets of a stack with their side resources: a created bucket with the side
 * resources that name it (by name or through their dependency on it, as the AWS checks link them),
 * an adopted one (no Bucket resource) with the side resources that name it.
 */
function compatibleBuckets(resources: readonly PolicyResource[]): Map<string, PolicyResource[]> {
  const out = new Map<string, PolicyResource[]>();
  const compatible = resources.filter((r) => r.type.startsWith("aws:s3/") && s3CompatibleEndpoint(r) !== undefined);
  const claimed = new Set<PolicyResource>();
  for (const b of compatible.filter((r) => S3_BUCKETS.includes(r.type))) {
    const name = str(at(b.props, "bucket")) ?? b.name;
    const linked = sideResources(b, resources, [...new Set(compatible.map((r) => r.type))], "bucket");
    const side = [...new Set([...linked, ...compatible.filter((r) => !S3_BUCKETS.includes(r.type) && str(at(r.props, "bucket")) === name)])];
    for (const s of side) claimed.add(s);
    out.set(name, [b, ...side]);
  }
  for (const r of compatible.filter((x) => !S3_BUCKETS.includes(x.type) && !claimed.has(x))) {
    const name = str(at(r.props, "bucket"));
    if (name !== undefined) out.set(name, [...(out.get(name) ?? []), r]);
  }
  return out;
}

/** True when a bucket policy document binds some Allow statement to source addresses. */
function bindsSourceIp(doc: unknown): boolean {
  return arr(at(decoded(doc), "Statement")).some((s) => at(s, "Effect") === "Allow" && entries(at(s, "Condition", "IpAddress")).some(([k]) => k.toLowerCase() === "aws:sourceip"));
}

/**
 * MinIO users the stack created (cloud s3, profile minio, `objectStorage.identities: created`) carry
 * their bounds in IAM policies (`minio.IamPolicy`, components/clouds/s3/render.ts s3UserPolicy)
 * instead of a bucket policy.
 */
const MINIO_IAM_POLICY = "minio:index/iamPolicy:IamPolicy";

/**
 * True when some IAM policy document allows actions on `bucket` only from source addresses: an
 * Allow statement naming the bucket's ARN (or its objects) under an `IpAddress aws:SourceIp` condition.
 */
function userPolicyBindsBucket(doc: unknown, bucket: string): boolean {
  return arr(at(decoded(doc), "Statement")).some((s) => {
    const resources = [at(s, "Resource")].flat().map((r) => str(r));
    return at(s, "Effect") === "Allow" && resources.some((r) => r === `arn:aws:s3:::${bucket}` || r === `arn:aws:s3:::${bucket}/*`) && entries(at(s, "Condition", "IpAddress")).some(([k]) => k.toLowerCase() === "aws:sourceip");
  });
}

/** True when a bucket policy document denies requests without TLS. */
function deniesPlainHttp(doc: unknown): boolean {
  return arr(at(decoded(doc), "Statement")).some((s) => at(s, "Effect") === "Deny" && ["false", false].includes(at(s, "Condition", "Bool", "aws:SecureTransport") as string | boolean));
}

/** An S3-compatible provider only in a stack that declares cloud s3. */
export const s3CompatibleOnlyInS3Stacks: StackValidationPolicy = {
  name: "s3-compatible-storage-declared",
  description:
    "An AWS provider whose S3 endpoint is overridden (an S3-compatible service) manages buckets only in a stack that declares observability:cloud s3: an AWS stack's S3 calls always go to AWS, " +
    "so its buckets are judged by the AWS S3 checklist (SECURITY-CHECKLIST, AWS S3) and never escape it through an endpoint override.",
  enforcementLevel: "mandatory",
  configSchema: STACK_CONFIG_SCHEMA,
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const d = declaredStack(args);
    for (const [bucket, rs] of compatibleBuckets(args.resources)) {
      if (d.cloud === "s3") continue;
      report(`bucket ${bucket} is managed through an S3-compatible endpoint (${String(s3CompatibleEndpoint(rs[0]))}), but the stack declares cloud ${d.cloud ?? "(undeclared)"}, not s3`, rs[0].urn);
    }
  },
};

/** Every checklist item an S3-compatible bucket lacks, as an advisory. */
export const s3CompatibleGuarantees: StackValidationPolicy = {
  name: "s3-compatible-guarantees",
  description:
    "Advisory, per bucket on an S3-compatible service: the S3 checklist items (SECURITY-CHECKLIST, AWS S3: S3.1, S3.5, S3.13, S3.14, S3.17) its stack could not express because the service does not support them " +
    "(components/clouds/s3/profiles.ts, README \"S3-compatible spokes\"): a bucket policy binding writers and the hub reader to their addresses (aws:SourceIp), " +
    "or, for MinIO users the stack created (objectStorage.identities: created), their own IAM policies doing so, " +
    "denying requests without TLS, a public access block, versioning, default encryption, and lifecycle rules (never applied through the AWS provider on these services: " +
    "hashicorp/terraform-provider-aws#49019, #46021).",
  enforcementLevel: "advisory",
  validateStack: (args, reportViolation) => {
    const report = onceReporter(reportViolation);
    const userPolicies = args.resources.filter((r) => r.type === MINIO_IAM_POLICY).map((p) => at(p.props, "policy"));
    for (const [bucket, rs] of compatibleBuckets(args.resources)) {
      const of = (type: string): PolicyResource[] => rs.filter((r) => r.type === type);
      const where = rs.find((r) => r.type === T.s3Bucket)?.urn ?? rs[0].urn;
      const policies = of(T.s3Policy).map((p) => at(p.props, "policy"));
      if (policies.some((p) => p === UNKNOWN)) continue;
      if (policies.length === 0 && userPolicies.some((p) => p === UNKNOWN)) continue;
      // Keys bound by the created users' own IAM policies: no bucket policy is needed to bind them.
      const boundByUsers = userPolicies.some((p) => userPolicyBindsBucket(p, bucket));
      if (policies.length === 0 && !boundByUsers) report(`bucket ${bucket} has no bucket policy: its service cannot bind writers or the hub reader to their addresses; each key works from anywhere`, where);
      else if (!policies.some(bindsSourceIp)) report(`bucket ${bucket}: its bucket policy binds no identity to source addresses (the service does not evaluate aws:SourceIp)`, where);
      if (policies.length > 0 && !policies.some(deniesPlainHttp)) report(`bucket ${bucket}: no statement denies requests without TLS (the service does not evaluate aws:SecureTransport); only the https endpoint keeps them encrypted`, where);
      if (of(T.s3PublicAccessBlock).length === 0) report(`bucket ${bucket} has no public access block (the service has none): no statement allows the anonymous principal`, where);
      if (of(T.s3Versioning).length === 0) report(`bucket ${bucket} is not versioned (the service does not support it): an overwrite or delete cannot be undone`, where);
      if (of(T.s3Encryption).length === 0) report(`bucket ${bucket} has no default encryption configuration (the service's SSE-S3 is not available)`, where);
      if (of(T.s3Lifecycle).length === 0) report(`bucket ${bucket} has no lifecycle rules from this stack: apply the rules the plan lists with the service's own tool (expiry by retention, noncurrent versions, abandoned multipart uploads)`, where);
    }
  },
};

/** The S3-compatible policies. */
export const s3CompatiblePolicies = [s3CompatibleOnlyInS3Stacks, s3CompatibleGuarantees];
