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
import { asReference, planFleet, reveal, runStack, type RecordedResource, type StackReferenceData, type StackRun } from "../offline";

const REPO = join(__dirname, "..");
/** Optional checklist items: reported as advisories, never blocking. */
const OPTIONAL = new Set(["s3-object-lock", "s3-access-logging", "customer-managed-keys-recommended"]);

let runs: StackRun[] = [];
/** The hub's bootstrap run: what the spokes read through their StackReference. */
let bootstrap: StackRun | undefined;
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
    const plan = await planFleet({});
    runs = plan.runs;
    bootstrap = plan.bootstrap;
    for (const r of runs) assert.equal(r.error, undefined, `${r.stack}: ${r.error?.message ?? ""}`);
  });

  it("every stack has zero mandatory violations; advisories come only from the optional checklist items", () => {
    assert.deepEqual(runs.map((r) => r.stack).sort(), ["dev-01", "edge-dev-01", "edge-otc-01", "ops-01", "prod-01", "stag-01"]);
    for (const r of runs) {
      const v = evaluatePolicies(r);
      assert.deepEqual(mandatory(v), [], r.stack);
      // The S3-compatible spoke adds what its service cannot express, as advisories of their own.
      const allowed = r.config.cloud === "s3" ? new Set([...OPTIONAL, "s3-compatible-guarantees"]) : OPTIONAL;
      for (const x of v) assert.ok(allowed.has(x.policy), `${r.stack}: unexpected advisory ${x.policy}: ${x.message}`);
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

  it("an IAM user with an access key planted in federated dev-01 (which hands the hub no key) is caught by hub-reader-no-stored-credential", () => {
    const r = mutated("dev-01", (rs) => {
      const role = find(rs, (x) => x.type === "aws:iam/role:Role" && x.name.endsWith("hub-reader-role"), "hub reader role");
      const user: RecordedResource = { ...structuredClone(role), type: "aws:iam/user:User", name: "dev-01-storage-hub-reader", urn: role.urn.replace(/aws:iam\/role:Role::.*$/, "aws:iam/user:User::dev-01-storage-hub-reader"), options: { protect: false, retainOnDelete: false, dependsOn: [] } };
      both(user, (p) => {
        for (const k of Object.keys(p)) delete p[k];
        Object.assign(p, { name: "dev-01-observability-hub-reader" });
      });
      const key: RecordedResource = { ...structuredClone(user), type: "aws:iam/accessKey:AccessKey", name: "dev-01-storage-hub-reader-key-a", urn: user.urn.replace(/aws:iam\/user:User::.*$/, "aws:iam/accessKey:AccessKey::dev-01-storage-hub-reader-key-a"), options: { protect: false, retainOnDelete: false, dependsOn: [user.urn] } };
      both(key, (p) => Object.assign(p, { user: "dev-01-observability-hub-reader", status: "Active" }));
      rs.push(user, key);
    });
    assert.deepEqual(blocking(r), ["hub-reader-no-stored-credential"]);
    assert.deepEqual(mandatory(evaluatePolicies(r)).map((v) => v.urn.split("::").pop()).sort(), ["dev-01-storage-hub-reader", "dev-01-storage-hub-reader-key-a"]);
  });

  it("the hub reader's trust widened to StringLike on a wildcard subject is caught by hub-reader-trust-exactly-one-subject", () => {
    const r = mutated("dev-01", (rs) => {
      const role = find(rs, (x) => x.type === "aws:iam/role:Role" && x.name.endsWith("hub-reader-role"), "hub reader role");
      both(role, (p) => {
        const doc = JSON.parse(String(p.assumeRolePolicy)) as { Statement: { Condition: Record<string, Record<string, string>> }[] };
        const eq = doc.Statement[0].Condition.StringEquals;
        const sub = Object.keys(eq).find((k) => k.endsWith(":sub")) ?? "";
        delete eq[sub];
        doc.Statement[0].Condition.StringLike = { [sub]: "system:serviceaccount:observability:thanos-store-*" };
        p.assumeRolePolicy = JSON.stringify(doc);
      });
    });
    assert.deepEqual(blocking(r), ["hub-reader-trust-exactly-one-subject"]);
    const messages = mandatory(evaluatePolicies(r)).map((v) => v.message).join("\n");
    assert.match(messages, /with StringLike: only StringEquals binds exactly one sub/);
  });

  it("the hub reader's federated credential on stag-01 with a wildcard subject and an extra audience is caught by hub-reader-trust-exactly-one-subject", () => {
    const r = mutated("stag-01", (rs) => {
      const fic = find(rs, (x) => x.type === "azure-native:managedidentity:FederatedIdentityCredential" && x.name.endsWith("hub-reader-fic"), "hub reader federated credential");
      both(fic, (p) => Object.assign(p, { subject: "system:serviceaccount:observability:*", audiences: ["api://AzureADTokenExchange", "api://other"] }));
    });
    assert.deepEqual(blocking(r), ["hub-reader-trust-exactly-one-subject"]);
  });

  it("shared key switched on for stag-01's account (federated: no SAS needed), even under the SAS expiration policy, is caught by azure-shared-key-only-for-sas", () => {
    const r = mutated("stag-01", (rs) => {
      both(find(rs, (x) => x.type === "azure-native:storage:StorageAccount", "storage account"), (p) => Object.assign(p, { allowSharedKeyAccess: true, sasPolicy: { sasExpirationPeriod: "61.00:00:00", expirationAction: "Block" } }));
    });
    assert.deepEqual(blocking(r), ["azure-shared-key-only-for-sas"]);
  });

  it("npm run plan -- --enforce exits 3 when a spoke's config moves its data out of the hub's zone, and lists it in fleet.md", () => {
    const dir = mkdtempSync(join(tmpdir(), "sovereign-policy-"));
    try {
      // Without the edge: an edge of zone de on a spoke moved to zone eu is refused by the config first (test/edge-contract.test.ts).
      for (const f of readdirSync(REPO).filter((x) => /^Pulumi(\..+)?\.yaml$/.test(x) && x !== "Pulumi.edge-dev-01.yaml")) copyFileSync(join(REPO, f), join(dir, f));
      // dev-01 moves to Ireland under zone eu; the hub stays in zone de and would read it from there.
      // Its cluster moves with it: the stack's EKS issuer must be one of its own region (contract v2 config check).
      const path = join(dir, "Pulumi.dev-01.yaml");
      writeFileSync(
        path,
        readFileSync(path, "utf8")
          .replace("observability:region: eu-central-1", "observability:region: eu-west-1")
          .replace("observability:sovereigntyZone: de", "observability:sovereigntyZone: eu")
          .replace("oidcIssuerUrl: https://oidc.eks.eu-central-1.amazonaws.com/", "oidcIssuerUrl: https://oidc.eks.eu-west-1.amazonaws.com/")
          .replace(/\n {2}observability:receive:\n(?: {4}.*\n| {6}.*\n)+/, "\n"),
      );
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

/**
 * The migration to the federated reader, through the real program: spokes whose hub (contract v2)
 * still reads them with a key (its spokeReaders says key) keep the key beside the federated reader
 * and export it. The pack blocks nothing then and says, advisory, what finishes the migration; once
 * the key is no longer handed to the hub, the same resources are blocking.
 */
describe("policy pack on spokes migrating to the federated reader", () => {
  const migrating: Record<string, StackRun> = {};
  let gcpFederated: StackRun;

  before(async () => {
    if (bootstrap === undefined) bootstrap = (await planFleet({ stacks: ["ops-01"] })).bootstrap;
    assert.ok(bootstrap !== undefined, "the hub was bootstrapped");
    const hub = asReference(bootstrap);
    const stillKey: Record<string, StackReferenceData> = {
      [bootstrap.stack]: { ...hub, outputs: { ...hub.outputs, spokeReaders: { "dev-01": "key", "stag-01": "key", "prod-01": "key" } } },
    };
    const hubStore = (v: Record<string, unknown>): void => void (v.queryPath = "hub-store");
    const [dev, stag, prod, gcp] = await Promise.all([
      runStack({ stack: "dev-01", references: stillKey }),
      runStack({ stack: "stag-01", references: stillKey }),
      runStack({ stack: "prod-01", references: stillKey, mutateConfig: hubStore }),
      runStack({ stack: "prod-01", references: { [bootstrap.stack]: hub }, mutateConfig: hubStore }),
    ]);
    for (const r of [dev, stag, prod, gcp]) assert.equal(r.error, undefined, `${r.stack}: ${r.error?.message ?? ""}`);
    Object.assign(migrating, { "dev-01": dev, "stag-01": stag, "prod-01": prod });
    gcpFederated = gcp;
  });

  /** A copy of a migrating run that no longer hands the hub its key (objstoreReadonly dropped from the outputs). */
  const keyNotHanded = (r: StackRun): StackRun => {
    const copy = structuredClone(r);
    delete copy.outputs.objstoreReadonly;
    copy.secretOutputNames = copy.secretOutputNames.filter((k) => k !== "objstoreReadonly");
    return copy;
  };

  it("each migrating spoke holds its key and the federated reader, and exports both", () => {
    const types = (r: StackRun): Set<string> => new Set(r.resources.map((x) => x.type));
    assert.ok(types(migrating["dev-01"]).has("aws:iam/accessKey:AccessKey") && types(migrating["dev-01"]).has("aws:iam/openIdConnectProvider:OpenIdConnectProvider"));
    assert.ok(types(migrating["prod-01"]).has("gcp:serviceaccount/key:Key") && types(migrating["prod-01"]).has("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"));
    assert.ok(types(migrating["stag-01"]).has("azure-native:managedidentity:FederatedIdentityCredential"));
    const account = migrating["stag-01"].resources.find((x) => x.type === "azure-native:storage:StorageAccount");
    assert.equal((reveal(account?.inputs) as { allowSharedKeyAccess?: unknown }).allowSharedKeyAccess, true, "the SAS is still signed");
    for (const r of Object.values(migrating)) {
      const out = reveal(r.outputs) as { reader?: { auth?: unknown }; objstoreReadonly?: unknown };
      assert.equal(out.reader?.auth, "federated", r.stack);
      assert.equal(typeof out.objstoreReadonly, "string", r.stack);
    }
  });

  it("blocks nothing, and names the migration and the runs that finish it (advisory)", () => {
    for (const r of Object.values(migrating)) {
      const v = evaluatePolicies(r);
      assert.deepEqual(mandatory(v), [], r.stack);
      const advisory = v.filter((x) => x.policy === "hub-reader-key-migration");
      assert.equal(advisory.length, 1, `${r.stack}: ${JSON.stringify(v)}`);
      assert.equal(advisory[0].enforcementLevel, "advisory");
      assert.match(advisory[0].message, new RegExp(`in progress in spoke ${r.stack}: .*'pulumi up -s ops-01' .*then 'pulumi up -s ${r.stack}' retires the key`));
      for (const x of v) assert.ok(OPTIONAL.has(x.policy) || x.policy === "hub-reader-key-migration", `${r.stack}: unexpected advisory ${x.policy}: ${x.message}`);
    }
  });

  it("the same keys, no longer handed to the hub, are blocking: AWS and GCP by hub-reader-no-stored-credential, Azure's shared key by azure-shared-key-only-for-sas", () => {
    assert.deepEqual(blocking(keyNotHanded(migrating["dev-01"])), ["hub-reader-no-stored-credential"]);
    assert.deepEqual(blocking(keyNotHanded(migrating["prod-01"])), ["hub-reader-no-stored-credential"]);
    assert.deepEqual(blocking(keyNotHanded(migrating["stag-01"])), ["azure-shared-key-only-for-sas"]);
  });

  it("prod-01 read federated (GCP Workload Identity Federation) passes; a provider condition widened with || is caught by hub-reader-trust-exactly-one-subject", () => {
    assert.deepEqual(blocking(gcpFederated), []);
    const widened = structuredClone(gcpFederated);
    const provider = widened.resources.find((x) => x.type === "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
    assert.ok(provider !== undefined, "the pool provider");
    both(provider, (p) => void (p.attributeCondition = `${String(p.attributeCondition)} || assertion.sub == "system:serviceaccount:observability:grafana"`));
    assert.deepEqual(blocking(widened), ["hub-reader-trust-exactly-one-subject"]);
  });
});
