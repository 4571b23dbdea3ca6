/**
 * GCP storage: bindings plan, bucket hardening, lifecycle, IP filter, objstore and Loki values
 * against the upstream reference, reader key rotation, and the resources the Storage component
 * registers for prod-01 (recorded with the engine's monitor and GCP mock outputs).
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import {
  GCS_ROLES,
  GKE_WI_ANNOTATION,
  GcpStorage,
  KMS_ROTATION_PERIOD,
  SOFT_DELETE_SECONDS,
  bucketRetentionDays,
  gcsBucketName,
  gcsLifecycleRules,
  GCS_BUCKET_NAME,
  planBucketBindings,
  readerKeySchedule,
  renderBucketIpFilter,
  renderGcsObjstore,
  renderLokiGcsStorage,
  serviceAccountEmail,
  serviceAccountId,
  SERVICE_ACCOUNT_ID,
  workloadIdentityMember,
  type BindingsInput,
} from "../components/clouds/gcp";
import type { StorageArgs } from "../components/clouds/types";
import { durationDays } from "../components/config";
import { REPO_DIR, isSecretValue, reveal, type RecordedResource } from "./engine";
import { recordGcp, stackConfig, valueOf } from "./gcp-harness";
import { REFERENCE_DIR, referenceYaml, unknownKeyPaths } from "./support/reference";
import * as pulumi from "@pulumi/pulumi";

const READ_ONLY = new Set<string>([GCS_ROLES.objectViewer]);
const refs = { namespace: "observability" };
const writers = {
  sidecar: { ...refs, serviceAccount: "prometheus" },
  compactor: { ...refs, serviceAccount: "thanos-compactor" },
  loki: { ...refs, serviceAccount: "loki" },
};
const store = { ...refs, serviceAccount: "thanos-store" };
const full: BindingsInput = { buckets: ["metrics", "logs"], writers, store, hubReader: true };

/** Field names of an interface in the provider's input types (the real schema the provider accepts). */
function providerFields(iface: string): Set<string> {
  const text = readFileSync(join(REPO_DIR, "node_modules/@pulumi/gcp/types/input.d.ts"), "utf8");
  const ns = text.slice(text.indexOf("export declare namespace storage"));
  const start = ns.indexOf(`interface ${iface} {`);
  assert.ok(start >= 0, `interface ${iface} not found in @pulumi/gcp input types`);
  const body = ns.slice(start, ns.indexOf("\n    }", start));
  return new Set([...body.matchAll(/^\s{8}(\w+)\??:/gm)].map((m) => m[1]));
}

describe("bindings plan", () => {
  const plan = planBucketBindings(full);
  const rolesOf = (p: string, bucket?: string): string[] => plan.filter((b) => b.principal === p && (bucket === undefined || b.bucket === bucket)).map((b) => b.role).sort();

  it("the hub reader only reads, and only the metrics bucket", () => {
    const reader = plan.filter((b) => b.principal === "hub-reader");
    assert.ok(reader.length > 0);
    for (const b of reader) {
      assert.equal(b.bucket, "metrics");
      assert.ok(READ_ONLY.has(b.role), `hub reader got ${b.role}`);
    }
    assert.ok(!rolesOf("hub-reader").some((r) => r === GCS_ROLES.objectCreator || r === GCS_ROLES.objectAdmin));
  });

  it("only the compactor can delete metrics; the sidecar writes without delete; the store only reads", () => {
    const deleters = plan.filter((b) => b.bucket === "metrics" && b.role === GCS_ROLES.objectAdmin).map((b) => b.principal);
    assert.deepEqual(deleters, ["compactor"]);
    assert.ok(rolesOf("sidecar").includes(GCS_ROLES.objectCreator));
    assert.ok(!rolesOf("sidecar").includes(GCS_ROLES.objectAdmin));
    assert.ok(rolesOf("store").every((r) => READ_ONLY.has(r)));
  });

  it("Loki touches the logs bucket only, and nothing else touches it", () => {
    assert.deepEqual(plan.filter((b) => b.bucket === "logs").map((b) => b.principal), ["loki"]);
    assert.deepEqual(rolesOf("loki", "metrics"), []);
  });

  it("grants only to principals that were asked for", () => {
    const noReader = planBucketBindings({ ...full, hubReader: false, store: undefined, writers: { sidecar: writers.sidecar } });
    assert.deepEqual([...new Set(noReader.map((b) => b.principal))], ["sidecar"]);
  });

  it("refuses a writer whose bucket the stack does not own", () => {
    assert.throws(() => planBucketBindings({ ...full, buckets: ["metrics"] }), /loki needs the logs bucket/);
  });

  it("Workload Identity principal is exactly the cluster project's pool and the KSA", () => {
    assert.equal(workloadIdentityMember("acme-obs-prod-01", writers.sidecar), "serviceAccount:acme-obs-prod-01.svc.id.goog[observability/prometheus]");
  });
});

