/**
 * Fleet orchestration: which stacks run, in which waves, how many at once, and what a
 * failure does to the rest. Pure apart from the {@link StackRunner} it is given.
 *
 * Deployment order (ARCHITECTURE.md, "Order of deployment"): wave 1 is the hub alone, either
 * its bootstrap with no spokes (only when it has never been deployed) or its upgrade to this
 * project's contract wiring exactly the spokes it wires now (only when its `contractVersion` is
 * older), so that it publishes its issuer before the spokes read it; wave 2 every spoke in
 * parallel; wave 3 the hub again, wired to the spokes; wave 4 the spokes the hub now reads
 * federated but that still keep a read key, which their next `up` deletes. One `fleet up` thus
 * converges a v1 fleet (static keys) to federation without a read gap. Edges run between the
 * spokes and the hub, in three sub-waves of wave 2: 2.1 the edges (each reads its zone spoke's
 * receiver and publishes its certificate request and egress addresses), 2.2 the spokes that list
 * an edge whose outputs changed or that they do not accept yet (they sign the requests and admit
 * the addresses), 2.3 the edges whose spoke ran in 2.2 (they deploy with their certificates).
 * `destroy` runs in reverse: hub first, then spokes and edges.
 */
import { readStackFile, listStacks } from "../components/config/stackfile";
import { CONTRACT_VERSION } from "../components/contracts";
import { isSecretValue } from "../offline/values";
import { EXIT, type ExitCode, FleetError } from "./exit-codes";
import { type DriftResult, type RunResult, type RunnerProgress, type StackOperation, type StackRunner, StepError, changedCount } from "./runner";

/** The environment variable through which the hub program learns which spokes to wire. */
// The hub program owns this contract; the fleet only sets it.
export { SPOKES_ENV } from "../components/contracts";
import { SPOKES_ENV } from "../components/contracts";
/** The hub output whose presence means the hub has been deployed at least once. */
export const CONTRACT_OUTPUT = "contractVersion";
/** The hub output listing the spokes it wired in its last deployment. */
export const WIRED_SPOKES_OUTPUT = "spokes";
/** The hub output saying how it read each `hub-store` spoke in its last deployment (v2). */
export const SPOKE_READERS_OUTPUT = "spokeReaders";
/** The spoke output with the hub's static read-only credential (a secret). */
export const READ_KEY_OUTPUT = "objstoreReadonly";

/** One stack as the orchestrator needs it, read from `Pulumi.<stack>.yaml`. */
export interface FleetStack {
  name: string;
  role: "hub" | "spoke" | "edge";
  cloud: string;
  region: string;
  /** The hub's `observability:spokes` (empty for spokes and edges). */
  spokes: readonly string[];
  /** A spoke's `observability:receive.edges`: the edges its receiver accepts (empty otherwise). */
  edges?: readonly string[];
  /** An edge's zone spoke (`observability:spoke.stack`). */
  spoke?: string;
}

/** The selected stacks of a project. */
export interface Fleet {
  hub?: FleetStack;
  spokes: FleetStack[];
  /** Edge stacks (absent: none). */
  edges?: FleetStack[];
}

/** The output of a spoke listing the edges its receiver accepts (`receiver.edges`). */
export const RECEIVER_OUTPUT = "receiver";

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
    if (role !== "hub" && role !== "spoke" && role !== "edge") {
      throw new FleetError(`Pulumi.${name}.yaml: observability:role must be 'hub', 'spoke' or 'edge' (got ${JSON.stringify(role)})`, EXIT.USAGE);
    }
    const spokes = Array.isArray(values.spokes) ? values.spokes.filter((s): s is string => typeof s === "string") : [];
    const receive = isRecord(values.receive) ? values.receive : {};
    const edges = Array.isArray(receive.edges) ? receive.edges.filter((s): s is string => typeof s === "string") : [];
    const spoke = isRecord(values.spoke) && typeof values.spoke.stack === "string" ? values.spoke.stack : undefined;
    return { name, role, cloud: String(values.cloud ?? "?"), region: String(values.region ?? "?"), spokes, ...(role === "spoke" ? { edges } : {}), ...(role === "edge" && spoke !== undefined ? { spoke } : {}) };
  });
  const hubs = stacks.filter((s) => s.role === "hub");
  if (hubs.length > 1) {
    throw new FleetError(`more than one hub selected (${hubs.map((h) => h.name).join(", ")}): run one hub's fleet at a time with --stacks`, EXIT.USAGE);
  }
  const edges = stacks.filter((s) => s.role === "edge");
  return { hub: hubs[0], spokes: stacks.filter((s) => s.role === "spoke"), ...(edges.length > 0 ? { edges } : {}) };
}

