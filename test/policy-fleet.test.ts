/**
 * The policy pack on the example fleet: zero mandatory violations as planned, and each
 * mutation caught by the policy meant for it, both directly (mutated recorded resources) and
 * through `npm run plan -- --enforce` on a mutated copy of the stack files.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { evaluatePolicies, mandatory } from "../policy/offline";
import { planFleet, type RecordedResource, type StackRun } from "../offline";

const REPO = join(__dirname, "..");
/** Optional checklist items: reported as advisories, never blocking. */
const OPTIONAL = new Set(["s3-object-lock", "s3-access-logging", "customer-managed-keys-recommended"]);

let runs: StackRun[] = [];
const run = (stack: string): StackRun => {
  const r = runs.find((x) => x.stack === stack);
  assert.ok(r, `no run of ${stack}`);
  return r;
};

/** A copy of a run whose resources `edit` changed. */
function mutated(stack: string, edit: (resources: RecordedResource[]) => void): StackRun {
  const copy = structuredClone(run(stack));
  edit(copy.resources);
  return copy;
}

function find(resources: RecordedResource[], pred: (r: RecordedResource) => boolean, what: string): RecordedResource {
  const r = resources.find(pred);
  assert.ok(r, `no ${what}`);
  return r;
}

/**
 * Applies an edit to a resource's inputs and to its outputs: the engine's mocks echo inputs
 * into outputs, and stack policies read the outputs as the CLI does.
 */
function both(r: RecordedResource, edit: (props: Record<string, unknown>) => void): void {
  edit(r.inputs);
  if (Object.keys(r.outputs).length > 0) edit(r.outputs);
}

/** Names of the policies with mandatory violations. */
const blocking = (r: StackRun): string[] => [...new Set(mandatory(evaluatePolicies(r)).map((v) => v.policy))].sort();

const isThanos = (r: RecordedResource, sub: string): boolean =>
  (r.type === "kubernetes:apps/v1:StatefulSet" || r.type === "kubernetes:apps/v1:Deployment") && JSON.stringify(r.inputs).includes("quay.io/thanos/thanos") && JSON.stringify(r.inputs).includes(`"args":["${sub}"`);

