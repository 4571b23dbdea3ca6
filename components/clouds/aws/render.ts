/**
 * Pure renderers of everything the AWS module hands to AWS or to the workloads: IAM policy
 * documents, S3 lifecycle rules, Thanos objstore configs and Loki storage values.
 * Components call them with resolved values; tests call them directly and evaluate the
 * policies with an IAM policy evaluator.
 */
import { stringify } from "yaml";
import { durationDays, type Retention } from "../../config";
import type { BucketUser } from "../types";
import { s3Endpoint } from "./context";

// ---- IAM documents -----------------------------------------------------------------------

/** A condition block: operator → key → value(s). */
export type PolicyCondition = Record<string, Record<string, string | string[]>>;

/** One IAM policy statement, as AWS reads it. */
export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: "*" | { AWS?: string | string[]; Service?: string | string[]; Federated?: string | string[] };
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: PolicyCondition;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/**
 * Every S3 action that creates, changes or removes an object or its metadata. The bucket
 * policy denies them outside the spoke's VPC endpoint; `s3:PutObject` also covers the
 * multipart calls (CreateMultipartUpload, UploadPart, CompleteMultipartUpload).
 */
export const S3_OBJECT_WRITE_ACTIONS: readonly string[] = [
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:DeleteObjectVersion",
  "s3:AbortMultipartUpload",
  "s3:PutObjectAcl",
  "s3:PutObjectVersionAcl",
  "s3:PutObjectTagging",
  "s3:PutObjectVersionTagging",
  "s3:DeleteObjectTagging",
  "s3:DeleteObjectVersionTagging",
  "s3:PutObjectRetention",
  "s3:PutObjectLegalHold",
  "s3:RestoreObject",
  "s3:ReplicateObject",
  "s3:ReplicateDelete",
  "s3:ReplicateTags",
];

/** What the hub's reader may do, and nothing else. */
export const READER_ACTIONS: readonly string[] = ["s3:ListBucket", "s3:GetObject"];

/**
 * Least privilege per workload. Bucket-level (`s3:ListBucket` on the bucket ARN) and
 * object-level actions (on `<bucket>/*`) are listed apart because they apply to different ARNs.
 *
 * - sidecar: the shipper asks `Exists(<block>/meta.json)` (a HEAD, which needs `s3:GetObject`)
 *   before uploading each block; without `s3:ListBucket` S3 answers a missing key with 403
 *   instead of 404, the check fails and no block is ever shipped. It never deletes: a failed
 *   upload's cleanup is best effort, the compactor removes partial blocks, and the lifecycle
 *   rule aborts abandoned multipart uploads after a day.
 * - compactor: lists, downloads, uploads compacted/downsampled blocks and markers, and deletes
 *   blocks past retention and after `--delete-delay`.
 * - loki: writes and reads chunks and index, its compactor applies retention by deleting.
 * - store: the store gateway only lists and reads.
 */
export const WORKLOAD_S3_ACTIONS: Readonly<Record<BucketUser, { bucket: readonly string[]; objects: readonly string[] }>> = {
  sidecar: { bucket: ["s3:ListBucket"], objects: ["s3:GetObject", "s3:PutObject"] },
  compactor: { bucket: ["s3:ListBucket"], objects: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] },
  loki: { bucket: ["s3:ListBucket"], objects: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] },
  store: { bucket: ["s3:ListBucket"], objects: ["s3:GetObject"] },
};

/** Workloads that write (and so encrypt new objects with the customer key). */
function writes(user: BucketUser): boolean {
  return user !== "store";
}

/**
 * A KMS grant usable only through S3 in this region: S3 calls KMS on the caller's behalf, so
 * `kms:ViaService` (not `aws:SourceIp`, which that forwarded call does not carry) is the bound.
 */
function kmsStatement(actions: string[], kmsKeyArn: string, region: string): PolicyStatement {
  return {
    Sid: "UseBucketKeyThroughS3",
    Effect: "Allow",
    Action: actions,
    Resource: kmsKeyArn,
    Condition: { StringEquals: { "kms:ViaService": s3Endpoint(region) } },
  };
}

