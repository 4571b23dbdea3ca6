import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { type EngineEvent, type LocalProgramArgs, type LocalWorkspaceOptions, type PulumiCommand, type Stack, LocalWorkspace } from "@pulumi/pulumi/automation";
import { AutomationRunner, PULUMI_INSTALL, detectPulumi, progressFromEvents, resolveBackend, workspaceArgs } from "../fleet/automation";
import { EXIT, FleetError } from "../fleet/exit-codes";
import type { RunnerProgress, StackRunner } from "../fleet/runner";

const PROJECT = "/srv/obs";

describe("backend and secrets", () => {
  it("defaults to a file:// backend under the project and the passphrase provider", () => {
    const s = resolveBackend({ projectDir: PROJECT, env: { PULUMI_CONFIG_PASSPHRASE: "pw" } });
    assert.equal(s.backendUrl, "file:///srv/obs/.pulumi-state");
    assert.equal(s.stateDir, "/srv/obs/.pulumi-state");
    assert.equal(s.secretsProvider, "passphrase");
    assert.deepEqual(s.envVars, { PULUMI_BACKEND_URL: "file:///srv/obs/.pulumi-state", PULUMI_CONFIG_PASSPHRASE: "pw" });
  });

  it("takes PULUMI_BACKEND_URL, and --backend over it", () => {
    const env = { PULUMI_BACKEND_URL: "s3://state-bucket/obs", PULUMI_CONFIG_PASSPHRASE: "" };
    assert.equal(resolveBackend({ projectDir: PROJECT, env }).backendUrl, "s3://state-bucket/obs");
    const flagged = resolveBackend({ projectDir: PROJECT, env, backend: "azblob://state" });
    assert.equal(flagged.backendUrl, "azblob://state");
    assert.equal(flagged.stateDir, undefined);
    assert.equal(flagged.envVars.PULUMI_CONFIG_PASSPHRASE, "", "an empty passphrase is a passphrase");
  });

  it("--passphrase-file wins over the environment and is passed as an absolute path", () => {
    const s = resolveBackend({ projectDir: PROJECT, env: { PULUMI_CONFIG_PASSPHRASE: "pw" }, passphraseFile: "secrets/pass.txt" });
    assert.deepEqual(s.envVars, { PULUMI_BACKEND_URL: "file:///srv/obs/.pulumi-state", PULUMI_CONFIG_PASSPHRASE_FILE: resolve("secrets/pass.txt") });
  });

  it("lets Pulumi Cloud manage secrets, so no passphrase is needed there", () => {
    const s = resolveBackend({ projectDir: PROJECT, env: {}, backend: "https://api.pulumi.com" });
    assert.equal(s.secretsProvider, undefined);
    assert.deepEqual(s.envVars, { PULUMI_BACKEND_URL: "https://api.pulumi.com" });
  });

  it("refuses a passphrase backend without a passphrase, and unknown schemes", () => {
    const usage = (e: unknown): boolean => e instanceof FleetError && e.exitCode === EXIT.USAGE;
    assert.throws(() => resolveBackend({ projectDir: PROJECT, env: {} }), usage);
    assert.throws(() => resolveBackend({ projectDir: PROJECT, env: { PULUMI_CONFIG_PASSPHRASE: "x" }, backend: "ftp://x" }), usage);
    // A KMS provider needs no passphrase.
    assert.equal(resolveBackend({ projectDir: PROJECT, env: {}, secretsProvider: "awskms://alias/obs" }).secretsProvider, "awskms://alias/obs");
  });
});