describe("policy pack on the example fleet", () => {
  before(async () => {
    runs = (await planFleet({})).runs;
    for (const r of runs) assert.equal(r.error, undefined, `${r.stack}: ${r.error?.message ?? ""}`);
  });

  it("every stack has zero mandatory violations; advisories come only from the optional checklist items", () => {
    assert.deepEqual(runs.map((r) => r.stack).sort(), ["dev-01", "ops-01", "prod-01", "stag-01"]);
    for (const r of runs) {
      const v = evaluatePolicies(r);
      assert.deepEqual(mandatory(v), [], r.stack);
      for (const x of v) assert.ok(OPTIONAL.has(x.policy), `${r.stack}: unexpected advisory ${x.policy}: ${x.message}`);
    }
  });

  it("a bucket whose provider sits in another region is caught by sovereign-data-residency", () => {
    const r = mutated("dev-01", (rs) => {
      const aws = find(rs, (x) => x.type === "pulumi:providers:aws", "AWS provider");
      const moved: RecordedResource = { ...structuredClone(aws), urn: aws.urn.replace(/::([^:]+)$/, "::$1-ireland"), name: `${aws.name}-ireland`, id: "ireland" };
      both(moved, (p) => void (p.region = "eu-west-1"));
      rs.push(moved);
      find(rs, (x) => x.type === "aws:s3/bucket:Bucket" && x.name.endsWith("metrics"), "metrics bucket").provider = `${moved.urn}::${moved.id}`;
    });
    assert.deepEqual(blocking(r), ["sovereign-data-residency"]);
  });

  it("a public access block with a flag off and a public ACL are caught by s3-public-access-blocked", () => {
    const r = mutated("dev-01", (rs) => {
      both(find(rs, (x) => x.type === "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "public access block"), (p) => void (p.blockPublicPolicy = false));
      both(find(rs, (x) => x.type === "aws:s3/bucket:Bucket", "bucket"), (p) => void (p.acl = "public-read"));
    });
    assert.deepEqual(blocking(r), ["s3-public-access-blocked"]);
  });

  it("a writer role granted to a principal the stack did not create (the hub) is caught by writers-are-local, on GCP and Azure", () => {
    const gcp = mutated("prod-01", (rs) => {
      // GCP grants are project IAM members conditioned on one bucket (bucket IAM is refused under the bucket IP filter).
      const m = find(rs, (x) => x.type === "gcp:projects/iAMMember:IAMMember", "bucket grant (project IAM member)");
      const hub: RecordedResource = { ...structuredClone(m), urn: `${m.urn}-hub`, name: `${m.name}-hub` };
      both(hub, (p) => Object.assign(p, { role: "roles/storage.objectAdmin", member: "serviceAccount:ops-01-thanos@acme-obs-ops.iam.gserviceaccount.com" }));
      rs.push(hub);
    });
    assert.deepEqual(blocking(gcp), ["writers-are-local"]);
    const az = mutated("stag-01", (rs) => {
      const ra = find(rs, (x) => x.type === "azure-native:authorization:RoleAssignment" && JSON.stringify(x.inputs).includes("ba92f5b4"), "contributor assignment");
      const hub: RecordedResource = { ...structuredClone(ra), urn: `${ra.urn}-hub`, name: `${ra.name}-hub` };
      both(hub, (p) => void (p.principalId = "0f0f0f0f-0000-4000-8000-000000000000"));
      rs.push(hub);
    });
    assert.deepEqual(blocking(az), ["writers-are-local"]);
  });

  it("a hub store gateway with a persistent volume is caught by hub-read-path-ephemeral", () => {
    const stores = run("ops-01").resources.filter((x) => isThanos(x, "store"));
    assert.ok(stores.length > 0, "the hub runs store gateways");
    const r = mutated("ops-01", (rs) => {
      const s = find(rs, (x) => isThanos(x, "store"), "hub store gateway");
      // A PVC volume on the Deployment: the store gateway would cache spoke blocks on disk.
      both(s, (p) => {
        const pod = (p.spec as { template: { spec: { volumes?: unknown[] } } }).template.spec;
        pod.volumes = [...(pod.volumes ?? []), { name: "cache", persistentVolumeClaim: { claimName: "thanos-store-cache" } }];
      });
    });
    assert.deepEqual(blocking(r), ["hub-read-path-ephemeral"]);
  });

  it("a LoadBalancer Service without source ranges is caught by loadbalancer-source-ranges", () => {
    const r = mutated("dev-01", (rs) => {
      const svc = find(rs, (x) => x.type === "kubernetes:core/v1:Service" && JSON.stringify(x.inputs).includes("LoadBalancer"), "LoadBalancer Service");
      both(svc, (p) => void delete (p.spec as { loadBalancerSourceRanges?: unknown }).loadBalancerSourceRanges);
    });
    assert.deepEqual(blocking(r), ["loadbalancer-source-ranges"]);
  });

  it("a hub Alertmanager NetworkPolicy narrowed to the spokes' port is caught by networkpolicies-admit-declared-flows (the ruler's alerts and the mesh)", () => {
    const r = mutated("ops-01", (rs) => {
      const np = find(rs, (x) => x.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy" && JSON.stringify(x.inputs).includes("alertmanager-ingress"), "hub Alertmanager policy");
      both(np, (p) => {
        const spec = p.spec as { ingress: { ports: { port: number }[] }[] };
        spec.ingress = spec.ingress.filter((rule) => rule.ports.some((x) => x.port === 9443));
      });
    });
    assert.deepEqual(blocking(r), ["networkpolicies-admit-declared-flows"]);
    const messages = mandatory(evaluatePolicies(r)).map((v) => v.message).join("\n");
    assert.match(messages, /flow ruler-sends-alerts blocked/);
    assert.match(messages, /flow alertmanager-mesh-udp blocked/);
  });

  it("a spoke bucket policy denying by IpAddress (escaped through a VPC endpoint) is caught by aws-ip-conditions-not-bypassed-by-vpc-endpoint", () => {
    const r = mutated("dev-01", (rs) => {
      const bp = find(rs, (x) => x.type === "aws:s3/bucketPolicy:BucketPolicy", "bucket policy");
      both(bp, (p) => {
        const doc = JSON.parse(String(p.policy)) as { Statement: unknown[] };
        doc.Statement.push({ Sid: "DenyStrangers", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*", Condition: { IpAddress: { "aws:SourceIp": ["192.0.2.0/24"] } } });
        p.policy = JSON.stringify(doc);
      });
    });
    assert.deepEqual(blocking(r), ["aws-ip-conditions-not-bypassed-by-vpc-endpoint"]);
  });

  it("npm run plan -- --enforce exits 3 when a spoke's config moves its data out of the hub's zone, and lists it in fleet.md", () => {
    const dir = mkdtempSync(join(tmpdir(), "sovereign-policy-"));
    try {
      for (const f of readdirSync(REPO).filter((x) => /^Pulumi(\..+)?\.yaml$/.test(x))) copyFileSync(join(REPO, f), join(dir, f));
      // dev-01 moves to Ireland under zone eu; the hub stays in zone de and would read it from there.
      const path = join(dir, "Pulumi.dev-01.yaml");
      writeFileSync(path, readFileSync(path, "utf8").replace("observability:region: eu-central-1", "observability:region: eu-west-1").replace("observability:sovereigntyZone: de", "observability:sovereigntyZone: eu"));
      const out = join(dir, "out");
      const res = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "scripts/plan.ts"), "--project-dir", dir, "--out", out, "--enforce"], { cwd: REPO, encoding: "utf8", timeout: 300_000 });
      assert.equal(res.status, 3, res.stderr);
      assert.match(res.stderr, /policy no-replication-outside-zone \(mandatory\) on ops-01: .*eu-west-1, outside zone 'de'/);
      const md = readFileSync(join(out, "fleet.md"), "utf8");
      assert.match(md, /## Policy[\s\S]*\| ops-01 \| mandatory \| no-replication-outside-zone \|/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
