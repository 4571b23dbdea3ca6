/**
 * A MinIO spoke whose identities the stack creates (`objectStorage.identities: created`, issue 15):
 * the configuration rules, the user policies the module renders (judged by the IAM policy evaluator
 * @cloud-copilot/iam-simulate: MinIO implements AWS IAM's policy language and evaluates aws:SourceIp
 * for every action, https://min.io/docs/minio/linux/administration/identity-access-management/policy-based-access-control.html#minio-policy-conditions),
 * and the real program planned offline: one MinIO user, policy and attachment per identity, the
 * generated keys secret end to end, and no identity key in the configuration.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { parse, stringify } from "yaml";
import { S3_PROFILE_SPECS, s3Guarantees, s3GuaranteeTable } from "../components/clouds/s3/profiles";
import { minioProviderArgs, S3_USER_ACTIONS, s3CreatedUserName, s3UserPolicy, type S3IamPolicyDocument } from "../components/clouds/s3/render";
import { s3PlanSection } from "../components/clouds/s3/plan";
import { neededSecretLeaves, readStackFile, validateStackConfig, type ConfigIssue } from "../components/config";
import { isSecretValue, REPO_DIR, reveal, runStack, type RecordedResource, type StackRun } from "../offline";
import { evaluatePolicies } from "../policy/offline";
import { allPolicies } from "../policy/policies";
import { input, ofType, realFleet, spokeRunOptions, type RealFleet } from "./support/fleet";

// ---- configuration -----------------------------------------------------------------------------

const credential = { accessKey: "minio-admin", secretKey: "secret-key-1" };
const SECRET_KEYS = new Set(["observability:kubeconfig", "observability:alerting", "observability:objectStorage"]);

/** A MinIO spoke on premises whose identities the stack creates. */
function minioValues(storage: Record<string, unknown> = {}, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    role: "spoke",
    cloud: "s3",
    region: "de-fra1",
    environment: "test",
    sovereigntyZone: "de",
    kubeconfig: "apiVersion: v1",
    hub: { stack: "ops-01" },
    endpoints: { thanos: "thanos.edge-minio-01.obs.example.eu", loki: "loki.edge-minio-01.obs.example.eu" },
    alerting: { forwardToHub: true, receiver: { url: "https://alerts.example.eu/r" }, deadMansSwitch: { url: "https://alerts.example.eu/d" } },
    cluster: { name: "edge-minio-01" },
    network: { cidrs: ["10.70.0.0/16"] },
    egress: { mode: "existing", count: 1, addresses: ["198.51.100.10"] },
    objectStorage: { profile: "minio", endpoint: "https://minio.fra1.example.eu:9000", identities: "created", credentials: { provisioner: credential }, ...storage },
    ...over,
  };
}

function issues(values: Record<string, unknown>): ConfigIssue[] {
  const r = validateStackConfig(values, { stack: "edge-minio-01", secretKeys: SECRET_KEYS });
  return r.ok ? [] : r.issues;
}

function issueAt(values: Record<string, unknown>, key: string): string {
  const all = issues(values);
  const found = all.find((i) => i.key === key);
  assert.ok(found !== undefined, `expected an issue at ${key}, got ${JSON.stringify(all)}`);
  return found.message;
}

