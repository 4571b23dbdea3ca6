/**
 * The S3 test server (test/support/s3server.ts, versitygw v1.8.0) enforces what the tests that
 * use it rely on: a bucket policy's principals (access key ids), actions, resources, explicit
 * Deny and aws:SourceIp conditions against the real TCP peer; no anonymous access unless a
 * policy grants `"*"`; root bypasses every policy. And one pitfall, so no later code relies on
 * it: NotPrincipal and NotAction are silently dropped (and NotResource makes a statement invalid).
 *
 * Sources cited below are github.com/versity/versitygw at tag v1.8.0 (the pinned module,
 * components/versions.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startS3Server, type S3Credentials, type S3Operation, type S3Server } from "./support/s3server";
import { requireTool } from "./support/tools";

const vgw = requireTool("versitygw");

const writer: S3Credentials = { accessKey: "writer", secretKey: "writer-secret-1" };
const reader: S3Credentials = { accessKey: "reader", secretKey: "reader-secret-1" };
const stranger: S3Credentials = { accessKey: "stranger", secretKey: "stranger-secret-1" };

/** Source addresses: Linux routes 127.0.0.0/8 to lo, so each is a distinct real TCP peer. */
const WRITER_NET = "127.0.1.5";
const READER_NET = "127.0.9.5";
const ELSEWHERE = "127.0.7.7";

const BUCKET = "telemetry";

/**
 * Hand-written, not generated: writer may put/get/list/delete only from 127.0.1.0/24, reader
 * may get/list only from 127.0.9.0/24. Principals are access key ids: with the internal IAM
 * (`--iam-dir`) accounts have no ARN, so matchFor compares the principal with the access key
 * (auth/bucket_policy_principals.go, Principals.matchFor), and PutBucketPolicy refuses a
 * principal that is not an existing user (Principals.Validate -> ResolveAccounts). Accepted
 * Principal forms there: "*", "id", ["id", ...], {"AWS": "id"}, {"AWS": ["id", ...]}.
 */
const POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "WriterFromItsNetwork",
      Effect: "Allow",
      Principal: { AWS: ["writer"] },
      Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:ListBucket"],
      Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      Condition: { IpAddress: { "aws:SourceIp": "127.0.1.0/24" } },
    },
    {
      Sid: "ReaderFromItsNetwork",
      Effect: "Allow",
      Principal: { AWS: ["reader"] },
      Action: ["s3:GetObject", "s3:ListBucket"],
      Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      Condition: { IpAddress: { "aws:SourceIp": "127.0.9.0/24" } },
    },
  ],
};

const ops = (bucket: string, key: string): S3Operation[] => [
  { op: "PutObject", bucket, key, body: "refused" },
  { op: "GetObject", bucket, key },
  { op: "ListObjectsV2", bucket },
  { op: "DeleteObject", bucket, key },
  { op: "GetBucketPolicy", bucket },
  { op: "PutBucketPolicy", bucket, policy: JSON.stringify(POLICY) },
];

