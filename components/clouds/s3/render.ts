/**
 * Pure renderers of a spoke on S3-compatible storage: bucket policies, lifecycle rules, the
 * Thanos objstore file and Loki's storage block, from typed parameters and the service's
 * profile ({@link S3ProfileSpec}). No SDK is loaded; components and tests call these.
 */
import { stringify } from "yaml";
import { durationDays, type Retention } from "../../config";
import { LOKI_S3_KEY_ENV } from "../../workloads/values/loki";
import type { PolicyCondition } from "../aws/render";
import type { BucketUser, Writer } from "../types";
import type { S3ProfileSpec } from "./profiles";

/**
 * A bucket policy statement in the S3 policy language. `Principal` is the anonymous `*`, or
 * identities under `AWS`: ARNs, URNs (STACKIT) or, on some services, user names or access key ids.
 */
export interface S3PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal: "*" | { AWS: string | string[] };
  Action: string | string[];
  Resource: string[];
  Condition?: PolicyCondition;
}

/** A bucket policy document. */
export interface S3PolicyDocument {
  Version: "2012-10-17";
  Statement: S3PolicyStatement[];
}

/**
 * Provider arguments for the AWS provider talking to an S3-compatible service (the credentials
 * are added by the module). The service is not AWS: the provider must not validate the
 * credentials with STS, the region against AWS' list, ask STS or IAM for an account id, or probe
 * the EC2 instance metadata endpoint (terraform-provider-aws, "Provider configuration", the
 * `skip_*` arguments: https://registry.terraform.io/providers/hashicorp/aws/latest/docs#skip_credentials_validation).
 * The S3 endpoint is overridden and path-style addressing follows the profile (`s3_use_path_style`).
 */
export function s3ProviderArgs(endpoint: S3Endpoint): {
  region: string;
  endpoints: { s3: string }[];
  s3UsePathStyle: boolean;
  skipCredentialsValidation: true;
  skipRegionValidation: true;
  skipRequestingAccountId: true;
  skipMetadataApiCheck: true;
} {
  return {
    region: endpoint.region,
    endpoints: [{ s3: endpoint.url }],
    s3UsePathStyle: endpoint.addressing === "path",
    skipCredentialsValidation: true,
    skipRegionValidation: true,
    skipRequestingAccountId: true,
    skipMetadataApiCheck: true,
  };
}

/** Object writes and deletes a writer may make (multipart uploads are part of s3:PutObject). */
const OBJECT_WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"] as const;
/** What a reader may do: list the bucket and read objects. */
export const S3_READ_ACTIONS = ["s3:ListBucket", "s3:GetObject"] as const;
/**
 * Everything a reader must never do, denied explicitly: the object writes and the bucket's own
 * settings. Listed, not `NotAction`: several S3-compatible services drop `NotAction` statements
 * silently (versitygw v1.8.0 among them), which would turn the deny into nothing.
 */
export const S3_READER_DENIED_ACTIONS = [
  ...OBJECT_WRITE_ACTIONS,
  "s3:DeleteObjectVersion",
  "s3:PutObjectAcl",
  "s3:PutBucketPolicy",
  "s3:DeleteBucketPolicy",
  "s3:PutBucketAcl",
  "s3:PutBucketVersioning",
  "s3:PutLifecycleConfiguration",
  "s3:DeleteBucket",
] as const;

/**
 * Least privilege per bucket user, as on AWS (components/clouds/aws/render.ts WORKLOAD_S3_ACTIONS
 * says why each is needed): the sidecar never deletes, the store gateway only reads.
 */
export const S3_USER_ACTIONS: Readonly<Record<BucketUser | "reader", readonly string[]>> = {
  sidecar: ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
  compactor: ["s3:ListBucket", "s3:GetObject", ...OBJECT_WRITE_ACTIONS],
  loki: ["s3:ListBucket", "s3:GetObject", ...OBJECT_WRITE_ACTIONS],
  store: [...S3_READ_ACTIONS],
  reader: [...S3_READ_ACTIONS],
};

/** Who uses one bucket, by the name the service's policies know them, and from where. */
export interface S3BucketPolicyArgs {
  bucket: string;
  profile: S3ProfileSpec;
  /** Writers of this bucket and their principals. */
  writers: Partial<Record<Writer, string>>;
  /** Read-only users inside the spoke (its own store gateway). */
  localReaders: Partial<Record<"store", string>>;
  /** Addresses the service sees for the spoke's own requests (writers, local readers). */
  spokeSourceCidrs: readonly string[];
  /** The hub's read-only principal and the hub's egress addresses; metrics bucket with `hub-store` only. */
  hubReader?: { principal: string; sourceIps: readonly string[] };
}

