/**
 * The GCP spoke as it really runs: the offline engine plans prod-01 (after the hub bootstrap it
 * reads) from the real stack program and `Pulumi.prod-01.yaml`, and the recorded resources are
 * checked against the GCS checklist: uniform access, public access prevention, versioning and
 * soft delete, CMEK, IP filter, bucket grants and Workload Identity bindings per principal,
 * protect/retainOnDelete, the explicit provider, and the MANUAL_ONLY Cloud NAT egress.
 * prod-01 uses `spoke-query`, so no hub reader exists; two extra runs of prod-01 (edited config)
 * cover the hub reader with adopted egress, and provider-managed keys without an IP filter.
 */
import { strict as assert } from "node:assert";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import {
  GCS_ROLES,
  KMS_ROTATION_PERIOD,
  UPLOADER,
  UPLOADER_PERMISSIONS,
  bucketCondition,
  federatedPrincipal,
  POOL_ID,
  providerAudience,
  uploaderRoleId,
  workloadIdentityPoolId,
  SOFT_DELETE_SECONDS,
  gcsLifecycleRules,
  networkSelfLink,
  planBucketBindings,
  readerKeySchedule,
  serviceAccountEmail,
  serviceAccountId,
  subnetworkSelfLink,
  type BindingsInput,
} from "../components/clouds/gcp";
import type { BucketUser, WorkloadRef } from "../components/clouds/types";
import { SERVICE_ACCOUNTS } from "../components/endpoints";
import { isSecretValue, reveal, runStack, type RecordedResource, type StackRun } from "../offline";
import {
  assertDataSafe,
  assertEgressIps,
  assertExplicitProvider,
  assertReadonlyObjstoreSecret,
  inputs,
  ofType,
  one,
  plainOutputs,
  realFleet,
  runOf,
  spokeRunOptions,
  stackConfig,
  type RealFleet,
} from "./support/fleet";
import { referenceYaml, unknownKeyPaths } from "./support/reference";

const config = stackConfig("prod-01");
assert.ok(config.cloud === "gcp" && config.role === "spoke");
const ROTATION_DAYS = config.hubReader.rotationDays;
const project = config.cluster.project;
const netProject = config.network.project ?? config.cluster.project;
const ns = config.namespace;
const ref = (serviceAccount: string): WorkloadRef => ({ namespace: ns, serviceAccount });
const writers = { sidecar: ref(SERVICE_ACCOUNTS.sidecar), compactor: ref(SERVICE_ACCOUNTS.compactor), loki: ref(SERVICE_ACCOUNTS.loki) };
const store = ref(SERVICE_ACCOUNTS.store);
const ADOPTED = ["prod-01-nat-a", "prod-01-nat-b"];

let fleet: RealFleet;
let prod: StackRun;
/** prod-01 with queryPath hub-store (the hub reads its bucket) and adopted egress addresses. */
let hubStore: StackRun;
/** prod-01 with provider-managed keys and no bucket IP filter. */
let plain: StackRun;
/** prod-01 with queryPath hub-store, read by the hub federated (the default hubReader.auth). */
let federated: StackRun;
before(async () => {
  fleet = await realFleet(["prod-01"]);
  prod = runOf(fleet, "prod-01");
  [hubStore, federated, plain] = await Promise.all([
    runStack(spokeRunOptions(fleet, "prod-01", (v) => {
      v.queryPath = "hub-store";
      v.hubReader = { auth: "key" };
      v.egress = { mode: "existing", count: ADOPTED.length, addresses: ADOPTED };
    })),
    runStack(spokeRunOptions(fleet, "prod-01", (v) => {
      v.queryPath = "hub-store";
    })),
    runStack(spokeRunOptions(fleet, "prod-01", (v) => {
      v.encryption = { mode: "provider" };
      (v.network as Record<string, unknown>).bucketIpFilter = false;
    })),
  ]);
  for (const r of [hubStore, plain, federated]) assert.equal(r.error, undefined, r.error?.message);
});

