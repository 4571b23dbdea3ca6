/**
 * `fleet up` with edges: hub bootstrap, spokes, the edges (requests and addresses), the spokes
 * whose edges changed or are not accepted yet (signing, admitting), the edges again (with their
 * certificates), then the hub; and nothing re-run when nothing changed for an edge.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EXIT } from "../fleet/exit-codes";
import { type FleetEvent, loadFleet, planFleet, runFleet } from "../fleet/orchestrator";
import { FakeRunner, syntheticFleet } from "./fixtures/fleet/fake-runner";

/** The synthetic fleet plus `edges` attached to spoke sp-01 (listed in its receive.edges). */
function withEdges(edges: readonly string[]): { dir: string; spokes: string[] } {
  const f = syntheticFleet(3);
  writeFileSync(
    join(f.dir, "Pulumi.sp-01.yaml"),
    `config:\n  observability:role: spoke\n  observability:cloud: aws\n  observability:region: eu-central-1\n  observability:hub:\n    stack: hub-01\n  observability:receive:\n    enabled: true\n    endpoint: receive.sp-01.example.eu\n    edges:\n${edges.map((e) => `      - ${e}`).join("\n")}\n`,
  );
  for (const e of edges) writeFileSync(join(f.dir, `Pulumi.${e}.yaml`), `config:\n  observability:role: edge\n  observability:cloud: aws\n  observability:region: eu-central-1\n  observability:spoke:\n    stack: sp-01\n`);
  return f;
}

describe("fleet up with edges", () => {
  it("plans hub bootstrap, spokes, edges, the receiving spoke, the edges again, then the hub", () => {
    const { dir } = withEdges(["ed-01", "ed-02"]);
    try {
      const fleet = loadFleet(dir);
      assert.deepEqual(fleet.edges?.map((e) => [e.name, e.spoke]), [["ed-01", "sp-01"], ["ed-02", "sp-01"]]);
      const waves = planFleet("up", fleet, { parallel: 2, strict: false });
      assert.deepEqual(waves.map((w) => w.wave), [1, 2, 2.1, 2.2, 2.3, 3, 4]);
      assert.deepEqual(waves.find((w) => w.wave === 2.2)?.ops.map((o) => o.stack), ["sp-01"], "only the spoke that lists edges signs again");
      assert.deepEqual(waves.find((w) => w.wave === 2.3)?.ops.map((o) => o.stack), ["ed-01", "ed-02"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs them in that order; the other spokes and the hub run once", async () => {
    const { dir, spokes } = withEdges(["ed-01", "ed-02"]);
    try {
      const runner = new FakeRunner();
      const events: FleetEvent[] = [];
      const result = await runFleet(runner, "up", loadFleet(dir), { parallel: 2, strict: false }, { emit: (e) => events.push(e) });
      assert.equal(result.exitCode, EXIT.OK);
      const order = (stack: string): number[] => runner.of(stack).map((c) => c.start);
      const [hubBoot, hubFinal] = runner.of("hub-01");
      const [sp1a, sp1b] = runner.of("sp-01");
      const [ed1a, ed1b] = runner.of("ed-01");
      assert.ok(sp1b !== undefined && ed1b !== undefined, "the receiving spoke and the edges ran twice");
      assert.ok(hubBoot.end < sp1a.start && sp1a.end < ed1a.start && ed1a.end < sp1b.start && sp1b.end < ed1b.start && ed1b.end < hubFinal.start);
      for (const s of spokes.filter((x) => x !== "sp-01")) assert.equal(order(s).length, 1, `${s} runs once`);
      assert.equal(runner.of("hub-01").length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("skips the signing and certificate waves when no edge changed and the spoke accepts them all", async () => {
    const { dir } = withEdges(["ed-01"]);
    try {
      const runner = new FakeRunner({
        deployed: ["hub-01"],
        changes: { "ed-01": { same: 9 } },
        outputs: { "sp-01": { contractVersion: 2, receiver: { edges: ["ed-01"] } } },
      });
      const events: FleetEvent[] = [];
      await runFleet(runner, "up", loadFleet(dir), { parallel: 2, strict: false }, { emit: (e) => events.push(e) });
      assert.equal(runner.of("sp-01").length, 1);
      assert.equal(runner.of("ed-01").length, 1);
      assert.ok(events.some((e) => e.type === "wave-skipped" && e.wave === 2.2));
      assert.ok(events.some((e) => e.type === "wave-skipped" && e.wave === 2.3));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("re-signs when the spoke does not accept an edge yet, even if the edge reports no change", async () => {
    const { dir } = withEdges(["ed-01"]);
    try {
      const runner = new FakeRunner({ deployed: ["hub-01"], changes: { "ed-01": { same: 9 } }, outputs: { "sp-01": { contractVersion: 2, receiver: { edges: [] } } } });
      await runFleet(runner, "up", loadFleet(dir), { parallel: 2, strict: false });
      assert.equal(runner.of("sp-01").length, 2);
      assert.equal(runner.of("ed-01").length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("destroys edges with the spokes, after the hub", () => {
    const { dir } = withEdges(["ed-01"]);
    try {
      const waves = planFleet("destroy", loadFleet(dir), { parallel: 2, strict: false });
      assert.deepEqual(waves.map((w) => w.ops.map((o) => o.stack).sort()), [["hub-01"], ["ed-01", "sp-01", "sp-02", "sp-03"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fleet up with edges: failures", () => {
  it("an edge sub-wave failure does not unwire its spoke from the hub", async () => {
    const { dir } = withEdges(["ed-01"]);
    try {
      let signing = 0;
      const runner = new FakeRunner({
        afterUp: (stack) => {
          if (stack === "sp-01" && ++signing === 2) throw new Error("load balancer not ready");
          return undefined;
        },
      });
      const result = await runFleet(runner, "up", loadFleet(dir), { parallel: 2, strict: false });
      assert.equal(result.exitCode, EXIT.STACK_FAILED);
      const [, final] = runner.of("hub-01");
      assert.ok(final !== undefined, "the hub's final pass ran");
      assert.equal("SOVEREIGN_SPOKES" in final.env, false, "every spoke stays wired: sp-01 succeeded in wave 2");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
