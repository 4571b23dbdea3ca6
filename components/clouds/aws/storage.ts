/**
 * Sovereign S3 storage of one stack: hardened buckets in the stack's region, the S3 gateway
 * endpoint writes must come through, one IAM role per workload bound to its ServiceAccount,
 * and the hub's read-only credential.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Encryption } from "../../config";
import type { BucketUser, CloudContext, FederatedReader, StorageArgs, StorageOutputs, WorkloadRef } from "../types";
import { asAws, bucketArn, clusterArn, issuerHostPath, oidcProviderArn, partitionOf, roleArn, type AwsContext } from "./context";
import { bucketName, kmsAliasName, readerRoleName, readerUserName, workloadRoleName, type BucketRole } from "./names";
import {
  bucketPolicy,
  hubReaderPath,
  hubReaderTrustPolicy,
  lifecycleRules,
  readerPolicy,
  renderLokiStorage,
  renderS3Objstore,
  rotationState,
  trustPolicy,
  workloadPolicy,
  AWS_STS_AUDIENCE,
  type HubReaderPath,
  type TrustArgs,
} from "./render";

/** Arguments of {@link AwsStorage}: the seam's storage arguments plus the stack's AWS context. */
export interface AwsStorageArgs extends StorageArgs {
  context: CloudContext;
  /**
   * Clock for the reader key rotation (milliseconds since the epoch). Defaults to now; the
   * rotation only advances when the stack is updated, so run `pulumi up` at least once per period.
   */
  nowMs?: number;
}

/** The bucket each workload uses. */
const BUCKET_OF: Readonly<Record<BucketUser, BucketRole>> = { sidecar: "metrics", compactor: "metrics", store: "metrics", loki: "logs" };

/** One hardened bucket and its guards. */
interface BucketParts {
  bucket: aws.s3.Bucket;
  name: string;
  publicAccessBlock: aws.s3.BucketPublicAccessBlock;
}

/**
 * The stack's sovereign S3 storage.
 *
 * Reader credential rotation: two overlapping access keys (`a` and `b`, the IAM maximum per
 * user), replaced alternately every `readerRotationDays` (see {@link rotationState}). A key is
 * replaced in place with `deleteBeforeReplace`, so the user never needs a third key, and the other
 * key stays valid for a whole period: the hub keeps reading with the previous key until its next
 * deployment picks up the new `readonlyObjstore`. Rotation happens on the first `pulumi up` after
 * a period boundary, driven by a `replacementTrigger` holding each key's generation.
 */
export class AwsStorage extends pulumi.ComponentResource implements StorageOutputs {
  public readonly metricsBucket: pulumi.Output<string>;
  public readonly logsBucket?: pulumi.Output<string>;
  public readonly writerObjstore: pulumi.Output<string>;
  public readonly readonlyObjstore?: pulumi.Output<string>;
  public readonly lokiStorage?: pulumi.Output<Record<string, unknown>>;
  public readonly workloadIdentity: StorageOutputs["workloadIdentity"];
  /** The S3 gateway endpoint (created or adopted) that object writes must come through. */
  public readonly s3EndpointId: pulumi.Output<string>;
  /** The same endpoint with its region and account, as a hub publishes it in its contract. */
  public readonly s3GatewayEndpoint: pulumi.Output<{ id: string; region: string; accountId: string }>;
  /** ARN of the customer-managed KMS key, when the buckets use one. */
  public readonly kmsKeyArn?: pulumi.Output<string>;
  /** Role ARN of each workload that got one. */
  public readonly roleArns: Partial<Record<BucketUser, pulumi.Output<string>>>;
  /** Name of the hub's read-only IAM user, when one exists (key reader). */
  public readonly readerUser?: pulumi.Output<string>;
  /** ARN of the role the hub's store gateway assumes, when the hub reads federated. */
  public readonly readerRoleArn?: pulumi.Output<string>;
  public readonly federatedReader?: pulumi.Output<FederatedReader>;

