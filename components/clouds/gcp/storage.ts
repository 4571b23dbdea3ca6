/**
 * Sovereign storage on GCP: the metrics and logs buckets, their customer-managed key, the
 * Workload Identity writer identities and the hub's read-only credential.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { Encryption } from "../../config";
import type { BucketUser, CloudContext, FederatedReader, StorageArgs, StorageOutputs, WorkloadRef } from "../types";
import { asGcp, networkProject, type GcpContext } from "./context";
import { gcsBucketName, serviceAccountEmail, serviceAccountId } from "./names";
import {
  FEDERATION_SERVICES,
  federatedPrincipal,
  HUB_PROVIDER_ID,
  hubProviderAttributes,
  providerAudience,
  workloadIdentityPoolId,
  bucketCondition,
  type BucketRole,
  type GcsBinding,
  type GcsPrincipal,
  gcsLifecycleRules,
  planBucketBindings,
  readerKeySchedule,
  renderBucketIpFilter,
  renderGcsObjstore,
  renderLokiGcsStorage,
  SOFT_DELETE_SECONDS,
  UPLOADER,
  UPLOADER_PERMISSIONS,
  uploaderRoleId,
  workloadIdentityMember,
  workloadIdentityPoolNotice,
} from "./render";

/** Annotation that binds a Kubernetes ServiceAccount to a Google service account (GKE Workload Identity). */
export const GKE_WI_ANNOTATION = "iam.gke.io/gcp-service-account";

/** Rotation period of the bucket key created here (90 days, the common CIS/PCI cadence). */
export const KMS_ROTATION_PERIOD = `${90 * 86400}s`;

/** Arguments of {@link GcpStorage}: the seam's {@link StorageArgs} plus the stack context. */
export interface GcpStorageArgs extends StorageArgs {
  context: CloudContext;
  /** Clock of the reader key rotation schedule; defaults to the time of the run (tests pin it). */
  now?: Date;
}

/**
 * Buckets, identities and reader credential of one stack on GCP.
 *
 * Identities: one Google service account per workload, impersonable only by that workload's
 * Kubernetes ServiceAccount through `roles/iam.workloadIdentityUser` on exactly
 * `serviceAccount:<project>.svc.id.goog[<ns>/<sa>]`. GSAs rather than direct `principal://`
 * grants because they need no project number at plan time and show up by name in audit logs.
 *
 * Grants: project-level IAM members, each conditioned on one bucket ({@link bucketCondition}),
 * never bucket IAM: a bucket under an IP filter refuses get/setIamPolicy from outside its
 * ranges, which `storage.buckets.exemptFromIpFilter` does not exempt, so bucket IAM would fail
 * to create and to refresh from the deployer's network.
 *
 * Hub reader: a separate service account with objectViewer on the metrics bucket only, and
 * two overlapping keys (see {@link readerKeySchedule}); the newer key is exported as a secret
 * Thanos objstore config. IAM Conditions cannot restrict Cloud Storage by caller IP; the key
 * is bound to the hub's egress addresses by the bucket IP filter instead.
 */
export class GcpStorage extends pulumi.ComponentResource implements StorageOutputs {
  public readonly metricsBucket: pulumi.Output<string>;
  public readonly logsBucket?: pulumi.Output<string>;
  public readonly writerObjstore: pulumi.Output<string>;
  public readonly readonlyObjstore?: pulumi.Output<string>;
  public readonly lokiStorage?: pulumi.Output<Record<string, unknown>>;
  /** The hub's federated reader (Workload Identity Federation), when the hub reads federated. */
  public readonly federatedReader?: pulumi.Output<FederatedReader>;
  public readonly workloadIdentity: StorageOutputs["workloadIdentity"];
  /** The Cloud KMS key encrypting the buckets, when `encryption.mode` is `customer`. */
  public readonly kmsKeyId?: pulumi.Output<string>;
  /** Email of each workload's Google service account, and of the hub reader. */
  public readonly serviceAccounts: Partial<Record<GcsPrincipal, pulumi.Output<string>>>;
  /** The grants made, as planned by {@link planBucketBindings}. */
  public readonly bindings: GcsBinding[];