describe("names", () => {
  it("bucket names are valid, deterministic, carry project/stack/role and stay unique when shortened", () => {
    const n = gcsBucketName("acme-obs-prod-01", "prod-01", "metrics");
    assert.ok(GCS_BUCKET_NAME.test(n));
    for (const part of ["acme-obs-prod-01", "prod-01", "metrics"]) assert.ok(n.includes(part));
    assert.equal(n, gcsBucketName("acme-obs-prod-01", "prod-01", "metrics"));
    const longProject = "a-very-long-project-id-for-x1";
    const longStack = "an-unusually-long-stack-name-01";
    const a = gcsBucketName(longProject, longStack, "metrics");
    const b = gcsBucketName(longProject, `${longStack.slice(0, -1)}2`, "metrics");
    assert.ok(a.length <= 63 && b.length <= 63 && GCS_BUCKET_NAME.test(a));
    assert.notEqual(a, b);
  });

  it("no bucket name contains 'goog'", () => {
    assert.ok(!gcsBucketName("googly-project", "prod-01", "logs").includes("goog"));
  });

  it("service account ids fit 6-30 characters", () => {
    for (const role of ["sidecar", "compactor", "loki", "store", "hub-reader"]) {
      for (const stack of ["prod-01", "an-unusually-long-stack-name-01"]) assert.ok(SERVICE_ACCOUNT_ID.test(serviceAccountId(stack, role)), `${stack}/${role}`);
    }
  });
});

describe("lifecycle rules", () => {
  const retention = stackConfig("prod-01").retention;
  const types = (rules: ReturnType<typeof gcsLifecycleRules>): string[] => rules.map((r) => r.action.type);

  it("metrics are deleted only after every tier has expired", () => {
    const rules = gcsLifecycleRules("metrics", retention);
    const age = rules.find((r) => r.action.type === "Delete" && r.condition.age !== undefined)?.condition.age;
    assert.equal(age, bucketRetentionDays("metrics", retention));
    for (const tier of [retention.raw, retention.fiveMinutes, retention.oneHour]) assert.ok((age ?? 0) >= durationDays(tier));
  });

  it("logs are deleted after retention.logs", () => {
    const rules = gcsLifecycleRules("logs", retention);
    assert.equal(rules.find((r) => r.action.type === "Delete" && r.condition.withState === "LIVE")?.condition.age, durationDays(retention.logs));
  });

  it("noncurrent versions expire and incomplete multipart uploads are aborted", () => {
    for (const role of ["metrics", "logs"] as const) {
      const rules = gcsLifecycleRules(role, retention);
      const nc = rules.find((r) => r.condition.daysSinceNoncurrentTime !== undefined);
      assert.equal(nc?.condition.daysSinceNoncurrentTime, durationDays(retention.noncurrentVersions));
      assert.equal(nc?.action.type, "Delete");
      assert.ok(types(rules).includes("AbortIncompleteMultipartUpload"));
    }
  });

  it("every field is one the provider accepts", () => {
    const cond = providerFields("BucketLifecycleRuleCondition");
    const action = providerFields("BucketLifecycleRuleAction");
    for (const r of gcsLifecycleRules("metrics", retention)) {
      for (const k of Object.keys(r.condition)) assert.ok(cond.has(k), k);
      for (const k of Object.keys(r.action)) assert.ok(action.has(k), k);
    }
  });
});

