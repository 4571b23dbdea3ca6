import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, it } from "node:test";
import { EXIT, FleetError } from "../fleet/exit-codes";
import { type FleetEvent, SPOKES_ENV, loadFleet, mapPool, runFleet } from "../fleet/orchestrator";
import { FakeRunner, syntheticFleet } from "./fixtures/fleet/fake-runner";

describe("fleet up: ordering and parallelism", () => {
  for (const n of [1, 2, 5, 13, 50]) {
    for (const parallel of [1, 4, 8]) {
      it(`${n} spokes, --parallel ${parallel}: bootstrap, spokes at most ${parallel} at once, hub last`, async () => {
        const { dir, spokes } = syntheticFleet(n);
        try {
          const runner = new FakeRunner();
          const result = await runFleet(runner, "up", loadFleet(dir), { parallel, strict: false });
          assert.equal(result.exitCode, EXIT.OK);
          const hubCalls = runner.of("hub-01");
          assert.equal(hubCalls.length, 2, "bootstrap and final pass");
          const [bootstrap, final] = hubCalls;
          assert.deepEqual(bootstrap.env, { [SPOKES_ENV]: "" }, "bootstrap wires no spokes");
          assert.equal(SPOKES_ENV in final.env, false, "all spokes succeeded: SOVEREIGN_SPOKES unset");
          const spokeCalls = runner.calls.filter((c) => c.stack !== "hub-01");
          assert.deepEqual(spokeCalls.map((c) => c.stack).sort(), spokes);
          for (const c of spokeCalls) {
            assert.ok(c.start > bootstrap.end, `${c.stack} started before the hub bootstrap ended`);
            assert.ok(c.end < final.start, `${c.stack} ended after the final hub pass started`);
          }
          // Overlap measured in the fake: never above the limit, and the limit is used.
          assert.ok(runner.maxActive <= parallel, `max ${runner.maxActive} > ${parallel}`);
          assert.equal(runner.maxActive, Math.min(parallel, n));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  }

  it("skips the bootstrap wave when the hub already has a contractVersion output", async () => {
    const { dir } = syntheticFleet(3);
    try {
      const runner = new FakeRunner({ deployed: ["hub-01"] });
      const events: FleetEvent[] = [];
      await runFleet(runner, "up", loadFleet(dir), { parallel: 4, strict: false }, { emit: (e) => events.push(e) });
      assert.equal(runner.of("hub-01").length, 1);
      assert.ok(events.some((e) => e.type === "wave-skipped" && e.wave === 1));
      assert.equal(runner.calls[runner.calls.length - 1].stack, "hub-01");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("never bootstraps in preview and refresh, and keeps hub last", async () => {
    const { dir } = syntheticFleet(4);
    try {
      for (const op of ["preview", "refresh"] as const) {
        const runner = new FakeRunner();
        await runFleet(runner, op, loadFleet(dir), { parallel: 2, strict: false });
        assert.equal(runner.of("hub-01").length, 1);
        const hub = runner.of("hub-01")[0];
        assert.ok(runner.calls.every((c) => c.stack === "hub-01" || c.end < hub.start));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fleet up: failure policy", () => {
  it("reports a failed spoke, finishes the others and wires only the successful ones", async () => {
    const { dir, spokes } = syntheticFleet(6);
    try {
      const failing = [spokes[1], spokes[4]];
      const runner = new FakeRunner({ fail: { [failing[0]]: "up", [failing[1]]: "select stack" } });
      const events: FleetEvent[] = [];
      const result = await runFleet(runner, "up", loadFleet(dir), { parallel: 2, strict: false }, { emit: (e) => events.push(e) });
      assert.equal(result.exitCode, EXIT.STACK_FAILED);
      const failedEvents = events.filter((e) => e.type === "stack-failed");
      assert.deepEqual(failedEvents.map((e) => (e.type === "stack-failed" ? [e.stack, e.step] : [])).sort(), [[failing[0], "up"], [failing[1], "select stack"]].sort());
      // Every spoke ran, failures did not cancel the rest.
      assert.deepEqual(runner.calls.filter((c) => c.stack !== "hub-01").map((c) => c.stack).sort(), spokes);
      const final = runner.of("hub-01").at(-1);
      assert.ok(final);
      const succeeded = spokes.filter((s) => !failing.includes(s));
      assert.deepEqual(final.env[SPOKES_ENV]?.split(","), succeeded);
      assert.deepEqual(result.outcomes.filter((o) => o.status === "succeeded").map((o) => o.stack).sort(), [...succeeded, "hub-01", "hub-01"].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with --strict, does not run the hub at all after a spoke failure", async () => {
    const { dir, spokes } = syntheticFleet(3);
    try {
      const runner = new FakeRunner({ deployed: ["hub-01"], fail: { [spokes[0]]: "up" } });
      const result = await runFleet(runner, "up", loadFleet(dir), { parallel: 4, strict: true });
      assert.equal(runner.of("hub-01").length, 0);
      assert.equal(result.exitCode, EXIT.STACK_FAILED);
      assert.ok(result.outcomes.some((o) => o.stack === "hub-01" && o.status === "skipped" && /--strict/.test(o.error ?? "")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("skips spokes and hub when the hub bootstrap fails", async () => {
    const { dir } = syntheticFleet(3);
    try {
      const runner = new FakeRunner({ fail: { "hub-01": "up" } });
      const result = await runFleet(runner, "up", loadFleet(dir), { parallel: 4, strict: false });
      assert.equal(runner.calls.length, 1);
      assert.equal(result.outcomes.filter((o) => o.status === "skipped").length, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("preview exits 1 when a stack has pending changes, 0 when none", async () => {
    const { dir, spokes } = syntheticFleet(2);
    try {
      const changed = await runFleet(new FakeRunner({ changes: { [spokes[0]]: { create: 2, same: 1 } } }), "preview", loadFleet(dir), { parallel: 4, strict: false });
      assert.equal(changed.exitCode, EXIT.CHANGES);
      const clean = await runFleet(new FakeRunner(), "preview", loadFleet(dir), { parallel: 4, strict: false });
      assert.equal(clean.exitCode, EXIT.OK);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fleet destroy", () => {
  it("refuses stacks holding protected data before destroying anything", async () => {
    const { dir, spokes } = syntheticFleet(3);
    try {
      const runner = new FakeRunner({ protectedStacks: [spokes[2]] });
      await assert.rejects(runFleet(runner, "destroy", loadFleet(dir), { parallel: 4, strict: false }), (e: unknown) => e instanceof FleetError && e.exitCode === EXIT.USAGE && e.message.includes(spokes[2]));
      assert.equal(runner.calls.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with --yes-destroy-data destroys the hub first, then the spokes", async () => {
    const { dir, spokes } = syntheticFleet(5);
    try {
      const runner = new FakeRunner({ protectedStacks: spokes });
      const result = await runFleet(runner, "destroy", loadFleet(dir), { parallel: 2, strict: false, yesDestroyData: true });
      assert.equal(result.exitCode, EXIT.OK);
      assert.equal(runner.calls[0].stack, "hub-01");
      assert.ok(runner.calls.slice(1).every((c) => c.start > runner.calls[0].end && c.allowProtectedDestroy));
      assert.ok(runner.maxActive <= 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("leaves the spokes alone when the hub destroy fails", async () => {
    const { dir } = syntheticFleet(2);
    try {
      const runner = new FakeRunner({ fail: { "hub-01": "destroy" } });
      const result = await runFleet(runner, "destroy", loadFleet(dir), { parallel: 2, strict: false });
      assert.equal(runner.calls.length, 1);
      assert.equal(result.exitCode, EXIT.STACK_FAILED);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fleet selection", () => {
  it("--stacks restricts the fleet and rejects unknown stacks", () => {
    const { dir, spokes } = syntheticFleet(4);
    try {
      const f = loadFleet(dir, [spokes[0], "hub-01"]);
      assert.equal(f.hub?.name, "hub-01");
      assert.deepEqual(f.spokes.map((s) => s.name), [spokes[0]]);
      assert.throws(() => loadFleet(dir, ["nope-01"]), (e: unknown) => e instanceof FleetError && e.exitCode === EXIT.USAGE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("mapPool keeps result order whatever the finishing order", async () => {
    const out = await mapPool([30, 1, 20, 2], 2, async (ms) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    });
    assert.deepEqual(out, [30, 1, 20, 2]);
  });
});
