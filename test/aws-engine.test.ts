/**
 * The AWS stacks as they really run: the offline engine plans the fleet once (hub bootstrap,
 * spokes reading it, hub reading the spokes) from the real stack programs and
 * `Pulumi.<stack>.yaml` files, and the recorded resources of dev-01 (spoke, Pod Identity,
 * provider-managed keys) and ops-01 (hub, IRSA, customer key, adopted S3 endpoint) are checked
 * item by item against the hardening checklist. Deployed bucket and reader policies are
 * evaluated with the IAM policy evaluator; the hub addresses come from the real hub bootstrap.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { webIdentityDecision } from "./support/web-identity";
import { parse } from "yaml";
import { asCidrs, clusterArn, issuerHostPath, oidcProviderArn, readerRoleName, readerUserName, workloadRoleName, type PolicyDocument } from "../components/clouds/aws";
import type { BucketUser } from "../components/clouds/types";
import { SERVICE_ACCOUNTS } from "../components/endpoints";
import { isSecretValue, reveal, runStack, type RecordedResource, type StackRun } from "../offline";
import {
  assertDataSafe,
  assertEgressIps,
  assertExplicitProvider,
  assertReadonlyObjstoreSecret,
  input,
  ofType,
  output,
  plainOutputs,
  realFleet,
  runOf,
  spokeRunOptions,
  type RealFleet,
} from "./support/fleet";

const REQUIRED_TAGS = ["cluster", "environment", "region", "cloud", "sovereignty-zone"];
const NAMESPACE = "observability";

let fleet: RealFleet;
let dev: StackRun;
let devKey: StackRun;
let ops: StackRun;
before(async () => {
  fleet = await realFleet(["dev-01", "ops-01"]);
  dev = runOf(fleet, "dev-01");
  ops = runOf(fleet, "ops-01");
  // The same spoke with a static key reader (hubReader.auth: key), as for a hub whose issuer is private.
  devKey = await runStack(spokeRunOptions(fleet, "dev-01", (v) => {
    v.hubReader = { auth: "key" };
  }));
  assert.equal(devKey.error, undefined, devKey.error?.message);
});

/** The hub's addresses as the spokes read them (the bootstrap run of ops-01). */
const hubIps = (): string[] => (reveal(fleet.bootstrap.outputs.egressIps) as string[]).map(String);

/** Side resources of a bucket: those whose `bucket` input is that bucket. */
const forBucket = (run: StackRun, type: string, bucket: string): RecordedResource[] => ofType(run, type).filter((x) => input(x, "bucket") === bucket);
const policyOf = (r: RecordedResource, key = "policy"): PolicyDocument => JSON.parse(String(input(r, key))) as PolicyDocument;
const accountOf = (run: StackRun): string => String((run.config.cluster as { accountId: string }).accountId);

