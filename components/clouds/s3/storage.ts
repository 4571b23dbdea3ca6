/**
 * Sovereign storage of a spoke on an S3-compatible service: buckets created through the S3 API
 * (or adopted), hardened as far as the service's profile allows, one bucket policy per bucket
 * binding each identity to its actions and addresses, and the objstore and Loki settings with
 * each workload's own key.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { S3Credential } from "../../config";
import type { BucketUser, CloudContext, StorageArgs, StorageOutputs, Writer } from "../types";
import { asS3, s3Endpoint, spokeSourceCidrs } from "./context";
import { s3BucketName } from "./names";
import { s3Guarantees, s3Profile } from "./profiles";
import { renderS3CompatibleLokiStorage, renderS3CompatibleObjstore, s3BucketPolicy } from "./render";

/** Arguments of {@link S3CompatibleStorage}: the seam's storage arguments plus the stack's context. */
export interface S3CompatibleStorageArgs extends StorageArgs {
  context: CloudContext;
}

/** The bucket each user works on. */
const BUCKET_OF: Readonly<Record<BucketUser, "metrics" | "logs">> = { sidecar: "metrics", compactor: "metrics", store: "metrics", loki: "logs" };

/**
 * The stack's buckets on an S3-compatible service.
 *
 * Identities are the service's access keys, one per bucket user, from secret config: the
 * operator creates them in the service (they are accounts of the service, not of this program)
 * and rotates them; each workload gets only its own key, in a Kubernetes Secret.
 */
export class S3CompatibleStorage extends pulumi.ComponentResource implements StorageOutputs {
  public readonly metricsBucket: pulumi.Output<string>;
  public readonly logsBucket?: pulumi.Output<string>;
  /** The sidecar's objstore file (with its key): see {@link objstoreFor} for the others. */
  public readonly writerObjstore: pulumi.Output<string>;
  public readonly readonlyObjstore?: pulumi.Output<string>;
  public readonly lokiStorage?: pulumi.Output<Record<string, unknown>>;
  public readonly lokiCredentials?: pulumi.Output<{ accessKey: string; secretKey: string }>;
  public readonly objstoreFor: Partial<Record<Exclude<BucketUser, "loki">, pulumi.Output<string>>>;
  public readonly workloadIdentity: StorageOutputs["workloadIdentity"];

