/**
 * Spokes on S3-compatible storage (issue 15, in progress): the configuration rules of cloud s3,
 * the profile table's guarantees, and the bucket policy the module renders, judged by a real
 * S3 server that enforces bucket policies (versitygw v1.8.0, test/support/s3server.ts): the
 * spoke's writers only from the spoke's addresses and only their own actions, the hub's reader
 * read-only and only from the hub's addresses, strangers and anonymous requests nothing.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { anonymousPrincipal, runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { S3_PROFILE_SPECS, s3Guarantees, s3GuaranteeTable, type S3ProfileSpec } from "../components/clouds/s3/profiles";
import { renderS3CompatibleLokiStorage, renderS3CompatibleObjstore, s3BucketPolicy, s3LifecycleRules, s3ProviderArgs } from "../components/clouds/s3/render";
import { validateStackConfig, type ConfigIssue } from "../components/config";
import { lokiStorageSchema, lokiValues } from "../components/workloads/values/loki";
import { REPO_ROOT } from "../toolchain";
import { planFleet, type RecordedResource, type StackRun } from "../offline";
import { isSecretValue, reveal } from "../offline/values";
import { startS3Server, type S3Credentials, type S3Operation, type S3Server } from "./support/s3server";
import { requireTool } from "./support/tools";

// ---- configuration -----------------------------------------------------------------------------

const credential = { accessKey: "AKIAEXAMPLE1", secretKey: "secret-key-1" };
const OTC_USER = (n: string): string => `arn:aws:iam::219d520ceac84c5a98b237431a2cf4c2:user/${n.padEnd(32, "0")}`;

function edgeValues(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    role: "spoke",
    cloud: "s3",
    region: "eu-de",
    environment: "test",
    sovereigntyZone: "de",
    kubeconfig: "apiVersion: v1",
    hub: { stack: "ops-01" },
    endpoints: { thanos: "thanos.edge-otc-01.obs.example.eu", loki: "loki.edge-otc-01.obs.example.eu" },
    alerting: { forwardToHub: true, receiver: { url: "https://alerts.example.eu/r" }, deadMansSwitch: { url: "https://alerts.example.eu/d" } },
    cluster: { name: "edge-otc-01-cce" },
    network: { cidrs: ["10.60.0.0/16"], loadBalancerAnnotations: { "kubernetes.io/elb.id": "7b3a1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" } },
    egress: { mode: "existing", count: 2, addresses: ["80.158.10.21", "80.158.10.22"] },
    objectStorage: {
      profile: "otc",
      endpoint: "https://obs.eu-de.otc.t-systems.com",
      principals: { sidecar: OTC_USER("a1"), compactor: OTC_USER("b2"), loki: OTC_USER("c3"), reader: OTC_USER("d4") },
      credentials: { provisioner: credential, sidecar: credential, compactor: credential, loki: credential, reader: credential },
    },
    ...over,
  };
}

function validate(values: Record<string, unknown>): { ok: boolean; issues: ConfigIssue[] } {
  const r = validateStackConfig(values, { stack: "edge-otc-01", secretKeys: new Set(["observability:kubeconfig", "observability:alerting", "observability:objectStorage"]) });
  return r.ok ? { ok: true, issues: [] } : { ok: false, issues: r.issues };
}

function issueAt(values: Record<string, unknown>, key: string): string {
  const r = validate(values);
  const found = r.issues.find((i) => i.key === key);
  assert.ok(found !== undefined, `expected an issue at ${key}, got ${JSON.stringify(r.issues)}`);
  return found.message;
}

describe("cloud s3 configuration", () => {
  it("an Open Telekom Cloud spoke validates, reads with a key and adopts its egress", () => {
    const r = validateStackConfig(edgeValues(), { stack: "edge-otc-01", secretKeys: new Set(["observability:kubeconfig", "observability:alerting", "observability:objectStorage"]) });
    assert.ok(r.ok, JSON.stringify(!r.ok ? r.issues : []));
    assert.equal(r.config.cloud, "s3");
    assert.equal(r.config.role === "spoke" ? r.config.hubReader.auth : undefined, "key");
  });

  it("refuses what the service cannot do, naming the key and the fix", () => {
    assert.match(issueAt(edgeValues({ role: "hub" }), "observability:cloud"), /hub on cloud s3 is not supported/);
    assert.match(issueAt(edgeValues({ hubReader: { auth: "federated" } }), "observability:hubReader.auth"), /cannot trust the hub cluster's ServiceAccount issuer/);
    assert.match(issueAt(edgeValues({ egress: { mode: "create", count: 2 } }), "observability:egress.mode"), /mode: existing/);
    assert.match(issueAt(edgeValues({ region: "eu01" }), "observability:region"), /not a region of profile otc; use one of eu-de/);
    assert.match(issueAt(edgeValues({ sovereigntyZone: "fr" }), "observability:sovereigntyZone"), /outside zone 'fr'/);
  });

  it("requires the read-only identity its query path uses, and refuses the one it does not", () => {
    const noReader = edgeValues();
    const os = noReader.objectStorage as { principals: Record<string, string> };
    delete os.principals.reader;
    assert.match(issueAt(noReader, "observability:objectStorage.principals.reader"), /hub's store gateway reads/);
    const spokeQuery = edgeValues({ queryPath: "spoke-query" });
    assert.match(issueAt(spokeQuery, "observability:objectStorage.principals.store"), /spoke's own store gateway/);
    assert.match(issueAt(spokeQuery, "observability:objectStorage.principals.reader"), /not used with queryPath spoke-query/);
  });

  it("on-premises services are located by <country>-<site>, and an AWS stack has no objectStorage", () => {
    const ceph = edgeValues({ region: "de-fra1", objectStorage: { ...(edgeValues().objectStorage as object), profile: "ceph", endpoint: "https://rgw.fra1.example.eu" } });
    assert.ok(validate(ceph).ok, JSON.stringify(validate(ceph).issues));
    assert.match(issueAt(edgeValues({ region: "frankfurt", objectStorage: { ...(edgeValues().objectStorage as object), profile: "ceph" } }), "observability:region"), /<country>-<site>/);
    assert.match(issueAt({ ...edgeValues(), cloud: "aws" }, "observability:objectStorage"), /only used with cloud s3/);
  });
});

// ---- renderers -----------------------------------------------------------------------------

describe("cloud s3 renderers", () => {
  const endpoint = { url: "https://obs.eu-de.otc.t-systems.com", region: "eu-de", addressing: "virtual-host" as const };

  it("the provider never asks AWS: no STS validation, region check, account lookup or metadata probe", () => {
    const a = s3ProviderArgs(endpoint);
    assert.deepEqual(a.endpoints, [{ s3: "https://obs.eu-de.otc.t-systems.com" }]);
    assert.equal(a.s3UsePathStyle, false);
    assert.equal(a.skipCredentialsValidation && a.skipRegionValidation && a.skipRequestingAccountId && a.skipMetadataApiCheck, true);
  });

  it("the objstore file uses only keys of the pinned Thanos objstore, https and the profile's addressing", () => {
    const reference = parse(readFileSync(join(REPO_ROOT, "..", "shared", "reference", "thanos-v0.42.4", "objstore-s3.yaml"), "utf8")) as { config: Record<string, unknown> };
    const doc = parse(renderS3CompatibleObjstore({ bucket: "b", endpoint, credentials: { accessKey: "k", secretKey: "s" } })) as { type: string; config: Record<string, unknown> };
    assert.equal(doc.type, "S3");
    for (const k of Object.keys(doc.config)) assert.ok(k in reference.config, `objstore key ${k} is not a key of Thanos v0.42.4's S3 config`);
    assert.equal(doc.config.endpoint, "obs.eu-de.otc.t-systems.com");
    assert.equal(doc.config.insecure, false);
    assert.equal(doc.config.bucket_lookup_type, "virtual-hosted");
  });

  it("Loki's key stays out of the Helm values: environment references filled from a Secret", () => {
    const storage = lokiStorageSchema.parse(renderS3CompatibleLokiStorage({ bucket: "logs", endpoint }).storage);
    assert.throws(() => lokiStorageSchema.parse({ ...storage, s3: { ...(storage.type === "s3" ? storage.s3 : {}), accessKeyId: "AKIAREALKEY" } }), /environment reference/);
    const identity = { serviceAccountName: "loki", annotations: {}, podLabels: {} };
    const gateway = { htpasswdSecret: "h", tlsSecret: "t" };
    assert.throws(() => lokiValues({ profile: "small", mode: "single-binary", storage, retention: { logs: "30d" }, identity, gateway }), /no credentialsSecret/);
    // -config.expand-env=true comes from the chart itself (test/s3-thanos.test.ts renders it and checks the container's args).
    const v = lokiValues({ profile: "small", mode: "single-binary", storage, retention: { logs: "30d" }, identity, gateway, credentialsSecret: "loki-s3-credentials" }) as { defaults: { extraEnvFrom: unknown[] } };
    assert.deepEqual(v.defaults.extraEnvFrom, [{ secretRef: { name: "loki-s3-credentials" } }]);
  });

  it("a profile that cannot express a guarantee yields an advisory naming why and its source, never a silent gap", () => {
    for (const spec of Object.values(S3_PROFILE_SPECS)) {
      for (const g of s3Guarantees(spec)) {
        assert.ok(g.detail.length > 0);
        if (!g.expressed) assert.match(g.detail, new RegExp(`${spec.title.replace(/[()]/g, ".")} cannot express it`));
      }
    }
    const generic = s3Guarantees(S3_PROFILE_SPECS.generic);
    assert.ok(generic.every((g) => !g.expressed), "nothing is assumed of an unknown service");
    assert.throws(() => s3BucketPolicy({ bucket: "b", profile: S3_PROFILE_SPECS.minio, writers: {}, localReaders: {}, spokeSourceCidrs: ["192.0.2.1/32"] }), /no bucket policies/);
    assert.deepEqual(s3LifecycleRules("metrics", { raw: "30d", fiveMinutes: "180d", oneHour: "1y", logs: "30d", local: "24h", noncurrentVersions: "7d" }, S3_PROFILE_SPECS.minio).map((r) => r.id), ["expire-current-versions", "expire-noncurrent-versions"]);
  });
});

// ---- the rendered bucket policy on a real server -------------------------------------------

const vgw = requireTool("versitygw");

/**
 * Ceph's profile, as versitygw knows principals: by access key id (versitygw v1.8.0
 * auth/bucket_policy_principals.go), where Ceph uses `arn:aws:iam::<tenant>:user/<uid>`; the
 * statements are otherwise exactly what a Ceph spoke gets. The server here speaks plain HTTP, so
 * the profile's TLS statement is checked on its own below.
 */
