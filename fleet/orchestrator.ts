/**
 * Fleet orchestration: which stacks run, in which waves, how many at once, and what a
 * failure does to the rest. Pure apart from the {@link StackRunner} it is given.
 *
 * Deployment order (ARCHITECTURE.md, "Order of deployment"): the hub with no spokes first
 * (only when it has never been deployed), then every spoke in parallel, then the hub again
 * wired to the spokes. `destroy` runs in reverse: hub first, then spokes.
 */
import { readStackFile, listStacks } from "../components/config/stackfile";
import { EXIT, type ExitCode, FleetError } from "./exit-codes";
import { type DriftResult, type RunResult, type RunnerProgress, type StackOperation, type StackRunner, StepError, changedCount } from "./runner";

/** The environment variable through which the hub program learns which spokes to wire. */
// The hub program owns this contract; the fleet only sets it.
export { SPOKES_ENV } from "../components/contracts";
import { SPOKES_ENV } from "../components/contracts";
/** The hub output whose presence means the hub has been deployed at least once. */
export const CONTRACT_OUTPUT = "contractVersion";

/** One stack as the orchestrator needs it, read from `Pulumi.<stack>.yaml`. */
export interface FleetStack {
  name: string;
  role: "hub" | "spoke";
  cloud: string;
  region: string;
  /** The hub's `observability:spokes` (empty for spokes). */
  spokes: readonly string[];
}

/** The selected stacks of a project. */
export interface Fleet {
  hub?: FleetStack;
  spokes: FleetStack[];
}

/**
 * Reads the fleet from the project's stack files. `only` restricts it to the named stacks;
 * an unknown name, a stack without a valid role, or two hubs are usage errors.
 */
export function loadFleet(projectDir: string, only?: readonly string[]): Fleet {
  const all = listStacks(projectDir);
  const names = only === undefined || only.length === 0 ? all : [...new Set(only)];
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    throw new FleetError(`unknown stack(s) ${unknown.join(", ")}: no Pulumi.<stack>.yaml in ${projectDir} (known: ${all.join(", ") || "none"})`, EXIT.USAGE);
  }
  const stacks = names.map((name): FleetStack => {
    const { values } = readStackFile(projectDir, name);
    const role = values.role;
    if (role !== "hub" && role !== "spoke") {
      throw new FleetError(`Pulumi.${name}.yaml: observability:role must be 'hub' or 'spoke' (got ${JSON.stringify(role)})`, EXIT.USAGE);
    }
    const spokes = Array.isArray(values.spokes) ? values.spokes.filter((s): s is string => typeof s === "string") : [];
    return { name, role, cloud: String(values.cloud ?? "?"), region: String(values.region ?? "?"), spokes };
  });
  const hubs = stacks.filter((s) => s.role === "hub");
  if (hubs.length > 1) {
    throw new FleetError(`more than one hub selected (${hubs.map((h) => h.name).join(", ")}): run one hub's fleet at a time with --stacks`, EXIT.USAGE);
  }
  return { hub: hubs[0], spokes: stacks.filter((s) => s.role === "spoke") };
}

/** One planned stack operation. */
export interface PlannedOp {
  stack: string;
  op: StackOperation;
  /**
   * Program environment. For the final hub pass this is decided at run time from the spoke
   * results; the plan shows the all-succeeded case and `envNote` explains the rest.
   */
  env: Readonly<Record<string, string>>;
  envNote?: string;
}

/** A wave of operations; the operations of a parallel wave run up to `--parallel` at once. */
export interface Wave {
  wave: 1 | 2 | 3;
  title: string;
  parallel: boolean;
  ops: PlannedOp[];
  /** Why the wave may not run (`only if the hub has no contractVersion output yet`). */
  condition?: string;
}

/** Options of a fleet run. */
export interface FleetOptions {
  /** Maximum spokes at once in the spoke wave. */
  parallel: number;
  /** Any failed spoke cancels the final hub pass. */
  strict: boolean;
  /** `destroy` only: protected (data-holding) resources may go. */
  yesDestroyData?: boolean;
}