export interface WorkloadPolicyArgs {
  /** The bucket this workload uses (metrics for Thanos components, logs for Loki). */
  bucketArn: string;
  region: string;
  /** The customer-managed key, when the bucket is encrypted with one. */
  kmsKeyArn?: string;
}

/** Identity policy of one workload role: its own bucket only, least privilege per component. */
export function workloadPolicy(user: BucketUser, args: WorkloadPolicyArgs): PolicyDocument {
  const a = WORKLOAD_S3_ACTIONS[user];
  const statements: PolicyStatement[] = [
    { Sid: "ListOwnBucket", Effect: "Allow", Action: [...a.bucket], Resource: args.bucketArn },
    { Sid: "ObjectsInOwnBucket", Effect: "Allow", Action: [...a.objects], Resource: `${args.bucketArn}/*` },
  ];
  if (args.kmsKeyArn !== undefined) {
    statements.push(kmsStatement(writes(user) ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"], args.kmsKeyArn, args.region));
  }
  return { Version: "2012-10-17", Statement: statements };
}

export interface ReaderPolicyArgs {
  /** The metrics bucket: the only bucket the hub may read. */
  bucketArn: string;
  region: string;
  /** Hub egress addresses (IPv4, with or without a prefix length). */
  sourceIps: readonly string[];
  /**
   * The hub's own S3 gateway endpoint (`vpce-...`), set only when the hub is in this bucket's
   * region (see {@link hubReaderPath}): its requests then arrive through that endpoint.
   */
  sourceVpce?: string;
  kmsKeyArn?: string;
}

/** IPv4 addresses as /32 CIDR blocks (addresses that already carry a prefix are kept). */
export function asCidrs(ips: readonly string[]): string[] {
  return ips.map((ip) => (ip.includes("/") ? ip : `${ip}/32`));
}

/** The S3 gateway endpoint a hub publishes in its contract (AWS hubs only). */
export interface HubS3Endpoint {
  /** The endpoint id (`vpce-...`). */
  id: string;
  /** The region of the hub's VPC, which is the endpoint's region. */
  region: string;
  /** The account that owns the hub's VPC and endpoint. */
  accountId: string;
}

/** How the hub's requests reach a spoke's bucket: the addresses and, in-region, the endpoint they come from. */
export interface HubReaderPath {
  sourceIps: readonly string[];
  /** Set when the hub reaches the bucket through its own S3 gateway endpoint. */
  sourceVpce?: string;
}

/**
 * How the hub's reader reaches a bucket in `bucketRegion`.
 *
 * An S3 gateway endpoint serves S3 in its own region only ("Gateway endpoints for Amazon S3",
 * Considerations, https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html: "A
 * gateway endpoint is available only in the Region where you created it"). So a hub in the
 * bucket's region reaches it through its endpoint, where the request carries `aws:SourceVpce`
 * and no `aws:SourceIp`; a hub in another region (or without an endpoint: GCP/Azure hubs, or an
 * AWS hub contract without one) reaches it over the public path from its egress addresses.
 * The addresses stay admitted in-region too: a subnet whose route table lacks the endpoint route
 * still reaches S3 over NAT.
 */
export function hubReaderPath(bucketRegion: string, hubEgressIps: readonly string[], hubEndpoint?: HubS3Endpoint): HubReaderPath {
  if (hubEndpoint !== undefined && hubEndpoint.region === bucketRegion) return { sourceIps: hubEgressIps, sourceVpce: hubEndpoint.id };
  return { sourceIps: hubEgressIps };
}

/**
 * Identity policy of the hub's read-only user: list/get on the metrics bucket, only from the
 * hub's addresses or through the hub's own S3 gateway endpoint.
 *
 * IAM ANDs the conditions of one statement, so "from the addresses OR through the endpoint" is
 * two Allow statements per action. The endpoint needs its own statement because a request through
 * a VPC endpoint carries no `aws:SourceIp` (IAM "AWS global condition context keys", aws:SourceIp:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceip),
 * so the `IpAddress` statement never matches it.
 */
export function readerPolicy(args: ReaderPolicyArgs): PolicyDocument {
  if (args.sourceIps.length === 0) throw new Error("the hub reader needs at least one hub egress address");
  const fromHub: PolicyCondition = { IpAddress: { "aws:SourceIp": asCidrs(args.sourceIps) } };
  const statements: PolicyStatement[] = [
    { Sid: "ListMetricsFromHub", Effect: "Allow", Action: "s3:ListBucket", Resource: args.bucketArn, Condition: fromHub },
    { Sid: "GetMetricsFromHub", Effect: "Allow", Action: "s3:GetObject", Resource: `${args.bucketArn}/*`, Condition: fromHub },
  ];
  if (args.sourceVpce !== undefined) {
    const throughHubEndpoint: PolicyCondition = { StringEquals: { "aws:SourceVpce": args.sourceVpce } };
    statements.push(
      { Sid: "ListMetricsThroughHubEndpoint", Effect: "Allow", Action: "s3:ListBucket", Resource: args.bucketArn, Condition: throughHubEndpoint },
      { Sid: "GetMetricsThroughHubEndpoint", Effect: "Allow", Action: "s3:GetObject", Resource: `${args.bucketArn}/*`, Condition: throughHubEndpoint },
    );
  }
  if (args.kmsKeyArn !== undefined) statements.push(kmsStatement(["kms:Decrypt"], args.kmsKeyArn, args.region));
  return { Version: "2012-10-17", Statement: statements };
}

export interface BucketPolicyArgs {
  bucketArn: string;
  /** The S3 gateway endpoint (`vpce-...`) every object write must come through. */
  sourceVpce: string;
  /** Roles allowed to write objects (all others are denied even inside the VPC). Empty: no extra principal bound. */
  writerRoleArns: readonly string[];
  /**
   * The hub's read-only principals (its key user and/or its federated role) and where they may read
   * from (metrics bucket only; see {@link hubReaderPath}).
   */
  reader?: { principalArns: readonly string[] } & HubReaderPath;
}

/**
 * The bucket policy. Deny statements only: no principal is granted anything here (same-account
 * identity policies do the granting), so the policy can never make the bucket public.
 *
 * - TLS only, for everyone (S3.5).
 * - Object writes only through the spoke's S3 gateway endpoint: `aws:SourceVpce` exists only on
 *   requests through a VPC endpoint, and `StringNotEquals` on a missing key matches, so requests
 *   over the public path are denied as well as those through another endpoint.
 * - Object writes only by the writer roles, so a broad in-VPC principal (a node role with
 *   `s3:*`) cannot write either.
 * - The hub reader only from the hub's egress addresses or, when the hub is in this region,
 *   through the hub's own S3 gateway endpoint, and only list/get. One Deny whose two negated
 *   conditions are ANDed: it applies when the request is not from a hub address AND not through
 *   the hub endpoint. Negated operators match a missing key (IAM "Condition operators",
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html),
 *   and a request through a VPC endpoint carries `aws:SourceVpce` but no `aws:SourceIp`, one over
 *   the public path `aws:SourceIp` but no `aws:SourceVpce` (S3 "Controlling access from VPC
 *   endpoints with bucket policies",
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies-vpc-endpoint.html),
 *   so another endpoint or another address is denied, and without the endpoint condition the
 *   hub's in-region requests (through its endpoint) would be denied too.
 */
export function bucketPolicy(args: BucketPolicyArgs): PolicyDocument {
  const bucketAndObjects = [args.bucketArn, `${args.bucketArn}/*`];
  const statements: PolicyStatement[] = [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: bucketAndObjects,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
    {
      Sid: "DenyObjectWritesOutsideVpcEndpoint",
      Effect: "Deny",
      Principal: "*",
      Action: [...S3_OBJECT_WRITE_ACTIONS],
      Resource: `${args.bucketArn}/*`,
      Condition: { StringNotEquals: { "aws:SourceVpce": args.sourceVpce } },
    },
  ];
  if (args.writerRoleArns.length > 0) {
    statements.push({
      Sid: "DenyObjectWritesByOtherPrincipals",
      Effect: "Deny",
      Principal: "*",
      Action: [...S3_OBJECT_WRITE_ACTIONS],
      Resource: `${args.bucketArn}/*`,
      Condition: { ArnNotEquals: { "aws:PrincipalArn": [...args.writerRoleArns] } },
    });
  }
  if (args.reader !== undefined) {
    if (args.reader.sourceIps.length === 0) throw new Error("the hub reader needs at least one hub egress address");
    if (args.reader.principalArns.length === 0) throw new Error("the hub reader needs at least one principal");
    // A role ARN as principal also matches every session of that role (IAM "AWS JSON policy elements:
    // Principal", IAM role sessions / IAM roles: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
    const principal = { AWS: args.reader.principalArns.length === 1 ? args.reader.principalArns[0] : [...args.reader.principalArns] };
    statements.push(
      {
        Sid: args.reader.sourceVpce !== undefined ? "DenyHubReaderOutsideHubAddressesAndEndpoint" : "DenyHubReaderOutsideHubAddresses",
        Effect: "Deny",
        Principal: principal,
        Action: "s3:*",
        Resource: bucketAndObjects,
        Condition: {
          NotIpAddress: { "aws:SourceIp": asCidrs(args.reader.sourceIps) },
          ...(args.reader.sourceVpce !== undefined ? { StringNotEquals: { "aws:SourceVpce": args.reader.sourceVpce } } : {}),
        },
      },
      {
        Sid: "DenyHubReaderAnythingButListGet",
        Effect: "Deny",
        Principal: principal,
        NotAction: [...READER_ACTIONS],
        Resource: bucketAndObjects,
      },
    );
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** How a workload's ServiceAccount becomes an IAM role. */
export type TrustArgs =
  | {
      kind: "pod-identity";
      accountId: string;
      /** ARN of the EKS cluster. */
      clusterArn: string;
      namespace: string;
      serviceAccount: string;
    }
  | {
      kind: "irsa";
      /** ARN of the cluster's IAM OIDC provider. */
      oidcProviderArn: string;
      /** The issuer's host and path (`oidc.eks.<region>.amazonaws.com/id/<id>`), the prefix of its condition keys. */
      issuerHostPath: string;
      namespace: string;
      serviceAccount: string;
    };

/**
 * Trust policy of a workload role, bound to exactly one namespace/ServiceAccount of one cluster.
 *
 * Pod Identity: the EKS Auth service (`pods.eks.amazonaws.com`) assumes the role and tags the
 * session with the association's cluster, namespace and ServiceAccount. The EKS user guide binds a
 * role to them through those session tags: "Create IAM role with trust policy required by EKS Pod
 * Identity" (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html, Setting Conditions)
 * and the tag list of "Grant Pods access to AWS resources based on tags"
 * (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html): `eks-cluster-arn`,
 * `eks-cluster-name`, `kubernetes-namespace`, `kubernetes-service-account`, `kubernetes-pod-name`,
 * `kubernetes-pod-uid`; the target-role example of pod-id-assign-target-role.html conditions on
 * `aws:RequestTag/eks-cluster-arn` with the namespace and ServiceAccount tags. The cluster is
 * therefore pinned by `aws:RequestTag/eks-cluster-arn`, not by `aws:SourceArn`: the guide gives no
 * `aws:SourceArn` value for Pod Identity, and an `aws:SourceArn` condition in a Pod Identity trust
 * policy has been reported to leave pods without credentials (awslabs/mountpoint-s3-csi-driver#781,
 * resolved by removing it). `aws:SourceAccount`
 * stays (confused-deputy protection). The association must keep its session tags (the
 * `disableSessionTags` default, false); without them the conditions refuse the role, fail closed.
 *
 * IRSA: the cluster's OIDC provider, with the token's `sub` and `aud` pinned.
 */
export function trustPolicy(args: TrustArgs): PolicyDocument {
  if (args.kind === "pod-identity") {
    return {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "EksPodIdentity",
          Effect: "Allow",
          Principal: { Service: "pods.eks.amazonaws.com" },
          Action: ["sts:AssumeRole", "sts:TagSession"],
          Condition: {
            StringEquals: {
              "aws:SourceAccount": args.accountId,
              "aws:RequestTag/eks-cluster-arn": args.clusterArn,
              "aws:RequestTag/kubernetes-namespace": args.namespace,
              "aws:RequestTag/kubernetes-service-account": args.serviceAccount,
            },
          },
        },
      ],
    };
  }
  return webIdentityTrust("EksIrsa", { oidcProviderArn: args.oidcProviderArn, issuerHostPath: args.issuerHostPath, subject: `system:serviceaccount:${args.namespace}:${args.serviceAccount}` });
}

/** The audience of the hub's projected token for AWS STS (the IAM OIDC provider's client id). */
export const AWS_STS_AUDIENCE = "sts.amazonaws.com";

export interface HubReaderTrustArgs {
  /** ARN of the spoke account's IAM OIDC provider for the hub's issuer. */
  oidcProviderArn: string;
  /** The hub issuer's host and path (the prefix of its condition keys). */
  issuerHostPath: string;
  /** `system:serviceaccount:<ns>:<sa>` of the hub's store gateway for this spoke. */
  subject: string;
}

/**
 * Trust policy of the hub's federated reader role: `sts:AssumeRoleWithWebIdentity` by the hub
 * cluster's issuer, for exactly one ServiceAccount (`sub`) and the STS audience (`aud`). IAM
 * "Create a role for OpenID Connect federation" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html)
 * and the EKS user guide "Assign IAM roles to Kubernetes service accounts"
 * (https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html) give the
 * `<issuer host/path>:sub` and `:aud` keys; `StringEquals` on both, never `StringLike`, so no other
 * ServiceAccount of the hub cluster matches. The addresses are bound on the role's permissions and
 * the bucket policy (an STS call may go through an STS endpoint without a source address).
 */
export function hubReaderTrustPolicy(args: HubReaderTrustArgs): PolicyDocument {
  return webIdentityTrust("HubStoreGatewayWebIdentity", args);
}

/** One `sts:AssumeRoleWithWebIdentity` statement for exactly one subject and the STS audience. */
function webIdentityTrust(sid: string, args: HubReaderTrustArgs): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: sid,
        Effect: "Allow",
        Principal: { Federated: args.oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${args.issuerHostPath}:sub`]: args.subject, [`${args.issuerHostPath}:aud`]: AWS_STS_AUDIENCE } },
      },
    ],
  };
}

// ---- lifecycle -----------------------------------------------------------------------------

/** One S3 lifecycle rule in the shape of `aws.s3.BucketLifecycleConfiguration` rules. */
export interface LifecycleRule {
  id: string;
  status: "Enabled";
  /** Empty: the rule applies to every object of the bucket. */
  filter: Record<string, never>;
  expiration?: { days?: number; expiredObjectDeleteMarker?: boolean };
  noncurrentVersionExpiration?: { noncurrentDays: number };
  abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

/** Days after which the current version of an object expires. */
export function expirationDays(role: "metrics" | "logs", retention: Retention): number {
  if (role === "logs") return durationDays(retention.logs);
  // The compactor owns per-resolution deletion; the bucket only backstops the longest tier, so a
  // stopped compactor never keeps data forever and a working one is never overtaken.
  return Math.max(durationDays(retention.raw), durationDays(retention.fiveMinutes), durationDays(retention.oneHour));
}

/**
 * Lifecycle rules of a bucket: expire current objects after the retention, expire overwritten or
 * deleted versions after `noncurrentVersions`, abort abandoned multipart uploads after a day (a
 * sidecar killed mid-upload leaves them), and remove the delete markers versioning leaves behind.
 */
export function lifecycleRules(role: "metrics" | "logs", retention: Retention): LifecycleRule[] {
  return [
    { id: "expire-current-versions", status: "Enabled", filter: {}, expiration: { days: expirationDays(role, retention) } },
    { id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: durationDays(retention.noncurrentVersions) } },
    { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
    { id: "remove-expired-delete-markers", status: "Enabled", filter: {}, expiration: { expiredObjectDeleteMarker: true } },
  ];
}

// ---- workload configuration ------------------------------------------------------------------

export interface S3ObjstoreArgs {
  bucket: string;
  region: string;
  /** Static keys (the hub's reader). Absent: the workload's own identity through the AWS SDK chain. */
  credentials?: { accessKey: string; secretKey: string };
}

/**
 * Thanos objstore config (`type: S3`) for a bucket.
 *
 * Without static keys, `aws_sdk_auth: true` makes Thanos use the AWS SDK's default credential
 * chain, which resolves both IRSA (web identity token) and EKS Pod Identity (container
 * credentials); minio's own chain did not know Pod Identity. `disable_dualstack` keeps requests
 * on the IPv4 regional endpoint: that is what the S3 gateway endpoint routes (writes must carry
 * `aws:SourceVpce`) and what the hub's IPv4 allowlist (`aws:SourceIp`) can match.
 * `send_content_md5` stays on: S3 rejects a corrupted upload instead of storing it.
 */
export function renderS3Objstore(args: S3ObjstoreArgs): string {
  const config: Record<string, unknown> = {
    bucket: args.bucket,
    endpoint: s3Endpoint(args.region),
    region: args.region,
    disable_dualstack: true,
    insecure: false,
    send_content_md5: true,
  };
  if (args.credentials === undefined) {
    config.aws_sdk_auth = true;
  } else {
    config.access_key = args.credentials.accessKey;
    config.secret_key = args.credentials.secretKey;
  }
  return stringify({ type: "S3", config });
}

export interface LokiStorageArgs {
  bucket: string;
  region: string;
}

/**
 * Loki chart values (grafana-community loki 18.11.0) for the logs bucket, to be merged under the
 * chart's `loki:` key. No keys: Loki's AWS SDK picks up the Pod Identity / IRSA credentials of its
 * ServiceAccount. Chunks and ruler share the stack's one logs bucket; the chart's values document
 * only `bucketNames.chunks` and `bucketNames.ruler` (the admin bucket is an enterprise feature).
 */
export function renderLokiStorage(args: LokiStorageArgs): { storage: Record<string, unknown> } {
  return {
    storage: {
      type: "s3",
      bucketNames: { chunks: args.bucket, ruler: args.bucket },
      s3: {
        region: args.region,
        endpoint: s3Endpoint(args.region),
        s3ForcePathStyle: false,
        insecure: false,
        disable_dualstack: true,
      },
    },
  };
}

// ---- reader key rotation ---------------------------------------------------------------------

/** Generation of each of the two reader keys at a point in time, and which one is newest. */
export interface RotationState {
  /** Period number since the epoch. */
  period: number;
  a: number;
  b: number;
  /** The key most recently replaced: the one handed to the hub. */
  active: "a" | "b";
}

/**
 * Two overlapping reader keys, replaced alternately. With a period of `days`, key `a` is
 * replaced at the start of every odd period and key `b` at every even one, so each key lives
 * two periods and the previous key stays valid for a whole period after its successor is
 * issued: the window in which the hub must be re-deployed with the new key.
 */
export function rotationState(nowMs: number, days: number): RotationState {
  if (!Number.isInteger(days) || days < 1) throw new Error(`reader rotation period must be a whole number of days ≥ 1 (got ${days})`);
  const period = Math.floor(nowMs / (days * 86_400_000));
  return { period, a: Math.floor((period + 1) / 2), b: Math.floor(period / 2), active: period % 2 === 1 ? "a" : "b" };
}
