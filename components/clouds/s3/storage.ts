/**
 * Sovereign storage of a spoke on an S3-compatible service: buckets created through the S3 API
 * (or adopted), hardened as far as the service's profile allows, one bucket policy per bucket
 * binding each identity to its actions and addresses, and the objstore and Loki settings with
 * each workload's own key.
 */
import * as aws from "@pulumi/aws";
import * as minio from "@pulumi/minio";
import * as pulumi from "@pulumi/pulumi";
import type { BucketUser, CloudContext, StorageArgs, StorageOutputs, Writer } from "../types";
import { asS3, s3Endpoint, spokeSourceCidrs } from "./context";
import { s3BucketName } from "./names";
import { s3Guarantees, s3Profile } from "./profiles";
import { minioProviderArgs, renderS3CompatibleLokiStorage, renderS3CompatibleObjstore, s3BucketPolicy, s3CreatedUserName, s3UserPolicy } from "./render";

/** Arguments of {@link S3CompatibleStorage}: the seam's storage arguments plus the stack's context. */
export interface S3CompatibleStorageArgs extends StorageArgs {
  context: CloudContext;
}

/** The bucket each user works on. */
const BUCKET_OF: Readonly<Record<BucketUser | "reader", "metrics" | "logs">> = { sidecar: "metrics", compactor: "metrics", store: "metrics", reader: "metrics", loki: "logs" };

/** An identity's key pair, as configured (provided) or as the service returned it (created). */
interface IdentityKey {
  accessKey: pulumi.Input<string>;
  secretKey: pulumi.Input<string>;
}

