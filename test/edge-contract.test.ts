/**
 * The edge role's configuration and its contract with the zone spoke: the example edge
 * validates; an edge attached to a spoke of another sovereignty zone is refused by the config
 * (both stack files visible) and by both programs' readers (each naming both zones); malformed
 * or foreign outputs are refused naming the stack and the output.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { knownStacks, knownZones, readStackFile, SECRET_LEAVES, validateStackConfig, type ConfigIssue } from "../components/config";
import { CONTRACT_VERSION, ContractError } from "../components/contracts";
import { checkEdgeRequest, EDGE_KEYS, parseEdgeExports, parseZoneSpoke, zoneProblem } from "../components/contracts/edges";
import { createCertRequest, generatePrivateKey } from "../offline/outputs/tls";
import { REPO_DIR } from "../offline";
import { realCaPem, spokeOutputs } from "./fixtures/exports";

function validate(stack: string, mutate: (v: Record<string, unknown>) => void = () => undefined, zones?: Map<string, string | undefined>): ConfigIssue[] {
  const f = readStackFile(REPO_DIR, stack);
  const values = structuredClone(f.values);
  mutate(values);
  const r = validateStackConfig(values, { stack, secretKeys: f.secretKeys, knownStacks: knownStacks(REPO_DIR), knownZones: zones ?? knownZones(REPO_DIR) });
  return r.ok ? [] : r.issues;
}

describe("edge configuration", () => {
  it("the example edge edge-dev-01 validates, attached to dev-01 of its own zone", () => {
    assert.deepEqual(validate("edge-dev-01"), []);
    const f = readStackFile(REPO_DIR, "edge-dev-01");
    assert.equal(f.values.role, "edge");
    assert.deepEqual(f.values.spoke, { stack: "dev-01" });
    assert.equal(knownZones(REPO_DIR).get("dev-01"), f.values.sovereigntyZone);
  });

  it("an edge stores nothing: retention, encryption, object storage, endpoints and a hub are unknown keys", () => {
    for (const key of ["retention", "encryption", "endpoints", "hub"]) {
      const issues = validate("edge-dev-01", (v) => { v[key] = {}; });
      assert.ok(issues.some((i) => i.key === `observability:${key}` && /unknown key/.test(i.message)), `${key}: ${JSON.stringify(issues)}`);
    }
    const storage = validate("edge-dev-01", (v) => { v.objectStorage = {}; });
    assert.ok(storage.some((i) => i.key === "observability:objectStorage" && /an edge stores nothing/.test(i.message)), JSON.stringify(storage));
  });

  it("its secrets are the kubeconfig and the dead man's switch URL", () => {
    assert.deepEqual([...SECRET_LEAVES.edge.aws].sort(), ["alerting.deadMansSwitch.url", "kubeconfig"]);
  });

  it("an edge attached to a spoke of another zone is refused, naming both zones and the fix", () => {
    const zones = new Map(knownZones(REPO_DIR));
    zones.set("dev-01", "fr");
    const issues = validate("edge-dev-01", () => undefined, zones);
    const issue = issues.find((i) => i.key === "observability:spoke.stack");
    assert.ok(issue, JSON.stringify(issues));
    assert.match(issue.message, /spoke 'dev-01' is of sovereignty zone 'fr', this stack of 'de'/);
    assert.match(issue.message, /attach this edge to a spoke of zone 'de'/);
  });

  it("a spoke listing an edge of another zone is refused, naming the edge", () => {
    const zones = new Map(knownZones(REPO_DIR));
    zones.set("edge-dev-01", "at");
    const issues = validate("dev-01", (v) => { v.receive = { enabled: true, endpoint: "receive.dev-01.obs.example.eu", edges: ["edge-dev-01"] }; }, zones);
    const issue = issues.find((i) => i.key === "observability:receive.edges[0]");
    assert.ok(issue, JSON.stringify(issues));
    assert.match(issue.message, /edge 'edge-dev-01' is of sovereignty zone 'at', this stack of 'de'/);
  });

  it("an edge attached to a stack that is not a spoke, and a spoke listing a non-edge, are refused", () => {
    assert.ok(validate("edge-dev-01", (v) => { v.spoke = { stack: "ops-01" }; }).some((i) => i.key === "observability:spoke.stack" && /is not a spoke/.test(i.message)));
    assert.ok(validate("dev-01", (v) => { v.receive = { enabled: true, endpoint: "receive.dev-01.obs.example.eu", edges: ["prod-01"] }; }).some((i) => i.key === "observability:receive.edges[0]" && /is not an edge/.test(i.message)));
  });

  it("a receiver needs its endpoint; edges need an enabled receiver; an edge is listed once", () => {
    assert.ok(validate("dev-01", (v) => { v.receive = { enabled: true }; }).some((i) => i.key === "observability:receive.endpoint"));
    assert.ok(validate("dev-01", (v) => { v.receive = { edges: ["edge-dev-01"] }; }).some((i) => i.key === "observability:receive.enabled"));
    assert.ok(validate("dev-01", (v) => { v.receive = { enabled: true, endpoint: "receive.dev-01.obs.example.eu", edges: ["edge-dev-01", "edge-dev-01"] }; }).some((i) => i.key === "observability:receive.edges" && /twice/.test(i.message)));
  });

  it("an edge on cloud s3 is refused with the reason", () => {
    const issues = validate("edge-dev-01", (v) => { v.cloud = "s3"; });
    assert.ok(issues.some((i) => i.key === "observability:cloud" && /an edge on cloud s3 is not supported/.test(i.message)), JSON.stringify(issues));
  });
});

/** A real PKCS#10 request (ECDSA P-256) for a common name, and optionally DNS names. */
async function csrFor(commonName: string, dnsNames: string[] = []): Promise<string> {
  const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
  return (await createCertRequest({ privateKeyPem: key.privateKeyPem, subject: `CN=${commonName}`, dnsNames })).certRequestPem;
}

