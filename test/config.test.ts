/**
 * Stack configuration: the example fleet validates, and each kind of bad input is refused
 * with a message naming the stack file and the key path, before any resource exists.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatIssues, knownStacks, listStacks, readStackFile, validateStackConfig, type ConfigIssue } from "../components/config";
import { REPO_DIR, runStack } from "../offline";

function validate(stack: string, mutate: (v: Record<string, unknown>, secret: Set<string>) => void = () => undefined): ConfigIssue[] {
  const f = readStackFile(REPO_DIR, stack);
  const values = structuredClone(f.values);
  const secretKeys = new Set(f.secretKeys);
  mutate(values, secretKeys);
  const r = validateStackConfig(values, { stack, secretKeys, knownStacks: knownStacks(REPO_DIR) });
  return r.ok ? [] : r.issues;
}

type Mutation = (v: Record<string, unknown>, secret: Set<string>) => void;
const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

/** Broken configurations, the stack they break, the key path and a fragment of the message. */
const CORPUS: { name: string; stack: string; mutate: Mutation; key: string; message: RegExp }[] = [
  { name: "wrong role", stack: "dev-01", mutate: (v) => { v.role = "satellite"; }, key: "observability:role", message: /expected 'spoke', 'hub' or 'edge'/ },
  { name: "unknown cloud", stack: "dev-01", mutate: (v) => { v.cloud = "ibm"; }, key: "observability:cloud", message: /aws, gcp, azure/ },
  { name: "region not of that cloud", stack: "prod-01", mutate: (v) => { v.region = "eu-central-1"; }, key: "observability:region", message: /found "eu-central-1", which is not a GCP region/ },
  { name: "region outside the sovereignty zone", stack: "stag-01", mutate: (v) => { v.region = "eastus"; }, key: "observability:sovereigntyZone", message: /outside zone 'de'/ },
  { name: "missing cluster", stack: "stag-01", mutate: (v) => { delete v.cluster; }, key: "observability:cluster", message: /^not set; expected a map describing the existing azure cluster/ },
  { name: "missing cluster field", stack: "dev-01", mutate: (v) => { delete obj(v.cluster).accountId; }, key: "observability:cluster.accountId", message: /^not set; expected a string/ },
  { name: "malformed CIDR", stack: "dev-01", mutate: (v) => { obj(v.network).cidrs = ["10.20.0.0/16", "10.300.0.0/16"]; }, key: "observability:network.cidrs[1]", message: /CIDR/ },
  { name: "non-secret kubeconfig", stack: "prod-01", mutate: (v, s) => { v.kubeconfig = "apiVersion: v1\nkind: Config\n"; s.delete("observability:kubeconfig"); }, key: "observability:kubeconfig", message: /in plain text in the stack file and must be a secret: .*pulumi config set --secret observability:kubeconfig -s prod-01/ },
  { name: "duplicate spoke", stack: "ops-01", mutate: (v) => { v.spokes = ["dev-01", "prod-01", "dev-01"]; }, key: "observability:spokes[2]", message: /listed twice/ },
  { name: "hub listing an unknown stack", stack: "ops-01", mutate: (v) => { v.spokes = ["dev-01", "qa-07"]; }, key: "observability:spokes[1]", message: /no stack 'qa-07'.*Pulumi\.qa-07\.yaml/ },
  { name: "hub listing a hub", stack: "ops-01", mutate: (v) => { v.spokes = ["ops-01"]; }, key: "observability:spokes[0]", message: /cannot list itself/ },
  { name: "retention below the downsampling horizon", stack: "dev-01", mutate: (v) => { obj(v.retention).raw = "1d"; }, key: "observability:retention.raw", message: /at least 40h/ },
  { name: "malformed duration", stack: "dev-01", mutate: (v) => { obj(v.retention).logs = "30 days"; }, key: "observability:retention.logs", message: /duration/ },
  { name: "misspelled key", stack: "dev-01", mutate: (v) => { v.retension = { raw: "30d" }; }, key: "observability:retension", message: /unknown key/ },
  { name: "irsa without issuer", stack: "dev-01", mutate: (v) => { obj(v.cluster).identity = "irsa"; delete obj(v.cluster).oidcIssuerUrl; }, key: "observability:cluster.oidcIssuerUrl", message: /required with identity: irsa/ },
  { name: "GCP hub reader without the bucket IP filter", stack: "prod-01", mutate: (v) => { v.queryPath = "hub-store"; obj(v.network).bucketIpFilter = false; }, key: "observability:network.bucketIpFilter", message: /only thing binding the hub's read access \(key or federated\)/ },
  { name: "a federating hub without its cluster's issuer", stack: "ops-01", mutate: (v) => { obj(v.cluster).identity = "pod-identity"; delete obj(v.cluster).oidcIssuerUrl; }, key: "observability:cluster.oidcIssuerUrl", message: /required with hubReader\.auth: federated.*publicly discoverable.*hubReader\.auth: key in Pulumi\.ops-01\.yaml/ },
  { name: "an EKS issuer with a trailing slash", stack: "ops-01", mutate: (v) => { obj(v.cluster).oidcIssuerUrl = "https://oidc.eks.eu-central-1.amazonaws.com/id/A1B2C3D4E5F60718293A4B5C6D7E8F90/"; }, key: "observability:cluster.oidcIssuerUrl", message: /no trailing slash/ },
  { name: "the EKS issuer of a cluster in another region", stack: "ops-01", mutate: (v) => { obj(v.cluster).oidcIssuerUrl = "https://oidc.eks.eu-west-1.amazonaws.com/id/A1B2C3D4E5F60718293A4B5C6D7E8F90"; }, key: "observability:cluster.oidcIssuerUrl", message: /cluster in eu-west-1, but this stack's cluster is in eu-central-1/ },
  { name: "an AKS issuer without its trailing slash", stack: "stag-01", mutate: (v) => { obj(v.cluster).oidcIssuerUrl = String(obj(v.cluster).oidcIssuerUrl).replace(/\/$/, ""); }, key: "observability:cluster.oidcIssuerUrl", message: /ending in '\/'/ },
  { name: "an unknown reader auth", stack: "dev-01", mutate: (v) => { v.hubReader = { auth: "oidc" }; }, key: "observability:hubReader.auth", message: /federated, key/ },
  { name: "an AWS OIDC provider setting on GCP", stack: "prod-01", mutate: (v) => { v.hubReader = { oidcProvider: "existing" }; }, key: "observability:hubReader.oidcProvider", message: /AWS setting/ },
  { name: "an OIDC provider setting with a key reader", stack: "dev-01", mutate: (v) => { v.hubReader = { auth: "key", oidcProvider: "existing" }; }, key: "observability:hubReader.oidcProvider", message: /only used with hubReader\.auth: federated/ },
  { name: "adopted egress count mismatch", stack: "stag-01", mutate: (v) => { v.egress = { mode: "existing", count: 2, addresses: ["/subscriptions/x/pip-1"] }; }, key: "observability:egress.addresses", message: /exactly 'count' \(2\)/ },
];

describe("stack configuration", () => {
  it("every example stack validates", () => {
    const stacks = listStacks(REPO_DIR);
    assert.deepEqual(stacks, ["dev-01", "edge-dev-01", "edge-otc-01", "ops-01", "prod-01", "stag-01"]);
    for (const s of stacks) assert.deepEqual(validate(s), [], `Pulumi.${s}.yaml should validate`);
  });

  it("defaults are applied and typed per cloud", () => {
    const f = readStackFile(REPO_DIR, "dev-01");
    const r = validateStackConfig(f.values, { stack: "dev-01", secretKeys: f.secretKeys });
    assert.ok(r.ok);
    assert.equal(r.config.namespace, "observability");
    assert.equal(r.config.cloud, "aws");
    if (r.config.cloud === "aws") assert.equal(r.config.network.s3Endpoint.mode, "create");
    assert.equal(r.config.pki.leafValidityHours, 2160);
  });

  for (const c of CORPUS) {
    it(`refuses ${c.name} with the key path`, () => {
      const issues = validate(c.stack, c.mutate);
      const hit = issues.find((i) => i.key === c.key);
      assert.ok(hit, `expected an issue at ${c.key}, got:\n${formatIssues(c.stack, issues)}`);
      assert.match(hit.message, c.message);
    });
  }

  it("reports every problem at once, naming the stack file", () => {
    const issues = validate("dev-01", (v) => {
      v.cloud = "gcp";
      obj(v.retention).raw = "1d";
      v.kubeconfig = "plain";
    });
    const text = formatIssues("dev-01", issues);
    assert.match(text, /^Pulumi\.dev-01\.yaml has \d+ configuration problem/);
    for (const key of ["observability:retention.raw", "observability:region", "observability:cluster.project", "observability:network.network"]) {
      assert.ok(issues.some((i) => i.key === key), `missing ${key} in\n${text}`);
    }
  });
});

describe("configuration messages: the project's own sentence, once per problem, with the value found", () => {
  const only = (issues: ConfigIssue[], key: string): ConfigIssue => {
    const at = issues.filter((i) => i.key === key);
    assert.equal(at.length, 1, `exactly one message for ${key}, got:\n${at.map((i) => i.message).join("\n")}`);
    return at[0];
  };

  it("a missing cluster is reported once, without schema internals", () => {
    const issues = validate("dev-01", (v) => { delete v.cluster; });
    const m = only(issues, "observability:cluster").message;
    assert.doesNotMatch(m, /nonoptional|expected nonoptional/);
    assert.match(m, /existing aws cluster/);
  });

  it("an invalid environment names the value in the file (qa), not undefined", () => {
    const m = only(validate("dev-01", (v) => { v.environment = "qa"; }), "observability:environment").message;
    assert.match(m, /found "qa"/);
    assert.match(m, /dev, test, stag, prod, ops/);
    assert.doesNotMatch(m, /undefined/);
  });

  it("a region of another cloud reads as English, with the value found", () => {
    const aws = only(validate("dev-01", (v) => { v.region = "westeurope"; }), "observability:region").message;
    assert.match(aws, /found "westeurope", which is not an AWS region/);
    const azure = only(validate("stag-01", (v) => { v.region = "eu-central-1"; }), "observability:region").message;
    assert.match(azure, /not an Azure region/);
    assert.doesNotMatch(`${aws}${azure}`, /not a aws|not a azure/);
  });

  it("a malformed value shows what was found", () => {
    assert.match(only(validate("dev-01", (v) => { obj(v.retention).logs = "30 days"; }), "observability:retention.logs").message, /\(found "30 days"\)/);
    assert.match(only(validate("dev-01", (v) => { v.profile = "huge"; }), "observability:profile").message, /found "huge", expected one of small, medium, large/);
    assert.equal(only(validate("dev-01", (v) => { obj(v.egress).count = 0; }), "observability:egress.count").message, "found 0, expected at least 1");
    assert.equal(only(validate("dev-01", (v) => { obj(v.network).publicSubnetIds = []; }), "observability:network.publicSubnetIds").message, "found a list of 0, expected a list of at least 1 item(s)");
    assert.match(only(validate("dev-01", (v) => { v.tags = { Cost: "x" }; }), "observability:tags.Cost").message, /^key "Cost" is not allowed: tag keys must be lowercase/);
    // Refinements (retention rules) carry no input in zod 4; the value is looked up at the key path.
    assert.match(only(validate("dev-01", (v) => { obj(v.retention).raw = "1d"; }), "observability:retention.raw").message, /at least 40h.*\(found "1d"\)/);
  });

  it("a fresh clone's stack file as a real deployment sees it: one message per missing secret, each with its command", () => {
    // No stand-ins: the Pulumi runtime hands the program only what the file holds.
    const raw = readStackFile(REPO_DIR, "ops-01").raw;
    const values = Object.fromEntries(Object.entries(raw).filter(([k]) => k.startsWith("observability:")).map(([k, v]) => [k.slice("observability:".length), v]));
    const r = validateStackConfig(values, { stack: "ops-01", secretKeys: new Set(), knownStacks: knownStacks(REPO_DIR) });
    assert.ok(!r.ok);
    assert.deepEqual(r.issues.map((i) => i.key).sort(), ["observability:alerting", "observability:kubeconfig"]);
    for (const i of r.issues) assert.match(i.message, /^not set; .*npm run fleet -- secrets --stacks ops-01/);
    assert.match(only(r.issues, "observability:alerting").message, /observability:alerting\.receivers\.nonProd\.url/);
    const spoke = readStackFile(REPO_DIR, "dev-01").raw;
    const sv = Object.fromEntries(Object.entries(spoke).filter(([k]) => k.startsWith("observability:")).map(([k, v]) => [k.slice("observability:".length), v]));
    const rs = validateStackConfig(sv, { stack: "dev-01", secretKeys: new Set() });
    assert.ok(!rs.ok);
    // alerting.forwardToHub is plain and stays: no "must be a secret" for the key, only the two URLs and the kubeconfig.
    assert.deepEqual(rs.issues.map((i) => i.key).sort(), ["observability:alerting.deadMansSwitch", "observability:alerting.receiver", "observability:kubeconfig"]);
  });

  it("a missing secret names the command that sets it and never prints secret values", () => {
    const m = only(validate("dev-01", (v) => { delete obj(obj(v.alerting).receiver).url; }), "observability:alerting.receiver.url").message;
    assert.match(m, /npm run fleet -- secrets --stacks dev-01/);
    assert.match(m, /pulumi config set --secret --path 'observability:alerting\.receiver\.url' <value> -s dev-01/);
    const bad = only(validate("dev-01", (v) => { obj(obj(v.alerting).receiver).url = "http://hooks.example.invalid/token-abc"; }), "observability:alerting.receiver.url").message;
    assert.doesNotMatch(bad, /token-abc/, "a secret's value is not echoed");
  });
});

describe("invalid configuration through the real program", () => {
  // One engine run per kind of failure that reaches the program: a schema error, a
  // cross-stack error and a secrecy error. Each must stop before any registration.
  const cases = [CORPUS[2], CORPUS[7], CORPUS[9]];
  for (const c of cases) {
    it(`${c.name}: the program fails naming ${c.key} and registers no resource`, async () => {
      const run = await runStack({ stack: c.stack, mutateConfig: c.mutate });
      assert.ok(run.error, "the run should fail");
      assert.equal(run.error.name, "ConfigError");
      assert.match(run.error.message, new RegExp(`Pulumi\\.${c.stack}\\.yaml`));
      assert.ok(run.error.message.includes(c.key), run.error.message);
      assert.equal(run.resources.length, 0, "no resource may be registered");
    });
  }
});