const CEPH_HTTP: S3ProfileSpec = { ...S3_PROFILE_SPECS.ceph, secureTransport: { supported: false, source: "test: plain-HTTP server" } };

const SPOKE = "127.0.1.5";
const HUB = "127.0.9.5";
const ELSEWHERE = "127.0.7.7";
const keys = (name: string): S3Credentials => ({ accessKey: name, secretKey: `${name}-secret-0001` });
const sidecar = keys("sidecar");
const compactor = keys("compactor");
const hubReader = keys("hubreader");
const stranger = keys("stranger");

describe("the rendered bucket policy, enforced by a real S3 server (versitygw v1.8.0)", { skip: vgw.skipReason }, () => {
  let server: S3Server;
  const bucket = "edge-metrics";
  const call = (as: S3Credentials | "anonymous", from: string, op: S3Operation): Promise<number> => server.request({ ...op, as, from }).then((r) => r.status);
  const put = (key: string): S3Operation => ({ op: "PutObject", bucket, key, body: "block" });

  before(async () => {
    server = await startS3Server();
    for (const k of [sidecar, compactor, hubReader, stranger]) await server.createUser(k.accessKey, k.secretKey);
    await server.createBucket(bucket);
    const policy = s3BucketPolicy({
      bucket,
      profile: CEPH_HTTP,
      writers: { sidecar: sidecar.accessKey, compactor: compactor.accessKey },
      localReaders: {},
      spokeSourceCidrs: ["127.0.1.0/24"],
      hubReader: { principal: hubReader.accessKey, sourceIps: [HUB] },
    });
    await server.putBucketPolicy(bucket, policy);
  });
  after(async () => {
    await server?.stop();
  });

  it("writers write from the spoke's addresses, only their own actions: the sidecar never deletes", async () => {
    assert.equal(await call(sidecar, SPOKE, put("01/meta.json")), 200);
    assert.equal(await call(sidecar, SPOKE, { op: "GetObject", bucket, key: "01/meta.json" }), 200);
    assert.equal(await call(sidecar, SPOKE, { op: "ListObjectsV2", bucket }), 200);
    assert.equal(await call(sidecar, SPOKE, { op: "DeleteObject", bucket, key: "01/meta.json" }), 403);
    assert.equal(await call(compactor, SPOKE, put("02/meta.json")), 200);
    assert.equal(await call(compactor, SPOKE, { op: "DeleteObject", bucket, key: "02/meta.json" }), 204);
  });

  it("a writer's key from anywhere else is refused", async () => {
    assert.equal(await call(sidecar, ELSEWHERE, put("x")), 403);
    assert.equal(await call(sidecar, HUB, { op: "GetObject", bucket, key: "01/meta.json" }), 403);
    assert.equal(await call(compactor, ELSEWHERE, { op: "ListObjectsV2", bucket }), 403);
  });

  it("the hub reads from the hub's addresses only, and never writes or changes the bucket", async () => {
    assert.equal(await call(hubReader, HUB, { op: "ListObjectsV2", bucket }), 200);
    assert.equal(await call(hubReader, HUB, { op: "GetObject", bucket, key: "01/meta.json" }), 200);
    assert.equal(await call(hubReader, HUB, put("y")), 403);
    assert.equal(await call(hubReader, HUB, { op: "DeleteObject", bucket, key: "01/meta.json" }), 403);
    assert.equal(await call(hubReader, HUB, { op: "PutBucketPolicy", bucket, policy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) }), 403);
    assert.equal(await call(hubReader, SPOKE, { op: "GetObject", bucket, key: "01/meta.json" }), 403);
    assert.equal(await call(hubReader, ELSEWHERE, { op: "ListObjectsV2", bucket }), 403);
  });

  it("strangers and anonymous requests get nothing, from anywhere", async () => {
    for (const from of [SPOKE, HUB, ELSEWHERE]) {
      assert.equal(await call(stranger, from, { op: "GetObject", bucket, key: "01/meta.json" }), 403);
      assert.equal(await call(stranger, from, put("z")), 403);
      assert.equal(await call("anonymous", from, { op: "ListObjectsV2", bucket }), 403);
      assert.equal(await call("anonymous", from, { op: "GetObject", bucket, key: "01/meta.json" }), 403);
    }
  });

  it("where the profile evaluates aws:SecureTransport, a plain-HTTP request is refused even to a writer", async () => {
    const tlsBucket = "edge-tls";
    await server.createBucket(tlsBucket);
    await server.putBucketPolicy(tlsBucket, s3BucketPolicy({ bucket: tlsBucket, profile: S3_PROFILE_SPECS.ceph, writers: { sidecar: sidecar.accessKey }, localReaders: {}, spokeSourceCidrs: ["127.0.1.0/24"] }));
    assert.equal(await call(sidecar, SPOKE, { op: "PutObject", bucket: tlsBucket, key: "a", body: "b" }), 403);
  });
});