/** The ordered waves of an operation over a fleet, before anything runs. */
export function planFleet(op: StackOperation, fleet: Fleet, opts: FleetOptions): Wave[] {
  const hub = fleet.hub;
  const spokeWave = (wave: 1 | 2 | 3): Wave => ({
    wave,
    title: `spokes (${opts.parallel} at a time)`,
    parallel: true,
    ops: fleet.spokes.map((s) => ({ stack: s.name, op, env: {} })),
  });
  if (op === "destroy") {
    const waves: Wave[] = [];
    if (hub) waves.push({ wave: 1, title: "hub first: stop reading the spokes", parallel: false, ops: [{ stack: hub.name, op, env: {} }] });
    if (fleet.spokes.length > 0) waves.push({ ...spokeWave(2), condition: hub ? `only if ${hub.name} was destroyed` : undefined });
    return waves;
  }
  const waves: Wave[] = [];
  if (hub && op === "up") {
    waves.push({
      wave: 1,
      title: "hub bootstrap: CA, egress IPs, query, Grafana, no spokes",
      parallel: false,
      ops: [{ stack: hub.name, op, env: { [SPOKES_ENV]: "" } }],
      condition: `only if ${hub.name} has no ${CONTRACT_OUTPUT} output yet`,
    });
  }
  if (fleet.spokes.length > 0) waves.push(spokeWave(2));
  if (hub) {
    waves.push({
      wave: 3,
      title: "hub: wire the spokes",
      parallel: false,
      ops: [{
        stack: hub.name,
        op,
        env: {},
        envNote: fleet.spokes.length === 0
          ? undefined
          : opts.strict
            ? "skipped if any spoke fails (--strict)"
            : `if some spokes fail, ${SPOKES_ENV}=<listed spokes that did not fail>`,
      }],
    });
  }
  return waves;
}

/** Everything the orchestrator reports while it runs. */
export type FleetEvent =
  | { type: "wave-start"; wave: number; title: string; stacks: string[] }
  | { type: "wave-skipped"; wave: number; title: string; reason: string }
  | { type: "stack-start"; wave: number; stack: string; op: StackOperation; env: Readonly<Record<string, string>> }
  | { type: "stack-progress"; wave: number; stack: string; op: StackOperation; phase: string; resourcesDone: number; elapsedMs: number; message?: string }
  | { type: "stack-done"; wave: number; stack: string; op: StackOperation; changes: Readonly<Record<string, number>>; elapsedMs: number }
  | { type: "stack-failed"; wave: number; stack: string; op: StackOperation; step: string; error: string; elapsedMs: number }
  | { type: "stack-skipped"; wave: number; stack: string; op: StackOperation; reason: string };

/** Outcome of one stack operation. */
export interface StepOutcome {
  wave: number;
  stack: string;
  op: StackOperation;
  status: "succeeded" | "failed" | "skipped";
  env?: Readonly<Record<string, string>>;
  changes?: Readonly<Record<string, number>>;
  step?: string;
  error?: string;
}

/** Outcome of a fleet run. */
export interface FleetResult {
  op: StackOperation;
  outcomes: StepOutcome[];
  exitCode: ExitCode;
}

/** Runs `fn` over `items` with at most `limit` calls in flight, in order of `items`. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

function errorText(e: unknown): { step?: string; error: string } {
  if (e instanceof StepError) return { step: e.step, error: e.message };
  return { error: e instanceof Error ? e.message : String(e) };
}

/** Runs one stack operation, turning runner progress and errors into fleet events. */
async function runOne(
  runner: StackRunner,
  wave: number,
  planned: PlannedOp,
  opts: FleetOptions,
  emit: (e: FleetEvent) => void,
  now: () => number,
): Promise<StepOutcome> {
  const { stack, op, env } = planned;
  const started = now();
  emit({ type: "stack-start", wave, stack, op, env });
  const onProgress = (p: RunnerProgress): void =>
    emit({ type: "stack-progress", wave, stack, op, phase: p.phase, resourcesDone: p.resourcesDone, elapsedMs: now() - started, message: p.message });
  try {
    const runOpts = { env, onProgress, allowProtectedDestroy: opts.yesDestroyData === true };
    const result: RunResult = await runner[op](stack, runOpts);
    emit({ type: "stack-done", wave, stack, op, changes: result.changes, elapsedMs: now() - started });
    return { wave, stack, op, status: "succeeded", env, changes: result.changes };
  } catch (e) {
    const { step, error } = errorText(e);
    emit({ type: "stack-failed", wave, stack, op, step: step ?? op, error, elapsedMs: now() - started });
    return { wave, stack, op, status: "failed", env, step: step ?? op, error };
  }
}

/** Hooks for a fleet run. */
export interface RunHooks {
  emit?: (e: FleetEvent) => void;
  /** Monotonic milliseconds; injectable so that tests do not depend on wall time. */
  now?: () => number;
}

/**
 * Runs an operation over the fleet in waves. A failed spoke does not stop the other spokes;
 * the final hub pass then wires only the hub's listed spokes that did not fail (through
 * `SOVEREIGN_SPOKES`), or does not run at all with `strict`. A failed hub bootstrap skips
 * everything after it: spokes cannot read a hub that does not exist.
 */