function cidrs(ips: readonly string[]): string[] {
  return ips.map((ip) => (ip.includes("/") ? ip : `${ip}/32`));
}

/**
 * The bucket policy of one bucket on an S3-compatible service, as far as its profile can express it.
 *
 * Allow statements grant each identity exactly its actions; explicit Deny statements repeat the
 * bounds, because on these services a key's own account-level permissions (an OTC IAM policy with
 * OBS rights, a Ceph user owning the bucket) are ORed with the bucket policy, and only a Deny
 * limits them:
 * - every identity only from its addresses (`aws:SourceIp`), when the profile evaluates it;
 * - the readers (the hub's, the spoke's store gateway) never write or change the bucket;
 * - no request without TLS (`aws:SecureTransport`), when the profile evaluates it.
 * No statement names the anonymous principal with Allow: nothing is public.
 */
export function s3BucketPolicy(args: S3BucketPolicyArgs): S3PolicyDocument {
  const { profile } = args;
  if (!profile.bucketPolicy.supported) throw new Error(`profile ${profile.id} has no bucket policies: no bucket policy can be rendered`);
  const resources = [profile.resource(args.bucket), profile.resource(`${args.bucket}/*`)];
  const principal = (ids: readonly string[]): S3PolicyStatement["Principal"] => profile.principal(ids);
  const sourceIp = profile.sourceIp.supported;
  const statements: S3PolicyStatement[] = [];
  if (profile.secureTransport.supported) {
    statements.push({ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: resources, Condition: { Bool: { "aws:SecureTransport": "false" } } });
  }
  const grant = (sid: string, ids: readonly string[], actions: readonly string[], from: readonly string[]): void => {
    if (ids.length === 0) return;
    statements.push({ Sid: `Allow${sid}`, Effect: "Allow", Principal: principal(ids), Action: [...actions], Resource: resources, ...(sourceIp ? { Condition: { IpAddress: { "aws:SourceIp": cidrs(from) } } } : {}) });
    // Everything, not only its actions: the key's account-level rights must not work from elsewhere either.
    if (sourceIp) statements.push({ Sid: `Deny${sid}OutsideItsAddresses`, Effect: "Deny", Principal: principal(ids), Action: "s3:*", Resource: resources, Condition: { NotIpAddress: { "aws:SourceIp": cidrs(from) } } });
  };
  if (args.spokeSourceCidrs.length === 0) throw new Error("the spoke's source addresses are empty: nothing could write");
  for (const [writer, id] of Object.entries(args.writers) as [Writer, string][]) grant(`${cap(writer)}`, [id], S3_USER_ACTIONS[writer], args.spokeSourceCidrs);
  const readers: string[] = [];
  if (args.localReaders.store !== undefined) {
    grant("Store", [args.localReaders.store], S3_USER_ACTIONS.store, args.spokeSourceCidrs);
    readers.push(args.localReaders.store);
  }
  if (args.hubReader !== undefined) {
    if (args.hubReader.sourceIps.length === 0) throw new Error("the hub reader needs at least one hub egress address");
    grant("HubReader", [args.hubReader.principal], S3_USER_ACTIONS.reader, args.hubReader.sourceIps);
    readers.push(args.hubReader.principal);
  }
  if (readers.length > 0) statements.push({ Sid: "DenyReadersAnyWrite", Effect: "Deny", Principal: principal(readers), Action: [...S3_READER_DENIED_ACTIONS], Resource: resources });
  return { Version: "2012-10-17", Statement: statements };
}

/** A statement of an identity-based (IAM user) policy: no `Principal`, the user it is attached to is the principal. */
export interface S3IamStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string[];
  Condition?: PolicyCondition;
}

/** An IAM policy document attached to one created user. */
export interface S3IamPolicyDocument {
  Version: "2012-10-17";
  Statement: S3IamStatement[];
}

/** Arguments of {@link s3UserPolicy}. */
export interface S3UserPolicyArgs {
  /** The identity the policy is attached to. */
  user: BucketUser | "reader";
  /** The one bucket it works on (the metrics bucket, or the logs bucket for Loki). */
  bucket: string;
  profile: S3ProfileSpec;
  /** Where its requests come from: the spoke's source addresses, or the hub's egress for `reader`. */
  sourceCidrs: readonly string[];
}

/** The identities that only read: denied every write explicitly. */
const READ_ONLY_USERS: ReadonlySet<BucketUser | "reader"> = new Set(["store", "reader"]);