  constructor(name: string, args: GcpStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:gcp:Storage", name, {}, opts);
    const ctx: GcpContext = asGcp(args.context);
    const { config } = ctx;
    const project = config.cluster.project;
    const child = { parent: this, provider: ctx.provider };
    const data = { ...child, protect: true, retainOnDelete: true };
    const hubReader = args.hubReader?.key === true;
    const federated = args.hubReader?.federated;

    const poolNotice = workloadIdentityPoolNotice(ctx.stack, project, config.cluster.dedicatedProject);
    if (poolNotice !== undefined) void pulumi.log.warn(poolNotice, this);

    // Plan first: a writer whose bucket this stack does not own fails before anything is registered.
    this.bindings = planBucketBindings({ buckets: args.buckets, writers: args.writers, store: args.store, hubReader, hubFederated: federated !== undefined });

    const kms = args.encryption.mode === "customer" ? this.customerKey(name, ctx, args.encryption, data) : undefined;
    this.kmsKeyId = kms?.keyId;

    const buckets: Partial<Record<BucketRole, gcp.storage.Bucket>> = {};
    for (const role of args.buckets) {
      // The hub's addresses are admitted to the metrics bucket only: the reader never reads logs.
      const publicIps = pulumi
        .all([pulumi.output(args.ownEgressIps), role === "metrics" && args.hubReader !== undefined ? pulumi.output(args.hubReader.egressIps) : pulumi.output<string[]>([])])
        .apply(([own, hub]) => [...own, ...hub]);
      buckets[role] = new gcp.storage.Bucket(
        `${name}-${role}`,
        {
          name: gcsBucketName(project, ctx.stack, role),
          project,
          // GCS reports locations in upper case; the provider compares case-insensitively, upper case matches state exactly.
          location: config.region.toUpperCase(),
          storageClass: "STANDARD",
          uniformBucketLevelAccess: true,
          publicAccessPrevention: "enforced",
          versioning: { enabled: true },
          // Soft delete on top of versioning: a compromised compactor can delete noncurrent versions, not soft-deleted ones.
          softDeletePolicy: { retentionDurationSeconds: SOFT_DELETE_SECONDS },
          lifecycleRules: gcsLifecycleRules(role, args.retention),
          forceDestroy: false,
          labels: { ...ctx.labels, "bucket-role": role },
          ...(kms !== undefined ? { encryption: { defaultKmsKeyName: kms.keyId } } : {}),
          ...(config.network.bucketIpFilter
            ? { ipFilter: publicIps.apply((ips) => renderBucketIpFilter({ networkProject: networkProject(ctx), network: config.network.network, cidrs: config.network.cidrs, publicIps: ips })) }
            : {}),
        },
        // The GCS agent must hold the key before the bucket can name it as default key.
        { ...data, dependsOn: kms !== undefined ? [kms.grant] : [] },
      );
    }

    const users: [BucketUser, WorkloadRef][] = [];
    for (const w of ["sidecar", "compactor", "loki"] as const) {
      const ref = args.writers[w];
      if (ref !== undefined) users.push([w, ref]);
    }
    if (args.store !== undefined) users.push(["store", args.store]);

    const emails: Partial<Record<GcsPrincipal, pulumi.Output<string>>> = {};
    const identity: StorageOutputs["workloadIdentity"] = {};
    for (const [user, ref] of users) {
      const accountId = serviceAccountId(ctx.stack, user);
      const account = new gcp.serviceaccount.Account(
        `${name}-${user}-sa`,
        { accountId, project, displayName: `${ctx.stack} ${user}`, description: `Thanos/Loki ${user} of stack ${ctx.stack}; impersonable only by ${ref.namespace}/${ref.serviceAccount} via Workload Identity` },
        child,
      );
      new gcp.serviceaccount.IAMMember(
        `${name}-${user}-wi`,
        { serviceAccountId: account.name, role: "roles/iam.workloadIdentityUser", member: workloadIdentityMember(project, ref) },
        child,
      );
      emails[user] = account.email;
      // The email is known before the account exists, so ServiceAccount annotations stay plain values.
      identity[user] = { annotations: { [GKE_WI_ANNOTATION]: serviceAccountEmail(accountId, project) }, podLabels: {} };
    }

    let readerKey: pulumi.Output<string> | undefined;
    if (hubReader) {
      const reader = new gcp.serviceaccount.Account(
        `${name}-hub-reader-sa`,
        { accountId: serviceAccountId(ctx.stack, "hub-reader"), project, displayName: `${ctx.stack} hub reader`, description: `Read-only access of the hub to the metrics bucket of ${ctx.stack}; usable only from the hub's egress IPs (bucket IP filter)` },
        child,
      );
      emails["hub-reader"] = reader.email;
      const schedule = readerKeySchedule(args.now ?? new Date(), args.hubReader?.rotationDays ?? 30);
      const keys = {
        a: new gcp.serviceaccount.Key(`${name}-hub-reader-key-a`, { serviceAccountId: reader.name, keepers: { rotationWindow: String(schedule.a) } }, child),
        b: new gcp.serviceaccount.Key(`${name}-hub-reader-key-b`, { serviceAccountId: reader.name, keepers: { rotationWindow: String(schedule.b) } }, child),
      };
      // privateKey is base64 of the JSON key file; Thanos wants the JSON itself. It stays a secret.
      readerKey = pulumi.secret(keys[schedule.current].privateKey.apply((b64) => Buffer.from(b64, "base64").toString("utf8")));
    }

    // The hub's federated reader: a pool of this spoke trusting the hub's issuer for one subject.
    let federatedMember: pulumi.Output<string> | undefined;
    let audience: pulumi.Output<string> | undefined;
    if (federated !== undefined) {
      // Enabled, never disabled on destroy: other workloads of the project may use them.
      const services = FEDERATION_SERVICES.map((service) => new gcp.projects.Service(`${name}-${service.split(".")[0]}-api`, { project, service, disableOnDestroy: false, disableDependentServices: false }, child));
      const pool = new gcp.iam.WorkloadIdentityPool(`${name}-hub-pool`, {
        project,
        workloadIdentityPoolId: workloadIdentityPoolId(ctx.stack),
        displayName: `${ctx.stack} hub reader`.slice(0, 32),
        description: `The hub's store gateway (${federated.subject}) reads the metrics bucket of ${ctx.stack}`.slice(0, 256),
      }, { ...child, dependsOn: services });
      const provider = new gcp.iam.WorkloadIdentityPoolProvider(`${name}-hub-provider`, {
        project,
        workloadIdentityPoolId: pool.workloadIdentityPoolId,
        workloadIdentityPoolProviderId: HUB_PROVIDER_ID,
        displayName: "hub store gateway",
        description: `Hub cluster issuer ${federated.issuerUrl}`.slice(0, 256),
        ...hubProviderAttributes(federated.subject),
        oidc: { issuerUri: federated.issuerUrl },
      }, child);
      federatedMember = pool.name.apply((p) => federatedPrincipal(p, federated.subject));
      audience = provider.name.apply(providerAudience);
    }

    const uploader = this.bindings.some((b) => b.role === UPLOADER)
      ? new gcp.projects.IAMCustomRole(
          `${name}-uploader-role`,
          {
            project,
            roleId: uploaderRoleId(ctx.stack),
            title: `${ctx.stack} Thanos block uploader`,
            description: "Create, read, list, and the delete that overwriting a failed upload needs; no update, no IAM",
            permissions: [...UPLOADER_PERMISSIONS],
            stage: "GA",
          },
          child,
        )
      : undefined;
    for (const b of this.bindings) {
      const bucket = buckets[b.bucket];
      const email = b.principal === "hub-federated" ? undefined : emails[b.principal];
      const member = b.principal === "hub-federated" ? federatedMember : email === undefined ? undefined : pulumi.interpolate`serviceAccount:${email}`;
      if (bucket === undefined || member === undefined) throw new Error(`internal: binding ${b.principal} → ${b.bucket} without bucket or principal`);
      let role: pulumi.Input<string> = b.role;
      if (b.role === UPLOADER) {
        if (uploader === undefined) throw new Error(`internal: binding ${b.principal} → ${b.bucket} without the uploader role`);
        role = uploader.name;
      }
      new gcp.projects.IAMMember(
        `${name}-${b.principal}-${b.bucket}-${b.role.split(".").pop()}`,
        { project, role, member, condition: bucket.name.apply(bucketCondition) },
        child,
      );
    }
    this.serviceAccounts = emails;
    this.workloadIdentity = identity;

    const metrics = buckets.metrics;
    if (metrics === undefined) throw new Error(`stack ${ctx.stack}: every stack owns a metrics bucket (buckets: ${args.buckets.join(", ")})`);
    this.metricsBucket = metrics.name;
    this.logsBucket = buckets.logs?.name;
    this.writerObjstore = metrics.name.apply((bucket) => renderGcsObjstore({ bucket }));
    this.readonlyObjstore =
      readerKey === undefined ? undefined : pulumi.secret(pulumi.all([metrics.name, readerKey]).apply(([bucket, json]) => renderGcsObjstore({ bucket, serviceAccountJson: json })));
    this.lokiStorage = buckets.logs?.name.apply((b) => renderLokiGcsStorage(b) as Record<string, unknown>);
    if (audience !== undefined) {
      // No service_account: the hub's pod finds its external_account configuration through ADC.
      this.federatedReader = pulumi.all([metrics.name, audience]).apply(([bucket, aud]) => ({ objstore: renderGcsObjstore({ bucket }), identity: { cloud: "gcp" as const, audience: aud } }));
    }

    this.registerOutputs({
      metricsBucket: this.metricsBucket,
      logsBucket: this.logsBucket,
      writerObjstore: this.writerObjstore,
      readonlyObjstore: this.readonlyObjstore,
      lokiStorage: this.lokiStorage,
      federatedReader: this.federatedReader,
      kmsKeyId: this.kmsKeyId,
    });
  }

