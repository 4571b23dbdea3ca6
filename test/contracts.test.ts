/**
 * The contracts between stacks: the hub refuses a spoke whose outputs are missing,
 * outdated or malformed, names it, and registers nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONTRACT_VERSION, ContractError, parseSpokeExports, selectSpokes } from "../components/contracts";
import { reveal, runStack, type StackReferenceData } from "./engine";
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
    { name: "an outdated contractVersion", edit: (o) => { o.contractVersion = CONTRACT_VERSION - 1; }, expect: /output 'contractVersion' is 0, expected 1/ },
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
