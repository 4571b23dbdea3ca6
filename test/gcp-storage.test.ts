/**
 * GCP storage: bindings plan, bucket hardening, lifecycle, IP filter, objstore and Loki values
 * against the upstream reference, reader key rotation. What the real prod-01 stack registers is
 * checked in gcp-engine.test.ts.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import {
  GCS_ROLES,
  UPLOADER,
  UPLOADER_PERMISSIONS,
  bucketCondition,
  bucketRetentionDays,
  gcsBucketName,
  gcsLifecycleRules,
  GCS_BUCKET_NAME,
  planBucketBindings,
  readerKeySchedule,
  renderBucketIpFilter,
  renderGcsObjstore,
  renderLokiGcsStorage,
  serviceAccountId,
  SERVICE_ACCOUNT_ID,
  uploaderRoleId,
  workloadIdentityMember,
  workloadIdentityPoolNotice,
  type BindingsInput,
} from "../components/clouds/gcp";
import { readStackFile, validateStackConfig } from "../components/config";
import { durationDays } from "../components/config";
import { REPO_DIR } from "../offline";
import { spokeConfig } from "./support/fleet";
import { REFERENCE_DIR, referenceYaml, unknownKeyPaths } from "./support/reference";

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
    assert.ok(!rolesOf("hub-reader").some((r) => r === UPLOADER || r === GCS_ROLES.objectAdmin));
  });

  it("only the compactor is objectAdmin on metrics; the store only reads", () => {
    const admins = plan.filter((b) => b.bucket === "metrics" && b.role === GCS_ROLES.objectAdmin).map((b) => b.principal);
    assert.deepEqual(admins, ["compactor"]);
    assert.ok(!rolesOf("sidecar").includes(GCS_ROLES.objectAdmin));
    assert.ok(rolesOf("store").every((r) => READ_ONLY.has(r)));
  });

  it("the sidecar can retry an upload: its role holds what overwriting an object needs, and nothing beyond objects", () => {
    // Cloud Storage: replacing an existing object needs storage.objects.create AND storage.objects.delete
    // (https://cloud.google.com/storage/docs/access-control/iam-permissions, note on storage.objects.create;
    // https://cloud.google.com/storage/docs/access-control/iam-xml, POST object); a retried Thanos upload
    // overwrites the half-written object (thanos-io/thanos#3744). Thanos also reads and lists (thanos-io/thanos#290).
    // The old plan (objectCreator + objectViewer) held no storage.objects.delete, so the retry got 403.
    const OVERWRITE_NEEDS = ["storage.objects.create", "storage.objects.delete"];
    const THANOS_READS = ["storage.objects.get", "storage.objects.list"];
    assert.deepEqual(rolesOf("sidecar"), [UPLOADER]);
    for (const p of [...OVERWRITE_NEEDS, ...THANOS_READS]) assert.ok(UPLOADER_PERMISSIONS.includes(p), p);
    assert.deepEqual([...UPLOADER_PERMISSIONS].sort(), [...OVERWRITE_NEEDS, ...THANOS_READS].sort(), "least privilege: no update, no IAM, no bucket permission");
    assert.match(uploaderRoleId("an-unusually-long-stack-name-01"), /^[a-zA-Z0-9_.]{3,64}$/, "IAM custom role id rule");
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

/**
 * The Cloud Storage names IAM Conditions see: `projects/_/buckets/BUCKET` for a bucket (list
 * is checked on it) and `projects/_/buckets/BUCKET/objects/OBJECT` for an object
 * (https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name). The
 * condition is evaluated here for the two clause shapes it uses (==, startsWith).
 */
function conditionAdmits(expression: string, type: string, name: string): boolean {
  return expression.split(" || ").some((clause) => {
    const t = /resource\.type == "([^"]+)"/.exec(clause)?.[1];
    const eq = /resource\.name == "([^"]+)"/.exec(clause)?.[1];
    const prefix = /resource\.name\.startsWith\("([^"]+)"\)/.exec(clause)?.[1];
    assert.ok(t !== undefined && (eq !== undefined || prefix !== undefined), `unparsed clause ${clause}`);
    return t === type && (eq !== undefined ? name === eq : name.startsWith(prefix ?? "\0"));
  });
}

describe("bucket grants as conditioned project IAM", () => {
  const c = bucketCondition("acme-prod-01-metrics");
  const B = "storage.googleapis.com/Bucket";
  const O = "storage.googleapis.com/Object";

  it("admits the bucket (object listing) and its objects", () => {
    assert.ok(conditionAdmits(c.expression, B, "projects/_/buckets/acme-prod-01-metrics"));
    assert.ok(conditionAdmits(c.expression, O, "projects/_/buckets/acme-prod-01-metrics/objects/01J0/meta.json"));
  });

  it("refuses every other bucket, including one whose name extends this one, and non-storage resources", () => {
    assert.ok(!conditionAdmits(c.expression, B, "projects/_/buckets/acme-prod-01-metrics2"));
    assert.ok(!conditionAdmits(c.expression, O, "projects/_/buckets/acme-prod-01-metrics2/objects/x"));
    assert.ok(!conditionAdmits(c.expression, O, "projects/_/buckets/acme-prod-01-logs/objects/x"));
    assert.ok(!conditionAdmits(c.expression, "cloudresourcemanager.googleapis.com/Project", "projects/acme-obs-prod-01"));
  });

  it("has a title IAM accepts (at most 100 characters)", () => {
    assert.ok(c.title.length > 0 && c.title.length <= 100);
  });
});

describe("project-wide Workload Identity pool", () => {
  // GKE "Identity sameness" (https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity):
  // every cluster of a project shares <project>.svc.id.goog, so the same namespace/KSA in another cluster is the same principal.
  it("warns until the operator confirms the project is dedicated, and is silent once confirmed", () => {
    assert.match(workloadIdentityPoolNotice("prod-01", "acme-obs-prod-01", undefined) ?? "", /acme-obs-prod-01\.svc\.id\.goog.*shared.*cluster\.dedicatedProject: true.*Pulumi\.prod-01\.yaml/);
    assert.equal(workloadIdentityPoolNotice("prod-01", "acme-obs-prod-01", true), undefined);
  });

  it("a project declared shared is refused before anything is planned, naming the key", () => {
    const file = readStackFile(REPO_DIR, "prod-01");
    const values = structuredClone(file.values);
    (values.cluster as Record<string, unknown>).dedicatedProject = false;
    const r = validateStackConfig(values, { stack: "prod-01", secretKeys: file.secretKeys });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.issues.some((i) => i.key === "observability:cluster.dedicatedProject" && /Workload Identity pool is shared/.test(i.message)), JSON.stringify(!r.ok && r.issues));
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
  const retention = spokeConfig("prod-01").retention;
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
