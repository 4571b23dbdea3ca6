/**
 * The offline engine: runs the real stack programs with the real `Pulumi.<stack>.yaml`
 * files under Pulumi's mocks, one process per stack, and answers StackReferences from
 * the outputs of stacks run before. Shared by the tests and by `npm run plan`.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readStackFile, listStacks } from "../components/config";
import { SPOKES_ENV } from "../components/contracts";

export { SPOKES_ENV };
import type { ChildJob, ChildResult, StackReferenceData } from "./protocol";
import { isSecretValue } from "./values";
import { SOURCE_MAPS_ENV } from "./protocol";

export type { RecordedResource } from "./monitor";
export type { StackReferenceData } from "./protocol";
export * from "./values";

/** The repository root: the program and the example fleet live here. */
export const REPO_DIR = resolve(__dirname, "..");
export const PROJECT = "sovereign-observability";
export const ORGANIZATION = "organization";

/** One stack run offline. */
export interface StackRun extends ChildResult {
  role: string | undefined;
  /** The stack's `observability:*` values as written (secure leaves as placeholders, listed in secretKeys). */
  config: Record<string, unknown>;
  secretKeys: string[];
  /**
   * Secrets the stack file does not set (`observability:kubeconfig`, ...), run with the
   * engine's deterministic stand-ins: a fresh clone sets none, a team's own stack sets them.
   */
  standInSecrets?: string[];
  /** Names of outputs that are secrets. */
  secretOutputNames: string[];
}

export interface RunStackOptions {
  stack: string;
  /** Where the stack files are (default: the repository). */
  projectDir?: string;
  /** Outputs of other stacks, by stack name, for StackReferences. */
  references?: Record<string, StackReferenceData>;
  /** Environment for the program (null unsets a variable). */
  env?: Record<string, string | null>;
  /** Edits the stack's `observability:*` values before the run (tests of bad input). */
  mutateConfig?: (values: Record<string, unknown>, secretKeys: Set<string>) => void;
  /** The stack's state from an earlier run (unchanged resources keep their outputs). */
  prior?: StackRun;
}

/** How long one stack's program may run offline (a real program finishes in seconds). */
const CHILD_TIMEOUT_MS = 300_000;