  constructor(name: string, args: AwsStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:aws:Storage", name, {}, opts);
    const ctx = asAws(args.context);
    const { config } = ctx;
    const region = config.region;
    const accountId = config.cluster.accountId;
    const tags = ctx.labels;
    const child = { parent: this, provider: ctx.provider };
    // Data stores survive both `pulumi destroy` and removal from the program.
    const dataStore = { ...child, protect: true, retainOnDelete: true };

    if (!args.buckets.includes("metrics")) throw new Error(`stack ${ctx.stack}: AWS storage needs a metrics bucket`);
    for (const [user, bucket] of Object.entries(BUCKET_OF)) {
      const wanted = user === "store" ? args.store !== undefined : args.writers[user as keyof typeof args.writers] !== undefined;
      if (wanted && !args.buckets.includes(bucket)) throw new Error(`stack ${ctx.stack}: ${user} needs the ${bucket} bucket, which this stack does not own`);
    }

    // ---- encryption key ----
    this.kmsKeyArn = this.encryptionKey(name, ctx, args.encryption, child, dataStore);

    // ---- S3 gateway endpoint ----
    const endpoint = config.network.s3Endpoint;
    if (endpoint.mode === "existing") {
      if (endpoint.id === undefined) throw new Error(`stack ${ctx.stack}: network.s3Endpoint.id is required with mode existing`);
      this.s3EndpointId = pulumi.output(endpoint.id);
    } else {
      const vpce = new aws.ec2.VpcEndpoint(`${name}-s3-endpoint`, {
        vpcId: config.network.vpcId,
        vpcEndpointType: "Gateway",
        serviceName: `com.amazonaws.${region}.s3`,
        // Gateway endpoints work through routes: every private route table gets the S3 prefix list.
        routeTableIds: config.network.privateRouteTableIds,
        tags: { ...tags, Name: `${ctx.stack}-s3` },
      }, child);
      this.s3EndpointId = vpce.id;
    }
    this.s3GatewayEndpoint = this.s3EndpointId.apply((id) => ({ id, region, accountId }));

    // ---- buckets ----
    const buckets: Partial<Record<BucketRole, BucketParts>> = {};
    for (const role of args.buckets) buckets[role] = this.hardenedBucket(name, role, ctx, args, child, dataStore);
    const metrics = buckets.metrics as BucketParts;
    this.metricsBucket = metrics.bucket.bucket;
    this.logsBucket = buckets.logs?.bucket.bucket;

    // ---- workload identities ----
    const users: [BucketUser, WorkloadRef][] = [];
    for (const w of ["sidecar", "compactor", "loki"] as const) {
      const ref = args.writers[w];
      if (ref !== undefined) users.push([w, ref]);
    }
    if (args.store !== undefined) users.push(["store", args.store]);
    this.roleArns = {};
    this.workloadIdentity = {};
    for (const [user, ref] of users) {
      const parts = buckets[BUCKET_OF[user]] as BucketParts;
      this.roleArns[user] = this.workloadRole(name, user, ref, ctx, parts.name, child);
      const annotations: Record<string, string> =
        config.cluster.identity === "irsa" ? { "eks.amazonaws.com/role-arn": roleArn(region, accountId, workloadRoleName(ctx.stack, user)) } : {};
      // Pod Identity needs nothing on the pod: the association binds the ServiceAccount.
      this.workloadIdentity[user] = { annotations, podLabels: {} };
    }

    // ---- hub reader ----
    let reader: { principalArns: pulumi.Output<string[]>; path: pulumi.Output<HubReaderPath> } | undefined;
    const hubReader = args.hubReader;
    if (hubReader !== undefined) {
      // In the hub's region its requests come through the hub's S3 gateway endpoint, without a source address.
      const hubEndpoint = hubReader.s3GatewayEndpoint;
      const path = pulumi.output(hubReader.egressIps).apply((ips) => hubReaderPath(region, ips, hubEndpoint));
      // The same read-only permissions for the key user and the federated role: list/get, from the hub only.
      const readPolicy = pulumi
        .all([path, this.kmsKeyArn ?? pulumi.output<string | undefined>(undefined)])
        .apply(([p, kms]) => JSON.stringify(readerPolicy({ bucketArn: bucketArn(region, metrics.name), region, sourceIps: p.sourceIps, sourceVpce: p.sourceVpce, kmsKeyArn: kms })));
      const principals: pulumi.Output<string>[] = [];
      if (hubReader.key) {
        const user = new aws.iam.User(`${name}-hub-reader`, { name: readerUserName(ctx.stack), tags }, child);
        new aws.iam.UserPolicy(`${name}-hub-reader-policy`, { user: user.name, name: "read-metrics-from-hub", policy: readPolicy }, child);
        const rotation = rotationState(args.nowMs ?? Date.now(), hubReader.rotationDays);
        const keys = (["a", "b"] as const).map(
          (slot) =>
            new aws.iam.AccessKey(`${name}-hub-reader-key-${slot}`, { user: user.name, status: "Active" }, {
              ...child,
              // A new generation replaces the key; deleting first keeps the user within IAM's two keys.
              replacementTrigger: `${slot}-${rotation[slot]}`,
              deleteBeforeReplace: true,
              additionalSecretOutputs: ["secret"],
            }),
        );
        const active = keys[rotation.active === "a" ? 0 : 1];
        this.readonlyObjstore = pulumi.secret(
          pulumi
            .all([metrics.bucket.bucket, active.id, active.secret])
            .apply(([bucket, accessKey, secretKey]) => renderS3Objstore({ bucket, region, credentials: { accessKey, secretKey } })),
        );
        this.readerUser = user.name;
        principals.push(user.arn);
      }
      if (hubReader.federated !== undefined) {
        const fed = hubReader.federated;
        const providerArn = this.hubOidcProvider(name, ctx, fed.issuerUrl, child);
        const role = new aws.iam.Role(`${name}-hub-reader-role`, {
          name: readerRoleName(ctx.stack),
          description: `sovereign-observability ${ctx.stack}: the hub's store gateway (${fed.subject} of ${fed.issuerUrl}) reads the metrics bucket`,
          assumeRolePolicy: providerArn.apply((arn) => JSON.stringify(hubReaderTrustPolicy({ oidcProviderArn: arn, issuerHostPath: issuerHostPath(fed.issuerUrl), subject: fed.subject }))),
          maxSessionDuration: 3600,
          tags: { ...tags, workload: "hub-reader" },
        }, child);
        new aws.iam.RolePolicy(`${name}-hub-reader-role-policy`, { role: role.name, name: "read-metrics-from-hub", policy: readPolicy }, child);
        this.readerRoleArn = role.arn;
        this.federatedReader = pulumi.all([metrics.bucket.bucket, role.arn]).apply(([bucket, arn]) => ({
          // No keys: aws_sdk_auth makes Thanos use the SDK chain, which reads AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE.
          objstore: renderS3Objstore({ bucket, region }),
          identity: { cloud: "aws" as const, roleArn: arn, region },
        }));
        principals.push(role.arn);
      }
      reader = { principalArns: pulumi.all(principals), path };
    }

    // ---- bucket policies ----
    for (const role of args.buckets) {
      const parts = buckets[role] as BucketParts;
      const writerArns = users.filter(([u]) => u !== "store" && BUCKET_OF[u] === role).map(([u]) => this.roleArns[u] as pulumi.Output<string>);
      const withReader = role === "metrics" ? reader : undefined;
      new aws.s3.BucketPolicy(`${name}-${role}-policy`, {
        bucket: parts.bucket.id,
        policy: pulumi
          .all([this.s3EndpointId, pulumi.all(writerArns), withReader?.principalArns ?? pulumi.output<string[] | undefined>(undefined), withReader?.path ?? pulumi.output<HubReaderPath | undefined>(undefined)])
          .apply(([vpce, arns, readerArns, path]) =>
            JSON.stringify(
              bucketPolicy({
                bucketArn: bucketArn(region, parts.name),
                sourceVpce: vpce,
                writerRoleArns: arns,
                reader: readerArns !== undefined && path !== undefined ? { principalArns: readerArns, ...path } : undefined,
              }),
            ),
          ),
      }, { ...child, retainOnDelete: true, dependsOn: [parts.publicAccessBlock] });
    }

    // ---- workload configuration ----
    this.writerObjstore = metrics.bucket.bucket.apply((bucket) => renderS3Objstore({ bucket, region }));
    const logs = buckets.logs;
    if (logs !== undefined) this.lokiStorage = logs.bucket.bucket.apply((bucket): Record<string, unknown> => renderLokiStorage({ bucket, region }));

    this.registerOutputs({
      metricsBucket: this.metricsBucket,
      logsBucket: this.logsBucket,
      writerObjstore: this.writerObjstore,
      readonlyObjstore: this.readonlyObjstore,
      lokiStorage: this.lokiStorage,
      s3EndpointId: this.s3EndpointId,
      s3GatewayEndpoint: this.s3GatewayEndpoint,
      kmsKeyArn: this.kmsKeyArn,
      roleArns: this.roleArns,
      readerUser: this.readerUser,
      readerRoleArn: this.readerRoleArn,
      federatedReader: this.federatedReader,
    });
  }