describe("the S3 test server enforces bucket policies (versitygw v1.8.0)", { skip: vgw.skipReason }, () => {
  let s3: S3Server | undefined;
  const server = (): S3Server => {
    assert.ok(s3 !== undefined, "versitygw started");
    return s3;
  };

  before(async () => {
    s3 = await startS3Server();
    for (const u of [writer, reader, stranger]) await s3.createUser(u.accessKey, u.secretKey);
    await s3.createBucket(BUCKET);
    await s3.putBucketPolicy(BUCKET, POLICY);
    // Root bypasses the policy (auth/access-control.go, authorizationApplies: !IsRoot), so it
    // can seed an object the readers look for.
    const seeded = await s3.request({ op: "PutObject", bucket: BUCKET, key: "seed.txt", body: "seed", as: s3.root });
    assert.equal(seeded.status, 200);
  });
  after(async () => {
    await s3?.stop();
  });

  // aws:SourceIp is ctx.IP(), the TCP peer: fiber's ProxyHeader and TrustProxy are not set, so
  // no X-Forwarded-For can change it (auth/condition_context.go, requestConditionContext;
  // gofiber/fiber v3.5.0 req.go IP()). IpAddress matches by CIDR (internal/condition/condition.go, ipMatch).
  it("writer from its network puts, gets, lists and deletes", async () => {
    const as = { as: writer, from: WRITER_NET } as const;
    assert.deepEqual(await server().request({ op: "PutObject", bucket: BUCKET, key: "w.txt", body: "written", ...as }), { status: 200, code: undefined });
    assert.deepEqual(await server().request({ op: "GetObject", bucket: BUCKET, key: "w.txt", ...as }), { status: 200, code: undefined, body: "written" });
    const list = await server().request({ op: "ListObjectsV2", bucket: BUCKET, ...as });
    assert.equal(list.status, 200);
    assert.deepEqual([...(list.keys ?? [])].sort(), ["seed.txt", "w.txt"]);
    assert.deepEqual(await server().request({ op: "PutObject", bucket: BUCKET, key: "gone.txt", body: "x", ...as }), { status: 200, code: undefined });
    assert.deepEqual(await server().request({ op: "DeleteObject", bucket: BUCKET, key: "gone.txt", ...as }), { status: 204, code: undefined });
  });

  it("writer from another address is refused (403 AccessDenied)", async () => {
    // Same credentials, same signature scheme: only the source address differs.
    for (const op of ops(BUCKET, "w.txt")) {
      const r = await server().request({ ...op, as: writer, from: ELSEWHERE });
      assert.deepEqual([r.status, r.code], [403, "AccessDenied"], `${op.op} as writer from ${ELSEWHERE}`);
    }
    // Nothing was deleted or overwritten by the refused requests.
    assert.deepEqual(await server().request({ op: "GetObject", bucket: BUCKET, key: "w.txt", as: writer, from: WRITER_NET }), { status: 200, code: undefined, body: "written" });
  });

  it("reader from its network lists and gets but cannot put or delete", async () => {
    const as = { as: reader, from: READER_NET } as const;
    const list = await server().request({ op: "ListObjectsV2", bucket: BUCKET, ...as });
    assert.equal(list.status, 200);
    assert.ok(list.keys?.includes("seed.txt"), `listed ${String(list.keys)}`);
    assert.deepEqual(await server().request({ op: "GetObject", bucket: BUCKET, key: "seed.txt", ...as }), { status: 200, code: undefined, body: "seed" });
    for (const op of ops(BUCKET, "seed.txt").filter((o) => o.op !== "GetObject" && o.op !== "ListObjectsV2")) {
      const r = await server().request({ ...op, ...as });
      assert.deepEqual([r.status, r.code], [403, "AccessDenied"], `${op.op} as reader from ${READER_NET}`);
    }
  });

  it("reader from the writer's network is refused", async () => {
    for (const op of ops(BUCKET, "seed.txt")) {
      const r = await server().request({ ...op, as: reader, from: WRITER_NET });
      assert.deepEqual([r.status, r.code], [403, "AccessDenied"], `${op.op} as reader from ${WRITER_NET}`);
    }
  });

  // A user no statement names gets NoMatch from the bucket policy; with the internal IAM there
  // is no identity policy (not a PolicyEvaluator), so NoMatch is AccessDenied, and the bucket's
  // ACL is not consulted at all once a policy exists (auth/access-control.go,
  // verifyResourceAccess and objectsAccessErrors).
  it("a user the policy does not name is refused from every address", async () => {
    for (const from of [WRITER_NET, READER_NET, ELSEWHERE]) {
      for (const op of ops(BUCKET, "seed.txt")) {
        const r = await server().request({ ...op, as: stranger, from });
        assert.deepEqual([r.status, r.code], [403, "AccessDenied"], `${op.op} as stranger from ${from}`);
      }
    }
  });

  // An unsigned request takes the public-bucket path, which grants only what a "*" statement
  // allows (s3api/middlewares/public-bucket.go, AuthorizePublicBucketAccess;
  // auth/bucket_policy.go, publicDecisionFor).
  it("an anonymous request is refused from every address", async () => {
    for (const from of [WRITER_NET, READER_NET, ELSEWHERE]) {
      for (const op of ops(BUCKET, "seed.txt")) {
        const r = await server().request({ ...op, as: "anonymous", from });
        assert.deepEqual([r.status, r.code], [403, "AccessDenied"], `${op.op} anonymous from ${from}`);
      }
    }
  });

  it("the harness's anonymous requests really are unsigned: a public-read bucket serves them", async () => {
    // Control for the test above: the same anonymous client succeeds where "*" is allowed, so
    // the refusals there come from the policy, not from a malformed request.
    await server().createBucket("public-control");
    await server().request({ op: "PutObject", bucket: "public-control", key: "open.txt", body: "open", as: server().root });
    await server().putBucketPolicy("public-control", {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::public-control/*" }],
    });
    assert.deepEqual(await server().request({ op: "GetObject", bucket: "public-control", key: "open.txt", as: "anonymous", from: ELSEWHERE }), { status: 200, code: undefined, body: "open" });
    const put = await server().request({ op: "PutObject", bucket: "public-control", key: "open.txt", body: "x", as: "anonymous", from: ELSEWHERE });
    assert.deepEqual([put.status, put.code], [403, "AccessDenied"], "the public statement grants GetObject only");
  });

  // authorizationApplies returns false for root and RoleAdmin: no policy or ACL is evaluated
  // for them (auth/access-control.go). Object locks and readonly mode still apply.
  it("root bypasses the bucket policy, from any address", async () => {
    const r = await server().request({ op: "GetObject", bucket: BUCKET, key: "seed.txt", as: server().root, from: ELSEWHERE });
    assert.deepEqual(r, { status: 200, code: undefined, body: "seed" });
  });

  // decisionFor returns Deny as soon as a matching Deny statement is found, whatever Allow
  // matched before it (auth/bucket_policy.go); NotIpAddress is IpAddress negated
  // (internal/condition/condition.go, conditionRegistry).
  it("an explicit Deny wins over a matching Allow", async () => {
    const bucket = "deny-wins";
    await server().createBucket(bucket);
    await server().putBucketPolicy(bucket, {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { AWS: "writer" }, Action: ["s3:PutObject", "s3:GetObject"], Resource: `arn:aws:s3:::${bucket}/*` },
        { Effect: "Deny", Principal: { AWS: "writer" }, Action: "s3:PutObject", Resource: `arn:aws:s3:::${bucket}/*`, Condition: { NotIpAddress: { "aws:SourceIp": "127.0.1.0/24" } } },
      ],
    });
    assert.equal((await server().request({ op: "PutObject", bucket, key: "k", body: "v", as: writer, from: WRITER_NET })).status, 200);
    const denied = await server().request({ op: "PutObject", bucket, key: "k", body: "v2", as: writer, from: ELSEWHERE });
    assert.deepEqual([denied.status, denied.code], [403, "AccessDenied"]);
    assert.match(denied.message ?? "", /explicit deny/);
    // The Deny names PutObject only; the Allow still covers GetObject from anywhere.
    assert.deepEqual(await server().request({ op: "GetObject", bucket, key: "k", as: writer, from: ELSEWHERE }), { status: 200, code: undefined, body: "v" });
  });

  // aws:SecureTransport is ctx.Secure(): true only when versitygw itself terminates TLS
  // (fasthttp IsTLS); with TrustProxy unset, X-Forwarded-Proto is ignored
  // (auth/condition_context.go; gofiber/fiber v3.5.0 req.go Scheme). Behind a TLS-terminating
  // proxy a "deny unless SecureTransport" policy therefore denies everything.
  it("aws:SecureTransport is false over plain HTTP", async () => {
    const bucket = "secure-only";
    await server().createBucket(bucket);
    await server().putBucketPolicy(bucket, {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { AWS: "writer" }, Action: "s3:PutObject", Resource: `arn:aws:s3:::${bucket}/*` },
        { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } },
      ],
    });
    const r = await server().request({ op: "PutObject", bucket, key: "k", body: "v", as: writer, from: WRITER_NET });
    assert.deepEqual([r.status, r.code], [403, "AccessDenied"]);
    assert.match(r.message ?? "", /explicit deny/);
  });

  // PITFALL. BucketPolicyItem has only Effect, Principal, Action, Resource and Condition
  // (auth/bucket_policy.go at v1.8.0); encoding/json drops every other key, so NotPrincipal,
  // NotAction and NotResource are never evaluated. A statement left without Principal or
  // Action passes validation (Principals.Validate resolves no names; the action/resource check
  // in BucketPolicyItem.Validate loops over no actions) and matches nothing
  // (Principals.matchFor, Actions.FindMatch), so its Deny never applies. In AWS each Deny below
  // would refuse the request. Never rely on Not* elements against this server: write the
  // positive form.
  it("PITFALL: a Deny with NotPrincipal or NotAction is accepted and silently ignored", async () => {
    const bucket = "pitfall-not";
    await server().createBucket(bucket);
    await server().request({ op: "PutObject", bucket, key: "k", body: "v", as: server().root });
    const allow = { Effect: "Allow", Principal: { AWS: ["writer", "reader"] }, Action: ["s3:GetObject", "s3:PutObject"], Resource: `arn:aws:s3:::${bucket}/*` };
    const cases: { deny: Record<string, unknown>; req: S3Operation; as: S3Credentials; aws: string }[] = [
      // AWS: everyone but writer is denied GetObject, so reader would be refused.
      { deny: { Effect: "Deny", NotPrincipal: { AWS: ["writer"] }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*` }, req: { op: "GetObject", bucket, key: "k" }, as: reader, aws: "reader refused" },
      // AWS: writer is denied everything but GetObject, so its PutObject would be refused.
      { deny: { Effect: "Deny", Principal: { AWS: ["writer"] }, NotAction: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*` }, req: { op: "PutObject", bucket, key: "k", body: "v" }, as: writer, aws: "writer's PutObject refused" },
    ];
    for (const c of cases) {
      const policy = JSON.stringify({ Version: "2012-10-17", Statement: [allow, c.deny] });
      const put = await server().request({ op: "PutBucketPolicy", bucket, policy, as: server().root });
      assert.ok(put.status < 300, `PutBucketPolicy with ${Object.keys(c.deny).join(",")} accepted: ${put.code ?? ""} ${put.message ?? ""}`);
      // Stored as sent, so GetBucketPolicy shows the Not* element as if it were in force.
      const stored = await server().request({ op: "GetBucketPolicy", bucket, as: server().root });
      assert.match(stored.body ?? "", /"Not(Principal|Action)"/);
      const r = await server().request({ ...c.req, as: c.as, from: ELSEWHERE });
      assert.deepEqual([r.status, r.code], [200, undefined], `AWS: ${c.aws}; versitygw v1.8.0 ignores the Not* element`);
    }
  });

  // NotResource is dropped the same way, but a statement then has no Resource, and
  // BucketPolicyItem.Validate refuses an action that applies to no resource (auth/bucket_policy.go,
  // policyErrResourceMismatch): such a policy is refused outright rather than half-applied.
  it("a statement with NotResource instead of Resource is refused (MalformedPolicy)", async () => {
    const bucket = "pitfall-not";
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Deny", Principal: { AWS: ["writer"] }, Action: "s3:GetObject", NotResource: "arn:aws:s3:::other-bucket/*" }],
    });
    const r = await server().request({ op: "PutBucketPolicy", bucket, policy, as: server().root });
    assert.deepEqual([r.status, r.code], [400, "MalformedPolicy"]);
    assert.match(r.message ?? "", /Action does not apply to any resource/);
  });
});