describe("README: what each S3-compatible profile expresses", () => {
  it("is the profile table of components/clouds/s3/profiles.ts, cell for cell", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    assert.ok(readme.includes(`${s3GuaranteeTable()}\n`), "README's S3-compatible profile table differs from s3GuaranteeTable(): regenerate it");
  });
});

describe("cloud s3 principals", () => {
  it("a principal in another service's format is refused, naming the expected form and its source", () => {
    const values = edgeValues();
    (values.objectStorage as { principals: Record<string, string> }).principals.sidecar = "domain/219d520ceac84c5a98b237431a2cf4c2:user/4f1d2c3b5a6e47f8a9b0c1d2e3f4a5b6";
    assert.match(issueAt(values, "observability:objectStorage.principals.sidecar"), /expected the form arn:aws:iam::.*bucket_policy/);
  });
});

// ---- the same policy, as IAM evaluates it ------------------------------------------------------

/**
 * The rendered policy evaluated by the IAM policy evaluator (@cloud-copilot/iam-simulate), with
 * Ceph's principal form (`arn:aws:iam::<tenant>:user/<uid>`, Ceph "Bucket Policies"): the S3
 * policy language these services implement a subset of. It adds what the real server above
 * cannot show: an identity whose own account-level policy grants `s3:*` (as an OTC IAM policy with
 * OBS rights, or a Ceph bucket owner, would) is still held to its addresses by the explicit denies.
 */
