/**
 * The keyless hub reader across stacks and versions: how a spoke decides what to create from
 * the hub's contract (v1 or v2), how the hub chooses between federation and a key, the migration
 * from keys to federation without a read gap, and the hub's federated store pods run through the
 * real Thanos with the environment they carry: each objstore client reaches its cloud's token
 * exchange (AWS STS answered on loopback, Google STS and Entra ID refused by a network namespace
 * without a route), never a stored credential.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { chooseHubRead, ContractError, parseHubExports, planSpokeReader, type HubExports, type SpokeView } from "../components/contracts";
import { HUB_THANOS } from "../components/workloads/hub";
import * as pulumi from "@pulumi/pulumi";
import { asReference, reveal, runStack, type StackReferenceData, type StackRun } from "../offline";
import { toolPath } from "../toolchain";
import { spokeOutputsV1 } from "./fixtures/exports";
import { ofType, plainOutputs, realFleet, runOf, type RealFleet } from "./support/fleet";
import { requireTool } from "./support/tools";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => {
  assert.ok(v !== null && typeof v === "object" && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)?.slice(0, 200)}`);
  return v as Obj;
};
const at = (v: unknown, path: string): unknown => path.split(".").reduce<unknown>((x, k) => (x !== null && typeof x === "object" ? (x as Obj)[k] : undefined), v);

const ISSUER = "https://oidc.eks.eu-central-1.amazonaws.com/id/A1B2C3D4E5F60718293A4B5C6D7E8F90";
const FEDERATION = { issuerUrl: ISSUER, namespace: "observability", serviceAccountPrefix: "thanos-store-" };

/** A parsed v2 hub contract with the given changes, from the real bootstrap outputs. */
function hubExports(fleet: RealFleet, edit: (o: Obj) => void = () => undefined): HubExports {
  const o = structuredClone(plainOutputs(fleet.bootstrap));
  edit(o);
  return parseHubExports("ops-01", o);
}

/** StackReferences of the hub as a spoke reads it, with its outputs edited. */
function hubRef(fleet: RealFleet, edit: (o: Obj) => void): Record<string, StackReferenceData> {
  const ref = asReference(fleet.bootstrap);
  const outputs = structuredClone(ref.outputs);
  edit(outputs);
  return { "ops-01": { outputs, secretOutputNames: ref.secretOutputNames } };
}

/** A v1 hub's outputs: no federation, no spokeReaders; it lists the spokes it wired. */
const asV1Hub = (spokes: string[]) => (o: Obj): void => {
  o.contractVersion = 1;
  delete o.federation;
  delete o.spokeReaders;
  o.spokes = spokes;
};

let fleet: RealFleet;
before(async () => {
  fleet = await realFleet();
});