function runChild(job: ChildJob): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const dir = mkdtempSync(join(tmpdir(), "sovereign-engine-"));
    const jobPath = join(dir, "job.json");
    writeFileSync(jobPath, JSON.stringify({ ...job, resultPath: join(dir, "result.json") }));
    const child = spawn(process.execPath, ["--import", "tsx", join(__dirname, "child.ts"), jobPath], {
      cwd: REPO_DIR,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PULUMI_NODEJS_SKIP_COMPILE: "true" },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", () => undefined);
    // A program that never settles (an Output that never resolves) would hang the caller: it is
    // stopped and reported, naming the stack.
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, CHILD_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      try {
        if (timedOut) throw new Error(`offline engine: stack ${job.stack} did not finish within ${CHILD_TIMEOUT_MS / 1000} s (an Output that never resolves?); stderr:\n${stderr}`);
        // The SDK's exit hook turns exit 0 into 1 when a resource output was never awaited;
        // a written result is what tells a finished run from a crashed one.
        const resultPath = join(dir, "result.json");
        if (!existsSync(resultPath)) throw new Error(`offline engine failed on stack ${job.stack} (exit ${code}; ${SOURCE_MAPS_ENV}=true gives TypeScript positions):\n${stderr}`);
        resolvePromise(JSON.parse(readFileSync(resultPath, "utf8")) as ChildResult);
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** Runs one stack program offline in its own process. */
export async function runStack(opts: RunStackOptions): Promise<StackRun> {
  const projectDir = opts.projectDir ?? REPO_DIR;
  const file = readStackFile(projectDir, opts.stack);
  const values = structuredClone(file.values);
  const secretKeys = new Set(file.secretKeys);
  opts.mutateConfig?.(values, secretKeys);
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) config[`observability:${k}`] = v;
  const result = await runChild({
    projectDir,
    programPath: join(REPO_DIR, "index.ts"),
    project: PROJECT,
    organization: ORGANIZATION,
    stack: opts.stack,
    config,
    secretKeys: [...secretKeys],
    references: opts.references ?? {},
    env: opts.env ?? {},
    prior: opts.prior?.resources,
    resultPath: "",
  });
  result.resources.sort((a, b) => a.urn.localeCompare(b.urn));
  return {
    ...result,
    role: typeof values.role === "string" ? values.role : undefined,
    config: values,
    secretKeys: [...secretKeys].sort(),
    standInSecrets: [...file.standInSecrets].sort(),
    secretOutputNames: Object.keys(result.outputs).filter((k) => isSecretValue(result.outputs[k])).sort(),
  };
}

/** A stack run's outputs as another stack's StackReference sees them. */
export function asReference(run: StackRun): StackReferenceData {
  return { outputs: run.outputs, secretOutputNames: run.secretOutputNames };
}


/**
 * The passes of a fleet plan, in order: the hubs with no spokes wired, every spoke, every edge
 * (reading its zone spoke's receiver; publishing its certificate request and addresses), the
 * spokes with edges again (signing and admitting them), the edges again (deploying with their
 * certificates), the hubs.
 */
export type FleetPhase = "bootstrap" | "spoke" | "edge" | "spoke-edges" | "edge-certificates" | "hub";

export interface FleetPlanOptions {
  projectDir?: string;
  /** Stacks to report (default: all). Stacks they depend on are run too. */
  stacks?: readonly string[];
  /** How many stack processes run at once. */
  parallel?: number;
  /** Called as each stack finishes. */
  onStack?: (run: StackRun, phase: FleetPhase) => void;
  mutateConfig?: RunStackOptions["mutateConfig"];
}

export interface FleetPlan {
  /** Final runs of the requested stacks, in deployment order. */
  runs: StackRun[];
  /** The hub's bootstrap run, when one was needed. */
  bootstrap?: StackRun;
}

async function pool<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(n, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * Plans a fleet in deployment order: the hub with no spokes (bootstrap), every spoke in
 * parallel reading the bootstrap hub, every edge reading its zone spoke, the spokes that list
 * edges again (from their first pass's state) reading and signing for those edges, the edges
 * again with their certificates, then the hub reading every spoke.
 */
export async function planFleet(opts: FleetPlanOptions = {}): Promise<FleetPlan> {
  const projectDir = opts.projectDir ?? REPO_DIR;
  const all = listStacks(projectDir);
  const roles = new Map(all.map((s) => {
    const role = readStackFile(projectDir, s).values.role;
    return [s, typeof role === "string" ? role : undefined] as const;
  }));
  const wanted = opts.stacks ?? all;
  for (const s of wanted) if (!roles.has(s)) throw new Error(`no stack file Pulumi.${s}.yaml in ${projectDir}`);
  const hubs = all.filter((s) => roles.get(s) === "hub");
  const hubOf = (spoke: string): string | undefined => {
    const h = (readStackFile(projectDir, spoke).values.hub as { stack?: unknown } | undefined)?.stack;
    return typeof h === "string" ? h : undefined;
  };
  const spokesOf = (hub: string): string[] => {
    const v = readStackFile(projectDir, hub).values.spokes;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  };
  const wantedHubs = hubs.filter((h) => wanted.includes(h));
  const edgesOf = (spoke: string): string[] => {
    const v = (readStackFile(projectDir, spoke).values.receive as { edges?: unknown } | undefined)?.edges;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && roles.get(x) === "edge") : [];
  };
  const spokeOf = (edge: string): string | undefined => {
    const v = (readStackFile(projectDir, edge).values.spoke as { stack?: unknown } | undefined)?.stack;
    return typeof v === "string" && roles.get(v) === "spoke" ? v : undefined;
  };
  const spokesNeeded = new Set<string>(wanted.filter((s) => roles.get(s) === "spoke"));
  for (const h of wantedHubs) for (const s of spokesOf(h)) if (roles.get(s) === "spoke") spokesNeeded.add(s);
  const edgesNeeded = new Set<string>(wanted.filter((s) => roles.get(s) === "edge"));
  for (const e of edgesNeeded) {
    const sp = spokeOf(e);
    if (sp !== undefined) spokesNeeded.add(sp);
  }
  // A spoke's plan depends on the edges it accepts: they are run (after it) whenever it is.
  for (const s of spokesNeeded) for (const e of edgesOf(s)) edgesNeeded.add(e);
  const hubsNeeded = new Set<string>(wantedHubs);
  for (const s of spokesNeeded) {
    const h = hubOf(s);
    if (h !== undefined && roles.get(h) === "hub") hubsNeeded.add(h);
  }
  const parallel = opts.parallel ?? 2;
  const common = { projectDir, mutateConfig: opts.mutateConfig };

  const bootstraps = new Map<string, StackRun>();
  await pool([...hubsNeeded], parallel, async (h) => {
    const run = await runStack({ ...common, stack: h, env: { [SPOKES_ENV]: "" } });
    bootstraps.set(h, run);
    opts.onStack?.(run, "bootstrap");
  });
  const hubRefs: Record<string, StackReferenceData> = {};
  for (const [h, run] of bootstraps) if (run.error === undefined) hubRefs[h] = asReference(run);

  const spokeRuns = new Map<string, StackRun>();
  await pool([...spokesNeeded].sort(), parallel, async (s) => {
    const run = await runStack({ ...common, stack: s, references: hubRefs });
    spokeRuns.set(s, run);
    opts.onStack?.(run, "spoke");
  });
  const spokeRefs: Record<string, StackReferenceData> = {};
  for (const [s, run] of spokeRuns) if (run.error === undefined) spokeRefs[s] = asReference(run);

  const edgeRuns = new Map<string, StackRun>();
  await pool([...edgesNeeded].sort(), parallel, async (e) => {
    const run = await runStack({ ...common, stack: e, references: spokeRefs });
    edgeRuns.set(e, run);
    opts.onStack?.(run, "edge");
  });
  const edgeRefs: Record<string, StackReferenceData> = {};
  for (const [e, run] of edgeRuns) if (run.error === undefined) edgeRefs[e] = asReference(run);
  // The spokes that list edges run again, now accepting them: from their first pass's state, so
  // their CA and receiver are the ones the edges already trust.
  await pool([...spokesNeeded].filter((s) => edgesOf(s).length > 0).sort(), parallel, async (s) => {
    const run = await runStack({ ...common, stack: s, references: { ...hubRefs, ...edgeRefs }, prior: spokeRuns.get(s) });
    spokeRuns.set(s, run);
    if (run.error === undefined) spokeRefs[s] = asReference(run);
    opts.onStack?.(run, "spoke-edges");
  });
  // The edges again, from their first pass's state (their keys are the ones the spoke signed for).
  await pool([...edgesNeeded].sort(), parallel, async (e) => {
    const run = await runStack({ ...common, stack: e, references: spokeRefs, prior: edgeRuns.get(e) });
    edgeRuns.set(e, run);
    opts.onStack?.(run, "edge-certificates");
  });

  const hubRuns = new Map<string, StackRun>();
  await pool(wantedHubs, parallel, async (h) => {
    // The hub's second pass starts from its bootstrap state: its CA and addresses stay the ones the spokes trust.
    const run = await runStack({ ...common, stack: h, references: spokeRefs, env: { [SPOKES_ENV]: null }, prior: bootstraps.get(h) });
    hubRuns.set(h, run);
    opts.onStack?.(run, "hub");
  });

  const runs: StackRun[] = [];
  for (const s of [...wanted].sort()) {
    const run = roles.get(s) === "hub" ? hubRuns.get(s) : roles.get(s) === "edge" ? edgeRuns.get(s) : spokeRuns.get(s);
    if (run !== undefined) runs.push(run);
  }
  const order = (r: StackRun): number => (r.role === "hub" ? 2 : r.role === "edge" ? 1 : 0);
  runs.sort((a, b) => order(a) - order(b) || a.stack.localeCompare(b.stack));
  const bootstrap = wantedHubs.length === 1 ? bootstraps.get(wantedHubs[0]) : undefined;
  return { runs, bootstrap };
}