/**
 * The IAM policy of one identity the stack creates (`objectStorage.identities: created`, profile
 * `minio`): the same bounds {@link s3BucketPolicy} writes, carried by the user instead of the bucket.
 * - Allow exactly {@link S3_USER_ACTIONS} of the user on its bucket and its objects, from its
 *   addresses (`IpAddress aws:SourceIp`);
 * - Deny `s3:*` on every bucket from anywhere else (`NotIpAddress`): a policy the operator attaches
 *   to the user later cannot make the key usable from elsewhere;
 * - the readers (store gateway, hub) explicitly denied every write on every bucket.
 * MinIO evaluates aws:SourceIp for every action in IAM policies ("Supported S3 Policy Condition Keys",
 * https://min.io/docs/minio/linux/administration/identity-access-management/policy-based-access-control.html#minio-policy-conditions)
 * and refuses a policy naming an action it does not know (minio/pkg policy/actionset.go Validate),
 * so the profile's unsupported actions are left out.
 */
export function s3UserPolicy(args: S3UserPolicyArgs): S3IamPolicyDocument {
  const { profile, user } = args;
  if (!profile.createdIdentities.supported) throw new Error(`profile ${profile.id} cannot create identities: no user policy can be rendered`);
  if (args.sourceCidrs.length === 0) throw new Error(`the ${user}'s source addresses are empty: it could do nothing`);
  const from = cidrs(args.sourceCidrs);
  const supported = (actions: readonly string[]): string[] => actions.filter((a) => !profile.unsupportedPolicyActions.includes(a));
  const everyBucket = [profile.resource("*")];
  const statements: S3IamStatement[] = [
    { Sid: `Allow${cap(user)}`, Effect: "Allow", Action: supported(S3_USER_ACTIONS[user]), Resource: [profile.resource(args.bucket), profile.resource(`${args.bucket}/*`)], Condition: { IpAddress: { "aws:SourceIp": from } } },
    { Sid: `Deny${cap(user)}OutsideItsAddresses`, Effect: "Deny", Action: "s3:*", Resource: everyBucket, Condition: { NotIpAddress: { "aws:SourceIp": from } } },
  ];
  if (READ_ONLY_USERS.has(user)) statements.push({ Sid: `Deny${cap(user)}AnyWrite`, Effect: "Deny", Action: supported(S3_READER_DENIED_ACTIONS), Resource: everyBucket });
  return { Version: "2012-10-17", Statement: statements };
}

/** The name of a user the stack creates: `<stack>-<identity>` (MinIO refuses '=' and ',' in access keys; stack names have neither). */
export function s3CreatedUserName(stack: string, user: BucketUser | "reader"): string {
  return `${stack}-${user}`;
}

/**
 * Arguments of the MinIO provider (@pulumi/minio 0.17.1, wrapping aminueza/terraform-provider-minio
 * v1.20.1, minio/provider.go and minio/new_client.go) for the service at the endpoint: `minioServer`
 * is host and port without scheme (minio-go's `minio.New` endpoint), `minioSsl` must be set (the
 * provider's default is false, plain HTTP), and the region signs the requests (default us-east-1).
 * The admin credential (`minioUser`/`minioPassword`) is added by the module.
 */
export function minioProviderArgs(endpoint: S3Endpoint): { minioServer: string; minioSsl: true; minioInsecure: false; minioRegion: string } {
  const u = new URL(endpoint.url);
  if (u.protocol !== "https:") throw new Error(`the MinIO endpoint must be https (got ${endpoint.url})`);
  return { minioServer: `${u.hostname}:${u.port === "" ? "443" : u.port}`, minioSsl: true, minioInsecure: false, minioRegion: endpoint.region };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A lifecycle rule in the shape of `aws.s3.BucketLifecycleConfiguration` rules. */
export interface S3LifecycleRule {
  id: string;
  status: "Enabled";
  filter: Record<string, never>;
  expiration?: { days: number };
  noncurrentVersionExpiration?: { noncurrentDays: number };
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

/** Days objects of a bucket live: the longest Thanos resolution for metrics, the log retention for logs. */
export function s3ExpirationDays(role: "metrics" | "logs", retention: Retention): number {
  if (role === "logs") return durationDays(retention.logs);
  // Thanos' compactor deletes by resolution; the bucket rule is the backstop past the longest one.
  return Math.max(durationDays(retention.raw), durationDays(retention.fiveMinutes), durationDays(retention.oneHour));
}

/**
 * The lifecycle rules of a bucket, as far as the profile supports them: current objects expire
 * after the stack's retention, noncurrent versions after `retention.noncurrentVersions`,
 * abandoned multipart uploads after a day. Rules the profile cannot express are left out (and
 * reported by {@link s3Guarantees}).
 */
export function s3LifecycleRules(role: "metrics" | "logs", retention: Retention, profile: S3ProfileSpec): S3LifecycleRule[] {
  const rules: S3LifecycleRule[] = [];
  if (profile.lifecycleExpiration.supported) rules.push({ id: "expire-current-versions", status: "Enabled", filter: {}, expiration: { days: s3ExpirationDays(role, retention) } });
  if (profile.lifecycleNoncurrent.supported && profile.versioning.supported)
    rules.push({ id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: durationDays(retention.noncurrentVersions) } });
  if (profile.lifecycleAbortMultipart.supported) rules.push({ id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } });
  return rules;
}

