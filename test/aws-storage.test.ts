/**
 * AWS storage: the generated IAM documents evaluated with an IAM policy evaluator (not read),
 * the objstore and Loki configuration checked against the upstream reference, and the
 * pure naming, lifecycle and rotation rules.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { anonymousPrincipal, runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { webIdentityDecision } from "./support/web-identity";
import { parse } from "yaml";
import {
  asCidrs,
  bucketArn,
  bucketName,
  bucketPolicy,
  clusterArn,
  expirationDays,
  hubReaderPath,
  issuerHostPath,
  lifecycleRules,
  oidcProviderArn,
  readerPolicy,
  renderLokiStorage,
  renderS3Objstore,
  roleArn,
  rotationState,
  S3_BUCKET_NAME,
  trustPolicy,
  workloadPolicy,
  workloadRoleName,
  type PolicyDocument,
} from "../components/clouds/aws";
import type { BucketUser } from "../components/clouds/types";
import type { Retention } from "../components/config";
import { durationDays } from "../components/config";
import { REFERENCE_DIR, referenceYaml, unknownKeyPaths } from "./support/reference";

const ACCOUNT = "111122223333";
const REGION = "eu-central-1";
const STACK = "dev-01";
const VPCE = "vpce-0a1b2c3d4e5f60718";
const OTHER_VPCE = "vpce-0ffffffffffffffff";
const HUB_IPS = ["198.51.100.7", "203.0.113.9"];
const STRANGER_IP = "192.0.2.200";
const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const METRICS = bucketName(STACK, "metrics", ACCOUNT, REGION);
const LOGS = bucketName(STACK, "logs", ACCOUNT, REGION);
const BUCKET_ARN = { metrics: bucketArn(REGION, METRICS), logs: bucketArn(REGION, LOGS) } as const;
const BUCKET_OF: Record<BucketUser, "metrics" | "logs"> = { sidecar: "metrics", compactor: "metrics", store: "metrics", loki: "logs" };
const ROLE_ARN = (u: BucketUser): string => roleArn(REGION, ACCOUNT, workloadRoleName(STACK, u));
const READER_ARN = `arn:aws:iam::${ACCOUNT}:user/${STACK}-observability-hub-reader`;
const WRITERS: readonly BucketUser[] = ["sidecar", "compactor", "loki"];

/** The bucket policies exactly as the Storage component builds them. */
const BUCKET_POLICY = {
  metrics: bucketPolicy({
    bucketArn: BUCKET_ARN.metrics,
    sourceVpce: VPCE,
    writerRoleArns: [ROLE_ARN("sidecar"), ROLE_ARN("compactor")],
    reader: { principalArns: [READER_ARN], sourceIps: HUB_IPS },
  }),
  logs: bucketPolicy({ bucketArn: BUCKET_ARN.logs, sourceVpce: VPCE, writerRoleArns: [ROLE_ARN("loki")] }),
};

type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

interface Request {
  principal: string | typeof anonymousPrincipal;
  action: string;
  /** `metrics` or `logs`, and an object key (absent: the bucket itself). */
  bucket: "metrics" | "logs";
  key?: string;
  identity?: PolicyDocument;
  vpce?: string;
  sourceIp?: string;
  tls?: boolean;
  blockPublicAccess?: boolean;
}