function checkBucketChecklist(run: StackRun, expectKms: boolean): void {
  const buckets = ofType(run, "aws:s3/bucket:Bucket");
  assert.ok(buckets.length > 0);
  assertDataSafe(buckets, "bucket");
  for (const b of buckets) {
    const name = String(output(b, "bucket"));
    assert.equal(input(b, "forceDestroy"), false);
    const tags = input(b, "tags") as Record<string, string>;
    for (const t of REQUIRED_TAGS) assert.ok(typeof tags[t] === "string" && tags[t] !== "", `${name}: tag ${t}`);
    assert.equal(tags.cluster, run.stack);

    const pab = forBucket(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name);
    assert.equal(pab.length, 1, `${name}: public access block (S3.1/S3.8)`);
    for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(input(pab[0], k), true, `${name}: ${k}`);

    const own = forBucket(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", name);
    assert.deepEqual(own.map((o) => input(o, "rule")), [{ objectOwnership: "BucketOwnerEnforced" }], `${name}: ACLs disabled (S3.12)`);

    const ver = forBucket(run, "aws:s3/bucketVersioning:BucketVersioning", name);
    assert.deepEqual(ver.map((v) => (input(v, "versioningConfiguration") as { status: string }).status), ["Enabled"], `${name}: versioning (S3.14)`);

    const sse = forBucket(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name);
    assert.equal(sse.length, 1);
    const rule = (input(sse[0], "rules") as { applyServerSideEncryptionByDefault: { sseAlgorithm: string; kmsMasterKeyId?: string } }[])[0];
    if (expectKms) {
      assert.equal(rule.applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms", `${name}: SSE-KMS (S3.17)`);
      const keyArns = ofType(run, "aws:kms/key:Key").map((k) => output(k, "arn"));
      assert.ok(keyArns.includes(rule.applyServerSideEncryptionByDefault.kmsMasterKeyId), `${name}: encrypted with the stack's customer key`);
    } else {
      assert.equal(rule.applyServerSideEncryptionByDefault.sseAlgorithm, "AES256", `${name}: SSE-S3`);
    }

    const lc = forBucket(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", name);
    assert.equal(lc.length, 1);
    const rules = input(lc[0], "rules") as { status?: string; expiration?: { days?: number }; noncurrentVersionExpiration?: { noncurrentDays?: number }; abortIncompleteMultipartUpload?: { daysAfterInitiation: number } }[];
    assert.ok(rules.some((r) => typeof r.expiration?.days === "number"), `${name}: expiry`);
    assert.ok(rules.some((r) => typeof r.noncurrentVersionExpiration?.noncurrentDays === "number"), `${name}: noncurrent-version expiry`);
    assert.ok(rules.some((r) => r.abortIncompleteMultipartUpload?.daysAfterInitiation === 1), `${name}: abort incomplete multipart (S3.13)`);

    const pol = forBucket(run, "aws:s3/bucketPolicy:BucketPolicy", name);
    assert.equal(pol.length, 1);
    const doc = policyOf(pol[0]);
    const tls = doc.Statement.find((s) => s.Effect === "Deny" && s.Principal === "*" && s.Condition?.Bool?.["aws:SecureTransport"] === "false");
    assert.ok(tls !== undefined, `${name}: TLS-only statement (S3.5)`);
    assert.ok(!doc.Statement.some((s) => s.Effect === "Allow"), `${name}: the policy grants nothing (CKV_AWS_70)`);
    // A retained bucket keeps its guards.
    for (const guard of [...pab, ...own, ...ver, ...sse, ...lc, ...pol]) assert.equal(guard.options.retainOnDelete, true, `${guard.name}: retained with the bucket`);
  }
}

type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

/** Evaluates a request against a bucket's deployed policy, with the given (default: allow-all) identity policy. */
async function deployedDecision(run: StackRun, bucket: string, action: string, principal: string, ctx: Record<string, string>, identity?: PolicyDocument, key = "x"): Promise<Decision> {
  const pol = forBucket(run, "aws:s3/bucketPolicy:BucketPolicy", bucket)[0];
  assert.ok(pol !== undefined, `policy of ${bucket}`);
  const r = await runSimulation({
    request: { principal, action, resource: { resource: key === "" ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`, accountId: accountOf(run) }, contextVariables: { "aws:PrincipalArn": principal, ...ctx } },
    identityPolicies: [{ name: "identity", policy: identity ?? { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] } }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: policyOf(pol),
  }, {});
  if (r.resultType === "error") throw new Error(JSON.stringify(r.errors));
  return r.overallResult as Decision;
}

/** The hub's federated reader role of dev-01. */
function readerRole(): RecordedResource {
  const r = ofType(dev, "aws:iam/role:Role").find((x) => input(x, "name") === readerRoleName("dev-01"));
  assert.ok(r !== undefined, "dev-01: the hub reader role");
  return r;
}

/** The workload role of a component, by its IAM name. */
function roleOf(run: StackRun, user: BucketUser): RecordedResource {
  const r = ofType(run, "aws:iam/role:Role").find((x) => input(x, "name") === workloadRoleName(run.stack, user));
  assert.ok(r !== undefined, `${run.stack}: role of ${user}`);
  return r;
}

describe("dev-01 (spoke, Pod Identity, provider-managed keys)", () => {
  it("pins one explicit provider to the stack's region and account, with default tags, used by every AWS resource", () => {
    assertExplicitProvider(dev, "aws", "aws");
    const [provider] = ofType(dev, "pulumi:providers:aws");
    assert.equal(input(provider, "region"), "eu-central-1");
    assert.deepEqual(JSON.parse(String(input(provider, "allowedAccountIds"))), ["111122223333"]);
    const tags = (JSON.parse(String(input(provider, "defaultTags"))) as { tags: Record<string, string> }).tags;
    for (const t of REQUIRED_TAGS) assert.ok(t in tags, t);
  });

  it("has both buckets with every S3 checklist item, SSE-S3 and no KMS key", () => {
    assert.equal(ofType(dev, "aws:s3/bucket:Bucket").length, 2);
    checkBucketChecklist(dev, false);
    assert.equal(ofType(dev, "aws:kms/key:Key").length, 0);
    const out = plainOutputs(dev).buckets as { metrics: string; logs: string };
    assert.deepEqual(ofType(dev, "aws:s3/bucket:Bucket").map((b) => output(b, "bucket")).sort(), [out.logs, out.metrics].sort(), "the contract names the recorded buckets");
  });

  it("denies insecure transport to everyone, even an all-powerful principal (evaluated)", async () => {
    const metrics = String((plainOutputs(dev).buckets as { metrics: string }).metrics);
    const vpce = ofType(dev, "aws:ec2/vpcEndpoint:VpcEndpoint")[0];
    const sidecar = String(output(roleOf(dev, "sidecar"), "arn"));
    assert.equal(await deployedDecision(dev, metrics, "s3:GetObject", sidecar, { "aws:SecureTransport": "false", "aws:SourceVpce": vpce.id }), "ExplicitlyDenied");
    assert.equal(await deployedDecision(dev, metrics, "s3:GetObject", sidecar, { "aws:SecureTransport": "true", "aws:SourceVpce": vpce.id }), "Allowed");
  });

  it("creates the S3 gateway endpoint on the private route tables and binds writes to it", async () => {
    const vpce = ofType(dev, "aws:ec2/vpcEndpoint:VpcEndpoint");
    assert.equal(vpce.length, 1);
    assert.equal(input(vpce[0], "vpcEndpointType"), "Gateway");
    assert.equal(input(vpce[0], "serviceName"), "com.amazonaws.eu-central-1.s3");
    assert.deepEqual(input(vpce[0], "routeTableIds"), ["rtb-0c33d44e55f66a77b", "rtb-0d44e55f66a77b88c"]);
    const metrics = String((plainOutputs(dev).buckets as { metrics: string }).metrics);
    const arn = String(output(roleOf(dev, "sidecar"), "arn"));
    assert.equal(await deployedDecision(dev, metrics, "s3:PutObject", arn, { "aws:SecureTransport": "true", "aws:SourceVpce": vpce[0].id }), "Allowed");
    assert.equal(await deployedDecision(dev, metrics, "s3:PutObject", arn, { "aws:SecureTransport": "true", "aws:SourceIp": "192.0.2.10" }), "ExplicitlyDenied");
    assert.equal(await deployedDecision(dev, metrics, "s3:PutObject", arn, { "aws:SecureTransport": "true", "aws:SourceVpce": "vpce-0123456789abcdef0" }), "ExplicitlyDenied", "another endpoint");
  });

  it("gives each writing component its own role with a Pod Identity trust bound to exactly its ServiceAccount", () => {
    const users = { sidecar: SERVICE_ACCOUNTS.sidecar, compactor: SERVICE_ACCOUNTS.compactor, loki: SERVICE_ACCOUNTS.loki } as const;
    const roles = ofType(dev, "aws:iam/role:Role");
    assert.deepEqual(
      roles.map((r) => String(input(r, "name"))).sort(),
      [...Object.keys(users).map((u) => workloadRoleName("dev-01", u as BucketUser)), readerRoleName("dev-01")].sort(),
      "hub-store spoke: no store role; the hub's federated reader role",
    );
    const cluster = clusterArn("eu-central-1", "111122223333", "dev-01-eks");
    const assocs = ofType(dev, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
    assert.equal(assocs.length, Object.keys(users).length);
    for (const [user, sa] of Object.entries(users)) {
      const role = roleOf(dev, user as BucketUser);
      const trust = policyOf(role, "assumeRolePolicy");
      assert.equal(trust.Statement.length, 1);
      const [s] = trust.Statement;
      assert.equal(s.Effect, "Allow");
      assert.deepEqual(s.Principal, { Service: "pods.eks.amazonaws.com" });
      assert.deepEqual([s.Action].flat().sort(), ["sts:AssumeRole", "sts:TagSession"]);
      // The cluster is pinned by the eks-cluster-arn session tag EKS Pod Identity adds
      // (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html), never by aws:SourceArn.
      assert.deepEqual(s.Condition?.StringEquals, { "aws:SourceAccount": "111122223333", "aws:RequestTag/eks-cluster-arn": cluster, "aws:RequestTag/kubernetes-namespace": NAMESPACE, "aws:RequestTag/kubernetes-service-account": sa }, user);
      assert.equal(s.Condition?.ArnEquals, undefined);
      const assoc = assocs.filter((a) => input(a, "roleArn") === output(role, "arn"));
      assert.equal(assoc.length, 1, `${user}: one association`);
      assert.equal(input(assoc[0], "clusterName"), "dev-01-eks");
      assert.equal(input(assoc[0], "namespace"), NAMESPACE);
      assert.equal(input(assoc[0], "serviceAccount"), sa);
      assert.equal(input(assoc[0], "disableSessionTags"), false, `${user}: the session tags the trust policy needs`);
    }
  });

  it("hubReader.auth key: creates the hub reader with two keys whose secrets stay secret, exporting one as a secret objstore", () => {
    const dev = devKey;
    assert.equal(ofType(dev, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0, "no federation with a key reader");
    assert.deepEqual(plainOutputs(dev).reader, { auth: "key" });
    const users = ofType(dev, "aws:iam/user:User");
    assert.deepEqual(users.map((u) => input(u, "name")), [readerUserName("dev-01")]);
    const keys = ofType(dev, "aws:iam/accessKey:AccessKey");
    assert.equal(keys.length, 2);
    for (const k of keys) assert.ok(isSecretValue(k.outputs.secret), `${k.name}: secret output`);
    const clear = assertReadonlyObjstoreSecret(dev);
    const cfg = parse(clear) as { type: string; config: { bucket: string; access_key: string; secret_key: string } };
    assert.equal(cfg.type, "S3");
    assert.equal(cfg.config.bucket, (plainOutputs(dev).buckets as { metrics: string }).metrics);
    const active = keys.find((k) => k.id === cfg.config.access_key);
    assert.ok(active !== undefined, "the exported key is one of the reader's keys");
    assert.equal(cfg.config.secret_key, reveal(active.outputs.secret));
  });

  it("hubReader.auth key: limits the reader to the hub's real egress addresses (from the hub bootstrap), read-only, metrics only (evaluated)", async () => {
    const dev = devKey;
    const ips = hubIps();
    assert.ok(ips.length > 0);
    assert.deepEqual([...ips].sort(), [...(plainOutputs(ops).egressIps as string[])].sort(), "the hub keeps its addresses after wiring the spokes");
    const userPolicy = ofType(dev, "aws:iam/userPolicy:UserPolicy");
    assert.equal(userPolicy.length, 1);
    const identity = policyOf(userPolicy[0]);
    // ops-01 is in dev-01's region: its requests reach the bucket through its own S3 gateway
    // endpoint, carrying aws:SourceVpce and no aws:SourceIp (IAM global condition keys,
    // aws:SourceIp: "If the request comes from a host that uses an Amazon VPC endpoint, then the
    // aws:SourceIp key is not present"; a gateway endpoint serves its own Region only,
    // https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html).
    const hubEndpoint = (plainOutputs(ops).s3GatewayEndpoint as { id: string; region: string } | undefined);
    assert.ok(hubEndpoint !== undefined && hubEndpoint.region === "eu-central-1", "the AWS hub publishes its S3 gateway endpoint");
    for (const s of identity.Statement.filter((x) => x.Effect === "Allow" && [x.Action].flat().some((a) => String(a).startsWith("s3:")))) {
      const byIp = s.Condition?.IpAddress?.["aws:SourceIp"] as string[] | undefined;
      const byVpce = s.Condition?.StringEquals?.["aws:SourceVpce"] as string | undefined;
      assert.ok((byIp === undefined) !== (byVpce === undefined), `${String(s.Sid)}: one path per statement`);
      if (byIp !== undefined) assert.deepEqual([...byIp].sort(), asCidrs(ips).sort(), `${String(s.Sid)}: hub addresses only`);
      else assert.equal(byVpce, hubEndpoint.id, `${String(s.Sid)}: the hub's endpoint only`);
    }
    const readerArn = String(output(ofType(dev, "aws:iam/user:User")[0], "arn"));
    const { metrics, logs } = plainOutputs(dev).buckets as { metrics: string; logs: string };
    const tls = { "aws:SecureTransport": "true" };
    for (const ip of ips) assert.equal(await deployedDecision(dev, metrics, "s3:GetObject", readerArn, { ...tls, "aws:SourceIp": ip }, identity), "Allowed", `GetObject from ${ip}`);
    assert.equal(await deployedDecision(dev, metrics, "s3:ListBucket", readerArn, { ...tls, "aws:SourceIp": ips[0] }, identity, ""), "Allowed");
    assert.notEqual(await deployedDecision(dev, metrics, "s3:GetObject", readerArn, { ...tls, "aws:SourceIp": "192.0.2.200" }, identity), "Allowed", "not from elsewhere");
    assert.equal(await deployedDecision(dev, metrics, "s3:GetObject", readerArn, { ...tls, "aws:SourceVpce": hubEndpoint.id }, identity), "Allowed", "through the hub's endpoint, in-region");
    assert.equal(await deployedDecision(dev, metrics, "s3:ListBucket", readerArn, { ...tls, "aws:SourceVpce": hubEndpoint.id }, identity, ""), "Allowed", "list through the hub's endpoint");
    assert.notEqual(await deployedDecision(dev, metrics, "s3:GetObject", readerArn, { ...tls, "aws:SourceVpce": "vpce-0fedcba9876543210" }, identity), "Allowed", "not through another endpoint");
    assert.notEqual(await deployedDecision(dev, metrics, "s3:PutObject", readerArn, { ...tls, "aws:SourceVpce": hubEndpoint.id }, identity), "Allowed", "never writes through the endpoint either");
    assert.notEqual(await deployedDecision(dev, metrics, "s3:PutObject", readerArn, { ...tls, "aws:SourceIp": ips[0] }, identity), "Allowed", "never writes");
    assert.notEqual(await deployedDecision(dev, metrics, "s3:DeleteObject", readerArn, { ...tls, "aws:SourceIp": ips[0] }, identity), "Allowed", "never deletes");
    assert.notEqual(await deployedDecision(dev, logs, "s3:GetObject", readerArn, { ...tls, "aws:SourceIp": ips[0] }, identity), "Allowed", "never reads logs");
  });

  it("federated (default): no user, no access key and no reader secret in the outputs; the contract says how the hub reads", () => {
    assert.equal(ofType(dev, "aws:iam/user:User").length, 0);
    assert.equal(ofType(dev, "aws:iam/accessKey:AccessKey").length, 0);
    const out = plainOutputs(dev);
    assert.equal(out.objstoreReadonly, undefined);
    const reader = out.reader as { auth: string; objstore: string; identity: { cloud: string; roleArn: string; region: string }; issuerUrl: string; subject: string };
    const hubIssuer = (plainOutputs(fleet.bootstrap).federation as { issuerUrl: string }).issuerUrl;
    assert.equal(reader.auth, "federated");
    assert.equal(reader.issuerUrl, hubIssuer);
    assert.equal(reader.subject, "system:serviceaccount:observability:thanos-store-dev-01");
    assert.deepEqual(reader.identity, { cloud: "aws", roleArn: String(output(readerRole(), "arn")), region: "eu-central-1" });
    assert.ok(!isSecretValue(dev.outputs.reader), "nothing in the reader is a secret");
    const cfg = parse(reader.objstore) as { type: string; config: Record<string, unknown> };
    assert.equal(cfg.type, "S3");
    assert.equal(cfg.config.aws_sdk_auth, true);
    for (const k of ["access_key", "secret_key", "session_token"]) assert.equal(k in cfg.config, false, k);
  });

  it("federated: one IAM OIDC provider for the hub's issuer, audience sts.amazonaws.com, retained (other trusts of the account may use it)", () => {
    const providers = ofType(dev, "aws:iam/openIdConnectProvider:OpenIdConnectProvider");
    assert.equal(providers.length, 1);
    const hubIssuer = (plainOutputs(fleet.bootstrap).federation as { issuerUrl: string }).issuerUrl;
    assert.equal(input(providers[0], "url"), hubIssuer);
    assert.deepEqual(input(providers[0], "clientIdLists"), ["sts.amazonaws.com"]);
    assert.equal(providers[0].options.retainOnDelete, true);
    assert.equal(output(providers[0], "arn"), oidcProviderArn("eu-central-1", "111122223333", hubIssuer));
  });

  it("federated, hubReader.oidcProvider existing: no provider is created and the trust names the account's existing one", async () => {
    const run = await runStack(spokeRunOptions(fleet, "dev-01", (v) => {
      v.hubReader = { auth: "federated", oidcProvider: "existing" };
    }));
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(ofType(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").length, 0);
    const hubIssuer = (plainOutputs(fleet.bootstrap).federation as { issuerUrl: string }).issuerUrl;
    const role = ofType(run, "aws:iam/role:Role").find((r) => input(r, "name") === readerRoleName("dev-01"));
    assert.ok(role !== undefined);
    assert.deepEqual(policyOf(role, "assumeRolePolicy").Statement[0].Principal, { Federated: oidcProviderArn("eu-central-1", "111122223333", hubIssuer) });
  });

  it("federated: the role trusts exactly the hub issuer, subject and audience (evaluated)", async () => {
    const hubIssuer = (plainOutputs(fleet.bootstrap).federation as { issuerUrl: string }).issuerUrl;
    const host = issuerHostPath(hubIssuer);
    const provider = oidcProviderArn("eu-central-1", "111122223333", hubIssuer);
    const trust = policyOf(readerRole(), "assumeRolePolicy");
    const decide = (sub: string, aud: string, principal = provider): Promise<Decision> =>
      webIdentityDecision({ trust, issuerHostPath: host, roleArn: String(output(readerRole(), "arn")), accountId: "111122223333", provider: principal, claims: { sub, aud } });
    const subject = "system:serviceaccount:observability:thanos-store-dev-01";
    assert.equal(await decide(subject, "sts.amazonaws.com"), "Allowed");
    assert.notEqual(await decide("system:serviceaccount:observability:thanos-store-prod-01", "sts.amazonaws.com"), "Allowed", "another spoke's store gateway");
    assert.notEqual(await decide("system:serviceaccount:observability:thanos-query-global", "sts.amazonaws.com"), "Allowed", "another ServiceAccount of the hub");
    assert.notEqual(await decide(subject, "api://AzureADTokenExchange"), "Allowed", "another audience");
    assert.notEqual(await decide(subject, "sts.amazonaws.com", oidcProviderArn("eu-central-1", "111122223333", "https://oidc.eks.eu-central-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF")), "Allowed", "another cluster's issuer");
  });

  it("federated: a session of the reader role reads the metrics bucket from the hub's addresses or endpoint only, read-only (evaluated)", async () => {
    const ips = hubIps();
    const roleArn = String(output(readerRole(), "arn"));
    const session = `arn:aws:sts::111122223333:assumed-role/${readerRoleName("dev-01")}/ops-01-reads-dev-01`;
    const rp = ofType(dev, "aws:iam/rolePolicy:RolePolicy").filter((p) => input(p, "role") === input(readerRole(), "name"));
    assert.equal(rp.length, 1);
    const identity = policyOf(rp[0]);
    const hubEndpoint = plainOutputs(ops).s3GatewayEndpoint as { id: string };
    const { metrics, logs } = plainOutputs(dev).buckets as { metrics: string; logs: string };
    const as = (ctx: Record<string, string>): Record<string, string> => ({ "aws:SecureTransport": "true", "aws:PrincipalArn": roleArn, ...ctx });
    for (const ip of ips) assert.equal(await deployedDecision(dev, metrics, "s3:GetObject", session, as({ "aws:SourceIp": ip }), identity), "Allowed", `from ${ip}`);
    assert.equal(await deployedDecision(dev, metrics, "s3:ListBucket", session, as({ "aws:SourceIp": ips[0] }), identity, ""), "Allowed");
    assert.equal(await deployedDecision(dev, metrics, "s3:GetObject", session, as({ "aws:SourceVpce": hubEndpoint.id }), identity), "Allowed", "through the hub's S3 endpoint");
    assert.equal(await deployedDecision(dev, metrics, "s3:GetObject", session, as({ "aws:SourceIp": "192.0.2.200" }), identity), "ExplicitlyDenied", "from elsewhere");
    assert.equal(await deployedDecision(dev, metrics, "s3:GetObject", session, as({ "aws:SourceVpce": "vpce-0fedcba9876543210" }), identity), "ExplicitlyDenied", "through another endpoint");
    // Even with an identity policy that allows everything, the bucket policy keeps the role read-only and hub-bound.
    assert.equal(await deployedDecision(dev, metrics, "s3:GetObject", session, as({ "aws:SourceIp": "192.0.2.200" })), "ExplicitlyDenied", "bucket policy alone: not from elsewhere");
    assert.equal(await deployedDecision(dev, metrics, "s3:PutObject", session, as({ "aws:SourceIp": ips[0] })), "ExplicitlyDenied", "bucket policy alone: never writes");
    assert.notEqual(await deployedDecision(dev, metrics, "s3:DeleteObject", session, as({ "aws:SourceIp": ips[0] }), identity), "Allowed", "never deletes");
    assert.notEqual(await deployedDecision(dev, logs, "s3:GetObject", session, as({ "aws:SourceIp": ips[0] }), identity), "Allowed", "never reads logs");
  });

  it("reserves protected egress addresses on NAT gateways, routes every private table through them, and exports them", () => {
    const eips = ofType(dev, "aws:ec2/eip:Eip");
    assert.equal(eips.length, 2);
    assertDataSafe(eips, "egress address");
    for (const e of eips) assert.equal(input(e, "domain"), "vpc");
    const nats = ofType(dev, "aws:ec2/natGateway:NatGateway");
    assert.deepEqual(nats.map((n) => input(n, "subnetId")).sort(), ["subnet-0a11b22c33d44e55f", "subnet-0b22c33d44e55f66a"]);
    assert.deepEqual(nats.map((n) => input(n, "allocationId")).sort(), eips.map((e) => output(e, "allocationId")).sort());
    const routes = ofType(dev, "aws:ec2/route:Route");
    assert.deepEqual(routes.map((r) => input(r, "routeTableId")).sort(), ["rtb-0c33d44e55f66a77b", "rtb-0d44e55f66a77b88c"]);
    for (const r of routes) assert.equal(input(r, "destinationCidrBlock"), "0.0.0.0/0");
    assert.deepEqual(new Set(routes.map((r) => input(r, "natGatewayId"))), new Set(nats.map((n) => n.id)), "routes spread over every gateway");
    assertEgressIps(dev, eips.map((e) => output(e, "publicIp")));
  });
});

describe("ops-01 (hub, IRSA, customer key, adopted endpoint)", () => {
  it("uses its one explicit provider for every AWS resource", () => {
    assertExplicitProvider(ops, "aws", "aws");
    assert.deepEqual(JSON.parse(String(input(ofType(ops, "pulumi:providers:aws")[0], "allowedAccountIds"))), ["444455556666"]);
  });

  it("encrypts its one bucket with a rotating, protected customer key and meets the S3 checklist", () => {
    const keys = ofType(ops, "aws:kms/key:Key");
    assert.equal(keys.length, 1);
    assert.equal(input(keys[0], "enableKeyRotation"), true);
    assertDataSafe(keys, "KMS key");
    assert.equal(ofType(ops, "aws:kms/alias:Alias").length, 1);
    assert.equal(ofType(ops, "aws:s3/bucket:Bucket").length, 1, "the hub owns a metrics bucket only");
    checkBucketChecklist(ops, true);
  });

  it("adopts the existing S3 endpoint instead of creating one", async () => {
    assert.equal(ofType(ops, "aws:ec2/vpcEndpoint:VpcEndpoint").length, 0);
    const metrics = String((plainOutputs(ops).buckets as { metrics: string }).metrics);
    const ruler = String(output(roleOf(ops, "sidecar"), "arn"));
    assert.equal(await deployedDecision(ops, metrics, "s3:PutObject", ruler, { "aws:SecureTransport": "true", "aws:SourceVpce": "vpce-0f1e2d3c4b5a69799" }), "Allowed");
    assert.equal(await deployedDecision(ops, metrics, "s3:PutObject", ruler, { "aws:SecureTransport": "true", "aws:SourceIp": "192.0.2.10" }), "ExplicitlyDenied");
  });

  it("binds the ruler and the hub store by IRSA to exactly their ServiceAccounts; no compactor on the hub, no Pod Identity", () => {
    assert.equal(ofType(ops, "aws:eks/podIdentityAssociation:PodIdentityAssociation").length, 0);
    const issuerUrl = "https://oidc.eks.eu-central-1.amazonaws.com/id/A1B2C3D4E5F60718293A4B5C6D7E8F90";
    const host = issuerHostPath(issuerUrl);
    const users = { sidecar: SERVICE_ACCOUNTS.ruler, store: SERVICE_ACCOUNTS.hubStore } as const;
    assert.deepEqual(ofType(ops, "aws:iam/role:Role").map((r) => String(input(r, "name"))).sort(), Object.keys(users).map((u) => workloadRoleName("ops-01", u as BucketUser)).sort());
    for (const [user, sa] of Object.entries(users)) {
      const trust = policyOf(roleOf(ops, user as BucketUser), "assumeRolePolicy");
      assert.equal(trust.Statement.length, 1);
      const [s] = trust.Statement;
      assert.deepEqual(s.Principal, { Federated: oidcProviderArn("eu-central-1", "444455556666", issuerUrl) });
      assert.deepEqual([s.Action].flat(), ["sts:AssumeRoleWithWebIdentity"]);
      assert.deepEqual(s.Condition?.StringEquals, { [`${host}:sub`]: `system:serviceaccount:${NAMESPACE}:${sa}`, [`${host}:aud`]: "sts.amazonaws.com" }, user);
    }
  });

  it("has no reader credential for its own bucket", () => {
    assert.equal(ofType(ops, "aws:iam/user:User").length, 0);
    assert.equal(ofType(ops, "aws:iam/accessKey:AccessKey").length, 0);
    assert.equal(ops.outputs.objstoreReadonly, undefined);
  });

  it("egress: protected addresses, one NAT per public subnet, exported as egressIps", () => {
    const eips = ofType(ops, "aws:ec2/eip:Eip");
    assert.equal(eips.length, 2);
    assertDataSafe(eips, "egress address");
    assert.equal(ofType(ops, "aws:ec2/natGateway:NatGateway").length, 2);
    assert.deepEqual(ofType(ops, "aws:ec2/route:Route").map((r) => input(r, "routeTableId")).sort(), ["rtb-0f1e2d3c4b5a69711", "rtb-0f1e2d3c4b5a69712"]);
    assertEgressIps(ops, eips.map((e) => output(e, "publicIp")));
    assertEgressIps(fleet.bootstrap, eips.map((e) => output(e, "publicIp")));
  });
});

describe("dev-01 with adopted egress", () => {
  let adopted: StackRun;
  before(async () => {
    adopted = await runStack(spokeRunOptions(fleet, "dev-01", (v) => {
      v.egress = { mode: "existing", count: 2, addresses: ["eipalloc-0a1b2c3d4e5f60718", "eipalloc-0b1b2c3d4e5f60718"] };
    }));
    assert.equal(adopted.error, undefined, adopted.error?.message);
  });

  it("reads the given addresses and creates no address, gateway or route", () => {
    // Adopted addresses are read (`Eip.get`), never registered as managed resources.
    for (const t of ["aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway", "aws:ec2/route:Route"]) assert.equal(ofType(adopted, t).length, 0, t);
    const ips = adopted.outputs.egressIps as string[];
    assert.equal(ips.length, 2);
    for (const ip of ips) assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  });
});