const hubIps = (): string[] => (reveal(fleet.bootstrap.outputs.egressIps) as string[]).map(String);
const buckets = (run: StackRun): RecordedResource[] => ofType(run, "gcp:storage/bucket:Bucket");
/** A bucket by its role label. */
function bucket(run: StackRun, role: "metrics" | "logs"): RecordedResource {
  const b = buckets(run).find((x) => (inputs(x).labels as Record<string, string>)["bucket-role"] === role);
  assert.ok(b !== undefined, `${run.stack}: ${role} bucket`);
  return b;
}
/** The service account of a principal, by its account id. */
function account(run: StackRun, principal: string): RecordedResource | undefined {
  return ofType(run, "gcp:serviceaccount/account:Account").find((a) => inputs(a).accountId === serviceAccountId(run.stack, principal));
}
type IpFilter = { mode: string; vpcNetworkSources: { network: string; allowedIpCidrRanges: string[] }[]; publicNetworkSource?: { allowedIpCidrRanges: string[] }; allowAllServiceAgentAccess?: boolean };

const PROJECT_IAM = "gcp:projects/iAMMember:IAMMember";
/** Resource types whose create/read call the bucket's getIamPolicy/setIamPolicy. */
const BUCKET_IAM_TYPES = ["gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding", "gcp:storage/bucketIAMPolicy:BucketIAMPolicy", "gcp:storage/bucketACL:BucketACL", "gcp:storage/bucketAccessControl:BucketAccessControl"];

/** The bucket a project-level grant is conditioned on (the name in its `resource.name ==` clause). */
function grantBucket(i: Record<string, unknown>): string | undefined {
  const c = i.condition as { expression?: string } | undefined;
  return /resource\.name == "projects\/_\/buckets\/([^"]+)"/.exec(c?.expression ?? "")?.[1];
}

