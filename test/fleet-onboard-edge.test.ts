/**
 * `fleet onboard --role edge --spoke <stack>`: the edge's stack file is valid, the receiving
 * spoke's file gains exactly the edge in `receive.edges` and no other file changes; an edge in
 * another sovereignty zone than the spoke is refused before anything is written; the waves run
 * the spoke, the edge, the spoke (signing) and the edge again, never the hub.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { parse } from "yaml";
import { knownStacks, knownZones, readStackFile, validateStackConfig } from "../components/config";
import { EXIT, FleetError } from "../fleet/exit-codes";
import { type OnboardRequest, executeOnboard, planOnboard } from "../fleet/onboard";
import { FakeRunner } from "./fixtures/fleet/fake-runner";

const PROJECT = join(__dirname, "..");

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, createHash("sha256").update(readFileSync(join(dir, f))).digest("hex")]));
}

const VALUES = `
cluster:
  name: edge-dev-02-eks
  accountId: "111122223333"
network:
  vpcId: vpc-0a1b2c3d4e5f60799
  publicSubnetIds: [subnet-0a11b22c33d44e599]
  privateRouteTableIds: [rtb-0c33d44e55f66a799]
  cidrs: [10.23.0.0/16]
alerting:
  deadMansSwitch:
    url: https://hnc.example.invalid/ping/edge-dev-02
`;

describe("fleet onboard --role edge", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "fleet-onboard-edge-"));
    for (const f of readdirSync(PROJECT).filter((f) => /^Pulumi\..*yaml$/.test(f))) copyFileSync(join(PROJECT, f), join(dir, f));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const request = (over: Partial<OnboardRequest> = {}): OnboardRequest => ({
    stack: "edge-dev-02",
    role: "edge",
    spoke: "dev-01",
    cloud: "aws",
    region: "eu-central-1",
    environment: "dev",
    values: parse(VALUES) as Record<string, unknown>,
    kubeconfig: "apiVersion: v1\nkind: Config\n",
    ...over,
  });

  it("writes a valid edge file, lists the edge in dev-01's receiver and changes no other file; then runs dev-01 and the edge twice, never the hub", async () => {
    const before = snapshot(dir);
    const plan = planOnboard(dir, request());
    assert.equal(plan.role, "edge");
    assert.equal(plan.hub, "dev-01");
    assert.deepEqual(plan.secrets.map((s) => s.key).sort(), ["observability:alerting.deadMansSwitch.url", "observability:kubeconfig"]);
    assert.ok(!plan.stackText.includes("hnc.example.invalid"), "no secret in the file");
    const runner = new FakeRunner({ projectDir: dir, deployed: ["ops-01", "dev-01"] });
    const outcome = await executeOnboard(dir, runner, plan, { parallel: 2, strict: false });
    assert.equal(outcome.result?.exitCode, EXIT.OK);
    const after = snapshot(dir);
    const changed = Object.keys(after).filter((f) => before[f] !== after[f]).sort();
    assert.deepEqual(changed, ["Pulumi.dev-01.yaml", "Pulumi.edge-dev-02.yaml"]);
    // dev-01's file changed only in its edge list.
    const spokeBefore = parse(readFileSync(join(PROJECT, "Pulumi.dev-01.yaml"), "utf8")) as { config: Record<string, unknown> };
    const spokeAfter = parse(readFileSync(join(dir, "Pulumi.dev-01.yaml"), "utf8")) as { config: Record<string, unknown> };
    const receive = spokeAfter.config["observability:receive"] as { edges: string[] };
    assert.deepEqual(receive.edges, ["edge-dev-01", "edge-dev-02"]);
    (spokeAfter.config["observability:receive"] as { edges: string[] }).edges = (spokeBefore.config["observability:receive"] as { edges: string[] }).edges;
    assert.deepEqual(spokeAfter, spokeBefore);
    // The new file validates with the project's zones.
    const file = readStackFile(dir, "edge-dev-02");
    const r = validateStackConfig(file.values, { stack: "edge-dev-02", secretKeys: file.secretKeys, knownStacks: knownStacks(dir), knownZones: knownZones(dir) });
    assert.ok(r.ok, JSON.stringify(r));
    // The waves: dev-01, the edge (request), dev-01 (signs), the edge (certificate); no hub.
    assert.deepEqual(runner.calls.map((c) => c.stack), ["dev-01", "edge-dev-02", "dev-01", "edge-dev-02"]);
  });

  it("refuses an edge in another sovereignty zone than its spoke, writing nothing", () => {
    const before = snapshot(dir);
    assert.throws(() => planOnboard(dir, request({ region: "eu-west-3" })), (e: unknown) => {
      assert.ok(e instanceof FleetError && e.exitCode === EXIT.USAGE);
      assert.match(e.message, /--spoke dev-01 is of sovereignty zone 'de', but aws eu-west-3 is in 'fr', 'eu': an edge writes only to a spoke of its own zone/);
      return true;
    });
    assert.deepEqual(snapshot(dir), before);
  });

  it("refuses a missing or non-spoke --spoke, a hub flag, and an s3 edge, naming the flag", () => {
    assert.throws(() => planOnboard(dir, request({ spoke: undefined })), /--spoke <stack> is required with --role edge/);
    assert.throws(() => planOnboard(dir, request({ spoke: "ops-01" })), /--spoke ops-01: stack is not a spoke/);
    assert.throws(() => planOnboard(dir, request({ hub: "ops-01" })), /--hub: an edge has no hub/);
    assert.throws(() => planOnboard(dir, request({ cloud: "s3" })), /an edge runs on aws, gcp or azure/);
    assert.throws(() => planOnboard(dir, request({ role: undefined })), /--spoke names an edge's zone spoke: pass --role edge/);
  });

  it("enables the receiver at receive.<spoke>.<domain> on a spoke that has none", () => {
    const path = join(dir, "Pulumi.dev-01.yaml");
    const doc = parse(readFileSync(path, "utf8")) as { config: Record<string, unknown> };
    delete doc.config["observability:receive"];
    writeFileSync(path, JSON.stringify(doc));
    const plan = planOnboard(dir, request());
    const after = parse(plan.hubTextAfter) as { config: Record<string, unknown> };
    assert.deepEqual(after.config["observability:receive"], { enabled: true, endpoint: "receive.dev-01.obs.example.eu", edges: ["edge-dev-02"] });
  });
});