describe("the rendered bucket policy, as the IAM policy evaluator decides it", () => {
  const TENANT = "123456789012";
  const user = (u: string): string => `arn:aws:iam::${TENANT}:user/${u}`;
  const bucket = "edge-metrics";
  const policy = s3BucketPolicy({
    bucket,
    profile: S3_PROFILE_SPECS.ceph,
    writers: { sidecar: user("sidecar"), compactor: user("compactor") },
    localReaders: {},
    spokeSourceCidrs: ["198.51.100.10/32"],
    hubReader: { principal: user("hub-reader"), sourceIps: ["203.0.113.7"] },
  });
  const everything = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };
  async function decide(principal: string | typeof anonymousPrincipal, action: string, sourceIp: string, o: { key?: string; tls?: boolean; broad?: boolean } = {}): Promise<string> {
    const sim: Simulation = {
      request: {
        principal,
        action,
        resource: { resource: `arn:aws:s3:::${bucket}${action === "s3:ListBucket" || action === "s3:PutBucketPolicy" ? "" : `/${o.key ?? "01/meta.json"}`}`, accountId: TENANT },
        contextVariables: { "aws:SourceIp": sourceIp, "aws:SecureTransport": o.tls === false ? "false" : "true", ...(typeof principal === "string" ? { "aws:PrincipalArn": principal } : {}) },
      },
      identityPolicies: o.broad === true ? [{ name: "account-level", policy: everything }] : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policy,
    };
    const r = await runSimulation(sim, {});
    if (r.resultType === "error") throw new Error(`simulation rejected: ${JSON.stringify(r.errors)}`);
    return r.overallResult;
  }
  const SPOKE = "198.51.100.10";
  const HUB_IP = "203.0.113.7";
  const STRANGER = "192.0.2.99";

  it("writers from the spoke's address, their own actions only", async () => {
    assert.equal(await decide(user("sidecar"), "s3:PutObject", SPOKE), "Allowed");
    assert.equal(await decide(user("sidecar"), "s3:DeleteObject", SPOKE), "ImplicitlyDenied");
    assert.equal(await decide(user("compactor"), "s3:DeleteObject", SPOKE), "Allowed");
    assert.equal(await decide(user("sidecar"), "s3:PutObject", STRANGER), "ExplicitlyDenied");
  });

  it("an identity with account-wide S3 rights is still held to its addresses, and the reader to reading", async () => {
    assert.equal(await decide(user("sidecar"), "s3:PutObject", STRANGER, { broad: true }), "ExplicitlyDenied");
    assert.equal(await decide(user("sidecar"), "s3:PutBucketPolicy", STRANGER, { broad: true }), "ExplicitlyDenied");
    assert.equal(await decide(user("hub-reader"), "s3:PutObject", HUB_IP, { broad: true }), "ExplicitlyDenied");
    assert.equal(await decide(user("hub-reader"), "s3:DeleteObject", HUB_IP, { broad: true }), "ExplicitlyDenied");
  });

  it("the hub reads from its address only; strangers, anonymous requests and plain HTTP get nothing", async () => {
    assert.equal(await decide(user("hub-reader"), "s3:GetObject", HUB_IP), "Allowed");
    assert.equal(await decide(user("hub-reader"), "s3:ListBucket", HUB_IP), "Allowed");
    assert.equal(await decide(user("hub-reader"), "s3:GetObject", SPOKE), "ExplicitlyDenied");
    assert.notEqual(await decide(user("stranger"), "s3:GetObject", SPOKE), "Allowed");
    assert.notEqual(await decide(anonymousPrincipal, "s3:GetObject", HUB_IP), "Allowed");
    assert.equal(await decide(user("sidecar"), "s3:PutObject", SPOKE, { tls: false }), "ExplicitlyDenied");
  });
});

