/**
 * The policy pack on buckets of an S3-compatible service (cloud s3): recorded the way the offline
 * engine records them, with the provider pointed at the service's endpoint and the bucket policy
 * the program renders (components/clouds/s3/render.ts s3BucketPolicy) as the compliant case.
 */
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { RecordedResource, StackRun } from "../offline";
import { evaluatePolicies, type Violation } from "../policy/offline";
import { allPolicies } from "../policy/policies";
import { S3_PROFILE_SPECS } from "../components/clouds/s3/profiles";
import { s3BucketPolicy } from "../components/clouds/s3/render";
import { recordedResource } from "./fixtures/recorded";

function rec(type: string, name: string, inputs: Record<string, unknown>, o: { provider?: RecordedResource; deps?: RecordedResource[]; kept?: boolean } = {}): RecordedResource {
  return recordedResource(type, name, inputs, { stack: "e-01", provider: o.provider, deps: o.deps, protect: o.kept, retain: o.kept, outputs: inputs });
}

const ENDPOINT = "https://obs.eu-de.otc.t-systems.com";
const otcP = rec("pulumi:providers:aws", "s3", { region: "eu-de", endpoints: JSON.stringify([{ s3: ENDPOINT }]), skipRegionValidation: "true" });
const awsP = rec("pulumi:providers:aws", "aws", { region: "eu-central-1" });
const S3_STACK = { region: "eu-de", sovereigntyZone: "de", cloud: "s3", role: "spoke", encryptionMode: "provider", hubReaderAuth: "key", hubStack: "ops-01", s3SigningRegion: "eu-de", s3EndpointHost: "obs.eu-de.otc.t-systems.com" };
const AWS_STACK = { ...S3_STACK, region: "eu-central-1", cloud: "aws", hubReaderAuth: "federated", s3SigningRegion: "", s3EndpointHost: "" };
const USER = (u: string): string => `arn:aws:iam::219d520ceac84c5a98b237431a2cf4c2:user/${u}`;

const policyDoc = (o: { writers?: Record<string, string>; reader?: string } = {}): string =>
  JSON.stringify(
    s3BucketPolicy({
      bucket: "e-01-metrics",
      profile: S3_PROFILE_SPECS.otc,
      writers: o.writers ?? { sidecar: USER("sidecar"), compactor: USER("compactor") },
      localReaders: {},
      spokeSourceCidrs: ["80.158.10.21/32"],
      hubReader: { principal: o.reader ?? USER("reader"), sourceIps: ["203.0.113.206"] },
    }),
  );

/** The buckets the s3 module creates for an OTC spoke: bucket, versioning, policy; no PAB, SSE or lifecycle (OTC cannot express them). */
function otcBucket(provider: RecordedResource = otcP, policy: string = policyDoc()): RecordedResource[] {
  const bucket = rec("aws:s3/bucket:Bucket", "metrics", { bucket: "e-01-metrics", forceDestroy: false }, { provider, kept: true });
  return [
    provider,
    bucket,
    rec("aws:s3/bucketVersioning:BucketVersioning", "metrics-versioning", { bucket: "e-01-metrics", versioningConfiguration: { status: "Enabled" } }, { provider, deps: [bucket] }),
    rec("aws:s3/bucketPolicy:BucketPolicy", "metrics-policy", { bucket: "e-01-metrics", policy }, { provider, deps: [bucket] }),
  ];
}

function run(resources: RecordedResource[]): StackRun {
  return { stack: "e-01", resources, outputs: {}, role: "spoke", config: {}, secretKeys: [], secretOutputNames: [] };
}
function violations(policy: string, resources: RecordedResource[], config: Record<string, string>): Violation[] {
  const p = allPolicies.find((x) => x.name === policy);
  assert.ok(p !== undefined, policy);
  return evaluatePolicies(run(resources), { policies: [p], config });
}
const messages = (policy: string, resources: RecordedResource[], config: Record<string, string>): string[] => violations(policy, resources, config).map((v) => v.message);

describe("policy pack on S3-compatible buckets", () => {
  it("the AWS S3 checklist judges AWS buckets only: an S3-compatible bucket is the s3 policies' (and no mandatory check fails on what the module renders)", () => {
    for (const name of ["s3-public-access-blocked", "s3-versioning-and-lifecycle", "s3-encryption-at-rest", "s3-tls-only", "writers-are-local", "sovereign-data-residency", "no-replication-outside-zone", "s3-compatible-storage-declared"]) {
      assert.deepEqual(messages(name, otcBucket(), S3_STACK), [], name);
    }
    // The same bucket through an AWS provider is an AWS bucket again, and fails the AWS checklist.
    assert.ok(messages("s3-public-access-blocked", otcBucket(awsP), AWS_STACK).some((m) => /no public access block/.test(m)));
  });

  it("an S3-compatible provider in a stack that does not declare cloud s3 is refused: no AWS bucket escapes the checklist by an endpoint override", () => {
    assert.match(messages("s3-compatible-storage-declared", otcBucket(), AWS_STACK).join("\n"), /S3-compatible endpoint .*declares cloud aws, not s3/);
  });

  it("every checklist item the service cannot express is an advisory, read off the resources", () => {
    const v = violations("s3-compatible-guarantees", otcBucket(), S3_STACK);
    assert.ok(v.length > 0 && v.every((x) => x.enforcementLevel === "advisory"));
    const text = v.map((x) => x.message).join("\n");
    assert.match(text, /no public access block/);
    assert.match(text, /no default encryption/);
    assert.match(text, /no lifecycle rules from this stack/);
    assert.doesNotMatch(text, /not versioned|binds no identity|denies requests without TLS/);
    // Without a bucket policy (MinIO), the missing address binding is reported too.
    const noPolicy = otcBucket().filter((r) => r.type !== "aws:s3/bucketPolicy:BucketPolicy");
    assert.match(messages("s3-compatible-guarantees", noPolicy, S3_STACK).join("\n"), /no bucket policy: its service cannot bind writers or the hub reader/);
  });

  it("writers-are-local: no write to the anonymous principal or to the read-only hub reader", () => {
    const readerWrites = policyDoc({ writers: { sidecar: USER("reader") }, reader: USER("reader") });
    assert.match(messages("writers-are-local", otcBucket(otcP, readerWrites), S3_STACK).join("\n"), /allows S3 writes to '.*user\/reader', which the same policy marks read-only/);
    const open = JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "Open", Effect: "Allow", Principal: "*", Action: "s3:PutObject", Resource: ["arn:aws:s3:::e-01-metrics/*"] }] });
    assert.match(messages("writers-are-local", otcBucket(otcP, open), S3_STACK).join("\n"), /allows S3 writes to everyone/);
  });

  it("residency: the bucket is where the stack declares its service, at its signing region", () => {
    const elsewhere = rec("pulumi:providers:aws", "s3", { region: "eu-de", endpoints: JSON.stringify([{ s3: "https://obs.eu-nl.example.invalid" }]) });
    assert.match(messages("sovereign-data-residency", otcBucket(elsewhere), S3_STACK).join("\n"), /created at https:\/\/obs\.eu-nl\.example\.invalid, not at the stack's declared object storage/);
    const otherRegion = rec("pulumi:providers:aws", "s3", { region: "us-east-1", endpoints: JSON.stringify([{ s3: ENDPOINT }]) });
    assert.match(messages("sovereign-data-residency", otcBucket(otherRegion), S3_STACK).join("\n"), /created in us-east-1/);
  });
});