describe("bucket IP filter", () => {
  const f = renderBucketIpFilter({ networkProject: "acme-net-prod", network: "prod-01-vpc", cidrs: ["10.40.0.0/20"], publicIps: ["198.51.100.7", "198.51.100.7", "203.0.113.0/28"] });

  it("admits the spoke VPC and the given public addresses as host routes", () => {
    assert.equal(f.mode, "Enabled");
    assert.deepEqual(f.vpcNetworkSources, [{ network: "projects/acme-net-prod/global/networks/prod-01-vpc", allowedIpCidrRanges: ["10.40.0.0/20"] }]);
    assert.deepEqual(f.publicNetworkSource?.allowedIpCidrRanges, ["198.51.100.7/32", "203.0.113.0/28"]);
    assert.equal(f.allowAllServiceAgentAccess, false, "no blanket bypass for service agents");
  });

  it("has no public source when no public address is admitted", () => {
    assert.equal(renderBucketIpFilter({ networkProject: "p-roject", network: "n", cidrs: ["10.0.0.0/8"], publicIps: [] }).publicNetworkSource, undefined);
  });

  it("uses only fields of the provider's BucketIpFilter", () => {
    const known = providerFields("BucketIpFilter");
    for (const k of Object.keys(f)) assert.ok(known.has(k), k);
    const vpc = providerFields("BucketIpFilterVpcNetworkSource");
    for (const k of Object.keys(f.vpcNetworkSources[0])) assert.ok(vpc.has(k), k);
  });
});