export async function runFleet(runner: StackRunner, op: StackOperation, fleet: Fleet, opts: FleetOptions, hooks: RunHooks = {}): Promise<FleetResult> {
  const emit = hooks.emit ?? ((): void => undefined);
  const now = hooks.now ?? ((): number => performance.now());
  const waves = planFleet(op, fleet, opts);
  const outcomes: StepOutcome[] = [];
  const skip = (w: Wave, reason: string): void => {
    emit({ type: "wave-skipped", wave: w.wave, title: w.title, reason });
    for (const o of w.ops) {
      emit({ type: "stack-skipped", wave: w.wave, stack: o.stack, op: o.op, reason });
      outcomes.push({ wave: w.wave, stack: o.stack, op: o.op, status: "skipped", error: reason });
    }
  };

  if (op === "destroy" && !opts.yesDestroyData) {
    const all = [...(fleet.hub ? [fleet.hub] : []), ...fleet.spokes].map((s) => s.name);
    const holding = (await mapPool(all, opts.parallel, async (s) => ((await runner.hasProtectedResources(s)) ? s : undefined))).filter(
      (s): s is string => s !== undefined,
    );
    if (holding.length > 0) {
      throw new FleetError(
        `refusing to destroy ${holding.join(", ")}: protected resources hold telemetry (buckets). Re-run with --yes-destroy-data to delete them; buckets marked retainOnDelete stay in the cloud.`,
        EXIT.USAGE,
      );
    }
  }

  let blockedBy: string | undefined;
  const spokeFailures = new Set<string>();
  for (const w of waves) {
    if (blockedBy !== undefined) {
      skip(w, blockedBy);
      continue;
    }
    if (w.wave === 1 && op === "up") {
      const hub = w.ops[0].stack;
      const outputs = await runner.outputs(hub).catch((): Record<string, unknown> => ({}));
      if (outputs[CONTRACT_OUTPUT] !== undefined) {
        emit({ type: "wave-skipped", wave: 1, title: w.title, reason: `${hub} already deployed (has ${CONTRACT_OUTPUT})` });
        continue;
      }
    }
    let ops = w.ops;
    if (w.wave === 3 && fleet.hub) {
      const hub = fleet.hub;
      if (spokeFailures.size > 0 && opts.strict) {
        skip(w, `--strict: spoke(s) ${[...spokeFailures].join(", ")} failed`);
        continue;
      }
      if (spokeFailures.size > 0) {
        const wired = hub.spokes.filter((s) => !spokeFailures.has(s));
        ops = ops.map((o) => ({ ...o, env: { [SPOKES_ENV]: wired.join(",") } }));
      }
    }
    emit({ type: "wave-start", wave: w.wave, title: w.title, stacks: ops.map((o) => o.stack) });
    const results = await mapPool(ops, w.parallel ? opts.parallel : 1, (o) => runOne(runner, w.wave, o, opts, emit, now));
    outcomes.push(...results);
    const failed = results.filter((r) => r.status === "failed");
    if (w.parallel) failed.forEach((r) => spokeFailures.add(r.stack));
    else if (failed.length > 0) blockedBy = `${failed[0].stack} failed in wave ${w.wave} (${failed[0].step ?? op})`;
  }

  const anyFailed = outcomes.some((o) => o.status === "failed");
  const anyChanges = op === "preview" && outcomes.some((o) => o.changes !== undefined && changedCount(o.changes) > 0);
  const exitCode: ExitCode = anyFailed ? EXIT.STACK_FAILED : anyChanges ? EXIT.CHANGES : EXIT.OK;
  return { op, outcomes, exitCode };
}

/** One row of the drift table. */
export interface DriftRow {
  stack: string;
  role: "hub" | "spoke";
  cloud: string;
  region: string;
  /** Resources whose refresh would change state; undefined when the check failed. */
  drifted?: number;
  changes?: Readonly<Record<string, number>>;
  lastUpdate?: string;
  error?: string;
}

/** Drift of a fleet and the exit code it implies. */
export interface DriftReport {
  rows: DriftRow[];
  exitCode: ExitCode;
}

/** Refresh previews over every stack of the fleet (order does not matter: nothing changes). */
export async function driftFleet(runner: StackRunner, fleet: Fleet, parallel: number): Promise<DriftReport> {
  const stacks = [...(fleet.hub ? [fleet.hub] : []), ...fleet.spokes];
  const rows = await mapPool(stacks, parallel, async (s): Promise<DriftRow> => {
    const base = { stack: s.name, role: s.role, cloud: s.cloud, region: s.region };
    try {
      const d: DriftResult = await runner.drift(s.name);
      return { ...base, drifted: changedCount(d.changes), changes: d.changes, lastUpdate: d.lastUpdate };
    } catch (e) {
      const { step, error } = errorText(e);
      return { ...base, error: `${step ?? "drift"}: ${error}` };
    }
  });
  const exitCode: ExitCode = rows.some((r) => r.error !== undefined)
    ? EXIT.STACK_FAILED
    : rows.some((r) => (r.drifted ?? 0) > 0)
      ? EXIT.CHANGES
      : EXIT.OK;
  return { rows, exitCode };
}