// ---- the real program, offline ----------------------------------------------------------------

describe("edge-otc-01 planned by the offline engine (the real program, its real stack file)", () => {
  let edge: StackRun;
  let hubIps: string[];
  before(async () => {
    // The hub's bootstrap run is what the spoke read (its addresses).
    let hub: StackRun | undefined;
    const plan = await planFleet({ stacks: ["edge-otc-01"], onStack: (r, phase) => { if (phase === "bootstrap") hub = r; } });
    const run = plan.runs.find((r) => r.stack === "edge-otc-01");
    assert.ok(run !== undefined);
    edge = run;
    hubIps = (reveal(hub?.outputs.egressIps) as string[] | undefined) ?? [];
  });
  const of = (type: string): RecordedResource[] => edge.resources.filter((r) => r.type === type);
  const input = (r: RecordedResource, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), reveal(r.inputs));

  it("runs, with protected and retained buckets through the provider pointed at OBS", () => {
    assert.equal(edge.error, undefined, edge.error?.message);
    const buckets = of("aws:s3/bucket:Bucket");
    assert.deepEqual(buckets.map((b) => input(b, "bucket")).sort(), ["acme-edge-otc-01-logs", "acme-edge-otc-01-metrics"]);
    for (const b of buckets) assert.ok(b.options.protect && b.options.retainOnDelete, `${b.name} protected and retained`);
    const provider = edge.resources.find((r) => r.type === "pulumi:providers:aws");
    assert.ok(provider !== undefined);
    assert.match(JSON.stringify(reveal(provider.inputs)), /obs\.eu-de\.otc\.t-systems\.com/);
    assert.ok(isSecretValue(provider.inputs.secretKey), "the provisioner's secret key stays a Pulumi secret");
  });

  it("creates what OTC supports (versioning, bucket policies) and nothing it does not (SSE-S3, public access block, lifecycle)", () => {
    assert.equal(of("aws:s3/bucketVersioning:BucketVersioning").length, 2);
    assert.equal(of("aws:s3/bucketPolicy:BucketPolicy").length, 2);
    for (const t of ["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"]) assert.equal(of(t).length, 0, t);
  });

  it("the metrics bucket policy is the renderer's, for the stack's principals, its egress and the hub's", () => {
    const metrics = of("aws:s3/bucketPolicy:BucketPolicy").find((r) => input(r, "bucket") === "acme-edge-otc-01-metrics");
    assert.ok(metrics !== undefined);
    const principal = (u: string): string => `arn:aws:iam::219d520ceac84c5a98b237431a2cf4c2:user/${u}`;
    const expected = s3BucketPolicy({
      bucket: "acme-edge-otc-01-metrics",
      profile: S3_PROFILE_SPECS.otc,
      writers: { sidecar: principal("4f1d2c3b5a6e47f8a9b0c1d2e3f4a5b6"), compactor: principal("5a2e3d4c6b7f48a9b0c1d2e3f4a5b6c7") },
      localReaders: {},
      spokeSourceCidrs: ["80.158.10.21", "80.158.10.22"],
      hubReader: { principal: principal("7c4a5f6e8d9b4ac1d2e3f4a5b6c7d8e9"), sourceIps: hubIps },
    });
    assert.ok(hubIps.length > 0);
    assert.deepEqual(JSON.parse(String(input(metrics, "policy"))), expected);
  });

  it("each Thanos workload mounts only its own key; Loki's key is a Secret of its own; the hub's key is a secret output", () => {
    const secrets = new Map(of("kubernetes:core/v1:Secret").map((r) => [String(input(r, "metadata", "name")), r]));
    assert.equal(secrets.has("thanos-objstore"), false, "no shared objstore Secret");
    const sidecar = String(input(secrets.get("thanos-objstore-sidecar") as RecordedResource, "stringData", "objstore.yaml"));
    const compactor = String(input(secrets.get("thanos-objstore-compactor") as RecordedResource, "stringData", "objstore.yaml"));
    const key = (yaml: string): unknown => (parse(yaml) as { config: { access_key: unknown } }).config.access_key;
    assert.notEqual(key(sidecar), key(compactor));
    assert.ok(isSecretValue((secrets.get("thanos-objstore-sidecar") as RecordedResource).inputs.stringData) || JSON.stringify((secrets.get("thanos-objstore-sidecar") as RecordedResource).inputs).includes("4dabf18193072939515e22adb298388d"), "the objstore file is a secret");
    const compact = edge.resources.find((r) => r.type === "kubernetes:apps/v1:StatefulSet" && input(r, "metadata", "name") === "thanos-compact");
    assert.ok(compact !== undefined);
    const volumes = JSON.stringify(input(compact, "spec", "template", "spec", "volumes"));
    assert.match(volumes, /thanos-objstore-compactor/);
    assert.doesNotMatch(volumes, /thanos-objstore-sidecar/);
    assert.ok(secrets.has("loki-s3-credentials"));
    assert.ok(isSecretValue(edge.outputs.objstoreReadonly), "the hub's read key is a secret output");
  });
});