describe("what a spoke creates for the hub (planSpokeReader)", () => {
  it("federated with a v2 hub: trust for exactly <prefix><spoke>, no key", () => {
    const plan = planSpokeReader({ spoke: "dev-01", auth: "federated", queryPath: "hub-store", hub: hubExports(fleet) });
    assert.deepEqual(plan, { key: false, federated: { issuerUrl: ISSUER, namespace: "observability", serviceAccount: "thanos-store-dev-01", subject: "system:serviceaccount:observability:thanos-store-dev-01" }, notice: undefined });
  });

  it("a spoke-query spoke gets no reader at all; a key spoke only a key", () => {
    assert.equal(planSpokeReader({ spoke: "prod-01", auth: "federated", queryPath: "spoke-query", hub: hubExports(fleet) }), undefined);
    assert.deepEqual(planSpokeReader({ spoke: "dev-01", auth: "key", queryPath: "hub-store", hub: hubExports(fleet) }), { key: true });
  });

  it("migration: while the hub still reads with the key, the spoke keeps it beside the new trust, and says what retires it", () => {
    const plan = planSpokeReader({ spoke: "dev-01", auth: "federated", queryPath: "hub-store", hub: hubExports(fleet, (o) => { o.spokeReaders = { "dev-01": "key" }; }) });
    assert.equal(plan?.key, true);
    assert.equal(plan?.federated?.subject, "system:serviceaccount:observability:thanos-store-dev-01");
    assert.match(plan?.notice ?? "", /pulumi up -s ops-01', then 'pulumi up -s dev-01'/);
    const after = planSpokeReader({ spoke: "dev-01", auth: "federated", queryPath: "hub-store", hub: hubExports(fleet, (o) => { o.spokeReaders = { "dev-01": "federated" }; }) });
    assert.equal(after?.key, false, "retired once the hub reads federated");
  });

  it("a v1 hub (no issuer): the spoke keeps its key if the hub reads it, and names the hub to update", () => {
    const listed = planSpokeReader({ spoke: "dev-01", auth: "federated", queryPath: "hub-store", hub: hubExports(fleet, asV1Hub(["dev-01"])) });
    assert.equal(listed?.key, true);
    assert.equal(listed?.federated, undefined);
    assert.match(listed?.notice ?? "", /hub ops-01 publishes contract v1, which has no OIDC issuer.*Run 'pulumi up -s ops-01'/);
    const unlisted = planSpokeReader({ spoke: "dev-01", auth: "federated", queryPath: "hub-store", hub: hubExports(fleet, asV1Hub([])) });
    assert.equal(unlisted?.key, false, "a new spoke never creates a key a sovereign org may forbid");
  });

  it("a federated spoke refuses a hub that does not federate, naming both stack files and both fixes", () => {
    assert.throws(
      () => planSpokeReader({ spoke: "dev-01", auth: "federated", queryPath: "hub-store", hub: hubExports(fleet, (o) => { delete o.federation; }) }),
      (e: unknown) => {
        assert.ok(e instanceof ContractError);
        assert.match(e.message, /stack 'ops-01'/);
        assert.match(e.message, /observability:hubReader\.auth: key in Pulumi\.dev-01\.yaml/);
        assert.match(e.message, /observability:hubReader\.auth: federated in Pulumi\.ops-01\.yaml/);
        return true;
      },
    );
  });
});

describe("how the hub reads a spoke (chooseHubRead)", () => {
  const base = (reader: SpokeView["reader"], key?: string): SpokeView =>
    ({ name: "dev-01", queryPath: "hub-store", reader, objstoreReadonly: key === undefined ? undefined : pulumi.secret(key) }) as unknown as SpokeView;
  const identity = { cloud: "aws" as const, roleArn: "arn:aws:iam::111122223333:role/dev-01-observability-hub-reader", region: "eu-central-1" };
  const fed = (subject = "system:serviceaccount:observability:thanos-store-dev-01", issuerUrl = ISSUER): SpokeView["reader"] => ({ auth: "federated", objstore: "type: S3\n", identity, issuerUrl, subject });

  it("federated when the spoke trusts exactly this hub's issuer and ServiceAccount", () => {
    const r = chooseHubRead("ops-01", base(fed()), FEDERATION);
    assert.equal(r.mode, "federated");
    assert.equal(r.mode === "federated" ? r.serviceAccount : "", HUB_THANOS.spokeStore("dev-01"));
  });

  it("falls back to the key when the spoke trusts another issuer or subject, and refuses when there is no key, naming the spoke", () => {
    assert.equal(chooseHubRead("ops-01", base(fed("system:serviceaccount:other:thanos-store-dev-01"), "type: S3\n"), FEDERATION).mode, "key");
    assert.throws(() => chooseHubRead("ops-01", base(fed(undefined, "https://oidc.eks.eu-central-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF")), FEDERATION), /stack 'dev-01'[\s\S]*trusts issuer[\s\S]*Fix: run 'pulumi up -s dev-01'/);
  });

  it("a hub with hubReader.auth key reads a federated-only spoke not at all, and says which setting to change", () => {
    assert.throws(() => chooseHubRead("ops-01", base(fed()), undefined), /hubReader\.auth: federated in Pulumi\.ops-01\.yaml[\s\S]*hubReader\.auth: key in Pulumi\.dev-01\.yaml/);
  });
});

describe("v1 and v2 stacks side by side (real programs)", () => {
  it("a v2 hub reads v1 spokes with their keys, and says so in spokeReaders", async () => {
    const refs: Record<string, StackReferenceData> = {
      "dev-01": asReference(runOf(fleet, "dev-01")),
      "prod-01": asReference(runOf(fleet, "prod-01")),
      "stag-01": asReference(runOf(fleet, "stag-01")), "edge-otc-01": asReference(runOf(fleet, "edge-otc-01")),
    };
    const v1 = await spokeOutputsV1("dev-01");
    refs["dev-01"] = { outputs: v1, secretOutputNames: ["lokiPassword", "objstoreReadonly"] };
    const hub = await runStack({ stack: "ops-01", references: refs });
    assert.equal(hub.error, undefined, hub.error?.message);
    assert.deepEqual(plainOutputs(hub).spokeReaders, { "dev-01": "key", "edge-otc-01": "key", "stag-01": "federated" });
    const secret = hub.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && at(reveal(r.inputs), "metadata.name") === "thanos-objstore-dev-01");
    assert.ok(secret !== undefined);
    assert.equal(String(obj(reveal(secret.inputs.stringData))["objstore.yaml"]), String(reveal(v1.objstoreReadonly)), "the v1 spoke's key");
    const deploy = hub.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && at(reveal(r.inputs), "metadata.name") === HUB_THANOS.spokeStore("dev-01"));
    assert.ok(deploy !== undefined);
    const volumes = at(reveal(deploy.inputs), "spec.template.spec.volumes") as Obj[];
    assert.ok(!volumes.some((v) => v.projected !== undefined), "no token for a key reader");
  });

  it("a v2 spoke reading a v1 hub that reads it keeps its key reader and creates no trust yet", async () => {
    const run = await runStack({ stack: "dev-01", references: hubRef(fleet, asV1Hub(["dev-01"])) });
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(ofType(run, "aws:iam/accessKey:AccessKey").length, 2);
    assert.equal(ofType(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);
    assert.deepEqual(plainOutputs(run).reader, { auth: "key" });
    assert.ok(plainOutputs(run).objstoreReadonly !== undefined);
  });

  it("a spoke reading a hub of a newer contract fails closed and says to update this checkout", async () => {
    const run = await runStack({ stack: "dev-01", references: hubRef(fleet, (o) => { o.contractVersion = 3; }) });
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(plainOutputs(run).exposed, false, "nothing exposed without a hub it can read");
    assert.equal(plainOutputs(run).reader, undefined);
    assert.throws(() => parseHubExports("ops-01", { ...plainOutputs(fleet.bootstrap), contractVersion: 3 }, "spoke dev-01"), /deployed by a newer version of this project[\s\S]*git pull[\s\S]*deploy spoke dev-01 with it/);
  });

  it("migration without a read gap: spoke keeps key and adds trust → hub switches to federation → spoke retires the key", async () => {
    // 1. The hub (v2) still reads dev-01 with its key.
    const migrating = await runStack({ stack: "dev-01", references: hubRef(fleet, (o) => { o.spokeReaders = { "dev-01": "key" }; }) });
    assert.equal(migrating.error, undefined, migrating.error?.message);
    assert.equal(ofType(migrating, "aws:iam/accessKey:AccessKey").length, 2, "the key the hub reads with stays");
    assert.equal(ofType(migrating, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 1, "the trust exists before the hub switches");
    const out = plainOutputs(migrating);
    assert.equal((out.reader as { auth: string }).auth, "federated");
    assert.ok(out.objstoreReadonly !== undefined);
    // Both principals are admitted by the bucket policy while both exist.
    const policies = ofType(migrating, "aws:s3/bucketPolicy:BucketPolicy").map((p) => JSON.parse(String(reveal(p.inputs.policy))) as { Statement: { Sid?: string; Principal?: unknown }[] });
    const hubDeny = policies.flatMap((p) => p.Statement).find((s) => s.Sid === "DenyHubReaderAnythingButListGet");
    assert.equal((obj(hubDeny?.Principal).AWS as string[]).length, 2, "key user and federated role are both bound to list/get");
    // 2. The hub reads the migrating spoke: it prefers federation.
    const refs = { "dev-01": asReference(migrating), "prod-01": asReference(runOf(fleet, "prod-01")), "stag-01": asReference(runOf(fleet, "stag-01")), "edge-otc-01": asReference(runOf(fleet, "edge-otc-01")) };
    const hub = await runStack({ stack: "ops-01", references: refs });
    assert.equal(hub.error, undefined, hub.error?.message);
    assert.equal(obj(plainOutputs(hub).spokeReaders)["dev-01"], "federated");
    // 3. The spoke's next run sees it and deletes the key.
    const retired = await runStack({ stack: "dev-01", references: { "ops-01": asReference(hub) } });
    assert.equal(retired.error, undefined, retired.error?.message);
    assert.equal(ofType(retired, "aws:iam/accessKey:AccessKey").length, 0);
    assert.equal(plainOutputs(retired).objstoreReadonly, undefined);
  });
});

describe("the hub's federated store pods, run through the real Thanos", () => {
  let hub: StackRun;
  let gcpSpoke: StackRun;
  before(async () => {
    // prod-01 as a hub-store spoke, so that one spoke of each cloud is read federated.
    gcpSpoke = await runStack({ stack: "prod-01", references: fleet.hubRefs, mutateConfig: (v) => { v.queryPath = "hub-store"; } });
    assert.equal(gcpSpoke.error, undefined, gcpSpoke.error?.message);
    hub = await runStack({ stack: "ops-01", references: { "dev-01": asReference(runOf(fleet, "dev-01")), "prod-01": asReference(gcpSpoke), "stag-01": asReference(runOf(fleet, "stag-01")), "edge-otc-01": asReference(runOf(fleet, "edge-otc-01")) } });
    assert.equal(hub.error, undefined, hub.error?.message);
  });

  /** The store pod of a spoke: its env (plain values), the objstore Secret's files, the token volume and where they are mounted. */
  function storePod(spoke: string): { env: Record<string, string>; files: Record<string, string>; audience: string; tokenFile: string; filesDir: string } {
    const deploy = hub.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && at(reveal(r.inputs), "metadata.name") === HUB_THANOS.spokeStore(spoke));
    assert.ok(deploy !== undefined, spoke);
    const pod = obj(at(reveal(deploy.inputs), "spec.template.spec"));
    const container = (pod.containers as Obj[])[0];
    const env = Object.fromEntries((container.env as Obj[]).filter((e) => typeof e.value === "string").map((e) => [String(e.name), String(e.value)]));
    const volumes = pod.volumes as Obj[];
    const token = volumes.find((v) => v.projected !== undefined);
    assert.ok(token !== undefined, `${spoke}: a projected token`);
    const source = obj((at(token, "projected.sources") as Obj[])[0].serviceAccountToken);
    const mounts = container.volumeMounts as Obj[];
    const tokenMount = mounts.find((m) => m.name === token.name);
    const objstoreVolume = volumes.find((v) => at(v, "secret.secretName") === `thanos-objstore-${spoke}`);
    const filesMount = mounts.find((m) => m.name === objstoreVolume?.name);
    assert.ok(tokenMount !== undefined && filesMount !== undefined);
    const secret = hub.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && at(reveal(r.inputs), "metadata.name") === `thanos-objstore-${spoke}`);
    assert.ok(secret !== undefined);
    const files = Object.fromEntries(Object.entries(obj(reveal(secret.inputs.stringData))).map(([k, v]) => [k, String(v)]));
    return { env, files, audience: String(source.audience), tokenFile: `${String(tokenMount.mountPath)}/${String(source.path)}`, filesDir: String(filesMount.mountPath) };
  }

  it("GCP: the token's audience is the spoke's provider; ADC finds an external_account file that exchanges exactly that token at Google STS", () => {
    const pod = storePod("prod-01");
    const reader = obj(plainOutputs(gcpSpoke).reader);
    assert.equal(pod.audience, obj(reader.identity).audience);
    assert.deepEqual(Object.keys(pod.env), ["GOOGLE_APPLICATION_CREDENTIALS"]);
    const file = pod.env.GOOGLE_APPLICATION_CREDENTIALS;
    assert.ok(file.startsWith(`${pod.filesDir}/`));
    const creds = JSON.parse(pod.files[file.slice(pod.filesDir.length + 1)]) as Obj;
    assert.deepEqual(creds, {
      universe_domain: "googleapis.com",
      type: "external_account",
      audience: obj(reader.identity).audience,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      credential_source: { file: pod.tokenFile, format: { type: "text" } },
    });
    assert.equal(pod.files["objstore.yaml"], reader.objstore);
  });

  const thanos = requireTool("thanos");

  /**
   * Runs `thanos tools bucket ls` on a store pod's objstore file with the pod's environment, in a
   * network namespace of its own (loopback only, so nothing leaves the machine). Paths of the pod
   * are mapped into a scratch directory; `extraEnv` is added; `script` runs inside the namespace
   * first (a loopback stand-in for a token endpoint) and gets the child's output.
   */
  function bucketLs(spoke: string, extraEnv: Record<string, string> = {}, stsStandIn = false): Promise<string> {
    const pod = storePod(spoke);
    const dir = mkdtempSync(join(tmpdir(), `federated-${spoke}-`));
    const map = (p: string): string => p.replace(pod.filesDir, join(dir, "files")).replace(pod.tokenFile, join(dir, "token"));
    writeFileSync(join(dir, "token"), "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6b2JzZXJ2YWJpbGl0eTp0aGFub3Mtc3RvcmUifQ.c2lnbmF0dXJl\n");
    const files = join(dir, "files");
    mkdirSync(files, { recursive: true });
    for (const [name, text] of Object.entries(pod.files)) writeFileSync(join(files, name), name.endsWith(".json") ? text.split(pod.tokenFile).join(join(dir, "token")) : text);
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir };
    for (const [k, v] of Object.entries(pod.env)) env[k] = map(v);
    Object.assign(env, extraEnv);
    // Inside the namespace: loopback up, an optional STS stand-in recording the first request, then thanos.
    const runner = join(dir, "run.mjs");
    writeFileSync(runner, `
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
execFileSync("ip", ["link", "set", "lo", "up"]);
const env = JSON.parse(process.env.RUN_ENV);
let seen = "";
const start = (port) => {
  if (port !== undefined) env.AWS_ENDPOINT_URL_STS = "http://127.0.0.1:" + port;
  const child = spawn(${JSON.stringify(toolPath("thanos"))}, ["tools", "bucket", "ls", "--objstore.config-file=" + ${JSON.stringify(join(files, "objstore.yaml"))}], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60000);
  const finish = () => { clearTimeout(timer); process.stdout.write(JSON.stringify({ out, sts: seen })); process.exit(0); };
  child.on("close", finish);
  return child;
};
if (${JSON.stringify(stsStandIn)}) {
  let child;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      seen = req.method + " " + req.url + " " + body;
      res.writeHead(403, { "content-type": "text/xml" });
      res.end("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>loopback stand-in</Message></Error></ErrorResponse>");
      setTimeout(() => child.kill("SIGKILL"), 200);
    });
  });
  server.listen(0, "127.0.0.1", () => { child = start(server.address().port); });
} else start();
`);
    return new Promise((done) => {
      const child = spawn("unshare", ["-n", process.execPath, runner], { env: { ...process.env, RUN_ENV: JSON.stringify(env) }, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("close", () => done(out));
    });
  }

  it("AWS: the SDK chain exchanges the projected token at STS for the spoke's reader role (AssumeRoleWithWebIdentity, answered on loopback)", { skip: thanos.skipReason }, async () => {
    const pod = storePod("dev-01");
    const raw = await bucketLs("dev-01", {}, true);
    const result = JSON.parse(raw.slice(raw.indexOf("{"))) as { out: string; sts: string };
    assert.match(result.out, /loading bucket configuration/);
    const [method, , body] = result.sts.split(" ");
    assert.equal(method, "POST", result.out);
    const form = new URLSearchParams(body);
    assert.equal(form.get("Action"), "AssumeRoleWithWebIdentity");
    assert.equal(form.get("RoleArn"), pod.env.AWS_ROLE_ARN);
    assert.equal(form.get("RoleArn"), obj(obj(plainOutputs(runOf(fleet, "dev-01")).reader).identity).roleArn);
    assert.equal(form.get("RoleSessionName"), pod.env.AWS_ROLE_SESSION_NAME);
    assert.match(form.get("WebIdentityToken") ?? "", /^eyJ/, "the projected token is the credential");
  });

  it("GCP: Thanos' GCS client exchanges the token at Google STS (refused: no route out of the namespace)", { skip: thanos.skipReason }, async () => {
    const raw = await bucketLs("prod-01");
    const result = JSON.parse(raw.slice(raw.indexOf("{"))) as { out: string };
    assert.match(result.out, /loading bucket configuration/);
    assert.match(result.out, /oauth2\/google: invalid response from Secure Token Server: Post \\"https:\/\/sts\.googleapis\.com\/v1\/token\\"/, result.out.slice(-600));
  });

  it("Azure: DefaultAzureCredential narrowed to WorkloadIdentityCredential asks the spoke's tenant (refused: no route)", { skip: thanos.skipReason }, async () => {
    const pod = storePod("stag-01");
    const raw = await bucketLs("stag-01");
    const result = JSON.parse(raw.slice(raw.indexOf("{"))) as { out: string };
    assert.match(result.out, /loading bucket configuration/);
    assert.match(result.out, /WorkloadIdentityCredential/, result.out.slice(-600));
    assert.match(result.out, new RegExp(`login\\.microsoftonline\\.com/${pod.env.AZURE_TENANT_ID}/`));
    assert.doesNotMatch(result.out, /ManagedIdentityCredential|169\.254\.169\.254/, "never the instance metadata endpoint");
  });
});