/** Every stack of a fleet: the hub, the spokes, the edges. */
export function fleetStacks(fleet: Fleet): FleetStack[] {
  return [...(fleet.hub ? [fleet.hub] : []), ...fleet.spokes, ...(fleet.edges ?? [])];
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

/** The waves of a fleet operation, in order (see the module comment); 2.1 to 2.3 are the edges' sub-waves. */
export type WaveNumber = 1 | 2 | 2.1 | 2.2 | 2.3 | 3 | 4;

/** A wave of operations; the operations of a parallel wave run up to `--parallel` at once. */
export interface Wave {
  wave: WaveNumber;
  title: string;
  parallel: boolean;
  ops: PlannedOp[];
  /** Why the wave may not run, or which of its stacks run (`only if the hub has no contractVersion output yet`). */
  condition?: string;
  /** What the plan leaves out around this wave, and why (`preview`: no hub upgrade pass). */
  note?: string;
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
  const spokeWave = (wave: WaveNumber, title = "spokes"): Wave => ({
    wave,
    title: `${title} (${opts.parallel} at a time)`,
    parallel: true,
    ops: fleet.spokes.map((s) => ({ stack: s.name, op, env: {} })),
  });
  const edges = fleet.edges ?? [];
  if (op === "destroy") {
    const waves: Wave[] = [];
    if (hub) waves.push({ wave: 1, title: "hub first: stop reading the spokes", parallel: false, ops: [{ stack: hub.name, op, env: {} }] });
    if (fleet.spokes.length > 0 || edges.length > 0) {
      waves.push({
        wave: 2,
        title: `spokes and edges (${opts.parallel} at a time)`,
        parallel: true,
        ops: [...fleet.spokes, ...edges].map((s) => ({ stack: s.name, op, env: {} })),
        condition: hub ? `only if ${hub.name} was destroyed` : undefined,
      });
    }
    return waves;
  }
  const waves: Wave[] = [];
  if (hub && op === "up") {
    waves.push({
      wave: 1,
      title: "hub bootstrap or upgrade",
      parallel: false,
      ops: [{
        stack: hub.name,
        op,
        env: { [SPOKES_ENV]: "" },
        envNote: `as a bootstrap; as an upgrade ${SPOKES_ENV}=<the spokes its ${WIRED_SPOKES_OUTPUT} output lists that observability:spokes still lists>`,
      }],
      condition:
        `bootstrap only if ${hub.name} has no ${CONTRACT_OUTPUT} output yet (CA, egress IPs, query, Grafana, no spokes); ` +
        `upgrade only if its ${CONTRACT_OUTPUT} is below ${CONTRACT_VERSION} and spokes run, wiring exactly the spokes it wires now, so that it publishes its issuer before they run; ` +
        `skipped when it is ${CONTRACT_VERSION}; above ${CONTRACT_VERSION} the run stops before anything runs (exit ${EXIT.USAGE}: update this checkout)`,
    });
  }
  if (fleet.spokes.length > 0) {
    const spokes = spokeWave(2);
    if (hub && op === "preview") {
      spokes.note =
        `no hub upgrade pass before the spokes and no key retirement after the hub in a preview: a preview deploys nothing, so the spokes preview against ${hub.name}'s deployed outputs ` +
        `(on contract v1 it publishes no issuer: they show their keys kept and no federated reader yet) and ${hub.name} previews its own upgrade; fleet up runs both passes`;
    }
    waves.push(spokes);
  }
  if (edges.length > 0) {
    const edgeOps = edges.map((e) => ({ stack: e.name, op, env: {} }));
    waves.push({ wave: 2.1, title: `edges: certificate requests and egress addresses (${opts.parallel} at a time)`, parallel: true, ops: edgeOps });
    if (op === "up") {
      const receiving = fleet.spokes.filter((s) => (s.edges ?? []).some((e) => edges.some((x) => x.name === e)));
      waves.push({
        wave: 2.2,
        title: `spokes: sign and admit their edges (${opts.parallel} at a time)`,
        parallel: true,
        ops: receiving.map((s) => ({ stack: s.name, op, env: {} })),
        condition: `only the spokes listing an edge that changed in wave 2.1, or one their ${RECEIVER_OUTPUT} output does not accept yet; never a spoke that failed in wave 2`,
      });
      waves.push({
        wave: 2.3,
        title: `edges: deploy with their certificates (${opts.parallel} at a time)`,
        parallel: true,
        ops: edgeOps,
        condition: "only the edges whose spoke ran in wave 2.2; never an edge that failed in wave 2.1",
      });
    } else {
      waves[waves.length - 1].note = "no signing or certificate pass in a preview: a preview deploys nothing, so the edges preview against their spokes' deployed certificates; fleet up runs waves 2.2 and 2.3";
    }
  }
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
  if (hub && op === "up" && fleet.spokes.length > 0) {
    waves.push({
      ...spokeWave(4, "spokes: retire read keys the hub no longer uses"),
      condition:
        `only the spokes whose outputs have reader.auth federated and an ${READ_KEY_OUTPUT} output and whom ${hub.name}'s ${SPOKE_READERS_OUTPUT} output lists as federated after wave 3; ` +
        `never a spoke that failed in wave 2; skipped when wave 3 did not run or no spoke qualifies`,
    });
  }
  return waves;
}

/** Everything the orchestrator reports while it runs. */
export type FleetEvent =
  | { type: "wave-start"; wave: number; title: string; stacks: string[]; reason?: string }
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

// ---- reading stack outputs --------------------------------------------------------------------


function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A stack output as a plain value, whatever form the runner returns it in: a wire-form secret is
 * unwrapped and JSON text parsed (`"1"` is 1). A masked secret (`[secret]`) stays a string, so
 * secrets are only ever tested for presence ({@link present}), never for their value.
 */
export function plainOutput(v: unknown): unknown {
  let u = v;
  // Pulumi's wire form of a secret carries `value`, or `plaintext` (its JSON) as the engine's RPC does.
  if (isSecretValue(v)) u = typeof (v as { plaintext?: unknown }).plaintext === "string" && !("value" in v) ? parsedJson(String((v as { plaintext?: unknown }).plaintext)) : v.value;
  return typeof u === "string" ? parsedJson(u) : u;
}

/** Whether an output is set (a secret counts whether it comes back revealed, wrapped or masked). */
function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== "";
}