  /** The customer-managed key: created (rotating, aliased, protected) or adopted; none with provider-managed encryption. */
  private encryptionKey(
    name: string,
    ctx: AwsContext,
    encryption: Encryption,
    child: pulumi.CustomResourceOptions,
    dataStore: pulumi.CustomResourceOptions,
  ): pulumi.Output<string> | undefined {
    const { region, cluster } = ctx.config;
    if (encryption.mode !== "customer") return undefined;
    const keyId = encryption.keyId;
    if (keyId !== undefined) {
      if (keyId.startsWith("arn:")) return pulumi.output(keyId);
      // IAM grants on a key must name the key's ARN, never its alias: resolve an alias.
      if (keyId.startsWith("alias/")) return aws.kms.getKeyOutput({ keyId }, child).arn;
      return pulumi.output(`arn:${partitionOf(region)}:kms:${region}:${cluster.accountId}:key/${keyId}`);
    }
    const key = new aws.kms.Key(`${name}-key`, {
      description: `sovereign-observability ${ctx.stack}: telemetry buckets`,
      enableKeyRotation: true,
      // The longest waiting period: a scheduled deletion can still be cancelled for a month.
      deletionWindowInDays: 30,
      tags: ctx.labels,
    }, dataStore);
    new aws.kms.Alias(`${name}-key-alias`, { name: kmsAliasName(ctx.stack), targetKeyId: key.keyId }, child);
    return key.arn;
  }