async function edgeOutputs(name: string, over: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return {
    contractVersion: CONTRACT_VERSION,
    role: "edge",
    name,
    cloud: "aws",
    region: "eu-central-1",
    sovereigntyZone: "de",
    environment: "dev",
    spoke: "dev-01",
    labels: { cluster: name, environment: "dev", region: "eu-central-1", cloud: "aws", edge: name },
    egressIps: ["203.0.113.40"],
    clientCsrPem: await csrFor(name),
    tenant: name,
    loki: { username: `edge-${name}`, passwordHash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy" },
    ...over,
  };
}

describe("the edge contract", () => {
  const spoke = { name: "dev-01", sovereigntyZone: "de" };

  it("a valid edge is read by its spoke; its keys are the contract's", async () => {
    const o = await edgeOutputs("edge-dev-01");
    assert.deepEqual(Object.keys(o).sort(), [...EDGE_KEYS].filter((k) => k !== "footprint").sort());
    assert.equal(parseEdgeExports("edge-dev-01", o, spoke).tenant, "edge-dev-01");
  });

  it("the spoke refuses an edge of another zone, naming both zones", async () => {
    const o = await edgeOutputs("edge-dev-01", { sovereigntyZone: "fr" });
    assert.throws(() => parseEdgeExports("edge-dev-01", o, spoke), (e: unknown) => {
      assert.ok(e instanceof ContractError);
      assert.match(e.message, /edge edge-dev-01 is of sovereignty zone 'fr', spoke dev-01 of zone 'de'/);
      assert.match(e.message, /remove 'edge-dev-01' from observability:receive\.edges in Pulumi\.dev-01\.yaml/);
      return true;
    });
  });

  it("the spoke refuses an edge that writes to another spoke, or whose tenant is not its name", async () => {
    const other = await edgeOutputs("edge-dev-01", { spoke: "stag-01" });
    assert.throws(() => parseEdgeExports("edge-dev-01", other, spoke), /output 'spoke' is 'stag-01'/);
    const tenant = await edgeOutputs("edge-dev-01", { tenant: "edge-dev-02" });
    assert.throws(() => parseEdgeExports("edge-dev-01", tenant, spoke), /an edge's tenant is its stack name/);
  });

  it("malformed outputs are refused naming the output", async () => {
    const o = await edgeOutputs("edge-dev-01", { egressIps: ["not-an-ip"], loki: { username: "edge-dev-01", passwordHash: "plain" } });
    assert.throws(() => parseEdgeExports("edge-dev-01", o, spoke), (e: unknown) => {
      assert.ok(e instanceof ContractError);
      assert.match(e.message, /output 'egressIps\[0\]'/);
      assert.match(e.message, /output 'loki\.passwordHash': expected a bcrypt hash/);
      return true;
    });
  });

  it("the edge refuses a spoke of another zone, and a spoke without a receiver", async () => {
    const base = await spokeOutputs("dev-01");
    const receiver = { url: "https://receive.dev-01.obs.example.eu:19291/api/v1/receive", serverName: "receive.dev-01.obs.example.eu", caPem: await realCaPem("dev-01 observability CA"), edges: [], certificates: {} };
    const edge = { name: "edge-dev-01", sovereigntyZone: "de" };
    assert.equal(parseZoneSpoke("dev-01", { ...base, receiver }, edge).receiver.serverName, "receive.dev-01.obs.example.eu");
    assert.throws(() => parseZoneSpoke("dev-01", { ...base, receiver, sovereigntyZone: "fr" }, edge), /edge edge-dev-01 is of sovereignty zone 'de', spoke dev-01 of zone 'fr'.*attach edge edge-dev-01 to a spoke of zone 'de'/s);
    assert.throws(() => parseZoneSpoke("dev-01", base, edge), /output 'receiver' is missing: the spoke runs no zone receiver/);
  });

  it("the spoke signs only a valid request naming the edge itself, with no other name", async () => {
    assert.match(await checkEdgeRequest("edge-dev-01", await csrFor("edge-dev-01")), /BEGIN PUBLIC KEY/);
    await assert.rejects(checkEdgeRequest("edge-dev-02", await csrFor("edge-dev-01")), /asks for the common name 'edge-dev-01': an edge's certificate names the edge itself \('edge-dev-02'\)/);
    await assert.rejects(checkEdgeRequest("edge-dev-01", await csrFor("edge-dev-01", ["receive.dev-01.obs.example.eu"])), /asks for 1 subject alternative name/);
    await assert.rejects(checkEdgeRequest("edge-dev-01", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), /output 'clientCsrPem'/);
    // A request edited after it was signed (its name changed to another edge's): the signature no longer verifies.
    const der = Buffer.from((await csrFor("edge-dev-01")).replace(/-----[^-]+-----|\s/g, ""), "base64");
    const at = der.indexOf(Buffer.from("edge-dev-01"));
    assert.ok(at > 0);
    Buffer.from("edge-dev-02").copy(der, at);
    const edited = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(checkEdgeRequest("edge-dev-02", edited), /signature does not verify/);
  });

  it("zoneProblem says nothing within a zone", () => {
    assert.equal(zoneProblem({ edge: "e", edgeZone: "de", spoke: "s", spokeZone: "de", reader: "edge" }), undefined);
  });
});