/** Where a Thanos or Loki client reaches the service. */
export interface S3Endpoint {
  /** `https://host[:port]` */
  url: string;
  /** SigV4 signing region. */
  region: string;
  addressing: "path" | "virtual-host";
}

/** The endpoint as Thanos and Loki take it: host and port, no scheme. */
export function endpointHost(url: string): string {
  return new URL(url).host;
}

/**
 * Thanos objstore config (`type: S3`, thanos-io/objstore providers/s3) for a bucket on an
 * S3-compatible service, with one identity's static key. `insecure: false`: https only.
 * `bucket_lookup_type` follows the profile's addressing (`path` or `virtual-hosted`), never
 * `auto`, whose guess differs between services. `send_content_md5` keeps Thanos' default (on: a
 * service that checks Content-MD5 refuses a corrupted upload); `disable_dualstack` has no meaning off AWS.
 */
export function renderS3CompatibleObjstore(args: { bucket: string; endpoint: S3Endpoint; credentials: { accessKey: string; secretKey: string } }): string {
  return stringify({
    type: "S3",
    config: {
      bucket: args.bucket,
      endpoint: endpointHost(args.endpoint.url),
      region: args.endpoint.region,
      access_key: args.credentials.accessKey,
      secret_key: args.credentials.secretKey,
      insecure: false,
      bucket_lookup_type: args.endpoint.addressing === "path" ? "path" : "virtual-hosted",
      send_content_md5: true,
    },
  });
}


/**
 * Loki chart values (loki 18.11.0 `loki.storage`) for the logs bucket on an S3-compatible
 * service. The key never enters the Helm values: the chart's config references
 * `${LOKI_S3_ACCESS_KEY_ID}`/`${LOKI_S3_SECRET_ACCESS_KEY}`, which Loki expands from the
 * environment with `-config.expand-env=true`, filled from a Secret through `extraEnvFrom` (the
 * chart's values.yaml recommends this for credentials, `loki.configStorageType`).
 */
export function renderS3CompatibleLokiStorage(args: { bucket: string; endpoint: S3Endpoint }): { storage: Record<string, unknown> } {
  return {
    storage: {
      type: "s3",
      bucketNames: { chunks: args.bucket, ruler: args.bucket },
      s3: {
        region: args.endpoint.region,
        endpoint: endpointHost(args.endpoint.url),
        s3ForcePathStyle: args.endpoint.addressing === "path",
        insecure: false,
        accessKeyId: `\${${LOKI_S3_KEY_ENV.accessKey}}`,
        secretAccessKey: `\${${LOKI_S3_KEY_ENV.secretKey}}`,
      },
    },
  };
}

/**
 * A bucket's lifecycle rules as the S3 API's `LifecycleConfiguration` JSON (what
 * `aws s3api put-bucket-lifecycle-configuration --lifecycle-configuration` or `mc ilm import`
 * take), for the operator to apply with the service's own tool (no lifecycle resource is created
 * on these services, see {@link s3LifecycleRules}). Open Telekom Cloud documents only the
 * rule-level `Prefix`, not `Filter` (OBS S3 API "PUT Bucket lifecycle",
 * https://docs.otc.t-systems.com/object-storage-service/s3api/operations_on_buckets/put_bucket_lifecycle.html).
 */
export function s3LifecycleDocument(rules: readonly S3LifecycleRule[], profile: S3ProfileSpec): { Rules: Record<string, unknown>[] } {
  return {
    Rules: rules.map((r) => ({
      ID: r.id,
      Status: r.status,
      ...(profile.id === "otc" ? { Prefix: "" } : { Filter: { Prefix: "" } }),
      ...(r.expiration !== undefined ? { Expiration: { Days: r.expiration.days } } : {}),
      ...(r.noncurrentVersionExpiration !== undefined ? { NoncurrentVersionExpiration: { NoncurrentDays: r.noncurrentVersionExpiration.noncurrentDays } } : {}),
      ...(r.abortIncompleteMultipartUpload !== undefined ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: r.abortIncompleteMultipartUpload.daysAfterInitiation } } : {}),
    })),
  };
}