/** The hub's contract as its outputs say: not deployed, or deployed at a version (undefined: unreadable). */
export type HubContractState = { deployed: false } | { deployed: true; version?: number };

/** Reads `contractVersion` from a hub's outputs. */
export function hubContract(outputs: Record<string, unknown>): HubContractState {
  const raw = outputs[CONTRACT_OUTPUT];
  if (!present(raw)) return { deployed: false };
  const v = plainOutput(raw);
  return { deployed: true, version: typeof v === "number" && Number.isInteger(v) ? v : undefined };
}

/** The spokes the hub wired in its last deployment (its `spokes` output); none when absent. */
export function wiredSpokes(outputs: Record<string, unknown>): string[] {
  const v = plainOutput(outputs[WIRED_SPOKES_OUTPUT]);
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string" && s !== "") : [];
}

/** How the hub read each `hub-store` spoke in its last deployment (its `spokeReaders` output). */
export function spokeReaders(outputs: Record<string, unknown>): Record<string, unknown> {
  const v = plainOutput(outputs[SPOKE_READERS_OUTPUT]);
  return isRecord(v) ? v : {};
}

/**
 * Whether a spoke offers the hub a federated reader and still keeps the static read key: its
 * outputs have `reader.auth: federated` and an `objstoreReadonly` (the key is only tested for
 * presence). Such a spoke deletes the key on its next `up` once the hub reads it federated.
 */
export function keepsReadKey(outputs: Record<string, unknown>): boolean {
  const reader = plainOutput(outputs.reader);
  return isRecord(reader) && reader.auth === "federated" && present(outputs[READ_KEY_OUTPUT]);
}

function versionText(state: HubContractState): string {
  if (!state.deployed) return `no ${CONTRACT_OUTPUT} output`;
  return state.version === undefined ? `an unreadable ${CONTRACT_OUTPUT}` : `contract v${state.version}`;
}