  /** A bucket with every S3 item of the hardening checklist except its policy (which needs the identities). */
  private hardenedBucket(
    name: string,
    role: BucketRole,
    ctx: AwsContext,
    args: AwsStorageArgs,
    child: pulumi.CustomResourceOptions,
    dataStore: pulumi.CustomResourceOptions,
  ): BucketParts {
    const bucketNameValue = bucketName(ctx.stack, role, ctx.config.cluster.accountId, ctx.config.region);
    const bucket = new aws.s3.Bucket(`${name}-${role}`, {
      bucket: bucketNameValue,
      // Never empty a telemetry bucket to delete it.
      forceDestroy: false,
      tags: { ...ctx.labels, "data-class": role },
    }, dataStore);
    // A retained bucket must keep its guards: the side resources are retained with it.
    const guard = { ...child, retainOnDelete: true };
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(`${name}-${role}-public-access`, {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }, guard);
    new aws.s3.BucketOwnershipControls(`${name}-${role}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, guard);
    const versioning = new aws.s3.BucketVersioning(`${name}-${role}-versioning`, {
      bucket: bucket.id,
      versioningConfiguration: { status: "Enabled" },
    }, guard);
    const kms = this.kmsKeyArn;
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-${role}-encryption`, {
      bucket: bucket.id,
      rules: [
        kms !== undefined
          ? // Bucket keys cut the KMS calls (and their cost) per object by orders of magnitude.
            { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kms }, bucketKeyEnabled: true }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ],
    }, guard);
    new aws.s3.BucketLifecycleConfiguration(`${name}-${role}-lifecycle`, {
      bucket: bucket.id,
      rules: lifecycleRules(role, args.retention),
    }, { ...guard, dependsOn: [versioning] });
    return { bucket, name: bucketNameValue, publicAccessBlock };
  }

  /**
   * The spoke account's IAM OIDC provider for the hub cluster's issuer, created, or the existing
   * one (`hubReader.oidcProvider: existing`): IAM holds one provider per issuer URL and account
   * ("Create an OpenID Connect (OIDC) identity provider in IAM",
   * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html), so spokes
   * sharing an account, or a spoke in the hub's own IRSA account, use the one that exists. Its
   * client id is the STS audience; no thumbprint is pinned (IAM then obtains the issuer's own,
   * and trusts EKS' issuer through its root CA library, same page). It is not a data store: a
   * created provider is retained on delete, since other trusts in the account may use it.
   */
  private hubOidcProvider(name: string, ctx: AwsContext, issuerUrl: string, child: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const { region, cluster } = ctx.config;
    const mode = ctx.config.role === "spoke" ? (ctx.config.hubReader.oidcProvider ?? "create") : "create";
    if (mode === "existing") return pulumi.output(oidcProviderArn(region, cluster.accountId, issuerUrl));
    const provider = new aws.iam.OpenIdConnectProvider(`${name}-hub-oidc`, {
      url: issuerUrl,
      clientIdLists: [AWS_STS_AUDIENCE],
      tags: { ...ctx.labels, purpose: "hub-reader" },
    }, { ...child, retainOnDelete: true });
    return provider.arn;
  }

  /** The IAM role of one workload, its least-privilege policy and (Pod Identity) its association. */
  private workloadRole(name: string, user: BucketUser, ref: WorkloadRef, ctx: AwsContext, bucket: string, child: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const { region, cluster } = ctx.config;
    const trust: TrustArgs =
      cluster.identity === "irsa"
        ? {
            kind: "irsa",
            oidcProviderArn: oidcProviderArn(region, cluster.accountId, requireIssuer(ctx)),
            issuerHostPath: issuerHostPath(requireIssuer(ctx)),
            namespace: ref.namespace,
            serviceAccount: ref.serviceAccount,
          }
        : { kind: "pod-identity", accountId: cluster.accountId, clusterArn: clusterArn(region, cluster.accountId, cluster.name), namespace: ref.namespace, serviceAccount: ref.serviceAccount };
    const role = new aws.iam.Role(`${name}-${user}-role`, {
      name: workloadRoleName(ctx.stack, user),
      description: `sovereign-observability ${ctx.stack}: ${user} (${ref.namespace}/${ref.serviceAccount})`,
      assumeRolePolicy: JSON.stringify(trustPolicy(trust)),
      maxSessionDuration: 3600,
      tags: { ...ctx.labels, workload: user },
    }, child);
    new aws.iam.RolePolicy(`${name}-${user}-policy`, {
      role: role.name,
      name: `${user}-s3`,
      policy: (this.kmsKeyArn ?? pulumi.output<string | undefined>(undefined)).apply((kms) =>
        JSON.stringify(workloadPolicy(user, { bucketArn: bucketArn(region, bucket), region, kmsKeyArn: kms })),
      ),
    }, child);
    if (cluster.identity === "pod-identity") {
      new aws.eks.PodIdentityAssociation(`${name}-${user}-pod-identity`, {
        clusterName: cluster.name,
        namespace: ref.namespace,
        serviceAccount: ref.serviceAccount,
        roleArn: role.arn,
        // The trust policy pins cluster, namespace and ServiceAccount by these session tags.
        disableSessionTags: false,
        tags: ctx.labels,
      }, child);
    }
    return role.arn;
  }
}

function requireIssuer(ctx: AwsContext): string {
  const issuer = ctx.config.cluster.oidcIssuerUrl;
  if (issuer === undefined) throw new Error(`stack ${ctx.stack}: cluster.oidcIssuerUrl is required with identity irsa`);
  return issuer;
}