/** One S3 request evaluated against the identity policy and the bucket's policy. */
async function s3(req: Request): Promise<Decision> {
  const context: Record<string, string> = { "aws:SecureTransport": req.tls === false ? "false" : "true" };
  if (req.vpce !== undefined) context["aws:SourceVpce"] = req.vpce;
  if (req.sourceIp !== undefined) context["aws:SourceIp"] = req.sourceIp;
  if (typeof req.principal === "string") context["aws:PrincipalArn"] = req.principal;
  const sim: Simulation = {
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: req.key === undefined ? BUCKET_ARN[req.bucket] : `${BUCKET_ARN[req.bucket]}/${req.key}`, accountId: ACCOUNT },
      contextVariables: context,
    },
    identityPolicies: req.identity === undefined ? [] : [{ name: "identity", policy: req.identity }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: BUCKET_POLICY[req.bucket],
    additionalSettings: req.blockPublicAccess === true ? { s3: { blockPublicAccess: true } } : undefined,
  };
  const result = await runSimulation(sim, {});
  if (result.resultType === "error") throw new Error(`simulation rejected: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

const allowed = (d: Decision): boolean => d === "Allowed";
const policyOf = (u: BucketUser, kms?: string): PolicyDocument => workloadPolicy(u, { bucketArn: BUCKET_ARN[BUCKET_OF[u]], region: REGION, kmsKeyArn: kms });
const other = (b: "metrics" | "logs"): "metrics" | "logs" => (b === "metrics" ? "logs" : "metrics");

describe("writer identities (IAM evaluation)", () => {
  for (const user of WRITERS) {
    const identity = policyOf(user);
    const own = BUCKET_OF[user];
    const principal = ROLE_ARN(user);

    it(`${user} writes its own bucket through the spoke's VPC endpoint`, async () => {
      assert.equal(await s3({ principal, identity, action: "s3:PutObject", bucket: own, key: "01ABC/chunks/000001", vpce: VPCE }), "Allowed");
    });

    it(`${user} cannot write outside the VPC endpoint`, async () => {
      assert.equal(await s3({ principal, identity, action: "s3:PutObject", bucket: own, key: "01ABC/chunks/000001", sourceIp: STRANGER_IP }), "ExplicitlyDenied");
      assert.equal(await s3({ principal, identity, action: "s3:PutObject", bucket: own, key: "01ABC/chunks/000001", vpce: OTHER_VPCE }), "ExplicitlyDenied");
    });

    it(`${user} cannot write the other bucket, even through the endpoint`, async () => {
      assert.ok(!allowed(await s3({ principal, identity, action: "s3:PutObject", bucket: other(own), key: "x", vpce: VPCE })));
    });

    it(`${user} cannot use plain HTTP`, async () => {
      assert.equal(await s3({ principal, identity, action: "s3:PutObject", bucket: own, key: "x", vpce: VPCE, tls: false }), "ExplicitlyDenied");
      assert.equal(await s3({ principal, identity, action: "s3:GetObject", bucket: own, key: "x", vpce: VPCE, tls: false }), "ExplicitlyDenied");
    });

    it(`${user} can list and read its bucket (the shipper's existence check, compaction, queries)`, async () => {
      assert.equal(await s3({ principal, identity, action: "s3:ListBucket", bucket: own, vpce: VPCE }), "Allowed");
      assert.equal(await s3({ principal, identity, action: "s3:GetObject", bucket: own, key: "01ABC/meta.json", vpce: VPCE }), "Allowed");
    });
  }

  it("only the compactor and Loki delete; the sidecar only adds blocks", async () => {
    const del = (u: BucketUser): Promise<Decision> => s3({ principal: ROLE_ARN(u), identity: policyOf(u), action: "s3:DeleteObject", bucket: BUCKET_OF[u], key: "01ABC/index", vpce: VPCE });
    assert.equal(await del("compactor"), "Allowed");
    assert.equal(await del("loki"), "Allowed");
    assert.ok(!allowed(await del("sidecar")));
  });

  it("the store gateway only lists and reads", async () => {
    const identity = policyOf("store");
    const principal = ROLE_ARN("store");
    assert.equal(await s3({ principal, identity, action: "s3:ListBucket", bucket: "metrics", vpce: VPCE }), "Allowed");
    assert.equal(await s3({ principal, identity, action: "s3:GetObject", bucket: "metrics", key: "x", vpce: VPCE }), "Allowed");
    for (const action of ["s3:PutObject", "s3:DeleteObject"]) assert.ok(!allowed(await s3({ principal, identity, action, bucket: "metrics", key: "x", vpce: VPCE })), action);
    assert.ok(!allowed(await s3({ principal, identity, action: "s3:GetObject", bucket: "logs", key: "x", vpce: VPCE })));
  });

  it("a broad principal inside the VPC (s3:* on everything) still cannot write", async () => {
    const identity: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };
    const principal = `arn:aws:iam::${ACCOUNT}:role/eks-node-group`;
    for (const bucket of ["metrics", "logs"] as const) {
      assert.equal(await s3({ principal, identity, action: "s3:PutObject", bucket, key: "x", vpce: VPCE }), "ExplicitlyDenied");
      assert.equal(await s3({ principal, identity, action: "s3:DeleteObject", bucket, key: "x", vpce: VPCE }), "ExplicitlyDenied");
    }
  });

  it("with a customer key, writers may use it only through S3", async () => {
    const keyPolicy: PolicyDocument = { Version: "2012-10-17", Statement: [{ Sid: "EnableIamPolicies", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }] };
    const kms = async (u: BucketUser, action: string, via?: string): Promise<Decision> => {
      const r = await runSimulation({
        request: { principal: ROLE_ARN(u), action, resource: { resource: KMS_KEY, accountId: ACCOUNT }, contextVariables: via === undefined ? {} : { "kms:ViaService": via } },
        identityPolicies: [{ name: "identity", policy: policyOf(u, KMS_KEY) }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: keyPolicy,
      }, {});
      if (r.resultType === "error") throw new Error(JSON.stringify(r.errors));
      return r.overallResult as Decision;
    };
    const viaS3 = `s3.${REGION}.amazonaws.com`;
    assert.equal(await kms("sidecar", "kms:GenerateDataKey", viaS3), "Allowed");
    assert.equal(await kms("loki", "kms:Decrypt", viaS3), "Allowed");
    assert.ok(!allowed(await kms("sidecar", "kms:GenerateDataKey")), "directly, outside S3");
    assert.ok(!allowed(await kms("store", "kms:GenerateDataKey", viaS3)), "the store gateway never encrypts");
    assert.equal(await kms("store", "kms:Decrypt", viaS3), "Allowed");
    assert.ok(!allowed(await kms("compactor", "kms:ScheduleKeyDeletion", viaS3)));
  });
});

