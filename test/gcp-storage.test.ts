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
  workloadIdentityMember,
  type BindingsInput,
} from "../components/clouds/gcp";
import { durationDays } from "../components/config";
import { REPO_DIR } from "../offline";
import { stackConfig } from "./support/fleet";
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