/** Bucket grants as `bucket role member`, against the plan for the principals given. */
function checkGrants(run: StackRun, plan: BindingsInput): void {
  const bucketName = (role: "metrics" | "logs"): string => String(bucket(run, role).outputs.name);
  const roleName = (r: string): string => (r === UPLOADER ? String(one(run, "gcp:projects/iAMCustomRole:IAMCustomRole").outputs.name) : r);
  const expected = planBucketBindings(plan).map((b) => {
    if (b.principal === "hub-federated") {
      // No service account: the Workload Identity Federation principal of the hub's store gateway.
      const pool = String(one(run, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool").outputs.name);
      return `${bucketName(b.bucket)} ${roleName(b.role)} ${federatedPrincipal(pool, "system:serviceaccount:observability:thanos-store-prod-01")}`;
    }
    const a = account(run, b.principal);
    assert.ok(a !== undefined, `account of ${b.principal}`);
    return `${bucketName(b.bucket)} ${roleName(b.role)} serviceAccount:${String(a.outputs.email)}`;
  }).sort();
  const grants = ofType(run, PROJECT_IAM).map(inputs);
  for (const g of grants) {
    assert.equal(g.project, project);
    const b = grantBucket(g);
    assert.ok(b !== undefined, `every storage grant is conditioned on one bucket: ${JSON.stringify(g.condition)}`);
    assert.deepEqual(g.condition, bucketCondition(b));
  }
  const actual = grants.map((i) => `${String(grantBucket(i))} ${String(i.role)} ${String(i.member)}`).sort();
  assert.deepEqual(actual, expected);
  assert.ok(actual.every((a) => !/allUsers|allAuthenticatedUsers/.test(a)), "CIS 5.1");
}

/** Each workload's service account is impersonable only by exactly its own Kubernetes ServiceAccount. */
function checkWorkloadIdentity(run: StackRun, users: Partial<Record<BucketUser, WorkloadRef>>): void {
  const wi = ofType(run, "gcp:serviceaccount/iAMMember:IAMMember").map(inputs);
  assert.equal(wi.length, Object.keys(users).length, "one binding per workload, none for the hub reader");
  for (const [user, r] of Object.entries(users)) {
    const a = account(run, user);
    assert.ok(a !== undefined, user);
    assert.equal(a.outputs.email, serviceAccountEmail(String(inputs(a).accountId), project));
    const bindings = wi.filter((b) => b.serviceAccountId === a.outputs.name);
    assert.deepEqual(bindings.map((b) => [b.role, b.member]), [["roles/iam.workloadIdentityUser", `serviceAccount:${project}.svc.id.goog[${r.namespace}/${r.serviceAccount}]`]], user);
  }
}

describe("prod-01 (spoke-query, CMEK, IP filter)", () => {
  it("one explicit GCP provider, pinned to the cluster project and region, labelling everything, used by every GCP resource", () => {
    assertExplicitProvider(prod, "gcp", "gcp");
    const i = inputs(one(prod, "pulumi:providers:gcp"));
    assert.equal(i.project, project);
    assert.equal(i.region, config.region);
    // Provider inputs travel JSON-encoded when they are not strings.
    const labels = (typeof i.defaultLabels === "string" ? JSON.parse(i.defaultLabels) : i.defaultLabels) as Record<string, string>;
    for (const [k, v] of Object.entries({ cluster: "prod-01", environment: config.environment, region: config.region, cloud: "gcp", "sovereignty-zone": config.sovereigntyZone })) assert.equal(labels[k], v, k);
  });

  it("every bucket meets the GCS checklist, protected and retained", () => {
    assert.equal(buckets(prod).length, 2);
    assertDataSafe(buckets(prod), "bucket");
    const key = one(prod, "gcp:kms/cryptoKey:CryptoKey");
    const grant = one(prod, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember");
    for (const role of ["metrics", "logs"] as const) {
      const b = bucket(prod, role);
      const i = inputs(b);
      assert.equal(i.uniformBucketLevelAccess, true, "CIS 5.2 / CKV_GCP_29");
      assert.equal(i.publicAccessPrevention, "enforced", "CKV_GCP_114");
      assert.deepEqual(i.versioning, { enabled: true }, "CKV_GCP_78");
      assert.deepEqual(i.softDeletePolicy, { retentionDurationSeconds: SOFT_DELETE_SECONDS });
      assert.equal(i.forceDestroy, false);
      assert.equal(String(i.location).toLowerCase(), config.region);
      assert.equal(i.project, project);
      assert.equal((i.encryption as { defaultKmsKeyName: string }).defaultKmsKeyName, key.id, "Trivy GCP-0066: CMEK");
      assert.ok(b.options.dependsOn.includes(grant.urn), "the bucket waits for the GCS agent's key grant");
      const labels = i.labels as Record<string, string>;
      for (const [k, v] of Object.entries({ cluster: "prod-01", environment: config.environment, region: config.region, cloud: "gcp", "sovereignty-zone": config.sovereigntyZone })) assert.equal(labels[k], v, k);
      assert.deepEqual(i.lifecycleRules, gcsLifecycleRules(role, config.retention));
    }
    const out = plainOutputs(prod).buckets as { metrics: string; logs: string };
    assert.deepEqual(out, { metrics: bucket(prod, "metrics").outputs.name, logs: bucket(prod, "logs").outputs.name }, "the contract names the recorded buckets");
  });

  it("no bucket IAM call on a filtered bucket: a deployment from outside the spoke's ranges can create and refresh every grant", () => {
    // GCS "Bypass bucket IP filtering rules" (https://cloud.google.com/storage/docs/bypass-ip-filter#supported-operations):
    // storage.buckets.exemptFromIpFilter exempts only GET, PATCH and DELETE bucket; getIamPolicy/setIamPolicy stay
    // filtered (terraform-google-modules/terraform-google-cloud-storage#403). A bucket IAM resource on a filtered bucket
    // fails to create after the bucket exists, and every refresh (getIamPolicy) fails, from any deployer outside the ranges.
    assert.ok(buckets(prod).every((b) => inputs(b).ipFilter !== undefined), "prod-01 filters its buckets");
    for (const t of BUCKET_IAM_TYPES) assert.equal(ofType(prod, t).length, 0, t);
    assert.ok(ofType(prod, PROJECT_IAM).length > 0, "the grants exist, at project level");
  });

  it("the sidecar's uploader role holds create + delete (overwrite) + get + list, in the stack's project", () => {
    const role = one(prod, "gcp:projects/iAMCustomRole:IAMCustomRole");
    assert.equal(inputs(role).project, project);
    assert.equal(inputs(role).roleId, uploaderRoleId("prod-01"));
    assert.deepEqual([...(inputs(role).permissions as string[])].sort(), [...UPLOADER_PERMISSIONS].sort());
    const sidecar = ofType(prod, PROJECT_IAM).map(inputs).filter((i) => i.member === `serviceAccount:${String(account(prod, "sidecar")?.outputs.email)}`);
    assert.deepEqual(sidecar.map((i) => i.role), [role.outputs.name]);
  });

  it("the bucket key is regional, rotated, protected, and usable by the GCS agent only via its grant", () => {
    const ring = one(prod, "gcp:kms/keyRing:KeyRing");
    const key = one(prod, "gcp:kms/cryptoKey:CryptoKey");
    assert.equal(inputs(ring).location, config.region);
    assert.equal(inputs(key).rotationPeriod, KMS_ROTATION_PERIOD);
    assert.equal(inputs(key).keyRing, ring.id);
    assertDataSafe([ring, key], "KMS key ring and key");
    const grant = one(prod, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember");
    // The retained buckets stay readable only while the GCS agent may use the key
    // (https://cloud.google.com/storage/docs/encryption/customer-managed-keys): the grant is kept with the data.
    assertDataSafe([grant], "CMEK grant to the GCS service agent");
    const g = inputs(grant);
    assert.equal(g.cryptoKeyId, key.id);
    assert.equal(g.role, "roles/cloudkms.cryptoKeyEncrypterDecrypter");
    assert.match(String(g.member), /^serviceAccount:service-[0-9]+@gs-project-accounts\.iam\.gserviceaccount\.com$/);
  });

  it("IP filter: the spoke VPC and its own egress on every bucket, no hub address (the hub does not read this bucket)", () => {
    const own = (reveal(prod.outputs.egressIps) as string[]).map((ip) => `${ip}/32`);
    for (const b of buckets(prod)) {
      const f = inputs(b).ipFilter as IpFilter;
      assert.equal(f.mode, "Enabled");
      assert.equal(f.allowAllServiceAgentAccess, false);
      assert.deepEqual(f.vpcNetworkSources, [{ network: `projects/${netProject}/global/networks/${config.network.network}`, allowedIpCidrRanges: config.network.cidrs }]);
      assert.deepEqual([...(f.publicNetworkSource?.allowedIpCidrRanges ?? [])].sort(), [...own].sort(), b.name);
      for (const ip of hubIps()) assert.ok(!(f.publicNetworkSource?.allowedIpCidrRanges ?? []).includes(`${ip}/32`));
    }
  });

  it("bucket grants are exactly the plan, to this stack's own service accounts (store, no hub reader)", () => {
    checkGrants(prod, { buckets: ["metrics", "logs"], writers, store, hubReader: false });
    const admins = ofType(prod, PROJECT_IAM).map(inputs).filter((i) => i.role === GCS_ROLES.objectAdmin && grantBucket(i) === bucket(prod, "metrics").outputs.name);
    assert.deepEqual(admins.map((d) => d.member), [`serviceAccount:${String(account(prod, "compactor")?.outputs.email)}`], "only the compactor is objectAdmin on metrics");
  });

  it("each workload identity is impersonable only by its own namespace/ServiceAccount", () => {
    checkWorkloadIdentity(prod, { ...writers, store });
  });

  it("no hub reader: no reader account, no key, no read-only objstore", () => {
    assert.equal(account(prod, "hub-reader"), undefined);
    assert.equal(ofType(prod, "gcp:serviceaccount/key:Key").length, 0);
    assert.ok(!prod.resources.some((r) => r.name.includes("hub-reader")));
    assert.equal(prod.outputs.objstoreReadonly, undefined);
    assert.ok(!("objstoreReadonly" in plainOutputs(prod)));
  });

  it("egress: reserved external addresses, protected, on a MANUAL_ONLY Cloud NAT for the cluster subnetwork, exported", () => {
    const addresses = ofType(prod, "gcp:compute/address:Address");
    assert.equal(addresses.length, config.egress.count);
    assertDataSafe(addresses, "static egress address");
    for (const a of addresses) {
      const i = inputs(a);
      assert.equal(i.addressType, "EXTERNAL");
      assert.equal(i.region, config.region);
      assert.equal(i.project, netProject, "NAT addresses live with the shared VPC's router");
    }
    assert.equal(new Set(addresses.map((a) => inputs(a).name)).size, addresses.length);
    const router = one(prod, "gcp:compute/router:Router");
    const nat = inputs(one(prod, "gcp:compute/routerNat:RouterNat"));
    assert.equal(inputs(router).network, networkSelfLink(netProject, config.network.network));
    assert.equal(inputs(router).region, config.region);
    assert.equal(nat.router, router.outputs.name);
    assert.equal(nat.region, config.region);
    assert.equal(nat.natIpAllocateOption, "MANUAL_ONLY");
    assert.deepEqual([...(nat.natIps as string[])].sort(), addresses.map((a) => String(a.outputs.selfLink)).sort());
    assert.equal(nat.sourceSubnetworkIpRangesToNat, "LIST_OF_SUBNETWORKS");
    assert.deepEqual(nat.subnetworks, [{ name: subnetworkSelfLink(netProject, config.region, config.network.subnetwork), sourceIpRangesToNats: ["ALL_IP_RANGES"] }]);
    assert.deepEqual(nat.logConfig, { enable: true, filter: "ERRORS_ONLY" });
    assertEgressIps(prod, addresses.map((a) => a.outputs.address));
  });
});

describe("prod-01 as a hub-store spoke read with a key (hubReader.auth: key), adopted egress (edited config)", () => {
  it("the hub reader: objectViewer on metrics only, no Workload Identity, two keys whose material is secret", () => {
    checkGrants(hubStore, { buckets: ["metrics", "logs"], writers, hubReader: true });
    checkWorkloadIdentity(hubStore, writers);
    const reader = account(hubStore, "hub-reader");
    assert.ok(reader !== undefined);
    const grants = ofType(hubStore, PROJECT_IAM).map(inputs).filter((i) => i.member === `serviceAccount:${String(reader.outputs.email)}`);
    assert.deepEqual(grants.map((g) => [grantBucket(g), g.role]), [[bucket(hubStore, "metrics").outputs.name, GCS_ROLES.objectViewer]]);
    const keys = ofType(hubStore, "gcp:serviceaccount/key:Key");
    assert.equal(keys.length, 2);
    for (const k of keys) {
      assert.equal(inputs(k).serviceAccountId, reader.outputs.name);
      assert.ok(isSecretValue(k.outputs.privateKey), "key material is a secret");
    }
    const schedule = readerKeySchedule(new Date(), ROTATION_DAYS);
    for (const k of keys) {
      const slot = k.name.endsWith("-a") ? "a" : "b";
      assert.deepEqual(inputs(k).keepers, { rotationWindow: String(schedule[slot]) }, "each key is replaced on its own schedule");
    }
  });

  it("exports the current key as a secret read-only objstore, [secret] in the plan document", () => {
    const clear = assertReadonlyObjstoreSecret(hubStore);
    const doc = parse(clear) as { type: string; config: { bucket: string; service_account: string } };
    assert.deepEqual(unknownKeyPaths(doc, referenceYaml("thanos-v0.42.4/objstore-gcs.yaml")), []);
    assert.equal(doc.type, "GCS");
    assert.equal(doc.config.bucket, bucket(hubStore, "metrics").outputs.name);
    const schedule = readerKeySchedule(new Date(), ROTATION_DAYS);
    const current = ofType(hubStore, "gcp:serviceaccount/key:Key").find((k) => k.name.endsWith(`-${schedule.current}`));
    assert.ok(current !== undefined);
    assert.deepEqual(inputs(current).keepers, { rotationWindow: String(schedule[schedule.current]) });
    assert.equal(doc.config.service_account, Buffer.from(String(reveal(current.outputs.privateKey)), "base64").toString("utf8"));
    assert.equal((JSON.parse(doc.config.service_account) as { client_email: string }).client_email, account(hubStore, "hub-reader")?.outputs.email);
  });

  it("IP filter: the hub's real egress addresses (from the hub bootstrap) on the metrics bucket only", () => {
    const hub = hubIps().map((ip) => `${ip}/32`);
    assert.ok(hub.length > 0);
    const own = (reveal(hubStore.outputs.egressIps) as string[]).map((ip) => `${ip}/32`);
    const pub = (role: "metrics" | "logs"): string[] => [...((inputs(bucket(hubStore, role)).ipFilter as IpFilter).publicNetworkSource?.allowedIpCidrRanges ?? [])].sort();
    assert.deepEqual(pub("metrics"), [...own, ...hub].sort());
    assert.deepEqual(pub("logs"), [...own].sort());
  });

  it("adopted egress: no managed address, the NAT uses the named ones, MANUAL_ONLY", () => {
    assert.equal(ofType(hubStore, "gcp:compute/address:Address").length, 0);
    const nat = inputs(one(hubStore, "gcp:compute/routerNat:RouterNat"));
    const natIps = nat.natIps as string[];
    assert.equal(natIps.length, ADOPTED.length);
    for (const n of ADOPTED) assert.ok(natIps.some((l) => l.endsWith(`/addresses/${n}`)), n);
    assert.equal(nat.natIpAllocateOption, "MANUAL_ONLY");
    const ips = reveal(hubStore.outputs.egressIps) as string[];
    assert.equal(ips.length, ADOPTED.length);
    for (const ip of ips) assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  });
});

describe("prod-01 as a hub-store spoke read federated (the default; edited config)", () => {
  const hubIssuer = (): string => (plainOutputs(fleet.bootstrap).federation as { issuerUrl: string }).issuerUrl;
  const subject = "system:serviceaccount:observability:thanos-store-prod-01";

  it("no reader service account, no key, no reader secret in the outputs", () => {
    assert.equal(account(federated, "hub-reader"), undefined);
    assert.equal(ofType(federated, "gcp:serviceaccount/key:Key").length, 0);
    assert.equal(plainOutputs(federated).objstoreReadonly, undefined);
  });

  it("a pool of the spoke's project with one OIDC provider for the hub's issuer, admitting exactly the store gateway's subject, IAM and STS enabled", () => {
    const pool = one(federated, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool");
    assert.equal(inputs(pool).project, config.cluster.project);
    assert.equal(inputs(pool).workloadIdentityPoolId, workloadIdentityPoolId("prod-01"));
    assert.match(String(inputs(pool).workloadIdentityPoolId), POOL_ID);
    const provider = inputs(one(federated, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"));
    assert.equal(provider.workloadIdentityPoolId, inputs(pool).workloadIdentityPoolId);
    assert.deepEqual(provider.oidc, { issuerUri: hubIssuer() }, "no allowedAudiences: the token's audience must be the provider's own name");
    assert.deepEqual(provider.attributeMapping, { "google.subject": "assertion.sub" });
    assert.equal(provider.attributeCondition, `assertion.sub == "${subject}"`);
    const services = ofType(federated, "gcp:projects/service:Service").map(inputs);
    assert.deepEqual(services.map((x) => x.service).sort(), ["iam.googleapis.com", "sts.googleapis.com"]);
    for (const x of services) assert.equal(x.disableOnDestroy, false, `${String(x.service)} stays enabled when the stack goes`);
  });

  it("objectViewer on the metrics bucket only, for exactly the federated principal of that subject", () => {
    checkGrants(federated, { buckets: ["metrics", "logs"], writers, hubReader: false, hubFederated: true });
    const poolName = String(one(federated, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool").outputs.name);
    assert.match(poolName, /^projects\/[0-9]+\/locations\/global\/workloadIdentityPools\//, "pools are named by project number");
    const member = federatedPrincipal(poolName, subject);
    const grants = ofType(federated, PROJECT_IAM).map(inputs).filter((i) => String(i.member).startsWith("principal://"));
    assert.deepEqual(grants.map((g) => [g.member, grantBucket(g), g.role]), [[member, bucket(federated, "metrics").outputs.name, GCS_ROLES.objectViewer]]);
  });

  it("the contract's reader: the provider's resource name as audience, and a GCS objstore file without service_account", () => {
    const reader = plainOutputs(federated).reader as { auth: string; objstore: string; identity: { cloud: string; audience: string }; issuerUrl: string; subject: string };
    const providerName = String(one(federated, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").outputs.name);
    assert.equal(reader.auth, "federated");
    assert.deepEqual(reader.identity, { cloud: "gcp", audience: providerAudience(providerName) });
    assert.equal(reader.issuerUrl, hubIssuer());
    assert.equal(reader.subject, subject);
    const doc = parse(reader.objstore) as { type: string; config: Record<string, unknown> };
    assert.deepEqual(unknownKeyPaths(doc, referenceYaml("thanos-v0.42.4/objstore-gcs.yaml")), []);
    assert.deepEqual(doc, { type: "GCS", config: { bucket: bucket(federated, "metrics").outputs.name } });
  });

  it("the bucket IP filter still admits the hub's addresses: federation does not lift the network binding", () => {
    const hub = hubIps().map((ip) => `${ip}/32`);
    const pub = [...((inputs(bucket(federated, "metrics")).ipFilter as IpFilter).publicNetworkSource?.allowedIpCidrRanges ?? [])];
    for (const h of hub) assert.ok(pub.includes(h), h);
  });
});

describe("prod-01 with provider-managed keys and no IP filter (edited config)", () => {
  it("creates no KMS key, no key grant, no IP filter, and still protects the buckets", () => {
    for (const t of ["gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"]) assert.equal(ofType(plain, t).length, 0, t);
    assertDataSafe(buckets(plain), "bucket");
    for (const b of buckets(plain)) {
      assert.equal(inputs(b).ipFilter, undefined);
      assert.equal(inputs(b).encryption, undefined);
      assert.equal(inputs(b).publicAccessPrevention, "enforced");
    }
    assert.equal(account(plain, "hub-reader"), undefined);
  });
});
