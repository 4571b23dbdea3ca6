/**
 * The AWS module under the offline engine: the engine's own stack process (test/engine/child.ts)
 * runs a program that loads the real `Pulumi.<stack>.yaml` configuration and composes the AWS
 * storage and egress the way a stack does; the recorded resources (inputs and data-safety
 * options) are then checked item by item against the hardening checklist, and the deployed
 * bucket policies are evaluated with the IAM policy evaluator.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { parse } from "yaml";
import { readStackFile } from "../components/config";
import type { PolicyDocument } from "../components/clouds/aws";
import { isSecretValue, reveal, type RecordedResource } from "./engine";
import type { ChildJob, ChildResult } from "./engine/protocol";

const REPO = join(__dirname, "..");
const HUB_IPS = ["198.51.100.7", "203.0.113.9"];

/**
 * The program the engine runs: the AWS cloud module composed as a stack composes it. Until the
 * engine's output table (test/engine/outputs/index.ts) merges the AWS table, the program adds it.
 */
function programSource(): string {
  const p = (rel: string): string => JSON.stringify(join(REPO, rel));
  return `
import { loadStackConfig } from ${p("components/config")};
import { resourceLabels } from ${p("components/labels")};
import { awsCloud } from ${p("components/clouds/aws")};
import { outputTable, invokeTable } from ${p("test/engine/outputs")};
import { awsOutputs, awsInvokes } from ${p("test/engine/outputs/aws")};
for (const [k, v] of Object.entries(awsOutputs)) if (!(k in outputTable)) (outputTable as Record<string, unknown>)[k] = v;
for (const [k, v] of Object.entries(awsInvokes)) if (!(k in invokeTable)) (invokeTable as Record<string, unknown>)[k] = v;
export = async () => {
  const config = loadStackConfig();
  if (config.cloud !== "aws") throw new Error("not an AWS stack");
  const provider = awsCloud.createProvider(config.stack + "-aws", config);
  const ctx = { stack: config.stack, config, labels: resourceLabels(config), provider };
  const ns = config.namespace;
  const egress = awsCloud.createEgress(config.stack + "-egress", ctx, { egress: config.egress });
  const spoke = config.role === "spoke";
  const storage = awsCloud.createStorage(config.stack + "-storage", ctx, {
    retention: config.retention,
    buckets: spoke ? ["metrics", "logs"] : ["metrics"],
    writers: spoke
      ? { sidecar: { namespace: ns, serviceAccount: "prometheus" }, compactor: { namespace: ns, serviceAccount: "thanos-compactor" }, loki: { namespace: ns, serviceAccount: "loki" } }
      : { sidecar: { namespace: ns, serviceAccount: "thanos-ruler" }, compactor: { namespace: ns, serviceAccount: "thanos-compactor" } },
    store: spoke ? { namespace: ns, serviceAccount: "thanos-store" } : undefined,
    hubEgressIps: spoke ? ${JSON.stringify(HUB_IPS)} : undefined,
    ownEgressIps: egress.egressIps,
    readerRotationDays: 30,
  });
  return {
    egressIps: egress.egressIps,
    metricsBucket: storage.metricsBucket,
    logsBucket: storage.logsBucket,
    writerObjstore: storage.writerObjstore,
    readonlyObjstore: storage.readonlyObjstore,
    lokiStorage: storage.lokiStorage,
    workloadIdentity: storage.workloadIdentity,
  };
};
`;
}