/**
 * Runs an operation over the fleet in waves (see {@link planFleet}). A failed spoke does not
 * stop the other spokes; the final hub pass then wires only the hub's listed spokes that did
 * not fail (through `SOVEREIGN_SPOKES`), or does not run at all with `strict`. A failed hub
 * bootstrap or upgrade skips everything after it: spokes cannot read a hub that does not
 * exist, and an upgrade that failed publishes no issuer. `up` and `preview` refuse a hub whose
 * contract is newer than this project's before anything runs.
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
    const all = fleetStacks(fleet).map((s) => s.name);
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

  // The hub as deployed before this run: its contract decides wave 1, and a newer one stops the run.
  let hubBefore: HubContractState = { deployed: false };
  let hubWiredBefore: string[] = [];
  if (fleet.hub && (op === "up" || op === "preview")) {
    const hub = fleet.hub.name;
    const outputs = await runner.outputs(hub).catch((): Record<string, unknown> => ({}));
    hubBefore = hubContract(outputs);
    hubWiredBefore = wiredSpokes(outputs);
    if (hubBefore.deployed && hubBefore.version !== undefined && hubBefore.version > CONTRACT_VERSION) {
      throw new FleetError(
        `hub ${hub} publishes contract v${hubBefore.version}, but this checkout of the project writes v${CONTRACT_VERSION} (it reads v1 to v${CONTRACT_VERSION}): ${hub} was deployed by a newer version of this project. ` +
          `Update this checkout (git pull) and run fleet ${op} again; nothing was run.`,
        EXIT.USAGE,
      );
    }
  }

  let blockedBy: string | undefined;
  const spokeFailures = new Set<string>();
  for (const w of waves) {
    let ops = w.ops;
    let title = w.title;
    let reason: string | undefined;
    if (w.wave === 4 && op === "up" && fleet.hub) {
      // Conditional by nature: when it does not apply, nothing is skipped that was due to run.
      const hub = fleet.hub.name;
      const hubWired = outcomes.some((o) => o.wave === 3 && o.stack === hub && o.status === "succeeded");
      if (blockedBy !== undefined || !hubWired) {
        emit({ type: "wave-skipped", wave: w.wave, title, reason: blockedBy ?? `${hub} did not wire the spokes in wave 3: every spoke keeps its read key` });
        continue;
      }
      let readers: Record<string, unknown>;
      try {
        readers = spokeReaders(await runner.outputs(hub));
      } catch (e) {
        emit({ type: "wave-skipped", wave: w.wave, title, reason: `cannot read ${hub}'s outputs (${errorText(e).error}): read keys stay until the next fleet up` });
        continue;
      }
      const candidates = w.ops.filter((o) => !spokeFailures.has(o.stack) && readers[o.stack] === "federated");
      const keeping = await mapPool(candidates, opts.parallel, async (o) => keepsReadKey(await runner.outputs(o.stack).catch((): Record<string, unknown> => ({}))));
      ops = candidates.filter((_, i) => keeping[i]);
      if (ops.length === 0) {
        emit({ type: "wave-skipped", wave: w.wave, title, reason: `no spoke keeps a read key that ${hub} no longer uses (${SPOKE_READERS_OUTPUT} federated, reader.auth federated and an ${READ_KEY_OUTPUT} output)` });
        continue;
      }
      reason = ops.length === 1
        ? `${hub} reads it federated now (${SPOKE_READERS_OUTPUT}); its up deletes the unused key`
        : `${hub} reads them federated now (${SPOKE_READERS_OUTPUT}); their up deletes the unused keys`;
    } else if (blockedBy !== undefined) {
      skip(w, blockedBy);
      continue;
    }
    if (w.wave === 2.2) {
      // A spoke signs and admits its edges again only when something changed for them.
      const changedEdges = new Set(outcomes.filter((o) => o.wave === 2.1 && o.status === "succeeded" && (o.changes === undefined || changedCount(o.changes) > 0)).map((o) => o.stack));
      const ranEdges = new Set(outcomes.filter((o) => o.wave === 2.1 && o.status === "succeeded").map((o) => o.stack));
      const due = await mapPool(w.ops.filter((o) => !spokeFailures.has(o.stack)), opts.parallel, async (o) => {
        const listed = (fleet.spokes.find((s) => s.name === o.stack)?.edges ?? []).filter((e) => ranEdges.has(e));
        if (listed.some((e) => changedEdges.has(e))) return o;
        const receiver = plainOutput((await runner.outputs(o.stack).catch((): Record<string, unknown> => ({})))[RECEIVER_OUTPUT]);
        const accepted = isRecord(receiver) && Array.isArray(receiver.edges) ? receiver.edges : [];
        return listed.some((e) => !accepted.includes(e)) ? o : undefined;
      });
      ops = due.filter((o): o is PlannedOp => o !== undefined);
      if (ops.length === 0) {
        emit({ type: "wave-skipped", wave: w.wave, title, reason: "no edge changed in wave 2.1 and every spoke accepts its edges already" });
        continue;
      }
    }
    if (w.wave === 2.3) {
      const signed = new Set(outcomes.filter((o) => o.wave === 2.2 && o.status === "succeeded").map((o) => o.stack));
      const failedEdges = new Set(outcomes.filter((o) => o.wave === 2.1 && o.status === "failed").map((o) => o.stack));
      ops = w.ops.filter((o) => !failedEdges.has(o.stack) && signed.has((fleet.edges ?? []).find((e) => e.name === o.stack)?.spoke ?? ""));
      if (ops.length === 0) {
        emit({ type: "wave-skipped", wave: w.wave, title, reason: "no spoke signed or admitted an edge in wave 2.2" });
        continue;
      }
    }
    if (w.wave === 1 && op === "up" && fleet.hub) {
      const hub = fleet.hub;
      if (!hubBefore.deployed) {
        title = "hub bootstrap: CA, egress IPs, query, Grafana, no spokes";
        reason = `${hub.name} has no ${CONTRACT_OUTPUT} output yet`;
      } else if (hubBefore.version === CONTRACT_VERSION) {
        emit({ type: "wave-skipped", wave: 1, title, reason: `${hub.name} is on contract v${CONTRACT_VERSION} (its ${CONTRACT_OUTPUT} output): no bootstrap or upgrade needed` });
        continue;
      } else if (fleet.spokes.length === 0) {
        emit({ type: "wave-skipped", wave: 1, title, reason: `${hub.name} has ${versionText(hubBefore)} and no spoke runs now: wave 3 upgrades it` });
        continue;
      } else {
        // SOVEREIGN_SPOKES may only name listed spokes: one dropped from observability:spokes is left out.
        const wired = hubWiredBefore.filter((s) => hub.spokes.includes(s));
        const dropped = hubWiredBefore.filter((s) => !hub.spokes.includes(s));
        title = `hub upgrade to contract v${CONTRACT_VERSION}, wiring the spokes it wires now`;
        reason =
          `${hub.name} has ${versionText(hubBefore)}: it publishes its issuer before the spokes run and keeps reading ${wired.length === 0 ? "no spoke" : wired.join(", ")} as before` +
          (dropped.length > 0 ? ` (${dropped.join(", ")} no longer in observability:spokes, left out)` : "");
        ops = ops.map((o) => ({ ...o, env: { [SPOKES_ENV]: wired.join(",") } }));
      }
    }
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
    emit({ type: "wave-start", wave: w.wave, title, stacks: ops.map((o) => o.stack), ...(reason !== undefined ? { reason } : {}) });
    const results = await mapPool(ops, w.parallel ? opts.parallel : 1, (o) => runOne(runner, w.wave, o, opts, emit, now));
    outcomes.push(...results);
    const failed = results.filter((r) => r.status === "failed");
    // Only a spoke that failed in wave 2 is left out of the hub's wiring; a failure in an edge
    // sub-wave (an edge, or a spoke signing for its edges after a good wave 2) is reported, and
    // the spoke stays wired.
    if (w.parallel) {
      if (w.wave === 2) failed.forEach((r) => spokeFailures.add(r.stack));
    } else if (failed.length > 0) blockedBy = `${failed[0].stack} failed in wave ${w.wave} (${failed[0].step ?? op})`;
  }

  const anyFailed = outcomes.some((o) => o.status === "failed");
  const anyChanges = op === "preview" && outcomes.some((o) => o.changes !== undefined && changedCount(o.changes) > 0);
  const exitCode: ExitCode = anyFailed ? EXIT.STACK_FAILED : anyChanges ? EXIT.CHANGES : EXIT.OK;
  return { op, outcomes, exitCode };
}

/** One row of the drift table. */
export interface DriftRow {
  stack: string;
  role: "hub" | "spoke" | "edge";
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
  const stacks = fleetStacks(fleet);
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