/**
 * The stack's buckets on an S3-compatible service.
 *
 * Identities are the service's access keys, one per bucket user: from secret config
 * (`objectStorage.identities: provided`, the operator creates and rotates them), or, on MinIO
 * (`identities: created`), users this stack creates through the MinIO provider, each bound by an
 * IAM policy of its own (render.ts s3UserPolicy). Each workload gets only its own key, in a
 * Kubernetes Secret.
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
    const created = storage.identities === "created";
    if (created && !profile.createdIdentities.supported) throw new Error(`stack ${ctx.stack}: profile ${profile.id} cannot create its identities: remove objectStorage.identities (created is for profile minio)`);
    // What the service cannot express is said on every run, not only in the plan and the policy pack.
    for (const g of s3Guarantees(profile, storage.identities)) if (!g.expressed) pulumi.log.warn(`stack ${ctx.stack}: ${g.what}: ${g.detail}`, this);
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

    // ---- identities ----
    if (args.hubReader !== undefined && !args.hubReader.key) throw new Error(`stack ${ctx.stack}: an S3-compatible service reads with a key only (hubReader.auth: key)`);
    // The identities in use: each writer the stack runs, its store gateway, the hub's reader.
    const inUse: (BucketUser | "reader")[] = [
      ...(["sidecar", "compactor", "loki"] as const).filter((w) => args.writers[w] !== undefined && (w !== "loki" || buckets.logs !== undefined)),
      ...(args.store !== undefined ? (["store"] as const) : []),
      ...(args.hubReader !== undefined ? (["reader"] as const) : []),
    ];
    const sources = spokeSourceCidrs(config, args.ownEgressIps);
    const keys: Partial<Record<BucketUser | "reader", IdentityKey>> = {};
    if (created) {
      // The MinIO admin API through the provisioner's credential (MinIO root, or a user allowed
      // admin:CreateUser, admin:CreatePolicy, admin:AttachUserOrGroupPolicy and the rest).
      const provisioner = storage.credentials.provisioner;
      const admin = new minio.Provider(`${name}-minio`, {
        ...minioProviderArgs(endpoint),
        minioUser: pulumi.secret(provisioner.accessKey),
        minioPassword: pulumi.secret(provisioner.secretKey),
      }, { parent: this });
      const viaAdmin = { parent: this, provider: admin };
      for (const user of inUse) {
        const userName = s3CreatedUserName(ctx.stack, user);
        const from = user === "reader" ? pulumi.output((args.hubReader as NonNullable<typeof args.hubReader>).egressIps) : sources;
        // A user is no data store, but every writer and the hub's reader stop at once without it:
        // protected, so only a deliberate unprotect removes it. Not retained on delete: a user
        // outliving its stack is a live key nobody manages, and the retained buckets stay readable
        // with the provisioner's credential. forceDestroy stays false: the provider deletes the user
        // on any update when it is true (terraform-provider-minio v1.20.1 minioUpdateUser).
        const iamUser = new minio.IamUser(`${name}-${user}`, { name: userName, forceDestroy: false, disableUser: false }, { ...viaAdmin, protect: true });
        // The policy and its attachment follow the user: a MinIO user with no policy attached is
        // denied everything, so losing them fails closed.
        const policy = new minio.IamPolicy(`${name}-${user}-policy`, {
          name: userName,
          policy: from.apply((src) => JSON.stringify(s3UserPolicy({ user, bucket: names[BUCKET_OF[user]] as string, profile, sourceCidrs: src }))),
        }, viaAdmin);
        new minio.IamUserPolicyAttachment(`${name}-${user}-attachment`, { userName: iamUser.name, policyName: policy.name }, viaAdmin);
        // The user's name is its access key; the secret is generated by the provider and kept secret
        // (IamUser marks `secret` an additional secret output).
        keys[user] = { accessKey: iamUser.name, secretKey: pulumi.secret(iamUser.secret) };
      }
    } else {
      const principals = storage.principals;
      if (principals === undefined) throw new Error(`stack ${ctx.stack}: objectStorage.principals is required with identities: provided`);
      for (const user of inUse) {
        if (principals[user] === undefined) throw new Error(`stack ${ctx.stack}: objectStorage.principals.${user} is required`);
        const credential = storage.credentials[user];
        if (credential === undefined) throw new Error(`stack ${ctx.stack}: objectStorage.credentials.${user} is required`);
        keys[user] = { accessKey: pulumi.secret(credential.accessKey), secretKey: pulumi.secret(credential.secretKey) };
      }
      // ---- bucket policies: the principals the operator named ----
      const writers: Partial<Record<Writer, string>> = {};
      for (const w of ["sidecar", "compactor", "loki"] as const) if (inUse.includes(w)) writers[w] = principals[w];
      const storePrincipal = inUse.includes("store") ? principals.store : undefined;
      const hubReaderPrincipal = inUse.includes("reader") ? principals.reader : undefined;
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
    }

    // ---- workload configuration: each user its own key ----
    const keyOf = (user: BucketUser | "reader"): IdentityKey => {
      const k = keys[user];
      if (k === undefined) throw new Error(`stack ${ctx.stack}: no key for the ${user} (objectStorage.credentials.${user})`);
      return k;
    };
    const objstore = (user: Exclude<BucketUser, "loki"> | "reader"): pulumi.Output<string> => {
      const k = keyOf(user);
      return pulumi.secret(
        pulumi.all([this.metricsBucket, k.accessKey, k.secretKey]).apply(([bucket, accessKey, secretKey]) => renderS3CompatibleObjstore({ bucket, endpoint, credentials: { accessKey, secretKey } })),
      );
    };
    this.objstoreFor = {};
    if (args.writers.sidecar !== undefined) this.objstoreFor.sidecar = objstore("sidecar");
    if (args.writers.compactor !== undefined) this.objstoreFor.compactor = objstore("compactor");
    if (args.store !== undefined) this.objstoreFor.store = objstore("store");
    this.writerObjstore = this.objstoreFor.sidecar ?? objstore("compactor");
    if (args.hubReader !== undefined) this.readonlyObjstore = objstore("reader");
    const logs = buckets.logs;
    if (logs !== undefined) {
      this.lokiStorage = logs.apply((bucket): Record<string, unknown> => renderS3CompatibleLokiStorage({ bucket, endpoint }));
      const loki = keyOf("loki");
      this.lokiCredentials = pulumi.secret(pulumi.output({ accessKey: loki.accessKey, secretKey: loki.secretKey }));
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
