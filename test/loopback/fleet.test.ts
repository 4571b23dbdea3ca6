/**
 * The data path for real (issue 13): `npm run fleet:local -- --check` starts the example fleet's
 * two spokes (dev-01 hub-store, prod-01 spoke-query) and the hub ops-01 as real Prometheus,
 * Thanos and Alertmanager processes on loopback, with the configuration the offline plan
 * generates, and asserts the data path: deduplicated series of both spokes through the hub's
 * query frontend (shipped blocks included), real mTLS refusals, partial response and the
 * unreachable alert when a spoke stops, the hub Watchdog and forwarded spoke alerts once,
 * no spoke block on the hub's disks, under 4 minutes, no process left; and the edge path (issue 16):
 * edge-dev-01's agent writing through dev-01's zone receiver (its samples in the ingester, in
 * dev-01's bucket and through the hub's global query), the receiver's refusals, and the
 * edge-silent alert once after the agent stops.
 *
 * `npm test` runs this file on its own after the other tests (package.json), so the harness's
 * 4-minute budget is measured on an otherwise idle machine.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SUBSTITUTIONS } from "../../localfleet/substitutions";
import { REPO_ROOT } from "../../toolchain";
import { requireTool } from "../support/tools";

const tools = (["thanos", "prometheus", "promtool", "alertmanager", "amtool", "helm"] as const).map((t) => requireTool(t));
const missingTool = tools.find((t) => !t.available)?.skipReason;
const notRoot = process.getuid?.() === 0 ? undefined : "the loopback fleet needs root (ip netns, private mounts)";
if (notRoot !== undefined && process.env.CI === "true") throw new Error(`${notRoot}: CI runs as root`);
if (notRoot !== undefined) process.stderr.write(`\n*** ${notRoot}; the loopback fleet test is SKIPPED ***\n\n`);

describe("loopback fleet (npm run fleet:local -- --check)", () => {
  it("runs the planned data path with the real binaries and every check passes", { skip: missingTool ?? notRoot, timeout: 420_000 }, () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "localfleet", "index.ts"), "--check"], { cwd: REPO_ROOT, encoding: "utf8", timeout: 390_000, maxBuffer: 64 * 1024 * 1024 });
    const out = `${r.stdout}\n${r.stderr}`;
    const summary = out.slice(out.lastIndexOf("loopback fleet checks:"));
    // The failed checks first, with their details: a CI log that keeps only the head and tail of
    // a long message still names what failed.
    const failed = summary.split(/\n(?=PASS  |FAIL  )/).filter((block) => block.startsWith("FAIL  ")).join("\n");
    assert.equal(r.status, 0, `fleet:local --check exited ${String(r.status)} ${r.signal ?? ""}\n${failed.length > 0 ? `failed checks:\n${failed}\n\nall checks:\n` : ""}${summary.length > 0 ? summary : out.slice(-8000)}`);
    // Every assertion the issue names ran (a check that silently vanished is a failure too).
    for (const name of [
      "sidecars shipped blocks to each spoke's bucket",
      "hub store gateway reads the spoke bucket read-only",
      "both spokes through the hub query frontend, one series per target",
      "shipped blocks read through the hub",
      "mTLS: foreign CA",
      "partial response keeps",
      "reaches the webhook once",
      "returns: its series",
      "spoke alerts forwarded over mTLS arrive once",
      "hub Watchdog reaches the webhook once per interval",
      "hub processes hold no spoke block while running",
      "hub data directories hold no spoke block after the run",
      "every process stopped",
      "no process left behind",
      "under 4 minutes",
      // The edge path (issue 16): edge-dev-01's agent writing to dev-01's zone receiver.
      "edge-dev-01 writes through dev-01's zone receiver",
      "hub global query returns edge-dev-01's series",
      "dev-01's receiver refuses foreign CAs and a tenant outside its hashring",
      "edge-dev-01's samples uploaded by the ingester to dev-01's bucket",
      "EdgeRemoteWriteSilent fires once for edge-dev-01 after its agent stops",
    ]) assert.match(summary, new RegExp(`PASS  [^\\n]*${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`), `check "${name}" did not pass:\n${summary}`);
    assert.match(summary, / 0 failed/);
  });
});

describe("loopback fleet substitutions", () => {
  it("README lists every substitution the harness makes, as the harness states it", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const esc = (t: string): string => t.replace(/\|/g, "\\|");
    for (const x of SUBSTITUTIONS) assert.ok(readme.includes(`| ${esc(x.what)} | ${esc(x.plan)} | ${esc(x.harness)} (${esc(x.why)}) |`), `README "Loopback fleet" lacks the row for ${x.what}`);
    const rows = readme.slice(readme.indexOf("| what | in the plan | in the loopback fleet |")).split("\n\n")[0].split("\n").length - 2;
    assert.equal(rows, SUBSTITUTIONS.length, "README has a substitution row the harness does not make");
  });
});