/** Runs the program for a stack in the engine's stack process. */
async function runAws(stack: string, mutate?: (values: Record<string, unknown>) => void): Promise<ChildResult> {
  const dir = mkdtempSync(join(tmpdir(), "sovereign-aws-"));
  try {
    const programPath = join(dir, "program.ts");
    writeFileSync(programPath, programSource());
    const file = readStackFile(REPO, stack);
    const values = structuredClone(file.values);
    mutate?.(values);
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(values)) config[`observability:${k}`] = v;
    const resultPath = join(dir, "result.json");
    const job: ChildJob = {
      projectDir: REPO,
      programPath,
      project: "sovereign-observability",
      organization: "organization",
      stack,
      config,
      secretKeys: [...file.secretKeys],
      references: {},
      env: {},
      resultPath,
    };
    const jobPath = join(dir, "job.json");
    writeFileSync(jobPath, JSON.stringify(job));
    const stderr = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(REPO, "test", "engine", "child.ts"), jobPath], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PULUMI_NODEJS_SKIP_COMPILE: "true" } });
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.stdout.on("data", () => undefined);
      child.on("close", () => resolve(err));
    });
    if (!existsSync(resultPath)) throw new Error(`engine failed on ${stack}:\n${stderr}`);
    const result = JSON.parse(readFileSync(resultPath, "utf8")) as ChildResult;
    if (result.error !== undefined) throw new Error(`${stack}: ${result.error.message}`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ofType = (r: ChildResult, type: string): RecordedResource[] => r.resources.filter((x) => x.type === type);
const input = (res: RecordedResource, key: string): unknown => reveal(res.inputs[key]);
const output = (res: RecordedResource, key: string): unknown => reveal(res.outputs[key]);
/** Side resources of a bucket: those whose `bucket` input is that bucket. */
const forBucket = (r: ChildResult, type: string, bucket: string): RecordedResource[] => ofType(r, type).filter((x) => input(x, "bucket") === bucket);

const REQUIRED_TAGS = ["cluster", "environment", "region", "cloud", "sovereignty-zone"];

function checkBucketChecklist(run: ChildResult, expectKms: boolean): void {
  const buckets = ofType(run, "aws:s3/bucket:Bucket");
  assert.ok(buckets.length > 0);
  for (const b of buckets) {
    const name = String(output(b, "bucket"));
    assert.deepEqual(b.options, { ...b.options, protect: true, retainOnDelete: true }, `${name}: protect + retainOnDelete`);
    assert.equal(input(b, "forceDestroy"), false);
    const tags = input(b, "tags") as Record<string, string>;
    for (const t of REQUIRED_TAGS) assert.ok(typeof tags[t] === "string" && tags[t] !== "", `${name}: tag ${t}`);

    const pab = forBucket(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name);
    assert.equal(pab.length, 1, `${name}: public access block`);
    for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(input(pab[0], k), true, `${name}: ${k}`);

    const own = forBucket(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", name);
    assert.deepEqual(own.map((o) => input(o, "rule")), [{ objectOwnership: "BucketOwnerEnforced" }]);

    const ver = forBucket(run, "aws:s3/bucketVersioning:BucketVersioning", name);
    assert.deepEqual(ver.map((v) => (input(v, "versioningConfiguration") as { status: string }).status), ["Enabled"]);

    const sse = forBucket(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name);
    assert.equal(sse.length, 1);
    const rule = (input(sse[0], "rules") as { applyServerSideEncryptionByDefault: { sseAlgorithm: string; kmsMasterKeyId?: string } }[])[0];
    if (expectKms) {
      assert.equal(rule.applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
      const keyArns = ofType(run, "aws:kms/key:Key").map((k) => output(k, "arn"));
      assert.ok(keyArns.includes(rule.applyServerSideEncryptionByDefault.kmsMasterKeyId), `${name}: encrypted with the stack's customer key`);
    } else {
      assert.equal(rule.applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
    }

    const lc = forBucket(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", name);
    assert.equal(lc.length, 1);
    const rules = input(lc[0], "rules") as { expiration?: { days?: number }; noncurrentVersionExpiration?: unknown; abortIncompleteMultipartUpload?: { daysAfterInitiation: number } }[];
    assert.ok(rules.some((r) => typeof r.expiration?.days === "number"));
    assert.ok(rules.some((r) => r.noncurrentVersionExpiration !== undefined));
    assert.ok(rules.some((r) => r.abortIncompleteMultipartUpload?.daysAfterInitiation === 1));

    const pol = forBucket(run, "aws:s3/bucketPolicy:BucketPolicy", name);
    assert.equal(pol.length, 1);
    const doc = JSON.parse(String(input(pol[0], "policy"))) as PolicyDocument;
    const tls = doc.Statement.find((s) => s.Effect === "Deny" && s.Principal === "*" && s.Condition?.Bool?.["aws:SecureTransport"] === "false");
    assert.ok(tls !== undefined, `${name}: TLS-only statement`);
    assert.ok(!doc.Statement.some((s) => s.Effect === "Allow"), `${name}: the policy grants nothing`);
    // A retained bucket keeps its guards.
    for (const guard of [...pab, ...own, ...ver, ...sse, ...lc, ...pol]) assert.equal(guard.options.retainOnDelete, true, `${guard.name}: retained with the bucket`);
  }
}

/** Evaluates a request against the deployed bucket policy of a bucket (identity allows everything). */
async function deployedDecision(run: ChildResult, bucket: string, action: string, principal: string, ctx: Record<string, string>): Promise<string> {
  const pol = forBucket(run, "aws:s3/bucketPolicy:BucketPolicy", bucket)[0];
  const account = String(reveal((readStackFile(REPO, run.stack).values.cluster as { accountId: string }).accountId));
  const r = await runSimulation({
    request: { principal, action, resource: { resource: `arn:aws:s3:::${bucket}/x`, accountId: account }, contextVariables: { "aws:PrincipalArn": principal, ...ctx } },
    identityPolicies: [{ name: "broad", policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] } }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: JSON.parse(String(input(pol, "policy"))) as PolicyDocument,
  }, {});
  if (r.resultType === "error") throw new Error(JSON.stringify(r.errors));
  return r.overallResult;
}

describe("dev-01 (spoke, Pod Identity, provider-managed keys) under the engine", () => {
  let run: ChildResult;
  before(async () => {
    run = await runAws("dev-01");
  });

  it("pins the provider to the stack's region and account, with default tags", () => {
    const providers = ofType(run, "pulumi:providers:aws");
    assert.equal(providers.length, 1);
    assert.equal(input(providers[0], "region"), "eu-central-1");
    assert.deepEqual(JSON.parse(String(input(providers[0], "allowedAccountIds"))), ["111122223333"]);
    const tags = (JSON.parse(String(input(providers[0], "defaultTags"))) as { tags: Record<string, string> }).tags;
    for (const t of REQUIRED_TAGS) assert.ok(t in tags, t);
    const aws = run.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
    for (const r of aws) assert.ok(r.provider?.includes("pulumi:providers:aws") === true, `${r.name} uses the stack's provider`);
  });

  it("has both buckets with every S3 checklist item", () => {
    assert.equal(ofType(run, "aws:s3/bucket:Bucket").length, 2);
    checkBucketChecklist(run, false);
    assert.equal(ofType(run, "aws:kms/key:Key").length, 0);
  });

  it("creates the S3 gateway endpoint on the private route tables and binds writes to it", async () => {
    const vpce = ofType(run, "aws:ec2/vpcEndpoint:VpcEndpoint");
    assert.equal(vpce.length, 1);
    assert.equal(input(vpce[0], "vpcEndpointType"), "Gateway");
    assert.equal(input(vpce[0], "serviceName"), "com.amazonaws.eu-central-1.s3");
    assert.deepEqual(input(vpce[0], "routeTableIds"), ["rtb-0c33d44e55f66a77b", "rtb-0d44e55f66a77b88c"]);
    const metrics = String(run.outputs.metricsBucket);
    const sidecar = ofType(run, "aws:iam/role:Role").find((r) => String(input(r, "name")).endsWith("-sidecar"));
    assert.ok(sidecar !== undefined);
    const arn = String(output(sidecar, "arn"));
    assert.equal(await deployedDecision(run, metrics, "s3:PutObject", arn, { "aws:SecureTransport": "true", "aws:SourceVpce": vpce[0].id }), "Allowed");
    assert.equal(await deployedDecision(run, metrics, "s3:PutObject", arn, { "aws:SecureTransport": "true", "aws:SourceIp": "192.0.2.10" }), "ExplicitlyDenied");
  });

  it("gives each workload its own role, bound by Pod Identity associations and no annotations", () => {
    const roles = ofType(run, "aws:iam/role:Role");
    assert.deepEqual(roles.map((r) => String(input(r, "name")).replace("dev-01-observability-", "")).sort(), ["compactor", "loki", "sidecar", "store"]);
    const assocs = ofType(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
    assert.deepEqual(assocs.map((a) => `${String(input(a, "namespace"))}/${String(input(a, "serviceAccount"))}`).sort(), ["observability/loki", "observability/prometheus", "observability/thanos-compactor", "observability/thanos-store"]);
    for (const a of assocs) assert.equal(input(a, "clusterName"), "dev-01-eks");
    for (const r of roles) {
      const trust = JSON.parse(String(input(r, "assumeRolePolicy"))) as PolicyDocument;
      assert.deepEqual(trust.Statement[0].Principal, { Service: "pods.eks.amazonaws.com" });
    }
    const wi = run.outputs.workloadIdentity as Record<string, { annotations: Record<string, string> }>;
    for (const u of ["sidecar", "compactor", "loki", "store"]) assert.deepEqual(wi[u].annotations, {});
  });

  it("creates the hub reader with two keys whose secrets stay secret", () => {
    assert.equal(ofType(run, "aws:iam/user:User").length, 1);
    const keys = ofType(run, "aws:iam/accessKey:AccessKey");
    assert.equal(keys.length, 2);
    for (const k of keys) assert.ok(isSecretValue(k.outputs.secret), `${k.name}: secret output`);
    assert.ok(isSecretValue(run.outputs.readonlyObjstore), "readonlyObjstore is a secret");
    const cfg = parse(String(reveal(run.outputs.readonlyObjstore))) as { config: { access_key: string } };
    assert.ok(keys.some((k) => k.id === cfg.config.access_key), "the exported key is one of the reader's keys");
    const policy = JSON.parse(String(input(ofType(run, "aws:iam/userPolicy:UserPolicy")[0], "policy"))) as PolicyDocument;
    assert.ok(JSON.stringify(policy).includes("198.51.100.7/32"));
  });

  it("reserves protected egress addresses on NAT gateways and routes every private table through them", () => {
    const eips = ofType(run, "aws:ec2/eip:Eip");
    assert.equal(eips.length, 2);
    for (const e of eips) {
      assert.equal(input(e, "domain"), "vpc");
      assert.equal(e.options.protect, true);
      assert.equal(e.options.retainOnDelete, true);
    }
    const nats = ofType(run, "aws:ec2/natGateway:NatGateway");
    assert.deepEqual(nats.map((n) => input(n, "subnetId")).sort(), ["subnet-0a11b22c33d44e55f", "subnet-0b22c33d44e55f66a"]);
    assert.deepEqual(nats.map((n) => input(n, "allocationId")).sort(), eips.map((e) => output(e, "allocationId")).sort());
    const routes = ofType(run, "aws:ec2/route:Route");
    assert.deepEqual(routes.map((r) => input(r, "routeTableId")).sort(), ["rtb-0c33d44e55f66a77b", "rtb-0d44e55f66a77b88c"]);
    for (const r of routes) assert.equal(input(r, "destinationCidrBlock"), "0.0.0.0/0");
    assert.deepEqual(new Set(routes.map((r) => input(r, "natGatewayId"))), new Set(nats.map((n) => n.id)), "routes spread over every gateway");
    assert.deepEqual([...(run.outputs.egressIps as string[])].sort(), eips.map((e) => output(e, "publicIp")).sort());
  });
});

describe("ops-01 (hub, IRSA, customer key, adopted endpoint) under the engine", () => {
  let run: ChildResult;
  before(async () => {
    run = await runAws("ops-01");
  });

  it("encrypts with a rotating, protected customer key", () => {
    const keys = ofType(run, "aws:kms/key:Key");
    assert.equal(keys.length, 1);
    assert.equal(input(keys[0], "enableKeyRotation"), true);
    assert.equal(keys[0].options.protect, true);
    assert.equal(keys[0].options.retainOnDelete, true);
    assert.equal(ofType(run, "aws:kms/alias:Alias").length, 1);
    checkBucketChecklist(run, true);
  });

  it("adopts the existing S3 endpoint instead of creating one", async () => {
    assert.equal(ofType(run, "aws:ec2/vpcEndpoint:VpcEndpoint").length, 0);
    const metrics = String(run.outputs.metricsBucket);
    const ruler = ofType(run, "aws:iam/role:Role").find((r) => String(input(r, "name")).endsWith("-sidecar"));
    assert.ok(ruler !== undefined);
    assert.equal(await deployedDecision(run, metrics, "s3:PutObject", String(output(ruler, "arn")), { "aws:SecureTransport": "true", "aws:SourceVpce": "vpce-0f1e2d3c4b5a69799" }), "Allowed");
  });

  it("binds workloads by IRSA: OIDC trust, role annotation, no Pod Identity association", () => {
    assert.equal(ofType(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation").length, 0);
    const issuer = "oidc.eks.eu-central-1.amazonaws.com/id/A1B2C3D4E5F60718293A4B5C6D7E8F90";
    const roles = ofType(run, "aws:iam/role:Role");
    for (const r of roles) {
      const trust = JSON.parse(String(input(r, "assumeRolePolicy"))) as PolicyDocument;
      assert.deepEqual(trust.Statement[0].Principal, { Federated: `arn:aws:iam::444455556666:oidc-provider/${issuer}` });
    }
    const wi = run.outputs.workloadIdentity as Record<string, { annotations: Record<string, string> }>;
    const arns = roles.map((r) => output(r, "arn"));
    for (const u of ["sidecar", "compactor"]) assert.ok(arns.includes(wi[u].annotations["eks.amazonaws.com/role-arn"]), u);
  });

  it("has no reader credential without hub addresses to bind it to", () => {
    assert.equal(ofType(run, "aws:iam/user:User").length, 0);
    assert.equal(run.outputs.readonlyObjstore, undefined);
  });
});

describe("adopted egress under the engine", () => {
  it("reads the given addresses and creates no address, gateway or route", async () => {
    const run = await runAws("dev-01", (v) => {
      v.egress = { mode: "existing", count: 2, addresses: ["eipalloc-0a1b2c3d4e5f60718", "eipalloc-0b1b2c3d4e5f60718"] };
    });
    for (const t of ["aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway", "aws:ec2/route:Route"]) assert.equal(ofType(run, t).length, 0, t);
    const ips = run.outputs.egressIps as string[];
    assert.equal(ips.length, 2);
    for (const ip of ips) assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  });
});