  /**
   * The bucket key: created in the stack's region (a GCS bucket can only use a key of its own
   * location), or adopted from `encryption.keyId`; either way the project's GCS service agent
   * is granted encrypt/decrypt on it. The grant is data-critical: without it GCS can no longer
   * decrypt the retained objects (Cloud Storage reads a CMEK object only while its service agent
   * can use the key: https://cloud.google.com/storage/docs/encryption/customer-managed-keys), so
   * it is protected and retained like the buckets.
   */
  private customerKey(
    name: string,
    ctx: GcpContext,
    encryption: Encryption,
    data: pulumi.CustomResourceOptions,
  ): { keyId: pulumi.Output<string>; grant: gcp.kms.CryptoKeyIAMMember } {
    const project = ctx.config.cluster.project;
    let keyId: pulumi.Output<string>;
    if (encryption.keyId !== undefined) {
      keyId = pulumi.output(encryption.keyId);
    } else {
      const ring = new gcp.kms.KeyRing(`${name}-keyring`, { name: `${ctx.stack}-observability`, project, location: ctx.config.region }, data);
      const key = new gcp.kms.CryptoKey(
        `${name}-key`,
        { name: `${ctx.stack}-buckets`, keyRing: ring.id, purpose: "ENCRYPT_DECRYPT", rotationPeriod: KMS_ROTATION_PERIOD, labels: ctx.labels },
        data,
      );
      keyId = key.id;
    }
    // Creates the GCS service agent if the project has none yet, so the grant below applies cleanly.
    const agent = gcp.storage.getProjectServiceAccountOutput({ project }, { parent: this, provider: ctx.provider });
    const grant = new gcp.kms.CryptoKeyIAMMember(
      `${name}-key-gcs-agent`,
      { cryptoKeyId: keyId, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: pulumi.interpolate`serviceAccount:${agent.emailAddress}` },
      data,
    );
    return { keyId, grant };
  }
}