describe("hub reader (IAM evaluation)", () => {
  const identity = readerPolicy({ bucketArn: BUCKET_ARN.metrics, region: REGION, sourceIps: HUB_IPS });

  it("lists and reads the metrics bucket from every hub address", async () => {
    for (const ip of HUB_IPS) {
      assert.equal(await s3({ principal: READER_ARN, identity, action: "s3:ListBucket", bucket: "metrics", sourceIp: ip }), "Allowed");
      assert.equal(await s3({ principal: READER_ARN, identity, action: "s3:GetObject", bucket: "metrics", key: "01ABC/meta.json", sourceIp: ip }), "Allowed");
    }
  });

  it("is refused from any other address, and through a VPC endpoint", async () => {
    assert.equal(await s3({ principal: READER_ARN, identity, action: "s3:GetObject", bucket: "metrics", key: "x", sourceIp: STRANGER_IP }), "ExplicitlyDenied");
    assert.equal(await s3({ principal: READER_ARN, identity, action: "s3:ListBucket", bucket: "metrics", sourceIp: STRANGER_IP }), "ExplicitlyDenied");
    assert.equal(await s3({ principal: READER_ARN, identity, action: "s3:GetObject", bucket: "metrics", key: "x", vpce: VPCE }), "ExplicitlyDenied");
  });

  it("can do nothing but list/get, and nothing on the logs bucket", async () => {
    for (const action of ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"]) {
      assert.ok(!allowed(await s3({ principal: READER_ARN, identity, action, bucket: "metrics", key: "x", sourceIp: HUB_IPS[0] })), action);
    }
    assert.ok(!allowed(await s3({ principal: READER_ARN, identity, action: "s3:PutBucketPolicy", bucket: "metrics", sourceIp: HUB_IPS[0] })));
    assert.ok(!allowed(await s3({ principal: READER_ARN, identity, action: "s3:GetObject", bucket: "logs", key: "x", sourceIp: HUB_IPS[0] })));
    assert.ok(!allowed(await s3({ principal: READER_ARN, identity, action: "s3:ListBucket", bucket: "logs", sourceIp: HUB_IPS[0] })));
  });

  it("even with broader grants attached later, the bucket policy keeps it to list/get from the hub", async () => {
    const broad: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };
    assert.equal(await s3({ principal: READER_ARN, identity: broad, action: "s3:DeleteObject", bucket: "metrics", key: "x", sourceIp: HUB_IPS[0] }), "ExplicitlyDenied");
    assert.equal(await s3({ principal: READER_ARN, identity: broad, action: "s3:GetObject", bucket: "metrics", key: "x", sourceIp: STRANGER_IP }), "ExplicitlyDenied");
  });

  it("cannot use plain HTTP", async () => {
    assert.equal(await s3({ principal: READER_ARN, identity, action: "s3:GetObject", bucket: "metrics", key: "x", sourceIp: HUB_IPS[0], tls: false }), "ExplicitlyDenied");
  });

  it("expresses the hub addresses as /32 blocks", () => {
    assert.deepEqual(asCidrs(HUB_IPS), ["198.51.100.7/32", "203.0.113.9/32"]);
    assert.deepEqual(asCidrs(["10.0.0.0/24"]), ["10.0.0.0/24"]);
  });
});

