/**
 * The policy pack on minimal resources: every policy fires on a violating resource set and
 * stays silent on a compliant one. Resources are recorded the way the offline engine records
 * them, so the adapter (policy/offline.ts) is exercised on every case too.
 */
import { recordedResource } from "./fixtures/recorded";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { evaluatePolicies, type Violation } from "../policy/offline";
import { allPolicies, vpceBypassedIpConditions } from "../policy/policies";
import { packConfigFor } from "../policy/stack-config";
import type { RecordedResource, StackRun } from "../offline";
import { secretValue } from "../offline/values";
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { hubFlowTable, renderFlowPolicies } from "../components/exposure/flows";

const REPO = join(__dirname, "..");

interface Opts {
  provider?: RecordedResource | null;
  protect?: boolean;
  retain?: boolean;
  deps?: RecordedResource[];
  outputs?: Record<string, unknown>;
}

/** A resource as the engine records it (`provider: null`: none). */
function rec(type: string, name: string, inputs: Record<string, unknown>, o: Opts = {}): RecordedResource {
  return recordedResource(type, name, inputs, { ...o, provider: o.provider ?? undefined });
}

const awsEu = rec("pulumi:providers:aws", "aws-eu", { region: "eu-central-1" });
const awsIe = rec("pulumi:providers:aws", "aws-ie", { region: "eu-west-1" });
/** An AWS provider pointed at an S3-compatible service (cloud s3) in the same region. */
const s3Compatible = rec("pulumi:providers:aws", "s3-compatible", { region: "eu-de", endpoints: JSON.stringify([{ s3: "https://obs.eu-de.otc.t-systems.com" }]) });
const gcpEu = rec("pulumi:providers:gcp", "gcp-eu", { project: "p", region: "europe-west3" });
const azEu = rec("pulumi:providers:azure-native", "az-eu", { location: "germanywestcentral" });
const data = { protect: true, retain: true };