  constructor(name: string, args: S3CompatibleStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:s3:Storage", name, {}, opts);
    const ctx = asS3(args.context);
    const { config } = ctx;
    const storage = config.objectStorage;
    const profile = s3Profile(storage.profile);
    const endpoint = s3Endpoint(config);
    const child = { parent: this, provider: ctx.provider };
    // Data stores survive both `pulumi destroy` and removal from the program; their guards stay with them.
    const dataStore = { ...child, protect: true, retainOnDelete: true };
    const guard = { ...child, retainOnDelete: true };

    if (!args.buckets.includes("metrics")) throw new Error(`stack ${ctx.stack}: S3-compatible storage needs a metrics bucket`);
    // What the service cannot express is said on every run, not only in the plan and the policy pack.
    for (const g of s3Guarantees(profile)) if (!g.expressed) pulumi.log.warn(`stack ${ctx.stack}: ${g.what}: ${g.detail}`, this);
    const names: Partial<Record<"metrics" | "logs", string>> = {};
    const buckets: Partial<Record<"metrics" | "logs", pulumi.Output<string>>> = {};
    const settle: pulumi.Resource[] = [];
    for (const role of args.buckets) {
      const bucketName = storage.buckets[role] ?? s3BucketName(ctx.stack, role, config.region);
      names[role] = bucketName;
      let bucketId: pulumi.Output<string>;
      if (storage.buckets.mode === "existing") {
        // Adopted: the operator owns the bucket's life; this stack only hardens what the profile allows.
        bucketId = pulumi.output(bucketName);
      } else {
        const bucket = new aws.s3.Bucket(`${name}-${role}`, {
          bucket: bucketName,
          // Never empty a telemetry bucket to delete it.
          forceDestroy: false,
        }, dataStore);
        bucketId = bucket.bucket;
      }
      buckets[role] = bucketId;
      if (profile.versioning.supported) {
        settle.push(new aws.s3.BucketVersioning(`${name}-${role}-versioning`, { bucket: bucketId, versioningConfiguration: { status: "Enabled" } }, guard));
      }
      // No lifecycle resource: the AWS provider's never converges against a non-AWS endpoint (it
      // waits for the AWS-only x-amz-transition-default-minimum-object-size header,
      // hashicorp/terraform-provider-aws#49019, #46021). The rules (s3LifecycleRules) are an advisory
      // of the plan, applied with the service's own tool; Thanos' and Loki's compactors enforce the
      // retention meanwhile.
      if (profile.sse.supported) {
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-${role}-encryption`, {
          bucket: bucketId,
          rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        }, guard);
      }
      if (profile.publicAccessBlock.supported) {
        new aws.s3.BucketPublicAccessBlock(`${name}-${role}-public-access`, {
          bucket: bucketId,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        }, guard);
      }
    }
    this.metricsBucket = buckets.metrics as pulumi.Output<string>;
    this.logsBucket = buckets.logs;

    // ---- identities: the principals the bucket policies name ----
    const writers: Partial<Record<Writer, string>> = {};
    for (const w of ["sidecar", "compactor", "loki"] as const) if (args.writers[w] !== undefined) writers[w] = storage.principals[w];
    const storePrincipal = args.store !== undefined ? storage.principals.store : undefined;
    if (args.store !== undefined && storePrincipal === undefined) throw new Error(`stack ${ctx.stack}: objectStorage.principals.store is required for the spoke's store gateway`);
    const hubReaderPrincipal = args.hubReader !== undefined ? storage.principals.reader : undefined;
    if (args.hubReader !== undefined && !args.hubReader.key) throw new Error(`stack ${ctx.stack}: an S3-compatible service reads with a key only (hubReader.auth: key)`);
    if (args.hubReader !== undefined && hubReaderPrincipal === undefined) throw new Error(`stack ${ctx.stack}: objectStorage.principals.reader is required for the hub's reader`);

    // ---- bucket policies ----
    const sources = spokeSourceCidrs(config, args.ownEgressIps);
    if (profile.bucketPolicy.supported) {
      for (const role of args.buckets) {
        const roleWriters = Object.fromEntries(Object.entries(writers).filter(([w]) => BUCKET_OF[w as Writer] === role)) as Partial<Record<Writer, string>>;
        const onMetrics = role === "metrics";
        new aws.s3.BucketPolicy(`${name}-${role}-policy`, {
          bucket: buckets[role] as pulumi.Output<string>,
          policy: pulumi.all([sources, onMetrics && args.hubReader !== undefined ? pulumi.output(args.hubReader.egressIps) : pulumi.output<string[] | undefined>(undefined)]).apply(([src, hubIps]) =>
            JSON.stringify(
              s3BucketPolicy({
                bucket: names[role] as string,
                profile,
                writers: roleWriters,
                localReaders: onMetrics && storePrincipal !== undefined ? { store: storePrincipal } : {},
                spokeSourceCidrs: src,
                hubReader: hubIps !== undefined && hubReaderPrincipal !== undefined ? { principal: hubReaderPrincipal, sourceIps: hubIps } : undefined,
              }),
            ),
          ),
        }, { ...guard, dependsOn: settle.slice() });
      }
    }

    // ---- workload configuration: each user its own key ----
    const objstore = (user: Exclude<BucketUser, "loki"> | "reader", credential: S3Credential | undefined): pulumi.Output<string> => {
      if (credential === undefined) throw new Error(`stack ${ctx.stack}: objectStorage.credentials.${user} is required`);
      return pulumi.secret(
        this.metricsBucket.apply((bucket) => renderS3CompatibleObjstore({ bucket, endpoint, credentials: { accessKey: credential.accessKey, secretKey: credential.secretKey } })),
      );
    };
    this.objstoreFor = {};
    if (args.writers.sidecar !== undefined) this.objstoreFor.sidecar = objstore("sidecar", storage.credentials.sidecar);
    if (args.writers.compactor !== undefined) this.objstoreFor.compactor = objstore("compactor", storage.credentials.compactor);
    if (args.store !== undefined) this.objstoreFor.store = objstore("store", storage.credentials.store);
    this.writerObjstore = this.objstoreFor.sidecar ?? objstore("compactor", storage.credentials.compactor);
    if (args.hubReader !== undefined) this.readonlyObjstore = objstore("reader", storage.credentials.reader);
    const logs = buckets.logs;
    if (logs !== undefined) {
      this.lokiStorage = logs.apply((bucket): Record<string, unknown> => renderS3CompatibleLokiStorage({ bucket, endpoint }));
      this.lokiCredentials = pulumi.secret({ accessKey: storage.credentials.loki.accessKey, secretKey: storage.credentials.loki.secretKey });
    }
    // No workload identity on these services: nothing to annotate, the key is in each workload's Secret.
    this.workloadIdentity = Object.fromEntries((["sidecar", "compactor", "loki", "store"] as const).map((u) => [u, { annotations: {}, podLabels: {} }]));

    this.registerOutputs({
      metricsBucket: this.metricsBucket,
      logsBucket: this.logsBucket,
      writerObjstore: this.writerObjstore,
      readonlyObjstore: this.readonlyObjstore,
      lokiStorage: this.lokiStorage,
    });
  }
}
