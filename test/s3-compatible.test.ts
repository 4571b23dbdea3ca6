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
import { S3_PROFILE_SPECS, s3Guarantees, s3GuaranteeTable, type S3ProfileSpec } from "../components/clouds/s3/profiles";
import { renderS3CompatibleLokiStorage, renderS3CompatibleObjstore, s3BucketPolicy, s3LifecycleRules, s3ProviderArgs } from "../components/clouds/s3/render";
import { validateStackConfig, type ConfigIssue } from "../components/config";
import { lokiStorageSchema, lokiValues } from "../components/workloads/values/loki";
import { REPO_ROOT } from "../toolchain";
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
    const v = lokiValues({ profile: "small", mode: "single-binary", storage, retention: { logs: "30d" }, identity, gateway, credentialsSecret: "loki-s3-credentials" }) as { defaults: { extraArgs: string[]; extraEnvFrom: unknown[] } };
    assert.deepEqual(v.defaults.extraArgs, ["-config.expand-env=true"]);
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