/** A fully hardened S3 bucket with its side resources; `edit` changes one part. */
function s3(edit: { bucket?: Opts; inputs?: Record<string, unknown>; pab?: Record<string, unknown>; policy?: unknown; versioning?: string; lifecycle?: unknown[]; sse?: unknown; extra?: (b: RecordedResource) => RecordedResource[] } = {}): RecordedResource[] {
  const b = rec("aws:s3/bucket:Bucket", "metrics", { bucket: "t-metrics", forceDestroy: false, ...edit.inputs }, { provider: awsEu, ...data, ...edit.bucket });
  const dep = { provider: awsEu, deps: [b] };
  return [
    awsEu,
    b,
    rec("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", { bucket: "metrics-id", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true, ...edit.pab }, dep),
    rec("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "own", { bucket: "metrics-id", rule: { objectOwnership: "BucketOwnerEnforced" } }, dep),
    rec("aws:s3/bucketVersioning:BucketVersioning", "ver", { bucket: "metrics-id", versioningConfiguration: { status: edit.versioning ?? "Enabled" } }, dep),
    rec("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "sse", { bucket: "metrics-id", rules: [{ applyServerSideEncryptionByDefault: edit.sse ?? { sseAlgorithm: "AES256" } }] }, dep),
    rec("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lc", {
      bucket: "metrics-id",
      rules: edit.lifecycle ?? [
        { id: "a", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
        { id: "n", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 3 } },
      ],
    }, dep),
    rec("aws:s3/bucketPolicy:BucketPolicy", "pol", {
      bucket: "metrics-id",
      policy: JSON.stringify(edit.policy ?? {
        Version: "2012-10-17",
        Statement: [{ Sid: "tls", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::t-metrics", "arn:aws:s3:::t-metrics/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }],
      }),
    }, dep),
    ...(edit.extra?.(b) ?? []),
  ];
}

function gcs(edit: { inputs?: Record<string, unknown>; extra?: (b: RecordedResource) => RecordedResource[] } = {}): RecordedResource[] {
  const b = rec("gcp:storage/bucket:Bucket", "metrics", {
    name: "t-metrics",
    location: "EUROPE-WEST3",
    uniformBucketLevelAccess: true,
    publicAccessPrevention: "enforced",
    versioning: { enabled: true },
    softDeletePolicy: { retentionDurationSeconds: 604800 },
    ...edit.inputs,
  }, { provider: gcpEu, ...data });
  const sa = rec("gcp:serviceaccount/account:Account", "sidecar-sa", { accountId: "t-sidecar", project: "p" }, { provider: gcpEu, outputs: { email: "t-sidecar@p.iam.gserviceaccount.com" } });
  const member = rec("gcp:storage/bucketIAMMember:BucketIAMMember", "sidecar-writer", { bucket: "t-metrics", role: "roles/storage.objectCreator", member: "serviceAccount:t-sidecar@p.iam.gserviceaccount.com" }, { provider: gcpEu, deps: [b, sa] });
  return [gcpEu, b, sa, member, ...(edit.extra?.(b) ?? [])];
}

function azure(edit: { account?: Record<string, unknown>; blob?: Record<string, unknown>; extra?: (a: RecordedResource, id: RecordedResource) => RecordedResource[] } = {}): RecordedResource[] {
  const a = rec("azure-native:storage:StorageAccount", "account", {
    accountName: "tmetrics",
    location: "germanywestcentral",
    sku: { name: "Standard_ZRS" },
    allowBlobPublicAccess: false,
    enableHttpsTrafficOnly: true,
    minimumTlsVersion: "TLS1_2",
    allowSharedKeyAccess: false,
    allowCrossTenantReplication: false,
    networkRuleSet: { defaultAction: "Deny" },
    encryption: { requireInfrastructureEncryption: true, keySource: "Microsoft.Storage" },
    ...edit.account,
  }, { provider: azEu, ...data });
  const blob = rec("azure-native:storage:BlobServiceProperties", "blob", { accountName: "tmetrics", isVersioningEnabled: true, deleteRetentionPolicy: { enabled: true, days: 7 }, containerDeleteRetentionPolicy: { enabled: true, days: 7 }, ...edit.blob }, { provider: azEu, deps: [a] });
  const c = rec("azure-native:storage:BlobContainer", "metrics", { accountName: "tmetrics", containerName: "metrics", publicAccess: "None" }, { provider: azEu, ...data, deps: [a, blob] });
  const id = rec("azure-native:managedidentity:UserAssignedIdentity", "sidecar-id", { resourceName: "t-sidecar" }, { provider: azEu, outputs: { principalId: "11111111-1111-1111-1111-111111111111" } });
  const ra = rec("azure-native:authorization:RoleAssignment", "sidecar-contrib", {
    scope: "/subscriptions/s/containers/metrics",
    principalId: "11111111-1111-1111-1111-111111111111",
    roleDefinitionId: "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  }, { provider: azEu, deps: [c, id] });
  return [azEu, a, blob, c, id, ra, ...(edit.extra?.(a, id) ?? [])];
}

function pki(edit: { keyAlg?: Record<string, unknown>; caUses?: string[]; leafUses?: string[]; dnsNames?: string[] } = {}): RecordedResource[] {
  const caKey = rec("tls:index/privateKey:PrivateKey", "ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256", ...edit.keyAlg });
  const ca = rec("tls:index/selfSignedCert:SelfSignedCert", "ca", { isCaCertificate: true, allowedUses: edit.caUses ?? ["cert_signing", "crl_signing", "digital_signature"], privateKeyPem: secretValue("k") }, { deps: [caKey] });
  const key = rec("tls:index/privateKey:PrivateKey", "leaf-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
  const csr = rec("tls:index/certRequest:CertRequest", "leaf-csr", { dnsNames: edit.dnsNames ?? ["thanos.t.example.eu"], privateKeyPem: secretValue("k") }, { deps: [key] });
  const leaf = rec("tls:index/locallySignedCert:LocallySignedCert", "leaf", { allowedUses: edit.leafUses ?? ["digital_signature", "server_auth"], certRequestPem: "csr" }, { deps: [csr, ca] });
  return [caKey, ca, key, csr, leaf];
}

function service(spec: Record<string, unknown>): RecordedResource[] {
  return [rec("kubernetes:core/v1:Service", "thanos-lb", { metadata: { name: "thanos-lb" }, spec: { type: "LoadBalancer", ...spec } })];
}

/**
 * A Thanos Query endpoints ConfigMap discovering the sidecars through DNS; `fixed`: their TLS in
 * default_client_config (what Thanos v0.42.4 applies to DNS-discovered addresses), else in the
 * entry's own client_config (ignored by Thanos: a plaintext dial).
 */
function endpointsConfigMap(fixed: boolean): RecordedResource[] {
  const tls = { tls_config: { enabled: true, cert_file: "/c/tls.crt", key_file: "/c/tls.key", ca_file: "/c/ca.crt" }, server_name: "kps-thanos-discovery.observability.svc" };
  const entry = { address: "dnssrv+_grpc._tcp.kps-thanos-discovery.observability.svc.cluster.local", strict: false, group: false };
  const doc = fixed ? { default_client_config: tls, endpoints: [entry] } : { endpoints: [{ ...entry, client_config: tls }] };
  return [rec("kubernetes:core/v1:ConfigMap", "thanos-query-endpoints", { metadata: { name: "thanos-query-endpoints" }, data: { "endpoints.yaml": stringify(doc) } })];
}

/**
 * A hub's FlowPolicies component (its recorded table) and its NetworkPolicies. Violating: the hub
 * Alertmanager policy the plan rendered before issue 11 item 2 (fixture), which drops the ruler
 * (9093) and the mesh (9094 TCP/UDP) and admits the whole namespace on 9443.
 */
function hubFlows(fixed: boolean): RecordedResource[] {
  const table = hubFlowTable({ namespace: "observability", spokeEgressIps: ["192.0.2.241", "203.0.113.126"], clusterCidrs: ["10.0.0.0/16"], operatorCidrs: [] });
  const rendered = renderFlowPolicies(table, { "app.kubernetes.io/part-of": "sovereign-observability" });
  const old = parse(readFileSync(join(REPO, "test", "fixtures", "old-alertmanager-spokes-ingress.yaml"), "utf8")) as { metadata: unknown; spec: unknown };
  const policies = fixed ? rendered : [...rendered.filter((x) => x.metadata.name !== "alertmanager-ingress"), old];
  const component = { ...rec("sovereign:exposure:FlowPolicies", "ops-01-flows", { table }), custom: false };
  return [component, ...policies.map((x, i) => rec("kubernetes:networking.k8s.io/v1:NetworkPolicy", `np-${i}`, { metadata: x.metadata, spec: x.spec }))];
}

/** A bucket policy with a hub-reader address condition in a fail-closed (fixed) or VPC-endpoint-bypassed form. */
function ipConditions(fixed: boolean): RecordedResource[] {
  const tls = { Sid: "tls", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::t-metrics", "arn:aws:s3:::t-metrics/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } };
  const reader = fixed
    ? { Sid: "reader", Effect: "Deny", Principal: { AWS: "arn:aws:iam::111122223333:user/r" }, Action: "s3:*", Resource: ["arn:aws:s3:::t-metrics/*"], Condition: { NotIpAddress: { "aws:SourceIp": ["198.51.100.7/32"] } } }
    : { Sid: "strangers", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::t-metrics/*"], Condition: { IpAddress: { "aws:SourceIp": ["192.0.2.0/24"] } } };
  return s3({ policy: { Version: "2012-10-17", Statement: [tls, reader] } });
}

const STORE_IMAGE = "quay.io/thanos/thanos:v0.42.4";
function storeGateway(volumes: unknown[], extra: Record<string, unknown> = {}, subcommand = "store"): RecordedResource[] {
  const secret = rec("kubernetes:core/v1:Secret", "spoke-objstore", {
    metadata: { name: "dev-01-objstore" },
    stringData: secretValue({ "objstore.yml": "type: S3\nconfig:\n  bucket: dev-01-metrics\n  region: eu-central-1\n  endpoint: s3.eu-central-1.amazonaws.com\n  access_key: AKIA\n  secret_key: s\n" }),
  });
  return [
    secret,
    rec("kubernetes:apps/v1:StatefulSet", "store-dev-01", {
      metadata: { name: "thanos-store-dev-01" },
      spec: {
        ...extra,
        template: { spec: { containers: [{ name: "thanos", image: STORE_IMAGE, args: [subcommand, "--objstore.config-file=/etc/thanos/objstore.yml"] }], volumes: [{ name: "objstore", secret: { secretName: "dev-01-objstore" } }, ...volumes] } },
      },
    }),
  ];
}

/**
 * The hub's federated reader of a spoke (contract v2): the IAM OIDC provider of the hub's issuer and
 * the role its store gateway assumes, trusting exactly one subject and the STS audience.
 */
const HUB_ISSUER = "oidc.eks.eu-central-1.amazonaws.com/id/A1B2C3D4E5F60718293A4B5C6D7E8F90";
const HUB_SUBJECT = "system:serviceaccount:observability:thanos-store-t";
function federatedReader(condition: Record<string, unknown> = { StringEquals: { [`${HUB_ISSUER}:sub`]: HUB_SUBJECT, [`${HUB_ISSUER}:aud`]: "sts.amazonaws.com" } }): RecordedResource[] {
  const oidc = rec("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "hub-oidc", { url: `https://${HUB_ISSUER}`, clientIdLists: ["sts.amazonaws.com"] }, { provider: awsEu, retain: true });
  const trust = { Version: "2012-10-17", Statement: [{ Sid: "HubStoreGatewayWebIdentity", Effect: "Allow", Principal: { Federated: `arn:aws:iam::111122223333:oidc-provider/${HUB_ISSUER}` }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition }] };
  const role = rec("aws:iam/role:Role", "hub-reader-role", { name: "t-observability-hub-reader", assumeRolePolicy: JSON.stringify(trust) }, { provider: awsEu, deps: [oidc] });
  return [oidc, role];
}

/** The hub's key reader of a spoke (hubReader.auth key, or kept during the migration): an IAM user with an access key. */
function keyReader(): RecordedResource[] {
  const user = rec("aws:iam/user:User", "hub-reader", { name: "t-observability-hub-reader" }, { provider: awsEu });
  return [user, rec("aws:iam/accessKey:AccessKey", "hub-reader-key-a", { user: "t-observability-hub-reader", status: "Active" }, { provider: awsEu, deps: [user] })];
}

/** Stack outputs of a federated spoke (no key), and the secret key output a key reader adds. */
const FEDERATED_OUTPUTS = {
  contractVersion: 2,
  role: "spoke",
  reader: { auth: "federated", objstore: "type: S3\nconfig:\n  bucket: t-metrics\n  region: eu-central-1\n  aws_sdk_auth: true\n", issuerUrl: `https://${HUB_ISSUER}`, subject: HUB_SUBJECT },
};
const KEY_OUTPUT = { objstoreReadonly: secretValue("type: S3\nconfig:\n  bucket: t-metrics\n  region: eu-central-1\n  access_key: AKIAEXAMPLE\n  secret_key: s\n") };
const SAS_OUTPUT = { objstoreReadonly: secretValue("type: AZURE\nconfig:\n  storage_account: tmetrics\n  container: metrics\n  storage_connection_string: BlobEndpoint=https://tmetrics.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=x\n") };

const SPOKE = { region: "eu-central-1", sovereigntyZone: "de", cloud: "aws", role: "spoke", encryptionMode: "provider" };
const S3_SPOKE = { ...SPOKE, cloud: "s3", region: "eu-de", s3SigningRegion: "eu-de", s3EndpointHost: "obs.eu-de.otc.t-systems.com" };
const HUB = { ...SPOKE, role: "hub" };
const GCP = { ...SPOKE, region: "europe-west3", cloud: "gcp" };
const AZ = { ...SPOKE, region: "germanywestcentral", cloud: "azure" };

interface Case {
  compliant: RecordedResource[];
  violating: RecordedResource[];
  config: Record<string, string>;
  /** The stack's outputs, when the policy reads them (default: none). */
  outputs?: { compliant?: Record<string, unknown>; violating?: Record<string, unknown> };
}

const foreignWriteRole = (b: RecordedResource): RecordedResource[] => [
  rec("aws:iam/rolePolicy:RolePolicy", "hub-writes", {
    role: "ops-01-thanos-compactor",
    policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::t-metrics/*" }] }),
  }, { provider: awsEu, deps: [b] }),
];
const ownWriteRole = (b: RecordedResource): RecordedResource[] => {
  const role = rec("aws:iam/role:Role", "sidecar-role", { name: "t-sidecar" }, { provider: awsEu });
  return [
    role,
    rec("aws:iam/rolePolicy:RolePolicy", "sidecar-writes", {
      role: "t-sidecar",
      policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: "arn:aws:s3:::t-metrics/*" }] }),
    }, { provider: awsEu, deps: [b, role] }),
  ];
};

/** One compliant and one violating resource set per policy. */
const CASES: Record<string, Case> = {
  "sovereign-data-residency": { compliant: s3(), violating: s3({ bucket: { provider: awsIe } }).concat(awsIe), config: SPOKE },
  "no-replication-outside-zone": {
    compliant: [...s3(), ...storeGateway([])],
    violating: s3({
      extra: (b) => [
        rec("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "repl", { bucket: "metrics-id", rules: [{ status: "Enabled", destination: { bucket: "arn:aws:s3:::elsewhere-us" } }] }, { provider: awsEu, deps: [b] }),
        rec("kubernetes:helm.sh/v3:Release", "kps", { chart: "kube-prometheus-stack", values: { prometheus: { prometheusSpec: { remoteWrite: [{ url: "https://mimir.example.com/api/v1/push" }] } } } }),
      ],
    }),
    config: SPOKE,
  },
  "writers-are-local": { compliant: s3({ extra: ownWriteRole }), violating: s3({ extra: foreignWriteRole }), config: SPOKE },
  "hub-read-path-ephemeral": {
    compliant: storeGateway([{ name: "data", emptyDir: { medium: "Memory", sizeLimit: "2Gi" } }]),
    violating: storeGateway([{ name: "data", emptyDir: {} }], { volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { resources: { requests: { storage: "10Gi" } } } }] }),
    config: HUB,
  },
  "s3-public-access-blocked": { compliant: s3(), violating: s3({ pab: { restrictPublicBuckets: false }, inputs: { acl: "public-read" } }), config: SPOKE },
  "s3-tls-only": { compliant: s3(), violating: s3({ policy: { Version: "2012-10-17", Statement: [] } }), config: SPOKE },
  // An AWS bucket in an AWS stack; the same bucket through a provider pointed at an S3-compatible service.
  "s3-compatible-storage-declared": { compliant: s3(), violating: s3({ bucket: { provider: s3Compatible } }).concat(s3Compatible), config: SPOKE },
  // Fully hardened, the bucket on an S3-compatible service lacks nothing; without its policy, its addresses are bound by nothing.
  "s3-compatible-guarantees": {
    compliant: s3({
      policy: {
        Version: "2012-10-17",
        Statement: [
          { Sid: "tls", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::t-metrics", "arn:aws:s3:::t-metrics/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } },
          { Sid: "AllowSidecar", Effect: "Allow", Principal: { AWS: "arn:aws:iam:::user/sidecar" }, Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::t-metrics/*"], Condition: { IpAddress: { "aws:SourceIp": ["198.51.100.7/32"] } } },
        ],
      },
    }).map((r) => (r.type === "pulumi:providers:aws" ? s3Compatible : { ...r, provider: `${s3Compatible.urn}::${s3Compatible.id}` })),
    violating: s3().filter((r) => r.type !== "aws:s3/bucketPolicy:BucketPolicy").map((r) => (r.type === "pulumi:providers:aws" ? s3Compatible : { ...r, provider: `${s3Compatible.urn}::${s3Compatible.id}` })),
    config: S3_SPOKE,
  },
  "s3-no-public-principals": {
    compliant: s3(),
    violating: s3({ policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::t-metrics/*" }] } }),
    config: SPOKE,
  },
  "s3-versioning-and-lifecycle": { compliant: s3(), violating: s3({ versioning: "Suspended", lifecycle: [] }), config: SPOKE },
  "s3-encryption-at-rest": { compliant: s3(), violating: s3({ sse: { sseAlgorithm: "none" } }), config: SPOKE },
  "s3-object-lock": { compliant: s3({ inputs: { objectLockEnabled: true } }), violating: s3(), config: SPOKE },
  "s3-access-logging": {
    compliant: s3({ extra: (b) => [rec("aws:s3/bucketLogging:BucketLogging", "log", { bucket: "metrics-id", targetBucket: "t-logs" }, { provider: awsEu, deps: [b] })] }),
    violating: s3(),
    config: SPOKE,
  },
  "customer-managed-keys-when-configured": {
    compliant: s3({ sse: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:eu-central-1:1:key/k" } }),
    violating: s3(),
    config: { ...SPOKE, encryptionMode: "customer" },
  },
  "customer-managed-keys-recommended": { compliant: s3({ sse: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:eu-central-1:1:key/k" } }), violating: s3(), config: SPOKE },
  "gcs-public-access-prevented": { compliant: gcs(), violating: gcs({ inputs: { uniformBucketLevelAccess: false, publicAccessPrevention: "inherited" } }), config: GCP },
  "gcs-no-public-members": {
    compliant: gcs(),
    violating: gcs({ extra: (b) => [rec("gcp:storage/bucketIAMMember:BucketIAMMember", "public", { bucket: "t-metrics", role: "roles/storage.objectViewer", member: "allUsers" }, { provider: gcpEu, deps: [b] })] }),
    config: GCP,
  },
  "gcs-versioning-or-soft-delete": { compliant: gcs(), violating: gcs({ inputs: { versioning: { enabled: false }, softDeletePolicy: { retentionDurationSeconds: 0 } } }), config: GCP },
  "gcs-no-bucket-iam-under-ip-filter": {
    compliant: gcs(),
    violating: gcs({ inputs: { ipFilter: { mode: "Enabled", vpcNetworkSources: [{ network: "projects/p/global/networks/n", allowedIpCidrRanges: ["10.0.0.0/8"] }] } } }),
    config: GCP,
  },
  "cmek-grants-retained": {
    compliant: gcs({ extra: () => [rec("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "agent-grant", { cryptoKeyId: "k", role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com" }, { provider: gcpEu, ...data })] }),
    violating: gcs({ extra: () => [rec("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "agent-grant", { cryptoKeyId: "k", role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com" }, { provider: gcpEu })] }),
    config: GCP,
  },
  "azure-storage-no-public-access": { compliant: azure(), violating: azure({ account: { allowBlobPublicAccess: true } }), config: AZ },
  "azure-storage-secure-transport": { compliant: azure(), violating: azure({ account: { enableHttpsTrafficOnly: false, minimumTlsVersion: "TLS1_0" } }), config: AZ },
  "azure-storage-network-deny": { compliant: azure(), violating: azure({ account: { networkRuleSet: { defaultAction: "Allow" } } }), config: AZ },
  "azure-storage-shared-key": {
    compliant: azure({ account: { allowSharedKeyAccess: true, sasPolicy: { sasExpirationPeriod: "61.00:00:00", expirationAction: "Block" } } }),
    violating: azure({ account: { allowSharedKeyAccess: true } }),
    config: AZ,
  },
  "azure-storage-data-protection": { compliant: azure(), violating: azure({ blob: { isVersioningEnabled: false } }), config: AZ },
  "data-stores-protected": { compliant: s3(), violating: s3({ bucket: { protect: false, retain: false } }), config: SPOKE },
  "mtls-ecdsa-p256": { compliant: pki(), violating: pki({ keyAlg: { algorithm: "RSA", rsaBits: 2048 } }), config: SPOKE },
  "mtls-certificate-usages": { compliant: pki(), violating: pki({ leafUses: ["digital_signature", "server_auth", "client_auth"], dnsNames: [], caUses: ["digital_signature"] }), config: SPOKE },
  "loadbalancer-source-ranges": { compliant: service({ loadBalancerSourceRanges: ["198.51.100.7/32"] }), violating: service({}), config: SPOKE },
  "thanos-dns-endpoints-no-per-endpoint-tls": { compliant: endpointsConfigMap(true), violating: endpointsConfigMap(false), config: SPOKE },
  "networkpolicies-admit-declared-flows": { compliant: hubFlows(true), violating: hubFlows(false), config: { ...SPOKE, role: "hub" } },
  "aws-ip-conditions-not-bypassed-by-vpc-endpoint": { compliant: ipConditions(true), violating: ipConditions(false), config: SPOKE },
  "hub-reader-no-stored-credential": {
    compliant: s3({ extra: () => federatedReader() }),
    violating: s3({ extra: () => [...federatedReader(), ...keyReader()] }),
    config: { ...SPOKE, hubReaderAuth: "federated", hubStack: "ops-01" },
    outputs: { compliant: FEDERATED_OUTPUTS, violating: FEDERATED_OUTPUTS },
  },
  "hub-reader-key-migration": {
    compliant: s3({ extra: () => federatedReader() }),
    violating: s3({ extra: () => [...federatedReader(), ...keyReader()] }),
    config: { ...SPOKE, hubReaderAuth: "federated", hubStack: "ops-01" },
    outputs: { compliant: FEDERATED_OUTPUTS, violating: { ...FEDERATED_OUTPUTS, ...KEY_OUTPUT } },
  },
  "hub-reader-trust-exactly-one-subject": {
    compliant: federatedReader(),
    violating: federatedReader({ StringLike: { [`${HUB_ISSUER}:sub`]: "system:serviceaccount:observability:*" }, StringEquals: { [`${HUB_ISSUER}:aud`]: "sts.amazonaws.com" } }),
    config: SPOKE,
  },
  "azure-shared-key-only-for-sas": {
    compliant: azure({ account: { allowSharedKeyAccess: true, sasPolicy: { sasExpirationPeriod: "61.00:00:00", expirationAction: "Block" } } }),
    violating: azure({ account: { allowSharedKeyAccess: true, sasPolicy: { sasExpirationPeriod: "61.00:00:00", expirationAction: "Block" } } }),
    config: { ...AZ, hubReaderAuth: "federated" },
    outputs: { compliant: { ...FEDERATED_OUTPUTS, ...SAS_OUTPUT }, violating: FEDERATED_OUTPUTS },
  },
};

/** A stack run holding exactly these resources (and these stack outputs). */
function runOf(resources: RecordedResource[], role: string, outputs: Record<string, unknown> = {}): StackRun {
  const unique = [...new Map(resources.map((r) => [r.urn, r])).values()];
  return { stack: "t", resources: unique, outputs, role, config: {}, secretKeys: [], secretOutputNames: Object.keys(outputs).filter((k) => k === "objstoreReadonly") };
}

function only(policy: string, resources: RecordedResource[], config: Record<string, string>, outputs: Record<string, unknown> = {}): Violation[] {
  const p = allPolicies.find((x) => x.name === policy);
  assert.ok(p, `no policy ${policy}`);
  return evaluatePolicies(runOf(resources, config.role, outputs), { policies: [p], config });
}

describe("policy pack on minimal resources", () => {
  it("every policy has a case, a kebab-case name, rule IDs or a source in its description, and a level", () => {
    assert.deepEqual(allPolicies.map((p) => p.name).sort(), Object.keys(CASES).sort());
    for (const p of allPolicies) {
      assert.match(p.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
      assert.ok(p.enforcementLevel === "mandatory" || p.enforcementLevel === "advisory", p.name);
      assert.match(p.description, /(S3\.\d+|CKV|CIS|GCP-\d+|ARCHITECTURE|SECURITY-CHECKLIST)/, p.name);
    }
    assert.equal(new Set(allPolicies.map((p) => p.name)).size, allPolicies.length);
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: silent on the compliant set, fires on the violating one`, () => {
      assert.deepEqual(only(name, c.compliant, c.config, c.outputs?.compliant), []);
      const v = only(name, c.violating, c.config, c.outputs?.violating);
      assert.ok(v.length > 0, `${name} did not fire`);
      for (const x of v) assert.equal(x.policy, name);
    });
  }

  it("flows: the old hub Alertmanager policy is named for the ruler's alerts and the mesh it cut, and for the namespace it opened", () => {
    const v = only("networkpolicies-admit-declared-flows", hubFlows(false), { ...SPOKE, role: "hub" }).map((x) => x.message);
    for (const id of ["ruler-sends-alerts", "alertmanager-mesh-tcp", "alertmanager-mesh-udp"]) assert.ok(v.some((m) => m.includes(`flow ${id} blocked`)), id);
    assert.ok(v.some((m) => /every pod of namespace observability \(empty podSelector\)/.test(m)));
  });

  it("VPC endpoint bypass: each escaping form is named, the fail-closed forms and endpoint-pinned allows are silent", () => {
    const forms: [string, string, boolean][] = [
      ["Deny", "IpAddress", true],
      ["Allow", "NotIpAddress", true],
      ["Allow", "IpAddressIfExists", true],
      ["Allow", "NotIpAddressIfExists", true],
      ["Allow", "IpAddress", false],
      ["Deny", "NotIpAddress", false],
      ["Deny", "NotIpAddressIfExists", false],
    ];
    for (const [effect, op, fires] of forms) {
      const doc = { Statement: [{ Sid: "s", Effect: effect, Action: "s3:GetObject", Resource: "*", Condition: { [op]: { "aws:SourceIp": ["192.0.2.0/24"] } } }] };
      assert.equal(vpceBypassedIpConditions(JSON.stringify(doc)).length > 0, fires, `${effect} ${op}`);
    }
    const pinned = { Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*", Condition: { NotIpAddress: { "aws:SourceIp": ["192.0.2.0/24"] }, StringEquals: { "aws:SourceVpce": "vpce-0123456789abcdef0" } } }] };
    assert.deepEqual(vpceBypassedIpConditions(pinned), []);
  });

  it("the compliant sets pass the whole pack's mandatory policies", () => {
    for (const [name, c] of Object.entries(CASES)) {
      if (name.startsWith("customer-managed-keys") || name === "s3-object-lock" || name === "s3-access-logging") continue;
      const v = evaluatePolicies(runOf(c.compliant, c.config.role, c.outputs?.compliant), { config: c.config }).filter((x) => x.enforcementLevel === "mandatory");
      assert.deepEqual(v, [], name);
    }
  });

  it("residency: a data store on the default provider and a region outside the zone are violations", () => {
    const noProvider = s3({ bucket: { provider: null } });
    assert.match(only("sovereign-data-residency", noProvider, SPOKE)[0]?.message ?? "", /default provider/);
    const v = only("sovereign-data-residency", s3(), { ...SPOKE, sovereigntyZone: "fr" });
    assert.ok(v.some((x) => /outside sovereignty zone 'fr'/.test(x.message)));
  });

  it("residency without config: region and zone come from the program's identity labels", () => {
    const labelled = s3({ inputs: { tags: { region: "eu-central-1", "sovereignty-zone": "de", cloud: "aws" } } });
    const run = runOf(labelled, "spoke");
    const p = allPolicies.filter((x) => x.name === "sovereign-data-residency");
    assert.deepEqual(evaluatePolicies(run, { policies: p, config: {} }), []);
    const moved = s3({ bucket: { provider: awsIe }, inputs: { tags: { region: "eu-central-1", "sovereignty-zone": "de", cloud: "aws" } } }).concat(awsIe);
    assert.ok(evaluatePolicies(runOf(moved, "spoke"), { policies: p, config: {} }).length > 0);
    assert.match(evaluatePolicies(runOf(s3(), "spoke"), { policies: p, config: {} })[0]?.message ?? "", /cannot tell/);
  });

  it("writers: GCP and Azure writer grants to principals the stack did not create are violations", () => {
    assert.deepEqual(only("writers-are-local", gcs(), GCP), []);
    assert.deepEqual(only("writers-are-local", azure(), AZ), []);
    const g = gcs({ extra: (b) => [rec("gcp:storage/bucketIAMMember:BucketIAMMember", "hub-admin", { bucket: "t-metrics", role: "roles/storage.objectAdmin", member: "serviceAccount:ops-01@hub.iam.gserviceaccount.com" }, { provider: gcpEu, deps: [b] })] });
    assert.match(only("writers-are-local", g, GCP)[0]?.message ?? "", /not a service account of this stack/);
    const a = azure({
      extra: (acc) => [
        rec("azure-native:authorization:RoleAssignment", "hub-contrib", {
          scope: "/subscriptions/s/containers/metrics",
          principalId: "99999999-9999-9999-9999-999999999999",
          roleDefinitionId: "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        }, { provider: azEu, deps: [acc] }),
      ],
    });
    assert.match(only("writers-are-local", a, AZ)[0]?.message ?? "", /not an identity of this stack/);
  });

  it("hub read path: a compactor over a spoke's objstore and a PVC volume are violations; spokes are exempt", () => {
    assert.match(only("hub-read-path-ephemeral", storeGateway([], {}, "compact"), HUB)[0]?.message ?? "", /only store gateways/);
    assert.ok(only("hub-read-path-ephemeral", storeGateway([{ name: "data", persistentVolumeClaim: { claimName: "x" } }]), HUB).length > 0);
    assert.deepEqual(only("hub-read-path-ephemeral", storeGateway([{ name: "data", persistentVolumeClaim: { claimName: "x" } }]), SPOKE), []);
  });

  it("hub read path: a federated spoke objstore (no key at all) on a ruler is a violation; the hub's own bucket on its ruler is not", () => {
    const ruler = (secretName: string): RecordedResource =>
      rec("kubernetes:apps/v1:StatefulSet", `rule-${secretName}`, {
        metadata: { name: `thanos-rule-${secretName}` },
        spec: { template: { spec: { containers: [{ name: "thanos", image: STORE_IMAGE, args: ["rule", "--objstore.config-file=/etc/thanos/objstore.yml"] }], volumes: [{ name: "objstore", secret: { secretName } }] } } },
      });
    const objstore = (name: string, bucket: string): RecordedResource =>
      rec("kubernetes:core/v1:Secret", name, { metadata: { name }, stringData: { "objstore.yaml": `type: S3\nconfig:\n  bucket: ${bucket}\n  region: eu-central-1\n  aws_sdk_auth: true\n` } });
    const own = rec("aws:s3/bucket:Bucket", "hub-metrics", { bucket: "ops-01-metrics" }, { provider: awsEu });
    const federated = [own, objstore("thanos-objstore-dev-01", "dev-01-metrics"), ruler("thanos-objstore-dev-01")];
    assert.match(only("hub-read-path-ephemeral", federated, HUB)[0]?.message ?? "", /runs thanos rule over a spoke's objstore config/);
    assert.deepEqual(only("hub-read-path-ephemeral", [own, objstore("thanos-objstore-hub", "ops-01-metrics"), ruler("thanos-objstore-hub")], HUB), []);
  });

  it("S3 objstore outside the zone and geo-redundant Azure SKUs are replication violations", () => {
    const sec = rec("kubernetes:core/v1:Secret", "obj", { metadata: { name: "o" }, stringData: { "objstore.yml": "type: S3\nconfig:\n  bucket: b\n  region: us-east-1\n" } });
    assert.match(only("no-replication-outside-zone", [sec], SPOKE)[0]?.message ?? "", /us-east-1, outside zone 'de'/);
    assert.match(only("no-replication-outside-zone", azure({ account: { sku: { name: "Standard_RAGRS" } } }), AZ)[0]?.message ?? "", /geo-redundant/);
  });

  it("a LoadBalancer open to 0.0.0.0/0 is a violation", () => {
    assert.ok(only("loadbalancer-source-ranges", service({ loadBalancerSourceRanges: ["0.0.0.0/0"] }), SPOKE).length > 0);
  });

  it("policy/stack-config.ts writes the declaration of every example stack for each configurable policy", () => {
    const c = packConfigFor(REPO, "stag-01");
    // Contract v2: the stack's hubReader.auth (the schema's default, federated, when the file omits it) and its hub.
    assert.deepEqual(c["sovereign-data-residency"], { region: "germanywestcentral", sovereigntyZone: "de", cloud: "azure", role: "spoke", encryptionMode: "provider", hubReaderAuth: "federated", hubStack: "ops-01" });
    assert.deepEqual(c["hub-reader-no-stored-credential"], c["sovereign-data-residency"]);
    assert.deepEqual(c["azure-shared-key-only-for-sas"], c["sovereign-data-residency"]);
    assert.equal(packConfigFor(REPO, "ops-01")["customer-managed-keys-when-configured"]?.encryptionMode, "customer");
  });

  it("the pack loads under Pulumi's own policy-pack runner (ts-node type check) and serves", async () => {
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack/index.js");
    const child = spawn(process.execPath, [runner, "127.0.0.1:1", "."], { cwd: join(REPO, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const port = await new Promise<string>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`no port after 150s:\n${err}`)), 150_000);
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = out.match(/^(\d+)\s*$/m);
        if (m !== null) {
          clearTimeout(timer);
          resolvePort(m[1]);
        }
      });
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`runner exited ${code}:\n${err}`));
      });
    });
    child.kill("SIGTERM");
    assert.match(port, /^\d+$/);
  });
});