describe("objectStorage.identities: created", () => {
  it("a MinIO spoke with only the provisioner's key validates, and needs no other identity key", () => {
    const values = minioValues();
    const r = validateStackConfig(values, { stack: "edge-minio-01", secretKeys: SECRET_KEYS });
    assert.ok(r.ok, JSON.stringify(!r.ok ? r.issues : []));
    assert.ok(r.config.cloud === "s3" && r.config.objectStorage.identities === "created");
    const storageLeaves = neededSecretLeaves(values).filter((l) => l.startsWith("objectStorage."));
    assert.deepEqual([...storageLeaves].sort(), ["objectStorage.credentials.provisioner.accessKey", "objectStorage.credentials.provisioner.secretKey"]);
    // The default stays provided, which needs every identity's key.
    const provided = neededSecretLeaves({ ...values, objectStorage: { profile: "minio" } });
    assert.ok(provided.includes("objectStorage.credentials.sidecar.secretKey") && provided.includes("objectStorage.credentials.reader.secretKey"));
  });

  it("is refused on any other profile, naming the key and the fix", () => {
    const otc = minioValues({ profile: "ceph", endpoint: "https://rgw.fra1.example.eu" });
    assert.match(issueAt(otc, "observability:objectStorage.identities"), /found "created" on profile ceph.*only on profile minio.*radosgw-admin.*remove it from Pulumi\.edge-minio-01\.yaml/);
  });

  it("refuses principals and identity keys beside created identities", () => {
    const values = minioValues({ principals: { sidecar: "edge-sidecar", compactor: "edge-compactor", loki: "edge-loki", reader: "edge-reader" }, credentials: { provisioner: credential, sidecar: credential, reader: credential } });
    assert.match(issueAt(values, "observability:objectStorage.principals"), /must be absent with identities: created/);
    assert.match(issueAt(values, "observability:objectStorage.credentials.sidecar"), /must be absent.*pulumi config rm --path 'observability:objectStorage.credentials.sidecar' -s edge-minio-01/);
    assert.match(issueAt(values, "observability:objectStorage.credentials.reader"), /must be absent/);
    assert.equal(issues(values).some((i) => i.key === "observability:objectStorage.credentials.provisioner"), false);
  });

  it("with identities provided (the default), principals and each writer's key stay required", () => {
    const values = minioValues({ identities: undefined });
    assert.match(issueAt(values, "observability:objectStorage.principals"), /not set; with identities: provided.*or set objectStorage\.identities: created/);
    assert.match(issueAt(values, "observability:objectStorage.credentials.sidecar"), /not set; the sidecar writes with its own key.*fleet -- secrets/);
    assert.match(issueAt(minioValues({ identities: "minted" }), "observability:objectStorage.identities"), /provided, created/);
  });
});

// ---- the user policies, as IAM evaluates them ----------------------------------------------------

