import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { type CliIO, main } from "../fleet/cli";
import { EXIT } from "../fleet/exit-codes";
import { renderDriftJson, renderDriftTable } from "../fleet/output";
import { CONTRACT_VERSION } from "../components/contracts";
import { FakeRunner, type FakeOptions, contractModel } from "./fixtures/fleet/fake-runner";

const PROJECT = join(__dirname, "..");

/** Hashes of every file at the project root, where stack files and state would go. */
function snapshot(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(PROJECT, { withFileTypes: true }).filter((d) => d.isFile()).map((d) => [d.name, createHash("sha256").update(readFileSync(join(PROJECT, d.name))).digest("hex")]),
  );
}

function io(fake?: FakeOptions): CliIO & { out: () => string; err: () => string; runner?: FakeRunner } {
  let o = "";
  let e = "";
  const runner = fake ? new FakeRunner(fake) : undefined;
  return {
    stdout: { write: (t) => void (o += t), isTTY: false },
    stderr: { write: (t) => void (e += t) },
    env: { PULUMI_CONFIG_PASSPHRASE: "test", CI: "true" },
    createRunner: runner ? async () => runner : async () => assert.fail("dry run must not create a runner"),
    out: () => o,
    err: () => e,
    runner,
  };
}

describe("fleet --dry-run on the example fleet", () => {
  it("up prints bootstrap, spokes, hub in order and changes nothing", async () => {
    const before = snapshot();
    const x = io();
    assert.equal(await main(["up", "--dry-run"], x), EXIT.OK);
    const out = x.out();
    const pos = (s: string): number => out.indexOf(s);
    assert.ok(pos('up ops-01 [SOVEREIGN_SPOKES=""]') >= 0, out);
    for (const s of ["dev-01", "edge-otc-01", "prod-01", "stag-01"]) assert.ok(pos(`up ${s}`) > pos('up ops-01 [SOVEREIGN_SPOKES=""]'));
    assert.ok(pos("up ops-01 [SOVEREIGN_SPOKES unset]") > pos("up stag-01"));
    assert.match(out, /^wave 1: hub bootstrap or upgrade \(bootstrap only if ops-01 has no contractVersion output yet/m);
    const retire = pos("wave 4: spokes: retire read keys the hub no longer uses");
    assert.ok(retire > pos("up ops-01 [SOVEREIGN_SPOKES unset]"), out);
    assert.deepEqual(out.slice(retire).split("\n").slice(1, 5), ["  up dev-01", "  up edge-otc-01", "  up prod-01", "  up stag-01"]);
    assert.deepEqual(snapshot(), before);
  });

  it("preview prints spokes then hub, without the upgrade and retirement passes, and says why", async () => {
    const x = io();
    assert.equal(await main(["preview", "--dry-run"], x), EXIT.OK);
    const out = x.out();
    assert.doesNotMatch(out, /^wave [14]:/m);
    assert.match(out, /^ {2}note: no hub upgrade pass before the spokes and no key retirement after the hub in a preview: a preview deploys nothing/m);
    assert.ok(out.indexOf("preview stag-01") < out.indexOf("preview ops-01"));
  });

  it("destroy prints hub first, then spokes, and changes nothing", async () => {
    const before = snapshot();
    const x = io();
    assert.equal(await main(["destroy", "--dry-run", "--parallel", "2"], x), EXIT.OK);
    const out = x.out();
    assert.ok(out.indexOf("destroy ops-01") < out.indexOf("destroy dev-01"), out);
    assert.match(out, /2 at a time/);
    assert.match(out, /--yes-destroy-data/);
    assert.deepEqual(snapshot(), before);
  });

  it("onboard prints the stack file and the hub diff, and writes nothing", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "fleet-cli-"));
    try {
      writeFileSync(join(tmp, "values.yaml"), [
        "observability:cluster: {name: prod-02-gke, project: acme-obs-prod-02, location: europe-west10}",
        "observability:network: {network: prod-02-vpc, subnetwork: prod-02-gke-nodes, cidrs: [10.80.0.0/20]}",
        'observability:alerting: {deadMansSwitch: {url: "https://a.example.invalid/x"}, receiver: {url: "https://b.example.invalid/y"}}',
      ].join("\n"));
      writeFileSync(join(tmp, "kubeconfig"), "apiVersion: v1\n");
      const before = snapshot();
      const x = io();
      const code = await main(["onboard", "prod-02", "--cloud", "gcp", "--region", "europe-west10", "--environment", "prod", "--values", join(tmp, "values.yaml"), "--kubeconfig-file", join(tmp, "kubeconfig"), "--dry-run"], x);
      assert.equal(code, EXIT.OK, x.err());
      assert.match(x.out(), /would write .*Pulumi\.prod-02\.yaml/);
      assert.match(x.out(), /observability:region: europe-west10/);
      assert.match(x.out(), /^\+ {5}- prod-02$/m);
      assert.doesNotMatch(x.out(), /a\.example\.invalid/, "secrets never printed");
      assert.deepEqual(snapshot(), before);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("onboard with a bad region exits 3 and writes nothing", async () => {
    const before = snapshot();
    const x = io();
    assert.equal(await main(["onboard", "x-02", "--cloud", "azure", "--region", "eu-central-1", "--environment", "dev", "--dry-run"], x), EXIT.USAGE);
    assert.match(x.err(), /not an Azure region/);
    assert.deepEqual(snapshot(), before);
  });

  it("runs as a subprocess through tsx and through the bin shim, without a pulumi CLI", () => {
    const before = snapshot();
    const viaTsx = spawnSync("npx", ["tsx", "fleet/cli.ts", "up", "--dry-run", "--json"], { cwd: PROJECT, encoding: "utf8" });
    assert.equal(viaTsx.status, EXIT.OK, viaTsx.stderr);
    const plan = JSON.parse(viaTsx.stdout.trim().split("\n")[0]) as { type: string; text: string };
    const waves = (JSON.parse(plan.text) as { waves: { wave: number; ops: { stack: string }[] }[] }).waves;
    // The example fleet has an edge (edge-dev-01 on dev-01): its sub-waves come between the spokes and the hub.
    assert.deepEqual(waves.map((w) => w.wave), [1, 2, 2.1, 2.2, 2.3, 3, 4]);
    assert.deepEqual(waves.find((w) => w.wave === 2.2)?.ops.map((o) => o.stack), ["dev-01"]);
    const conditions = (JSON.parse(plan.text) as { waves: { wave: number; condition?: string }[] }).waves.map((w) => w.condition !== undefined);
    assert.deepEqual(conditions, [true, false, false, true, true, false, true], "the JSON plan carries the conditions of waves 1, 2.2, 2.3 and 4");
    // PATH limited to node's own directory: no pulumi can be found, whatever this machine has.
    const env = { ...process.env, PATH: dirname(process.execPath), PULUMI_CONFIG_PASSPHRASE: "x" };
    const missing = spawnSync(process.execPath, ["fleet/bin.js", "up"], { cwd: PROJECT, encoding: "utf8", env });
    assert.equal(missing.status, EXIT.PULUMI_MISSING, missing.stderr);
    assert.match(missing.stderr, /curl -fsSL https:\/\/get\.pulumi\.com \| sh/);
    const help = spawnSync(process.execPath, ["fleet/bin.js", "--help"], { cwd: PROJECT, encoding: "utf8", env });
    assert.equal(help.status, EXIT.OK);
    for (const code of Object.values(EXIT)) assert.match(help.stdout, new RegExp(`^  ${code}  `, "m"));
    assert.deepEqual(snapshot(), before);
  });
});

describe("fleet drift", () => {
  const drifted: FakeOptions = {
    drift: {
      "prod-01": { changes: { same: 10, update: 2, delete: 1 }, lastUpdate: "2026-02-03T04:05:06.000Z" },
      "ops-01": { changes: { same: 30 } },
    },
  };

  it("prints a table with cloud, region, drifted count and last update; exit 1 on drift", async () => {
    const x = io(drifted);
    assert.equal(await main(["drift"], x), EXIT.CHANGES);
    const lines = x.out().split("\n");
    assert.match(lines[0], /^STACK\s+CLOUD\s+REGION\s+DRIFTED\s+LAST UPDATE$/);
    assert.match(x.out(), /^prod-01\s+gcp\s+europe-west3\s+3\s+2026-02-03T04:05:06\.000Z$/m);
    assert.match(x.out(), /^ops-01\s+aws\s+eu-central-1\s+0\s+never$/m);
    assert.match(x.out(), /1 stack\(s\) drifted: prod-01 \(same 10, update 2, delete 1\)/);
  });

  it("--json gives one object per stack and a summary", async () => {
    const x = io(drifted);
    assert.equal(await main(["drift", "--json"], x), EXIT.CHANGES);
    const objs = x.out().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const prod = objs.find((o) => o.stack === "prod-01");
    assert.equal(prod?.drifted, 3);
    assert.equal(prod?.cloud, "gcp");
    assert.deepEqual(objs.at(-1), { type: "drift-summary", stacks: 6, driftedStacks: 1, driftedResources: 3, failedStacks: 0 });
    assert.ok(objs.some((o) => o.stack === "edge-dev-01" && o.role === "edge"), "the edge is checked too");
  });

  it("exits 0 without drift and 2 when a stack cannot be checked", async () => {
    assert.equal(await main(["drift"], io({})), EXIT.OK);
    const x = io({ drift: { "stag-01": new Error("no credentials") } });
    assert.equal(await main(["drift"], x), EXIT.STACK_FAILED);
    assert.match(x.out(), /stag-01: drift: no credentials/);
    assert.match(renderDriftJson([{ stack: "a", role: "spoke", cloud: "aws", region: "r", error: "x" }]), /"drifted":null/);
    assert.match(renderDriftTable([]), /no drift/);
  });
});

describe("fleet exit codes and errors", () => {
  it("names stack and step of a failure and exits 2; the hub runs with the rest", async () => {
    const x = io({ fail: { "prod-01": "up" }, deployed: ["ops-01"] });
    assert.equal(await main(["up"], x), EXIT.STACK_FAILED);
    assert.match(x.err(), /error: stack prod-01, step up: prod-01: simulated up failure/);
    const hub = x.runner?.of("ops-01")[0];
    assert.equal(hub?.env.SOVEREIGN_SPOKES, "dev-01,edge-otc-01,stag-01");
  });

  it("converges a v1 fleet in one up: hub upgrade, spokes, hub, key retirement", async () => {
    // The example fleet: three federating spokes, and edge-otc-01 on S3-compatible storage, read with its key for good.
    const spokes = ["dev-01", "edge-otc-01", "prod-01", "stag-01"];
    const model = contractModel({ hub: "ops-01", configured: spokes, hubWired: spokes, spokes: spokes.map((name) => ({ name, ...(name === "edge-otc-01" ? { auth: "key" as const } : {}) })) });
    const x = io({ outputs: model.outputs, afterUp: model.afterUp });
    assert.equal(await main(["up"], x), EXIT.OK, x.err());
    const waves = x.out().split("\n").filter((l) => l.startsWith("== wave"));
    assert.equal(waves.length, 7, x.out());
    assert.match(waves[0], new RegExp(`^== wave 1: hub upgrade to contract v${CONTRACT_VERSION}, wiring the spokes it wires now: ops-01 \\(ops-01 has contract v1: `));
    assert.match(waves[1], /^== wave 2: spokes \(4 at a time\): dev-01, edge-otc-01, prod-01, stag-01$/);
    // The example edge: its request, dev-01 signing it (dev-01's receiver does not accept it yet), the edge with its certificate.
    assert.match(waves[2], /^== wave 2\.1: edges: certificate requests and egress addresses \(4 at a time\): edge-dev-01$/);
    assert.match(waves[3], /^== wave 2\.2: spokes: sign and admit their edges \(4 at a time\): dev-01/);
    assert.match(waves[4], /^== wave 2\.3: edges: deploy with their certificates \(4 at a time\): edge-dev-01$/);
    assert.match(waves[5], /^== wave 3: hub: wire the spokes: ops-01$/);
    assert.match(waves[6], /^== wave 4: spokes: retire read keys the hub no longer uses \(4 at a time\): dev-01, prod-01, stag-01 \(ops-01 reads them federated now/);
    assert.match(x.out(), /\[ops-01\] up started \[SOVEREIGN_SPOKES="dev-01,edge-otc-01,prod-01,stag-01"\]/);
    assert.match(x.out(), /fleet up: 12 succeeded, 0 failed, 0 skipped/);
    assert.deepEqual(model.gaps, []);
  });

  it("exits 3 and runs nothing when the hub was deployed by a newer version of the project", async () => {
    const x = io({ outputs: { "ops-01": { contractVersion: CONTRACT_VERSION + 1, name: "ops-01" } } });
    assert.equal(await main(["up"], x), EXIT.USAGE);
    assert.equal(x.runner?.calls.length, 0);
    assert.match(x.err(), new RegExp(`^fleet: hub ops-01 publishes contract v${CONTRACT_VERSION + 1}, but this checkout of the project writes v${CONTRACT_VERSION} .*Update this checkout \\(git pull\\)`, "m"));
  });

  it("--json emits newline-delimited events", async () => {
    const x = io({ deployed: ["ops-01"] });
    assert.equal(await main(["up", "--json", "--stacks", "dev-01,ops-01"], x), EXIT.OK);
    const events = x.out().trim().split("\n").map((l) => JSON.parse(l) as { type: string; stack?: string });
    assert.deepEqual(events.filter((e) => e.type === "stack-done").map((e) => e.stack), ["dev-01", "ops-01"]);
    assert.ok(events.some((e) => e.type === "stack-progress"));
  });

  it("exits 3 on usage errors and on a refused destroy", async () => {
    assert.equal(await main(["up", "--parallel", "0", "--dry-run"], io()), EXIT.USAGE);
    assert.equal(await main(["frobnicate"], io()), EXIT.USAGE);
    const x = io({ protectedStacks: ["dev-01"] });
    assert.equal(await main(["destroy"], x), EXIT.USAGE);
    assert.equal(x.runner?.calls.length, 0);
    assert.match(x.err(), /--yes-destroy-data/);
  });
});