describe("anonymous and cross-account access (IAM evaluation)", () => {
  for (const bucket of ["metrics", "logs"] as const) {
    it(`anonymous requests get nothing from the ${bucket} bucket`, async () => {
      for (const blockPublicAccess of [false, true]) {
        assert.ok(!allowed(await s3({ principal: anonymousPrincipal, action: "s3:GetObject", bucket, key: "x", sourceIp: HUB_IPS[0], blockPublicAccess })));
        assert.ok(!allowed(await s3({ principal: anonymousPrincipal, action: "s3:ListBucket", bucket, sourceIp: STRANGER_IP, blockPublicAccess })));
        assert.ok(!allowed(await s3({ principal: anonymousPrincipal, action: "s3:PutObject", bucket, key: "x", vpce: VPCE, blockPublicAccess })));
      }
    });
  }

  it("another account's principal with s3:* gets nothing", async () => {
    const identity: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] };
    assert.ok(!allowed(await s3({ principal: "arn:aws:iam::999988887777:role/intruder", identity, action: "s3:GetObject", bucket: "metrics", key: "x", sourceIp: HUB_IPS[0] })));
  });

  it("the bucket policies grant nothing: deny statements only, never Principal * with Allow", () => {
    for (const doc of Object.values(BUCKET_POLICY)) for (const s of doc.Statement) assert.equal(s.Effect, "Deny", s.Sid);
  });
});