describe("the created users' IAM policies, as the IAM policy evaluator decides them", () => {
  const ACCOUNT = "123456789012";
  const BUCKET = "edge-minio-01-metrics";
  const LOGS = "edge-minio-01-logs";
  const SPOKE = "198.51.100.10";
  const HUB = "203.0.113.7";
  const STRANGER = "192.0.2.99";
  const minio = S3_PROFILE_SPECS.minio;
  const policyOf = (user: "sidecar" | "compactor" | "loki" | "store" | "reader"): S3IamPolicyDocument =>
    s3UserPolicy({ user, bucket: user === "loki" ? LOGS : BUCKET, profile: minio, sourceCidrs: user === "reader" ? [HUB] : [`${SPOKE}/32`] });
  const arn = (u: string): string => `arn:aws:iam::${ACCOUNT}:user/${u}`;
  const everything = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };

  async function decide(user: string, policies: readonly S3IamPolicyDocument[], action: string, sourceIp: string, o: { bucket?: string; broad?: boolean } = {}): Promise<string> {
    const bucket = o.bucket ?? BUCKET;
    const bucketLevel = ["s3:ListBucket", "s3:PutBucketPolicy", "s3:DeleteBucket", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration"].includes(action);
    const sim: Simulation = {
      request: {
        principal: arn(user),
        action,
        resource: { resource: `arn:aws:s3:::${bucket}${bucketLevel ? "" : "/01/meta.json"}`, accountId: ACCOUNT },
        contextVariables: { "aws:SourceIp": sourceIp, "aws:SecureTransport": "true" },
      },
      identityPolicies: [...policies.map((policy, i) => ({ name: `policy-${i}`, policy })), ...(o.broad === true ? [{ name: "attached-later", policy: everything }] : [])],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    };
    const r = await runSimulation(sim, {});
    if (r.resultType === "error") throw new Error(`simulation rejected: ${JSON.stringify(r.errors)}`);
    return r.overallResult;
  }

  it("each user is allowed exactly its actions, on its bucket", () => {
    for (const user of ["sidecar", "compactor", "loki", "store", "reader"] as const) {
      const allow = policyOf(user).Statement.find((s) => s.Effect === "Allow");
      assert.ok(allow !== undefined);
      assert.deepEqual(allow.Action, [...S3_USER_ACTIONS[user]], user);
      const bucket = user === "loki" ? LOGS : BUCKET;
      assert.deepEqual(allow.Resource, [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`]);
    }
    // MinIO's policy language has no ACL actions; a policy naming one would be refused whole (minio/pkg policy/actionset.go).
    assert.doesNotMatch(JSON.stringify(policyOf("reader")), /Acl/);
  });

  it("a writer writes from the spoke's address, and is denied from anywhere else", async () => {
    assert.equal(await decide("sidecar", [policyOf("sidecar")], "s3:PutObject", SPOKE), "Allowed");
    assert.equal(await decide("sidecar", [policyOf("sidecar")], "s3:ListBucket", SPOKE), "Allowed");
    assert.equal(await decide("compactor", [policyOf("compactor")], "s3:DeleteObject", SPOKE), "Allowed");
    assert.equal(await decide("loki", [policyOf("loki")], "s3:PutObject", SPOKE, { bucket: LOGS }), "Allowed");
    assert.equal(await decide("sidecar", [policyOf("sidecar")], "s3:PutObject", STRANGER), "ExplicitlyDenied");
    assert.equal(await decide("compactor", [policyOf("compactor")], "s3:GetObject", HUB), "ExplicitlyDenied");
  });

  it("the sidecar never deletes; no writer touches another bucket", async () => {
    assert.equal(await decide("sidecar", [policyOf("sidecar")], "s3:DeleteObject", SPOKE), "ImplicitlyDenied");
    assert.equal(await decide("loki", [policyOf("loki")], "s3:PutObject", SPOKE, { bucket: BUCKET }), "ImplicitlyDenied");
    assert.equal(await decide("sidecar", [policyOf("sidecar")], "s3:PutObject", SPOKE, { bucket: LOGS }), "ImplicitlyDenied");
  });

  it("the reader reads only from the hub's address and never writes, even with a broader policy attached later", async () => {
    assert.equal(await decide("reader", [policyOf("reader")], "s3:GetObject", HUB), "Allowed");
    assert.equal(await decide("reader", [policyOf("reader")], "s3:ListBucket", HUB), "Allowed");
    assert.equal(await decide("reader", [policyOf("reader")], "s3:GetObject", SPOKE), "ExplicitlyDenied");
    assert.equal(await decide("reader", [policyOf("reader")], "s3:PutObject", HUB), "ExplicitlyDenied");
    assert.equal(await decide("reader", [policyOf("reader")], "s3:PutObject", HUB, { broad: true }), "ExplicitlyDenied");
    assert.equal(await decide("reader", [policyOf("reader")], "s3:DeleteObject", HUB, { broad: true }), "ExplicitlyDenied");
    assert.equal(await decide("reader", [policyOf("reader")], "s3:PutBucketPolicy", HUB, { broad: true }), "ExplicitlyDenied");
    assert.equal(await decide("store", [policyOf("store")], "s3:PutObject", SPOKE, { broad: true }), "ExplicitlyDenied");
    assert.equal(await decide("sidecar", [policyOf("sidecar")], "s3:PutObject", STRANGER, { broad: true }), "ExplicitlyDenied");
  });

  it("a stranger (a user with no policy of the stack) is denied", async () => {
    assert.notEqual(await decide("stranger", [], "s3:GetObject", SPOKE), "Allowed");
    assert.notEqual(await decide("stranger", [], "s3:ListBucket", HUB), "Allowed");
  });

  it("refuses a profile that cannot create identities, and empty addresses", () => {
    assert.throws(() => s3UserPolicy({ user: "sidecar", bucket: BUCKET, profile: S3_PROFILE_SPECS.ceph, sourceCidrs: [SPOKE] }), /cannot create identities/);
    assert.throws(() => s3UserPolicy({ user: "reader", bucket: BUCKET, profile: minio, sourceCidrs: [] }), /source addresses are empty/);
  });

  it("the MinIO provider gets host:port without scheme, TLS on, and the signing region", () => {
    assert.deepEqual(minioProviderArgs({ url: "https://minio.fra1.example.eu:9000", region: "de-fra1", addressing: "path" }), { minioServer: "minio.fra1.example.eu:9000", minioSsl: true, minioInsecure: false, minioRegion: "de-fra1" });
    assert.equal(minioProviderArgs({ url: "https://minio.fra1.example.eu", region: "us-east-1", addressing: "path" }).minioServer, "minio.fra1.example.eu:443");
  });
});

// ---- guarantees, plan, README ------------------------------------------------------------------

describe("guarantees of a MinIO spoke by identity mode", () => {
  it("created identities bind writers and the reader by IAM policy; provided ones still are an advisory", () => {
    const created = new Map(s3Guarantees(S3_PROFILE_SPECS.minio, "created").map((g) => [g.id, g]));
    assert.equal(created.get("writers-bound-to-egress")?.expressed, true);
    assert.equal(created.get("reader-bound-to-hub")?.expressed, true);
    assert.match(created.get("writers-bound-to-egress")?.detail ?? "", /IAM policy of each created user.*X-Forwarded-For.*policy-based-access-control/);
    assert.equal(created.get("tls-only")?.expressed, false);
    const provided = new Map(s3Guarantees(S3_PROFILE_SPECS.minio).map((g) => [g.id, g]));
    assert.equal(provided.get("writers-bound-to-egress")?.expressed, false);
    assert.throws(() => s3Guarantees(S3_PROFILE_SPECS.otc, "created"), /cannot create its identities/);
  });

  it("the plan shows the created users and no binding advisory", () => {
    const section = s3PlanSection({ stack: "edge-minio-01", objectStorage: { profile: "minio", endpoint: "https://minio.fra1.example.eu:9000", identities: "created" }, retention: {}, queryPath: "hub-store", buckets: {} }).join("\n");
    assert.match(section, /\| writers only from the spoke's addresses \| yes \|/);
    assert.match(section, /`edge-minio-01-sidecar`, `edge-minio-01-compactor`, `edge-minio-01-loki`, `edge-minio-01-reader`/);
    const provided = s3PlanSection({ stack: "edge-minio-01", objectStorage: { profile: "minio", endpoint: "https://minio.fra1.example.eu:9000" }, retention: {}, buckets: {} }).join("\n");
    assert.match(provided, /\| writers only from the spoke's addresses \| \*\*advisory\*\* \|/);
  });

  it("the README table has a column for MinIO with created identities", () => {
    const readme = readFileSync(join(REPO_DIR, "README.md"), "utf8");
    assert.match(s3GuaranteeTable(), /minio \(MinIO\), identities: created/);
    assert.ok(readme.includes(`${s3GuaranteeTable()}\n`), "README's S3-compatible profile table differs from s3GuaranteeTable(): regenerate it");
  });
});

// ---- the real program, offline --------------------------------------------------------------

/** edge-otc-01's stack file turned into an on-premises MinIO spoke whose identities the stack creates. */
function toMinio(values: Record<string, unknown>): void {
  values.region = "de-fra1";
  const storage = values.objectStorage as Record<string, unknown>;
  const credentials = storage.credentials as Record<string, unknown>;
  storage.profile = "minio";
  storage.endpoint = "https://minio.fra1.example.eu:9000";
  storage.identities = "created";
  delete storage.principals;
  // Only the provisioner's key: every other identity is the stack's to create.
  storage.credentials = { provisioner: credentials.provisioner };
}

describe("a MinIO spoke with created identities, planned by the offline engine (edge-otc-01 turned MinIO)", () => {
  let fleet: RealFleet;
  let run: StackRun;
  before(async () => {
    fleet = await realFleet(["edge-otc-01"]);
    run = await runStack(spokeRunOptions(fleet, "edge-otc-01", (v) => toMinio(v)));
  });
  const hubIps = (): string[] => (reveal(fleet.bootstrap.outputs.egressIps) as string[]).map(String);
  const users = (): RecordedResource[] => ofType(run, "minio:index/iamUser:IamUser");

  it("runs, with the MinIO provider on the endpoint, TLS on, and the provisioner's key secret", () => {
    assert.equal(run.error, undefined, run.error?.message);
    const providers = ofType(run, "pulumi:providers:minio");
    assert.equal(providers.length, 1);
    const p = providers[0];
    assert.equal(input(p, "minioServer"), "minio.fra1.example.eu:9000");
    assert.equal(String(input(p, "minioSsl")), "true");
    assert.equal(input(p, "minioRegion"), "de-fra1");
    assert.ok(isSecretValue(p.inputs.minioPassword) && isSecretValue(p.inputs.minioUser), "the admin credential stays a Pulumi secret");
  });

  it("creates one protected user per identity in use, named after the stack, each with its own policy and attachment", () => {
    const expected = ["sidecar", "compactor", "loki", "reader"].map((u) => s3CreatedUserName("edge-otc-01", u as "sidecar"));
    assert.deepEqual(users().map((u) => input(u, "name")).sort(), [...expected].sort());
    for (const u of users()) {
      assert.ok(u.options.protect, `${u.name} protected`);
      assert.equal(input(u, "forceDestroy"), false, "forceDestroy true would delete the user on any update");
      assert.ok(isSecretValue(u.outputs.secret), `${u.name}: its generated secret is a Pulumi secret`);
    }
    const policies = ofType(run, "minio:index/iamPolicy:IamPolicy");
    const attachments = ofType(run, "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment");
    assert.deepEqual(policies.map((p) => input(p, "name")).sort(), [...expected].sort());
    assert.deepEqual(attachments.map((a) => `${String(input(a, "userName"))}=${String(input(a, "policyName"))}`).sort(), expected.map((n) => `${n}=${n}`).sort());
    // A MinIO bucket policy would apply to anonymous requests only: none is written.
    assert.equal(ofType(run, "aws:s3/bucketPolicy:BucketPolicy").length, 0);
  });

  it("each policy is the renderer's: the writers bound to the spoke's egress, the reader to the hub's", () => {
    const policy = (user: string): unknown => {
      const p = ofType(run, "minio:index/iamPolicy:IamPolicy").find((x) => input(x, "name") === `edge-otc-01-${user}`);
      assert.ok(p !== undefined, user);
      return JSON.parse(String(input(p, "policy")));
    };
    const spoke = ["80.158.10.21", "80.158.10.22"];
    assert.deepEqual(policy("sidecar"), s3UserPolicy({ user: "sidecar", bucket: "acme-edge-otc-01-metrics", profile: S3_PROFILE_SPECS.minio, sourceCidrs: spoke }));
    assert.deepEqual(policy("loki"), s3UserPolicy({ user: "loki", bucket: "acme-edge-otc-01-logs", profile: S3_PROFILE_SPECS.minio, sourceCidrs: spoke }));
    assert.ok(hubIps().length > 0);
    assert.deepEqual(policy("reader"), s3UserPolicy({ user: "reader", bucket: "acme-edge-otc-01-metrics", profile: S3_PROFILE_SPECS.minio, sourceCidrs: hubIps() }));
  });

  it("the workloads get the created users' keys, secret end to end", () => {
    const secrets = new Map(ofType(run, "kubernetes:core/v1:Secret").map((r) => [String((input(r, "metadata") as { name?: string }).name), r]));
    const sidecar = secrets.get("thanos-objstore-sidecar");
    assert.ok(sidecar !== undefined);
    assert.ok(isSecretValue(sidecar.inputs.stringData), "the objstore file is a secret");
    const doc = parse(String((input(sidecar, "stringData") as Record<string, string>)["objstore.yaml"])) as { config: { access_key: string; secret_key: string } };
    assert.equal(doc.config.access_key, "edge-otc-01-sidecar");
    const user = users().find((u) => input(u, "name") === "edge-otc-01-sidecar");
    assert.ok(user !== undefined);
    assert.equal(doc.config.secret_key, reveal(user.outputs.secret));
    assert.ok(isSecretValue(run.outputs.objstoreReadonly), "the hub's read key is a secret output");
    assert.match(String(reveal(run.outputs.objstoreReadonly)), /access_key: edge-otc-01-reader/);
  });

  it("the policy pack no longer reports unbound keys, and still does for provided identities", () => {
    const guarantees = allPolicies.find((p) => p.name === "s3-compatible-guarantees");
    assert.ok(guarantees !== undefined);
    const messages = evaluatePolicies(run, { policies: [guarantees], config: {} }).map((v) => v.message);
    assert.equal(messages.some((m) => /has no bucket policy/.test(m)), false, messages.join("\n"));
    assert.ok(messages.some((m) => /no lifecycle rules/.test(m)), "what MinIO cannot express is still reported");
    const unbound: StackRun = { ...run, resources: run.resources.filter((r) => r.type !== "minio:index/iamPolicy:IamPolicy") };
    assert.ok(evaluatePolicies(unbound, { policies: [guarantees], config: {} }).some((v) => /has no bucket policy/.test(v.message)));
  });

  it("a stack file with created identities needs no identity key: only the provisioner's is stood in", () => {
    const dir = mkdtempSync(join(tmpdir(), "s3-minio-"));
    const doc = parse(readFileSync(join(REPO_DIR, "Pulumi.edge-otc-01.yaml"), "utf8")) as { config: Record<string, unknown> };
    const storage = doc.config["observability:objectStorage"] as Record<string, unknown>;
    storage.profile = "minio";
    storage.endpoint = "https://minio.fra1.example.eu:9000";
    storage.identities = "created";
    delete storage.principals;
    doc.config["observability:region"] = "de-fra1";
    writeFileSync(join(dir, "Pulumi.edge-minio-01.yaml"), stringify(doc));
    const file = readStackFile(dir, "edge-minio-01");
    assert.deepEqual(file.standInSecrets.filter((k) => k.includes("objectStorage")).sort(), ["observability:objectStorage.credentials.provisioner.accessKey", "observability:objectStorage.credentials.provisioner.secretKey"]);
    const r = validateStackConfig(file.values, { stack: "edge-minio-01", secretKeys: file.secretKeys });
    assert.ok(r.ok, JSON.stringify(!r.ok ? r.issues : []));
  });
});
