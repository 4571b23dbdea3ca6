/**
 * The contracts between stacks: the hub refuses a spoke whose outputs are missing,
 * outdated or malformed, names it, and registers nothing.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { CONTRACT_VERSION, ContractError, parseHubExports, parseSpokeExports, selectSpokes, SPOKE_SECRET_KEYS } from "../components/contracts";
import { asReference, isSecretValue, planFleet, reveal, runStack, type FleetPlan, type StackReferenceData, type StackRun } from "../offline";
import { asRef, spokeOutputs } from "./fixtures/exports";

type Outputs = Record<string, unknown>;
const plain = (o: Outputs): Outputs => reveal(o) as Outputs;

describe("SpokeExports validation", () => {
  it("accepts a healthy spoke", async () => {
    const parsed = parseSpokeExports("dev-01", plain(await spokeOutputs("dev-01")));
    assert.equal(parsed.name, "dev-01");
    assert.equal(parsed.contractVersion, CONTRACT_VERSION);
  });

  const tamper: { name: string; edit: (o: Outputs) => void; expect: RegExp }[] = [
    { name: "a contractVersion older than any this project reads", edit: (o) => { o.contractVersion = 0; }, expect: /output 'contractVersion' is 0, expected 1 or 2/ },
    { name: "a v2 hub-store spoke without reader", edit: (o) => { delete o.reader; }, expect: /output 'reader' is missing: required when queryPath is hub-store/ },
    { name: "a key reader without its key", edit: (o) => { delete o.objstoreReadonly; }, expect: /output 'objstoreReadonly' is missing: required when reader\.auth is key/ },
    { name: "a missing CA", edit: (o) => { delete (o.thanos as Outputs).caPem; }, expect: /output 'thanos\.caPem'/ },
    { name: "a CA that is not a certificate", edit: (o) => { (o.loki as Outputs).caPem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"; }, expect: /output 'loki\.caPem': expected one or more PEM CA certificates/ },
    { name: "a bad Thanos endpoint", edit: (o) => { (o.thanos as Outputs).endpoint = "grpc://thanos.dev-01"; }, expect: /output 'thanos\.endpoint': expected host:port/ },
    { name: "a missing output", edit: (o) => { delete o.egressIps; }, expect: /output 'egressIps' is missing/ },
    { name: "a spoke that failed closed", edit: (o) => { o.exposed = false; }, expect: /could not read its hub/ },
  ];
  for (const t of tamper) {
    it(`rejects ${t.name}, naming the stack`, async () => {
      const o = plain(await spokeOutputs("dev-01"));
      t.edit(o);
      assert.throws(() => parseSpokeExports("dev-01", o), (e: unknown) => {
        assert.ok(e instanceof ContractError);
        assert.match(e.message, /stack 'dev-01'/);
        assert.match(e.message, t.expect);
        assert.match(e.message, /pulumi up -s dev-01/);
        return true;
      });
    });
  }
});

describe("spoke selection for a hub run", () => {
  it("wires every configured spoke by default and a subset on request", () => {
    assert.deepEqual(selectSpokes("ops-01", ["a", "b", "c"], undefined), ["a", "b", "c"]);
    assert.deepEqual(selectSpokes("ops-01", ["a", "b", "c"], "c,a"), ["a", "c"]);
    assert.deepEqual(selectSpokes("ops-01", ["a", "b"], ""), []);
  });
  it("never wires a spoke the hub's config does not list", () => {
    assert.throws(() => selectSpokes("ops-01", ["a"], "a,z"), /'z', not listed in observability:spokes of Pulumi\.ops-01\.yaml/);
  });
});

describe("the hub program reading spokes", () => {
  async function fleetRefs(): Promise<Record<string, StackReferenceData>> {
    return {
      "dev-01": asRef(await spokeOutputs("dev-01")),
      "prod-01": asRef(await spokeOutputs("prod-01", "gcp", "europe-west3")),
      "stag-01": asRef(await spokeOutputs("stag-01", "azure", "germanywestcentral")),
      "edge-otc-01": asRef(await spokeOutputs("edge-otc-01", "s3", "eu-de")),
    };
  }

  it("fails on a tampered spoke, naming it and only it, before registering anything", async () => {
    const refs = await fleetRefs();
    (refs["prod-01"].outputs as Outputs).contractVersion = 99;
    delete ((refs["stag-01"].outputs as Outputs).thanos as Outputs).caPem;
    const run = await runStack({ stack: "ops-01", references: refs });
    assert.ok(run.error, "the hub must fail");
    assert.match(run.error.message, /cannot wire 2 spoke\(s\)/);
    assert.match(run.error.message, /stack 'prod-01'.*\n\s+- output 'contractVersion' is 99, expected 1/);
    assert.match(run.error.message, /stack 'stag-01'[\s\S]*output 'thanos\.caPem' is missing/);
    assert.doesNotMatch(run.error.message, /dev-01/);
    assert.equal(run.resources.length, 0);
  });

  it("fails on a spoke that was never deployed", async () => {
    const refs = await fleetRefs();
    delete refs["stag-01"];
    const run = await runStack({ stack: "ops-01", references: refs });
    assert.ok(run.error);
    assert.match(run.error.message, /cannot read spoke stack 'stag-01' \(organization\/sovereign-observability\/stag-01\)/);
    assert.match(run.error.message, /deploy it first \(pulumi up -s stag-01\) or remove it from observability:spokes/);
    assert.equal(run.resources.length, 0);
  });

  it("refuses a spoke whose secret outputs arrive in clear text", async () => {
    const refs = await fleetRefs();
    const dev = refs["dev-01"];
    dev.outputs = plain(dev.outputs as Outputs);
    dev.secretOutputNames = [];
    const run = await runStack({ stack: "ops-01", references: refs });
    assert.ok(run.error);
    assert.match(run.error.message, /stack 'dev-01'[\s\S]*output 'lokiPassword' must be a secret/);
  });
});

describe("the contract against the real fleet", () => {
  let fleet: FleetPlan;
  before(async () => {
    fleet = await planFleet();
  });
  const spokes = (): StackRun[] => fleet.runs.filter((r) => r.role === "spoke");

  it("accepts every real spoke's outputs and drops nothing the spoke exports", () => {
    assert.deepEqual(spokes().map((s) => s.stack).sort(), ["dev-01", "edge-otc-01", "prod-01", "stag-01"]);
    for (const s of spokes()) {
      assert.equal(s.error, undefined, `${s.stack}: ${s.error?.message ?? ""}`);
      const values = plain(s.outputs);
      const parsed = parseSpokeExports(s.stack, values);
      // zod drops unknown keys: an export the schema does not know would vanish here.
      assert.deepEqual(Object.keys(parsed).sort(), Object.keys(values).sort(), `${s.stack}: every export is part of the contract`);
    }
  });

  it("exports exactly the contract's secrets as secrets, so the hub's leak check and re-wrapping see them", () => {
    for (const s of spokes()) {
      const secretKeys: readonly string[] = SPOKE_SECRET_KEYS;
      for (const k of SPOKE_SECRET_KEYS) if (s.outputs[k] !== undefined) assert.ok(isSecretValue(s.outputs[k]), `${s.stack}: ${k} is a secret`);
      for (const k of s.secretOutputNames) assert.ok(secretKeys.includes(k), `${s.stack}: secret output ${k} is a contract secret`);
    }
    // The example fleet reads every hub-store spoke federated where its cloud can: no reader
    // credential exists but the key of the S3-compatible spoke, which cannot trust the hub's issuer.
    for (const s of spokes()) {
      if (s.config.cloud === "s3") assert.ok(isSecretValue(s.outputs.objstoreReadonly), `${s.stack}: its reader key, a secret`);
      else assert.equal(s.outputs.objstoreReadonly, undefined, `${s.stack}: no stored reader credential`);
    }
    assert.deepEqual(spokes().filter((s) => s.outputs.reader !== undefined).map((s) => [s.stack, (plain(s.outputs).reader as { auth: string }).auth]).sort(), [["dev-01", "federated"], ["edge-otc-01", "key"], ["stag-01", "federated"]]);
    assert.ok(spokes().every((s) => isSecretValue(s.outputs.lokiPassword)), "the Loki password is a secret everywhere");
  });

  it("the hub reads every real spoke: the run succeeds and wires all of them", () => {
    const hub = fleet.runs.find((r) => r.role === "hub");
    assert.ok(hub !== undefined);
    assert.equal(hub.error, undefined, hub.error?.message);
    assert.deepEqual(plain(hub.outputs).spokes, spokes().map((s) => s.stack).sort());
  });

  it("readSpoke reads every output a real spoke exports: the hub names each one when all are malformed", async () => {
    const dev = fleet.runs.find((r) => r.stack === "dev-01");
    assert.ok(dev !== undefined);
    const refs: Record<string, StackReferenceData> = Object.fromEntries(spokes().map((s) => [s.stack, asReference(s)]));
    // Every export of dev-01 replaced by a value of the wrong type: an output readSpoke does not read
    // (not in its key list) is never validated, so the hub's error would not name it.
    // contractVersion stays valid: a version this project cannot read stops the check before the rest
    // (that refusal, naming the version, is "fails on a tampered spoke" above).
    const tampered: Outputs = { contractVersion: dev.outputs.contractVersion };
    for (const k of Object.keys(dev.outputs)) if (k !== "contractVersion") tampered[k] = 12345;
    refs["dev-01"] = { outputs: tampered, secretOutputNames: dev.secretOutputNames };
    const run = await runStack({ stack: "ops-01", references: refs });
    assert.ok(run.error !== undefined, "the hub must refuse the tampered spoke");
    assert.match(run.error.message, /stack 'dev-01'/);
    for (const k of Object.keys(dev.outputs).filter((x) => x !== "contractVersion")) {
      const named = new RegExp(`output '${k}': `);
      assert.match(run.error.message, named, `readSpoke reads and validates '${k}'`);
      assert.doesNotMatch(run.error.message, new RegExp(`output '${k}' is missing`), `'${k}' is read, not missing`);
    }
    assert.doesNotMatch(run.error.message, /prod-01|stag-01/);
    assert.equal(run.resources.filter((r) => r.custom && r.type !== "pulumi:pulumi:StackReference").length, 0, "nothing registered");
  });

  it("the real AWS hub's outputs pass the hub contract, with its S3 gateway endpoint in its own region", () => {
    const hub = fleet.runs.find((r) => r.role === "hub");
    assert.ok(hub !== undefined && hub.error === undefined);
    const values = plain(hub.outputs);
    const hubKeys = Object.keys(values).filter((k) => k in parseHubExports("ops-01", values));
    const parsed = parseHubExports("ops-01", values);
    assert.ok(hubKeys.includes("s3GatewayEndpoint"));
    assert.equal(parsed.s3GatewayEndpoint?.region, parsed.region);
    assert.match(parsed.s3GatewayEndpoint?.id ?? "", /^vpce-/);
  });

  it("refuses an AWS hub without an S3 gateway endpoint (deployed by an older version), and an endpoint of another region or cloud, naming the output", () => {
    const hub = fleet.runs.find((r) => r.role === "hub");
    assert.ok(hub !== undefined);
    const values = plain(hub.outputs);
    const without = { ...values };
    delete without.s3GatewayEndpoint;
    assert.throws(() => parseHubExports("ops-01", without), /stack 'ops-01'.*output 's3GatewayEndpoint' is missing: required when cloud is aws/s);
    const elsewhere = { ...values, s3GatewayEndpoint: { ...(values.s3GatewayEndpoint as Outputs), region: "eu-west-1" } };
    assert.throws(() => parseHubExports("ops-01", elsewhere), /output 's3GatewayEndpoint\.region': is eu-west-1, but the hub is in eu-central-1/);
    const onGcp = { ...values, cloud: "gcp" };
    assert.throws(() => parseHubExports("ops-01", onGcp), /only an AWS hub has an S3 gateway endpoint/);
  });
});