describe("hub reader path (where the hub's requests come from)", () => {
  const HUB_VPCE = { id: "vpce-0123456789abcdef0", region: REGION, accountId: "444455556666" };
  // A gateway endpoint serves S3 in its own Region only ("Gateway endpoints for Amazon S3",
  // Considerations, https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html).
  it("a hub in the bucket's region is admitted through its endpoint and its addresses; elsewhere by its addresses only", () => {
    assert.deepEqual(hubReaderPath(REGION, HUB_IPS, HUB_VPCE), { sourceIps: HUB_IPS, sourceVpce: HUB_VPCE.id });
    assert.deepEqual(hubReaderPath("eu-west-1", HUB_IPS, HUB_VPCE), { sourceIps: HUB_IPS }, "a bucket in another region");
    assert.deepEqual(hubReaderPath(REGION, HUB_IPS), { sourceIps: HUB_IPS }, "a GCP or Azure hub has no endpoint");
  });

  it("in-region: the reader gets objects through the hub's endpoint (no aws:SourceIp) and from its addresses, nowhere else (evaluated)", async () => {
    const path = hubReaderPath(REGION, HUB_IPS, HUB_VPCE);
    const resourcePolicy = bucketPolicy({ bucketArn: BUCKET_ARN.metrics, sourceVpce: VPCE, writerRoleArns: [ROLE_ARN("sidecar")], reader: { principalArns: [READER_ARN], ...path } });
    const identity = readerPolicy({ bucketArn: BUCKET_ARN.metrics, region: REGION, ...path });
    const decide = async (ctx: Record<string, string>, action = "s3:GetObject"): Promise<Decision> => {
      const r = await runSimulation({
        request: { principal: READER_ARN, action, resource: { resource: `${BUCKET_ARN.metrics}/01ABC/meta.json`, accountId: ACCOUNT }, contextVariables: { "aws:SecureTransport": "true", "aws:PrincipalArn": READER_ARN, ...ctx } },
        identityPolicies: [{ name: "identity", policy: identity }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy,
      }, {});
      if (r.resultType === "error") throw new Error(JSON.stringify(r.errors));
      return r.overallResult as Decision;
    };
    assert.equal(await decide({ "aws:SourceVpce": HUB_VPCE.id }), "Allowed");
    assert.equal(await decide({ "aws:SourceIp": HUB_IPS[1] }), "Allowed");
    assert.equal(await decide({ "aws:SourceVpce": OTHER_VPCE }), "ExplicitlyDenied", "another endpoint (the spoke's own, say)");
    assert.equal(await decide({ "aws:SourceVpce": VPCE }), "ExplicitlyDenied", "the spoke's endpoint: the key must not work from inside the spoke");
    assert.equal(await decide({ "aws:SourceIp": STRANGER_IP }), "ExplicitlyDenied");
    assert.notEqual(await decide({ "aws:SourceVpce": HUB_VPCE.id }, "s3:PutObject"), "Allowed");
  });

  it("cross-region: a request through any endpoint is denied, so only the hub's addresses read (evaluated)", async () => {
    const path = hubReaderPath(REGION, HUB_IPS, { ...HUB_VPCE, region: "eu-west-1" });
    assert.equal(path.sourceVpce, undefined);
    const resourcePolicy = bucketPolicy({ bucketArn: BUCKET_ARN.metrics, sourceVpce: VPCE, writerRoleArns: [], reader: { principalArns: [READER_ARN], ...path } });
    const r = await runSimulation({
      request: { principal: READER_ARN, action: "s3:GetObject", resource: { resource: `${BUCKET_ARN.metrics}/x`, accountId: ACCOUNT }, contextVariables: { "aws:SecureTransport": "true", "aws:SourceVpce": HUB_VPCE.id } },
      identityPolicies: [{ name: "identity", policy: readerPolicy({ bucketArn: BUCKET_ARN.metrics, region: REGION, ...path }) }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy,
    }, {});
    if (r.resultType === "error") throw new Error(JSON.stringify(r.errors));
    assert.equal(r.overallResult, "ExplicitlyDenied");
  });
});

describe("trust policies", () => {
  const ns = "observability";
  const sa = "thanos-sidecar";
  const role = ROLE_ARN("sidecar");
  const cluster = clusterArn(REGION, ACCOUNT, "dev-01-eks");

  async function podIdentity(ctx: Record<string, string>, principal = "pods.eks.amazonaws.com", action = "sts:AssumeRole"): Promise<Decision> {
    const r = await runSimulation({
      request: { principal, action, resource: { resource: role, accountId: ACCOUNT }, contextVariables: ctx },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trustPolicy({ kind: "pod-identity", accountId: ACCOUNT, clusterArn: cluster, namespace: ns, serviceAccount: sa }),
    }, {});
    if (r.resultType === "error") throw new Error(JSON.stringify(r.errors));
    return r.overallResult as Decision;
  }
  // What the EKS Auth service presents when it assumes the role: the session tags of the
  // association (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html, tag list;
  // pod-id-role.html "Setting Conditions") and the account. No aws:SourceArn is documented for it.
  const good = {
    "aws:SourceAccount": ACCOUNT,
    "aws:RequestTag/eks-cluster-arn": cluster,
    "aws:RequestTag/eks-cluster-name": "dev-01-eks",
    "aws:RequestTag/kubernetes-namespace": ns,
    "aws:RequestTag/kubernetes-service-account": sa,
    "aws:RequestTag/kubernetes-pod-name": "thanos-sidecar-0",
    "aws:RequestTag/kubernetes-pod-uid": "0f8e2a62-7c1b-4d0e-9a57-1f3b0c6d2e11",
  };

  it("Pod Identity: the EKS auth service may assume and tag for exactly this ServiceAccount of this cluster", async () => {
    assert.equal(await podIdentity(good), "Allowed");
    assert.equal(await podIdentity(good, "pods.eks.amazonaws.com", "sts:TagSession"), "Allowed");
    assert.ok(!allowed(await podIdentity({ ...good, "aws:RequestTag/kubernetes-namespace": "default" })));
    assert.ok(!allowed(await podIdentity({ ...good, "aws:RequestTag/kubernetes-service-account": "loki" })));
    assert.ok(!allowed(await podIdentity({ ...good, "aws:RequestTag/eks-cluster-arn": clusterArn(REGION, ACCOUNT, "another-cluster") })));
    assert.ok(!allowed(await podIdentity({ ...good, "aws:SourceAccount": "999988887777" })));
    assert.ok(!allowed(await podIdentity(good, "ec2.amazonaws.com")));
    // An association with session tags disabled presents none: refused, fail closed.
    assert.ok(!allowed(await podIdentity({ "aws:SourceAccount": ACCOUNT })));
  });

  it("Pod Identity: nothing depends on aws:SourceArn, which EKS does not document for Pod Identity (a cluster-ARN condition refused every pod)", () => {
    const doc = JSON.stringify(trustPolicy({ kind: "pod-identity", accountId: ACCOUNT, clusterArn: cluster, namespace: ns, serviceAccount: sa }));
    assert.doesNotMatch(doc, /aws:SourceArn/);
  });

  it("IRSA: the cluster's OIDC provider, for exactly system:serviceaccount:<ns>:<sa> with audience sts", async () => {
    const issuer = "https://oidc.eks.eu-central-1.amazonaws.com/id/A1B2C3D4E5F60718293A4B5C6D7E8F90";
    const host = issuerHostPath(issuer);
    assert.equal(host, "oidc.eks.eu-central-1.amazonaws.com/id/A1B2C3D4E5F60718293A4B5C6D7E8F90");
    const provider = oidcProviderArn(REGION, ACCOUNT, issuer);
    assert.equal(provider, `arn:aws:iam::${ACCOUNT}:oidc-provider/${host}`);
    const policy = trustPolicy({ kind: "irsa", oidcProviderArn: provider, issuerHostPath: host, namespace: ns, serviceAccount: sa });
    const decide = (ctx: Record<string, string>, principal = provider): Promise<Decision> =>
      webIdentityDecision({ trust: policy, issuerHostPath: host, roleArn: role, accountId: ACCOUNT, provider: principal, claims: { sub: ctx[`${host}:sub`], aud: ctx[`${host}:aud`] } });
    const sub = `${host}:sub`;
    const aud = `${host}:aud`;
    assert.equal(await decide({ [sub]: `system:serviceaccount:${ns}:${sa}`, [aud]: "sts.amazonaws.com" }), "Allowed");
    assert.notEqual(await decide({ [sub]: `system:serviceaccount:default:${sa}`, [aud]: "sts.amazonaws.com" }), "Allowed");
    assert.notEqual(await decide({ [sub]: `system:serviceaccount:${ns}:${sa}`, [aud]: "other" }), "Allowed");
    assert.notEqual(await decide({ [sub]: `system:serviceaccount:${ns}:${sa}`, [aud]: "sts.amazonaws.com" }, oidcProviderArn(REGION, ACCOUNT, "https://oidc.eks.eu-central-1.amazonaws.com/id/OTHER")), "Allowed");
  });
});

describe("Thanos objstore configs", () => {
  const reference = referenceYaml("thanos-v0.42.4/objstore-s3.yaml");
  const writer = parse(renderS3Objstore({ bucket: METRICS, region: REGION })) as { type: string; config: Record<string, unknown> };
  const reader = parse(renderS3Objstore({ bucket: METRICS, region: REGION, credentials: { accessKey: "AKIAEXAMPLE", secretKey: "c2VjcmV0" } })) as { type: string; config: Record<string, unknown> };

  it("use only fields the v0.42.4 S3 schema knows", () => {
    assert.deepEqual(unknownKeyPaths(writer, reference), []);
    assert.deepEqual(unknownKeyPaths(reader, reference), []);
  });

  it("point at the stack's bucket on the regional endpoint", () => {
    for (const c of [writer, reader]) {
      assert.equal(c.type, "S3");
      assert.equal(c.config.bucket, METRICS);
      assert.equal(c.config.region, REGION);
      assert.equal(c.config.endpoint, `s3.${REGION}.amazonaws.com`);
      assert.equal(c.config.insecure, false);
      assert.equal(c.config.send_content_md5, true);
    }
  });

  it("the writer carries no static keys and uses the AWS SDK credential chain (Pod Identity / IRSA)", () => {
    for (const k of ["access_key", "secret_key", "session_token"]) assert.equal(k in writer.config, false, k);
    assert.equal(writer.config.aws_sdk_auth, true);
  });

  it("the reader carries its keys and nothing else authenticates it", () => {
    assert.equal(reader.config.access_key, "AKIAEXAMPLE");
    assert.equal(reader.config.secret_key, "c2VjcmV0");
    assert.notEqual(reader.config.aws_sdk_auth, true);
  });
});

describe("Loki storage values", () => {
  const values = { loki: renderLokiStorage({ bucket: LOGS, region: REGION }) };
  const chartValues = readFileSync(join(REFERENCE_DIR, "charts", "loki-18.11.0", "values.yaml"), "utf8");

  it("use only value paths of the loki 18.11.0 chart", () => {
    // `bucketNames` is documented in the chart's values only as a commented example under
    // `loki.storage`; the reference is completed with exactly the keys of that example.
    const example = /^( *)# bucketNames:\n((?:\1#   [a-z]+: FIXME\n)+)/m.exec(chartValues);
    assert.ok(example !== null, "the chart documents loki.storage.bucketNames");
    const documented = Object.fromEntries([...example[2].matchAll(/#   ([a-z]+): FIXME/g)].map((m) => [m[1], ""]));
    const reference = referenceYaml("charts/loki-18.11.0/values.yaml") as { loki: { storage: Record<string, unknown> } };
    reference.loki.storage.bucketNames = documented;
    assert.deepEqual(unknownKeyPaths(values, reference), []);
  });

  it("write chunks and rules to the stack's logs bucket in its region, without keys", () => {
    const storage = values.loki.storage as { type: string; bucketNames: Record<string, string>; s3: Record<string, unknown> };
    assert.equal(storage.type, "s3");
    assert.deepEqual(storage.bucketNames, { chunks: LOGS, ruler: LOGS });
    assert.equal(storage.s3.region, REGION);
    assert.equal("accessKeyId" in storage.s3, false);
    assert.equal("secretAccessKey" in storage.s3, false);
  });
});

describe("lifecycle rules", () => {
  const retention: Retention = { raw: "15d", fiveMinutes: "90d", oneHour: "1y", logs: "14d", local: "12h", noncurrentVersions: "3d" };

  for (const role of ["metrics", "logs"] as const) {
    it(`${role}: expiry, noncurrent versions, multipart uploads and delete markers are all handled, on every object`, () => {
      const rules = lifecycleRules(role, retention);
      for (const r of rules) {
        assert.equal(r.status, "Enabled");
        assert.deepEqual(r.filter, {});
      }
      assert.deepEqual(rules.map((r) => r.id).sort(), [...new Set(rules.map((r) => r.id))].sort(), "rule ids are unique");
      assert.equal(rules.find((r) => r.expiration?.days !== undefined)?.expiration?.days, role === "metrics" ? durationDays("1y") : durationDays("14d"));
      assert.equal(rules.find((r) => r.noncurrentVersionExpiration !== undefined)?.noncurrentVersionExpiration?.noncurrentDays, 3);
      assert.equal(rules.find((r) => r.abortIncompleteMultipartUpload !== undefined)?.abortIncompleteMultipartUpload?.daysAfterInitiation, 1);
      assert.ok(rules.some((r) => r.expiration?.expiredObjectDeleteMarker === true));
      // S3 refuses a rule that sets both days and expiredObjectDeleteMarker.
      for (const r of rules) assert.ok(!(r.expiration?.days !== undefined && r.expiration.expiredObjectDeleteMarker !== undefined), r.id);
    });
  }

  it("metrics expire after the longest tier, never before a compactor would delete them", () => {
    assert.equal(expirationDays("metrics", retention), 365);
    assert.equal(expirationDays("metrics", { ...retention, raw: "400d" }), 400);
  });
});

describe("names", () => {
  it("bucket names are valid, deterministic, distinct per role, account and region", () => {
    assert.equal(METRICS, "dev-01-metrics-111122223333-eu-central-1");
    const names = new Set<string>();
    for (const stack of ["dev-01", "a".repeat(32), `${"b".repeat(30)}-1`, `${"b".repeat(30)}-2`]) {
      for (const role of ["metrics", "logs"] as const) {
        for (const region of ["eu-central-1", "ap-southeast-1"]) {
          const n = bucketName(stack, role, ACCOUNT, region);
          assert.match(n, S3_BUCKET_NAME);
          assert.ok(n.length <= 63, n);
          assert.equal(n, bucketName(stack, role, ACCOUNT, region));
          assert.ok(!n.includes("--"), n);
          names.add(n);
        }
      }
    }
    assert.equal(names.size, 4 * 2 * 2);
  });

  it("role names fit IAM's 64 characters for the longest stack names", () => {
    for (const u of ["sidecar", "compactor", "loki", "store"] as const) assert.ok(workloadRoleName("a".repeat(32), u).length <= 64);
  });
});

describe("reader key rotation", () => {
  const DAY = 86_400_000;

  it("replaces exactly one key per period, alternating, and hands the hub the new one", () => {
    const days = 30;
    let prev = rotationState(0, days);
    for (let t = days * DAY; t <= 20 * days * DAY; t += days * DAY) {
      const cur = rotationState(t, days);
      assert.equal(cur.period, prev.period + 1);
      const changed = (["a", "b"] as const).filter((s) => cur[s] !== prev[s]);
      assert.deepEqual(changed, [cur.active], `period ${cur.period}`);
      // Overlap: the key the hub used until now survives this whole period.
      assert.equal(cur[prev.active], prev[prev.active]);
      prev = cur;
    }
  });

  it("does not rotate within a period", () => {
    const a = rotationState(100 * DAY, 7);
    const b = rotationState(100 * DAY + 3 * DAY, 7);
    assert.deepEqual(a.period === b.period ? a : b, b);
    assert.throws(() => rotationState(0, 0));
  });
});
