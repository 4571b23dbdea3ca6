/**
 * The cloud seam. Everything provider-specific lives under `components/clouds/<cloud>/`
 * and is reached only through {@link CloudModule}; stacks and other components compose
 * these results without knowing which cloud they run on.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { CloudTarget, EgressConfig, Encryption, Retention, StackConfig } from "../config";
import type { FederatedIdentity } from "../contracts";

/** The writing components of a spoke, each with its own identity. */
export type Writer = "sidecar" | "compactor" | "loki";
/** Every workload that touches a bucket: the writers plus the read-only store gateway. */
export type BucketUser = Writer | "store";

/** Kubernetes identity of one workload: where its ServiceAccount lives. */
export interface WorkloadRef {
  namespace: string;
  serviceAccount: string;
}

/** Settings of the stack that every cloud module needs. */
export interface CloudContext {
  /** The stack name (`dev-01`). */
  stack: string;
  config: StackConfig & CloudTarget;
  /** Labels/tags for every taggable resource: cluster, environment, region, cloud, sovereignty-zone and config tags. */
  labels: Record<string, string>;
  /** Explicit provider pinned to the stack's region and account/project/subscription. */
  provider: pulumi.ProviderResource;
}

/** Arguments of a stack's sovereign storage. */
export interface StorageArgs {
  retention: Retention;
  /** Provider-managed keys, or a customer-managed key (created or adopted). */
  encryption: Encryption;
  /** Which buckets this stack owns: a spoke has both, the hub only a metrics bucket (ruler output). */
  buckets: readonly ("metrics" | "logs")[];
  /** One writer identity per writing component; only those listed get one. */
  writers: Partial<Record<Writer, WorkloadRef>>;
  /** The read-only store gateway of this stack, when it runs one (`spoke-query`). */
  store?: WorkloadRef;
  /** The hub's read access to the metrics bucket; undefined (hub unreadable, `spoke-query`, the hub's own bucket): no external reader. */
  hubReader?: HubReaderArgs;
  /** This stack's own egress addresses (some clouds must allow them for in-cluster writes). */
  ownEgressIps: pulumi.Input<string[]>;
}

/**
 * How the hub reads a spoke's metrics bucket: from its egress addresses only, with a static key,
 * through workload identity federation with its cluster's issuer, or both during a migration.
 */
export interface HubReaderArgs {
  /** The hub's egress addresses: every read is bound to them. */
  egressIps: pulumi.Input<string[]>;
  /**
   * The S3 gateway endpoint of an AWS hub (its contract's `s3GatewayEndpoint`). AWS only: a hub in
   * the bucket's region reaches it through this endpoint, without a source address, so the reader
   * is admitted through it too. Other clouds ignore it.
   */
  s3GatewayEndpoint?: { id: string; region: string; accountId: string };
  /** A static read-only credential (`hubReader.auth: key`, or kept while the hub still reads with it). */
  key: boolean;
  /** Credential rotation period in days (the key is replaced on this schedule). */
  rotationDays: number;
  /** Trust the hub's ServiceAccount issuer for exactly this subject (`hubReader.auth: federated`). */
  federated?: { issuerUrl: string; namespace: string; serviceAccount: string; subject: string };
}

/** The federated reader a spoke offers the hub: an objstore file without credential and what the hub's token is exchanged for. */
export interface FederatedReader {
  objstore: string;
  identity: FederatedIdentity;
}

/** What a stack's storage gives the workloads. */
export interface StorageOutputs {
  /** Bucket (or container) names. */
  metricsBucket: pulumi.Output<string>;
  logsBucket?: pulumi.Output<string>;
  /** Thanos objstore YAML for this stack's own components: workload identity, no static keys. */
  writerObjstore: pulumi.Output<string>;
  /** Thanos objstore YAML with the hub's static read-only credential (a secret); set when `hubReader.key` was. */
  readonlyObjstore?: pulumi.Output<string>;
  /** The hub's federated reader; set when `hubReader.federated` was. Holds no secret. */
  federatedReader?: pulumi.Output<FederatedReader>;
  /** Loki `storage` / `storage_config` values for the logs bucket (writer identity). */
  lokiStorage?: pulumi.Output<Record<string, unknown>>;
  /**
   * Services without workload identity (cloud s3): each Thanos bucket user's own objstore file,
   * with its own key (secrets). When set, a user's file replaces {@link writerObjstore} for it.
   */
  objstoreFor?: Partial<Record<Exclude<BucketUser, "loki">, pulumi.Output<string>>>;
  /** Services without workload identity: Loki's own key (a secret), which Loki reads from its environment. */
  lokiCredentials?: pulumi.Output<{ accessKey: string; secretKey: string }>;
  /** Per workload: ServiceAccount annotations and pod labels that bind it to its cloud identity. */
  workloadIdentity: Partial<Record<BucketUser, { annotations: Record<string, string>; podLabels: Record<string, string> }>>;
  /**
   * The same bindings, resolved, for clouds whose identity ids exist only after creation (Azure:
   * the client id the ServiceAccount annotation must carry). When set, consumers use it instead of
   * {@link workloadIdentity}, whose annotations then lack those ids.
   */
  workloadIdentityOutput?: pulumi.Output<Partial<Record<BucketUser, { annotations: Record<string, string>; podLabels: Record<string, string> }>>>;
  /**
   * AWS only: the S3 gateway endpoint this stack's VPC reaches S3 through, with its region and
   * account. A hub publishes it (contract `s3GatewayEndpoint`) so spokes in its region admit its reader.
   */
  s3GatewayEndpoint?: pulumi.Output<{ id: string; region: string; accountId: string }>;
}

/** Arguments of a stack's static egress. */
export interface EgressArgs {
  egress: EgressConfig;
}

/** The static egress addresses of a stack. */
export interface EgressOutputs {
  /** Public IPv4 addresses all traffic from the cluster leaves through. */
  egressIps: pulumi.Output<string[]>;
}

/** One cloud's implementation of the seam. */
export interface CloudModule {
  /** The provider pinned to the stack's region (and account/project/subscription). */
  createProvider(name: string, config: StackConfig & CloudTarget): pulumi.ProviderResource;
  /** Sovereign buckets, writer identities and the hub's read-only credential. */
  createStorage(name: string, ctx: CloudContext, args: StorageArgs, opts?: pulumi.ComponentResourceOptions): pulumi.ComponentResource & StorageOutputs;
  /** Static egress addresses (created or adopted). */
  createEgress(name: string, ctx: CloudContext, args: EgressArgs, opts?: pulumi.ComponentResourceOptions): pulumi.ComponentResource & EgressOutputs;
  /**
   * Annotations of a public LoadBalancer Service on this cloud (source ranges are set on the
   * Service spec). The hyperscalers' are fixed; cloud s3 adopts the operator's from the stack's
   * configuration, which the stacks always pass.
   */
  loadBalancerAnnotations(config?: StackConfig & CloudTarget): Record<string, string>;
  /**
   * The issuer of the cluster's ServiceAccount tokens (the `iss` claim), exactly as the cluster
   * publishes it; undefined when the configuration does not name it (an EKS cluster without
   * `cluster.oidcIssuerUrl`).
   */
  serviceAccountIssuer(config: StackConfig & CloudTarget): string | undefined;
}
