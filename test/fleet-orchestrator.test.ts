import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, it } from "node:test";
import { CONTRACT_VERSION } from "../components/contracts";
import { EXIT, FleetError } from "../fleet/exit-codes";
import { type FleetEvent, SPOKES_ENV, keepsReadKey, loadFleet, mapPool, planFleet, plainOutput, runFleet, spokeReaders } from "../fleet/orchestrator";
import { renderPlan } from "../fleet/output";
import { type Call, FakeRunner, contractModel, syntheticFleet, wireSecret } from "./fixtures/fleet/fake-runner";

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

/** The calls of the spokes (every stack but hub-01) that started after `after` ended. */
function spokeCallsAfter(runner: FakeRunner, after: Call): Call[] {
  return runner.calls.filter((c) => c.stack !== "hub-01" && c.start > after.end);
}

function waveEvents(events: readonly FleetEvent[], wave: number): FleetEvent[] {
  return events.filter((e) => (e.type === "wave-start" || e.type === "wave-skipped") && e.wave === wave);
}

describe("fleet up: migrating a v1 fleet from read keys to federation", () => {
  it("runs hub upgrade (its wired spokes), spokes, hub, then the spokes that kept a key; converged in one run, no read gap", async () => {
    const { dir, spokes } = syntheticFleet(4);
    try {
      // fed-1, fed-2: federated, wired by the v1 hub; keyed: stays on a key; late: listed but never wired by the v1 hub.
      const [fed1, fed2, keyed, late] = spokes;
      const model = contractModel({ hub: "hub-01", configured: spokes, hubWired: [fed1, fed2, keyed], spokes: [{ name: fed1 }, { name: fed2 }, { name: keyed, auth: "key" }, { name: late }] });
      const runner = new FakeRunner({ outputs: model.outputs, afterUp: model.afterUp });
      const events: FleetEvent[] = [];
      const result = await runFleet(runner, "up", loadFleet(dir), { parallel: 2, strict: false }, { emit: (e) => events.push(e) });
      assert.equal(result.exitCode, EXIT.OK, JSON.stringify(result.outcomes));
      assert.deepEqual(model.gaps, [], "the hub's read path to every spoke existed after every up");

      const [upgrade, final] = runner.of("hub-01");
      assert.equal(runner.of("hub-01").length, 2);
      assert.equal(runner.calls[0], upgrade, "the hub upgrade runs first");
      assert.deepEqual(upgrade.env, { [SPOKES_ENV]: [fed1, fed2, keyed].join(",") }, "the upgrade wires exactly the spokes the v1 hub wired");
      const wave2 = runner.calls.filter((c) => c.stack !== "hub-01" && c.end < final.start);
      assert.deepEqual(wave2.map((c) => c.stack).sort(), spokes);
      assert.ok(wave2.every((c) => c.start > upgrade.end));
      assert.equal(SPOKES_ENV in final.env, false, "the final hub pass wires every listed spoke");
      const wave4 = spokeCallsAfter(runner, final);
      assert.deepEqual(wave4.map((c) => c.stack).sort(), [fed1, fed2], "only the spokes that kept a key the hub no longer uses");
      assert.deepEqual(result.outcomes.map((o) => o.wave), [1, 2, 2, 2, 2, 3, 4, 4]);

      assert.ok(waveEvents(events, 1).some((e) => e.type === "wave-start" && /upgrade/.test(e.title) && /contract v1/.test(e.reason ?? "")));
      assert.ok(waveEvents(events, 4).some((e) => e.type === "wave-start" && e.stacks.length === 2));

      // Converged: the hub reads every federated spoke federated, and none of them keeps a key.
      const hub = runner.current("hub-01");
      assert.equal(hub.contractVersion, CONTRACT_VERSION);
      assert.deepEqual(spokeReaders(hub), { [fed1]: "federated", [fed2]: "federated", [keyed]: "key", [late]: "federated" });
      for (const s of [fed1, fed2, late]) {
        assert.equal(runner.current(s).objstoreReadonly, undefined, `${s} retired its key`);
        assert.equal((plainOutput(runner.current(s).reader) as { auth?: string }).auth, "federated");
      }
      assert.notEqual(runner.current(keyed).objstoreReadonly, undefined, "a key-mode spoke keeps its key");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a current fleet runs no upgrade and no key retirement: spokes, then hub", async () => {
    const { dir, spokes } = syntheticFleet(3);
    try {
      const model = contractModel({ hub: "hub-01", configured: spokes, hubWired: spokes, spokes: spokes.map((name) => ({ name })) });
      const runner = new FakeRunner({ outputs: model.outputs, afterUp: model.afterUp });
      await runFleet(runner, "up", loadFleet(dir), { parallel: 4, strict: false });
      const migrated = runner.calls.length;
      // The second run over the fleet the first one converged.
      const events: FleetEvent[] = [];
      const again = await runFleet(runner, "up", loadFleet(dir), { parallel: 4, strict: false }, { emit: (e) => events.push(e) });
      assert.equal(again.exitCode, EXIT.OK);
      const second = runner.calls.slice(migrated);
      assert.deepEqual(second.map((c) => c.stack).slice(0, 3).sort(), spokes);
      assert.deepEqual(second.map((c) => c.stack).slice(3), ["hub-01"]);
      for (const w of [1, 4]) assert.ok(waveEvents(events, w).every((e) => e.type === "wave-skipped") && waveEvents(events, w).length === 1, `wave ${w} skipped`);
      assert.match(waveEvents(events, 1).map((e) => (e.type === "wave-skipped" ? e.reason : "")).join(), new RegExp(`contract v${CONTRACT_VERSION}`));
      assert.match(waveEvents(events, 4).map((e) => (e.type === "wave-skipped" ? e.reason : "")).join(), /no spoke keeps a read key/);
      assert.deepEqual(model.gaps, []);

      // The same with a hub the fake only knows as deployed by this project.
      const plain = new FakeRunner({ deployed: ["hub-01", ...spokes] });
      const plainEvents: FleetEvent[] = [];
      await runFleet(plain, "up", loadFleet(dir), { parallel: 4, strict: false }, { emit: (e) => plainEvents.push(e) });
      assert.equal(plain.of("hub-01").length, 1);
      assert.equal(plain.calls.length, spokes.length + 1);
      assert.ok(plainEvents.some((e) => e.type === "wave-skipped" && e.wave === 4));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops with a usage error before anything runs when the hub is newer than this project", async () => {
    const { dir } = syntheticFleet(2);
    try {
      for (const op of ["up", "preview"] as const) {
        const runner = new FakeRunner({ outputs: { "hub-01": { contractVersion: CONTRACT_VERSION + 1, name: "hub-01" } } });
        await assert.rejects(
          runFleet(runner, op, loadFleet(dir), { parallel: 4, strict: false }),
          (e: unknown) => e instanceof FleetError && e.exitCode === EXIT.USAGE && /hub hub-01/.test(e.message) && /[Uu]pdate this checkout/.test(e.message) && e.message.includes(`v${CONTRACT_VERSION + 1}`),
        );
        assert.equal(runner.calls.length, 0, `${op}: nothing ran`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("never re-runs a spoke that failed in wave 2, nor one the hub still reads with its key", async () => {
    const { dir, spokes } = syntheticFleet(5);
    try {
      const [a, failed, masked, plainKey, stillKey] = spokes;
      const federated = { auth: "federated", objstore: "type: GCS\n", identity: { cloud: "gcp" } };
      // A hub that says it reads every spoke federated, wired or not: only the orchestrator keeps the failed spoke out.
      const runner = new FakeRunner({
        outputs: {
          "hub-01": { contractVersion: CONTRACT_VERSION, name: "hub-01", spokes, spokeReaders: Object.fromEntries(spokes.map((s) => [s, "key"])) },
          // The key comes back in every form a runner may give it: wire-form secret, masked, revealed.
          [a]: { contractVersion: CONTRACT_VERSION, reader: federated, objstoreReadonly: wireSecret("type: GCS\n") },
          [failed]: { contractVersion: CONTRACT_VERSION, reader: federated, objstoreReadonly: wireSecret("type: GCS\n") },
          [masked]: { contractVersion: CONTRACT_VERSION, reader: JSON.stringify(federated), objstoreReadonly: "[secret]" },
          [plainKey]: { contractVersion: CONTRACT_VERSION, reader: federated, objstoreReadonly: "type: GCS\nconfig: {}\n" },
          [stillKey]: { contractVersion: CONTRACT_VERSION, reader: federated, objstoreReadonly: "type: GCS\nconfig: {}\n" },
        },
        afterUp: (stack, _env, outputsOf) =>
          stack === "hub-01" ? { ...outputsOf(stack), spokeReaders: Object.fromEntries(spokes.map((s) => [s, s === stillKey ? "key" : "federated"])) } : undefined,
        fail: { [failed]: "up" },
      });
      const events: FleetEvent[] = [];
      const result = await runFleet(runner, "up", loadFleet(dir), { parallel: 4, strict: false }, { emit: (e) => events.push(e) });
      assert.equal(result.exitCode, EXIT.STACK_FAILED);
      const final = runner.of("hub-01")[0];
      assert.deepEqual(final.env[SPOKES_ENV]?.split(","), spokes.filter((s) => s !== failed));
      assert.deepEqual(spokeCallsAfter(runner, final).map((c) => c.stack).sort(), [a, masked, plainKey]);
      assert.equal(runner.of(failed).length, 1, "the failed spoke ran once, in wave 2");
      assert.equal(runner.of(stillKey).length, 1);
      assert.deepEqual(result.outcomes.filter((o) => o.status === "failed").map((o) => [o.wave, o.stack]), [[2, failed]]);
      assert.equal(keepsReadKey({ reader: federated }), false, "a federated spoke without a key has nothing to retire");
      assert.equal(keepsReadKey({ reader: { auth: "key" }, objstoreReadonly: "[secret]" }), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("skips the key retirement, and only it, when the final hub pass does not run or fails", async () => {
    const { dir, spokes } = syntheticFleet(3);
    try {
      for (const [label, fake, strict] of [
        ["--strict after a spoke failure", { deployed: ["hub-01"], fail: { [spokes[0]]: "up" } }, true],
        ["a failed final hub pass", { deployed: ["hub-01"], fail: { "hub-01": "up" } }, false],
      ] as const) {
        const runner = new FakeRunner(fake);
        const events: FleetEvent[] = [];
        const result = await runFleet(runner, "up", loadFleet(dir), { parallel: 4, strict }, { emit: (e) => events.push(e) });
        assert.deepEqual(waveEvents(events, 4).map((e) => e.type), ["wave-skipped"], label);
        assert.equal(result.outcomes.filter((o) => o.wave === 4).length, 0, `${label}: no wave 4 stack was due, none is reported skipped`);
        assert.equal(runner.calls.filter((c) => c.stack !== "hub-01").length, spokes.length, `${label}: every spoke ran once`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the upgrade leaves out a wired spoke no longer listed, is not needed without spokes, and blocks the rest when it fails", async () => {
    const { dir, spokes } = syntheticFleet(2);
    try {
      const fleetOf = (): ReturnType<typeof contractModel> =>
        contractModel({ hub: "hub-01", configured: spokes, hubWired: [spokes[0], "sp-99"], spokes: spokes.map((name) => ({ name })) });
      const model = fleetOf();
      const runner = new FakeRunner({ outputs: model.outputs, afterUp: model.afterUp });
      const events: FleetEvent[] = [];
      assert.equal((await runFleet(runner, "up", loadFleet(dir), { parallel: 4, strict: false }, { emit: (e) => events.push(e) })).exitCode, EXIT.OK);
      assert.deepEqual(runner.calls[0].env, { [SPOKES_ENV]: spokes[0] }, "SOVEREIGN_SPOKES names only listed spokes (the hub refuses others)");
      assert.ok(waveEvents(events, 1).some((e) => e.type === "wave-start" && (e.reason ?? "").includes("sp-99")));

      const hubOnly = fleetOf();
      const alone = new FakeRunner({ outputs: hubOnly.outputs, afterUp: hubOnly.afterUp });
      const aloneEvents: FleetEvent[] = [];
      await runFleet(alone, "up", loadFleet(dir, ["hub-01"]), { parallel: 4, strict: false }, { emit: (e) => aloneEvents.push(e) });
      assert.deepEqual(alone.calls.map((c) => [c.stack, c.env]), [["hub-01", {}]], "one hub pass upgrades and wires");
      assert.ok(aloneEvents.some((e) => e.type === "wave-skipped" && e.wave === 1 && /wave 3 upgrades it/.test(e.reason)));

      const failing = fleetOf();
      const broken = new FakeRunner({ outputs: failing.outputs, afterUp: failing.afterUp, fail: { "hub-01": "up" } });
      const result = await runFleet(broken, "up", loadFleet(dir), { parallel: 4, strict: false });
      assert.equal(broken.calls.length, 1);
      assert.equal(result.exitCode, EXIT.STACK_FAILED);
      assert.deepEqual(result.outcomes.map((o) => [o.wave, o.status]), [[1, "failed"], [2, "skipped"], [2, "skipped"], [3, "skipped"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fleet plan (--dry-run)", () => {
  it("up lists 4 waves; the hub bootstrap-or-upgrade and the key retirement say when they run", () => {
    const { dir, spokes } = syntheticFleet(2);
    try {
      const waves = planFleet("up", loadFleet(dir), { parallel: 3, strict: false });
      assert.deepEqual(waves.map((w) => w.wave), [1, 2, 3, 4]);
      const [upgrade, , , retire] = waves;
      assert.match(upgrade.title, /bootstrap or upgrade/);
      assert.match(upgrade.condition ?? "", /no contractVersion output yet/);
      assert.match(upgrade.condition ?? "", new RegExp(`below ${CONTRACT_VERSION}.*wiring exactly the spokes it wires now`));
      assert.match(upgrade.condition ?? "", /exit 3/);
      assert.match(retire.title, /retire read keys/);
      assert.deepEqual(retire.ops.map((o) => o.stack), spokes);
      assert.ok(retire.parallel);
      for (const part of [/reader\.auth federated/, /objstoreReadonly/, /spokeReaders/, /failed in wave 2/]) assert.match(retire.condition ?? "", part);
      const text = renderPlan("up", waves);
      assert.match(text, /^wave 4: spokes: retire read keys the hub no longer uses \(3 at a time\) \(only /m);
      assert.ok(text.indexOf("wave 4:") > text.indexOf("wave 3:"));
      assert.match(text, new RegExp(`^  up ${spokes[1]}$`, "m"), "spoke waves show no SOVEREIGN_SPOKES");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("preview and refresh keep spokes then hub, with no upgrade pass and no key retirement (the preview plan says why); destroy is unchanged", () => {
    const { dir } = syntheticFleet(2);
    try {
      const fleet = loadFleet(dir);
      const preview = planFleet("preview", fleet, { parallel: 2, strict: false });
      assert.deepEqual(preview.map((w) => w.wave), [2, 3]);
      assert.match(preview[0].note ?? "", /no hub upgrade pass/);
      assert.match(renderPlan("preview", preview), /^ {2}note: no hub upgrade pass/m);
      assert.deepEqual(planFleet("refresh", fleet, { parallel: 2, strict: false }).map((w) => w.wave), [2, 3]);
      const destroy = planFleet("destroy", fleet, { parallel: 2, strict: false });
      assert.deepEqual(destroy.map((w) => [w.wave, w.ops.map((o) => o.stack).includes("hub-01")]), [[1, true], [2, false]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