describe("Thanos objstore and Loki values against the reference", () => {
  const reference = referenceYaml("thanos-v0.42.4/objstore-gcs.yaml");

  it("writer config: type GCS, the bucket, no key (Workload Identity through ADC)", () => {
    const doc = parse(renderGcsObjstore({ bucket: "b-1" })) as { type: string; config: Record<string, unknown> };
    assert.equal(doc.type, (reference as { type: string }).type);
    assert.equal(doc.config.bucket, "b-1");
    assert.equal(doc.config.service_account, undefined);
    assert.deepEqual(unknownKeyPaths(doc, reference), []);
  });

  it("reader config carries the key JSON as service_account", () => {
    const key = JSON.stringify({ type: "service_account", client_email: "r@p.iam.gserviceaccount.com" }, null, 2);
    const doc = parse(renderGcsObjstore({ bucket: "b-1", serviceAccountJson: key })) as { config: Record<string, unknown> };
    assert.equal(doc.config.service_account, key);
    assert.deepEqual(unknownKeyPaths(doc, reference), []);
  });

  it("Loki storage values are known to the loki 18.11.0 chart", () => {
    const text = readFileSync(join(REFERENCE_DIR, "charts/loki-18.11.0/values.yaml"), "utf8");
    const values = parse(text) as { loki: { storage: Record<string, unknown> } };
    // bucketNames is documented as a commented block in the chart's values; take its keys from there.
    const block = /^ {4}# bucketNames:\n((?: {4}# {3}\w+: .*\n)+)/m.exec(text);
    assert.ok(block !== null, "the chart documents loki.storage.bucketNames");
    const bucketNames = Object.fromEntries([...block[1].matchAll(/# {3}(\w+):/g)].map((m) => [m[1], "x"]));
    const reference = { loki: { ...values.loki, storage: { ...values.loki.storage, bucketNames } } };
    const doc = { loki: renderLokiGcsStorage("logs-bucket") };
    assert.deepEqual(unknownKeyPaths(doc, reference), []);
    assert.equal(doc.loki.storage.type, "gcs");
  });
});

describe("reader key rotation", () => {
  it("the key the hub holds survives one full window after a newer one is exported", () => {
    const days = 30;
    const start = Date.UTC(2026, 0, 1);
    let previous = readerKeySchedule(new Date(start), days);
    for (let d = 1; d < 400; d++) {
      const now = readerKeySchedule(new Date(start + d * 86400_000), days);
      if (now.window === previous.window) {
        assert.deepEqual(now, previous);
        continue;
      }
      assert.equal(now.window, previous.window + 1);
      // The key exported before keeps its keeper: not replaced at this boundary.
      assert.equal(now[previous.current], previous[previous.current]);
      // The newly exported key is the one that was just replaced.
      assert.notEqual(now.current, previous.current);
      assert.notEqual(now[now.current], previous[now.current]);
      previous = now;
    }
  });

  it("refuses a non-positive period", () => {
    assert.throws(() => readerKeySchedule(new Date(), 0));
  });
});

// ---- the component, recorded ---------------------------------------------------------------

function inputs(r: RecordedResource): Record<string, unknown> {
  return reveal(r.inputs) as Record<string, unknown>;
}

describe("Storage component on prod-01", async () => {
  const config = stackConfig("prod-01");
  const hubIps = ["203.0.113.10", "203.0.113.11"];
  const ownIps = ["198.51.100.20"];
  const args: StorageArgs = { retention: config.retention, buckets: ["metrics", "logs"], writers, store, hubEgressIps: hubIps, ownEgressIps: ownIps, readerRotationDays: 30 };
  const now = new Date(Date.UTC(2026, 5, 1));
  const { resources, result: storage } = await recordGcp(config, "st", (ctx) => new GcpStorage("st", { ...args, context: ctx, now }));
  const ofType = (t: string): RecordedResource[] => resources.filter((r) => r.type === t);
  const buckets = ofType("gcp:storage/bucket:Bucket");
  const bucket = (role: string): RecordedResource => {
    const b = buckets.find((x) => x.name === `st-${role}`);
    assert.ok(b !== undefined, `bucket ${role}`);
    return b;
  };
  const project = config.cloud === "gcp" ? config.cluster.project : "";
  const netProject = config.cloud === "gcp" ? (config.network.project ?? config.cluster.project) : "";

  it("registers the component with its type token", () => {
    assert.ok(resources.some((r) => r.type === "sovereign:gcp:Storage" && r.name === "st"));
  });

  it("every bucket meets the GCS checklist", () => {
    assert.deepEqual(buckets.map((b) => b.name).sort(), ["st-logs", "st-metrics"]);
    const key = ofType("gcp:kms/cryptoKey:CryptoKey")[0];
    const grant = ofType("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")[0];
    for (const b of buckets) {
      const i = inputs(b);
      assert.equal(i.uniformBucketLevelAccess, true, "CIS 5.2 / CKV_GCP_29");
      assert.equal(i.publicAccessPrevention, "enforced", "CKV_GCP_114");
      assert.deepEqual(i.versioning, { enabled: true }, "CKV_GCP_78");
      assert.deepEqual(i.softDeletePolicy, { retentionDurationSeconds: SOFT_DELETE_SECONDS });
      assert.equal(i.forceDestroy, false);
      assert.equal(String(i.location).toLowerCase(), config.region);
      assert.equal(i.project, project);
      assert.deepEqual((i.encryption as { defaultKmsKeyName: string }).defaultKmsKeyName, key.id, "Trivy GCP-0066: CMEK");
      assert.ok(b.options.dependsOn.includes(grant.urn), "the bucket waits for the GCS agent's key grant");
      assert.ok(b.options.protect && b.options.retainOnDelete, `${b.name} protected and retained`);
      const labels = i.labels as Record<string, string>;
      for (const [k, v] of Object.entries({ cluster: config.stack, environment: config.environment, region: config.region, cloud: "gcp", "sovereignty-zone": config.sovereigntyZone })) assert.equal(labels[k], v, k);
      const role = b.name.slice("st-".length) as "metrics" | "logs";
      assert.deepEqual(i.lifecycleRules, gcsLifecycleRules(role, config.retention));
    }
  });

  it("the bucket key is regional, rotated, protected, and usable by the GCS agent only via its grant", () => {
    const [ring] = ofType("gcp:kms/keyRing:KeyRing");
    const [key] = ofType("gcp:kms/cryptoKey:CryptoKey");
    assert.equal(inputs(ring).location, config.region);
    assert.equal(inputs(key).rotationPeriod, KMS_ROTATION_PERIOD);
    for (const r of [ring, key]) assert.ok(r.options.protect && r.options.retainOnDelete, r.name);
    const grants = ofType("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").map(inputs);
    assert.equal(grants.length, 1);
    assert.equal(grants[0].cryptoKeyId, key.id);
    assert.equal(grants[0].role, "roles/cloudkms.cryptoKeyEncrypterDecrypter");
    assert.match(String(grants[0].member), /^serviceAccount:service-[0-9]+@gs-project-accounts\.iam\.gserviceaccount\.com$/);
  });

  it("IP filter: spoke VPC everywhere, hub addresses only on the metrics bucket", () => {
    for (const b of buckets) {
      const f = inputs(b).ipFilter as { mode: string; vpcNetworkSources: { network: string; allowedIpCidrRanges: string[] }[]; publicNetworkSource?: { allowedIpCidrRanges: string[] } };
      assert.equal(f.mode, "Enabled");
      assert.deepEqual(f.vpcNetworkSources, [{ network: `projects/${netProject}/global/networks/${config.cloud === "gcp" ? config.network.network : ""}`, allowedIpCidrRanges: config.cloud === "gcp" ? config.network.cidrs : [] }]);
      const pub = f.publicNetworkSource?.allowedIpCidrRanges ?? [];
      for (const ip of ownIps) assert.ok(pub.includes(`${ip}/32`));
      for (const ip of hubIps) assert.equal(pub.includes(`${ip}/32`), b.name === "st-metrics", `${ip} on ${b.name}`);
    }
  });

  it("bucket grants are exactly the plan, to this stack's own service accounts", () => {
    const accounts = ofType("gcp:serviceaccount/account:Account");
    const emailOf = new Map(accounts.map((a) => [a.name.replace(/^st-/, "").replace(/-sa$/, ""), String(a.outputs.email)]));
    const bucketName = new Map(buckets.map((b) => [b.name.slice(3), String(b.outputs.name)]));
    const expected = planBucketBindings(full).map((b) => `${bucketName.get(b.bucket)} ${b.role} serviceAccount:${emailOf.get(b.principal)}`).sort();
    const actual = ofType("gcp:storage/bucketIAMMember:BucketIAMMember").map(inputs).map((i) => `${String(i.bucket)} ${String(i.role)} ${String(i.member)}`).sort();
    assert.deepEqual(actual, expected);
    assert.ok(actual.every((a) => !/allUsers|allAuthenticatedUsers/.test(a)), "CIS 5.1");
  });

  it("each workload identity is impersonable only by its own Kubernetes ServiceAccount", () => {
    const wi = ofType("gcp:serviceaccount/iAMMember:IAMMember").map((r) => ({ name: r.name, i: inputs(r) }));
    const users = { ...writers, store };
    assert.equal(wi.length, Object.keys(users).length, "the hub reader has no Workload Identity binding");
    for (const [user, ref] of Object.entries(users)) {
      const b = wi.find((x) => x.name === `st-${user}-wi`);
      const account = resources.find((r) => r.name === `st-${user}-sa`);
      assert.ok(b !== undefined && account !== undefined, user);
      assert.equal(b.i.role, "roles/iam.workloadIdentityUser");
      assert.equal(b.i.member, `serviceAccount:${project}.svc.id.goog[${ref.namespace}/${ref.serviceAccount}]`);
      assert.equal(b.i.serviceAccountId, account.outputs.name);
      assert.deepEqual(storage.workloadIdentity[user as keyof typeof users]?.annotations, { [GKE_WI_ANNOTATION]: account.outputs.email });
      assert.equal(account.outputs.email, serviceAccountEmail(String(inputs(account).accountId), project));
    }
  });

  it("the hub reader: two overlapping keys, the current one exported as a secret read-only objstore", async () => {
    const keys = ofType("gcp:serviceaccount/key:Key");
    const reader = resources.find((r) => r.name === "st-hub-reader-sa");
    assert.ok(reader !== undefined);
    assert.equal(keys.length, 2);
    const schedule = readerKeySchedule(now, 30);
    for (const k of keys) {
      assert.equal(inputs(k).serviceAccountId, reader.outputs.name);
      assert.ok(isSecretValue(k.outputs.privateKey), "key material is a secret");
      const slot = k.name.endsWith("-a") ? "a" : "b";
      assert.deepEqual(inputs(k).keepers, { rotationWindow: String(schedule[slot]) });
    }
    assert.ok(storage.readonlyObjstore !== undefined);
    assert.equal(await pulumi.isSecret(storage.readonlyObjstore), true);
    const doc = parse(await valueOf(storage.readonlyObjstore)) as { type: string; config: { bucket: string; service_account: string } };
    assert.equal(doc.config.bucket, bucket("metrics").outputs.name);
    const current = keys.find((k) => k.name.endsWith(`-${schedule.current}`));
    assert.ok(current !== undefined);
    const fromKey = Buffer.from(String(reveal(current.outputs.privateKey)), "base64").toString("utf8");
    assert.equal(doc.config.service_account, fromKey);
    assert.equal((JSON.parse(doc.config.service_account) as { client_email: string }).client_email, reader.outputs.email);
    assert.deepEqual(unknownKeyPaths(doc, referenceYaml("thanos-v0.42.4/objstore-gcs.yaml")), []);
  });

  it("the writer objstore has no key and is not a secret; Loki points at the logs bucket", async () => {
    assert.equal(await pulumi.isSecret(storage.writerObjstore), false);
    const doc = parse(await valueOf(storage.writerObjstore)) as { config: Record<string, unknown> };
    assert.deepEqual(doc.config, { bucket: bucket("metrics").outputs.name });
    assert.ok(storage.lokiStorage !== undefined);
    const loki = (await valueOf(storage.lokiStorage)) as { storage: { bucketNames: { chunks: string } } };
    assert.equal(loki.storage.bucketNames.chunks, bucket("logs").outputs.name);
  });

  it("every child uses the stack's explicit GCP provider", () => {
    for (const r of resources.filter((x) => x.custom && !x.type.startsWith("pulumi:providers:"))) assert.match(String(r.provider), /pulumi:providers:gcp::st-gcp::/, r.name);
  });
});

describe("Storage component without a hub reader", async () => {
  const config = stackConfig("prod-01", (v) => {
    v.encryption = { mode: "provider" };
    (v.network as Record<string, unknown>).bucketIpFilter = false;
  });
  const { resources, result } = await recordGcp(config, "nohub", (ctx) =>
    new GcpStorage("nohub", { retention: config.retention, buckets: ["metrics"], writers: { sidecar: writers.sidecar, compactor: writers.compactor }, ownEgressIps: [], readerRotationDays: 30, context: ctx }),
  );

  it("creates no reader, no key, no KMS key, no IP filter", () => {
    assert.equal(resources.filter((r) => r.type === "gcp:storage/bucket:Bucket").length, 1);
    assert.equal(result.readonlyObjstore, undefined);
    for (const t of ["gcp:serviceaccount/key:Key", "gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing"]) assert.equal(resources.filter((r) => r.type === t).length, 0, t);
    assert.ok(!resources.some((r) => r.name.includes("hub-reader")));
    const [b] = resources.filter((r) => r.type === "gcp:storage/bucket:Bucket");
    assert.equal(inputs(b).ipFilter, undefined);
    assert.equal(inputs(b).encryption, undefined);
  });
});