describe("LocalWorkspace options", () => {
  it("selects the stack in the project directory with the run's environment on top of the backend's", () => {
    const settings = resolveBackend({ projectDir: PROJECT, env: { PULUMI_CONFIG_PASSPHRASE: "pw" } });
    const { args, opts } = workspaceArgs(PROJECT, settings, "ops-01", { SOVEREIGN_SPOKES: "dev-01" });
    assert.deepEqual(args, { stackName: "ops-01", workDir: PROJECT });
    assert.deepEqual(opts, {
      workDir: PROJECT,
      envVars: { PULUMI_BACKEND_URL: "file:///srv/obs/.pulumi-state", PULUMI_CONFIG_PASSPHRASE: "pw", SOVEREIGN_SPOKES: "dev-01" },
      secretsProvider: "passphrase",
    });
    // No projectSettings and no inline program: Pulumi.yaml and index.ts are used as they are.
    assert.equal("projectSettings" in opts, false);
    assert.equal("program" in opts, false);
    assert.equal(spokesAbsent(workspaceArgs(PROJECT, settings, "dev-01").opts), true);
  });

  it("type-checks against the Automation API it is passed to", () => {
    // Compile-time: these assignments fail `tsc` if the SDK's signatures move.
    const createOrSelect: (a: LocalProgramArgs, o?: LocalWorkspaceOptions) => Promise<Stack> = LocalWorkspace.createOrSelectStack;
    const select: (a: LocalProgramArgs, o?: LocalWorkspaceOptions) => Promise<Stack> = LocalWorkspace.selectStack;
    const asRunner: (dir: string, s: ReturnType<typeof resolveBackend>, c: PulumiCommand) => StackRunner = (d, s, c) => new AutomationRunner(d, s, c);
    assert.equal(typeof createOrSelect, "function");
    assert.equal(typeof select, "function");
    assert.equal(typeof asRunner, "function");
  });

  it("the runner drops an inherited SOVEREIGN_SPOKES and creates the file backend directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "fleet-auto-"));
    const saved = process.env.SOVEREIGN_SPOKES;
    try {
      process.env.SOVEREIGN_SPOKES = "stale";
      const settings = resolveBackend({ projectDir: dir, env: { PULUMI_CONFIG_PASSPHRASE: "pw" } });
      // The constructor only stores the command; nothing is executed.
      new AutomationRunner(dir, settings, {} as PulumiCommand);
      assert.equal(process.env.SOVEREIGN_SPOKES, undefined);
      assert.ok(existsSync(join(dir, ".pulumi-state")));
    } finally {
      if (saved === undefined) delete process.env.SOVEREIGN_SPOKES;
      else process.env.SOVEREIGN_SPOKES = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function spokesAbsent(opts: LocalWorkspaceOptions): boolean {
  return opts.envVars !== undefined && !("SOVEREIGN_SPOKES" in opts.envVars);
}

describe("Pulumi CLI detection and progress", () => {
  it("a missing CLI is exit 4 with the install command", async () => {
    await assert.rejects(
      detectPulumi(async () => {
        throw new Error("spawn pulumi ENOENT");
      }),
      (e: unknown) => e instanceof FleetError && e.exitCode === EXIT.PULUMI_MISSING && e.message.includes(PULUMI_INSTALL),
    );
  });

  it("counts finished resources and surfaces error diagnostics from engine events", () => {
    const seen: RunnerProgress[] = [];
    const on = progressFromEvents((p) => seen.push(p));
    const meta = { op: "create" as const, urn: "urn:x", type: "aws:s3/bucket:Bucket", provider: "" };
    const events: EngineEvent[] = [
      { sequence: 1, timestamp: 0, preludeEvent: { config: {} } },
      { sequence: 2, timestamp: 0, resourcePreEvent: { metadata: meta } },
      { sequence: 3, timestamp: 0, resOutputsEvent: { metadata: meta } },
      { sequence: 4, timestamp: 0, resOutputsEvent: { metadata: meta } },
      { sequence: 5, timestamp: 0, diagnosticEvent: { message: "AccessDenied\n", color: "never", severity: "error" } },
      { sequence: 6, timestamp: 0, diagnosticEvent: { message: "chatter", color: "never", severity: "info" } },
    ];
    events.forEach(on);
    assert.deepEqual(seen.map((p) => [p.phase, p.resourcesDone]), [["starting", 0], ["running", 0], ["running", 1], ["running", 2], ["error", 2]]);
    assert.equal(seen.at(-1)?.message, "AccessDenied");
  });
});
