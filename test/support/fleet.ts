/**
 * The real fleet under the offline engine, for the per-cloud engine tests: one `planFleet` per
 * test file (memoized), the hub's bootstrap run kept (spokes read the hub's addresses from it),
 * and helpers that read recorded resources by type, so resources added to the stacks later do
 * not disturb the checks.
 */
import assert from "node:assert/strict";
import { asReference, isSecretValue, planFleet, PROJECT, REPO_DIR, reveal, type RecordedResource, type RunStackOptions, type StackReferenceData, type StackRun } from "../../offline";
import { planDocument } from "../../offline/report";
import { readStackFile, validateStackConfig, type SpokeConfig, type StackConfig } from "../../components/config";

export interface RealFleet {
  /** Final runs by stack name. */
  runs: Map<string, StackRun>;
  /** The hub's bootstrap run (no spokes wired): what the spokes read through their StackReference. */
  bootstrap: StackRun;
  /** StackReferences as the spokes saw them (the bootstrap hub), for extra runs of a spoke. */
  hubRefs: Record<string, StackReferenceData>;
}

let memo: Promise<RealFleet> | undefined;

/** Plans the real fleet once per process: the given stacks plus whatever they depend on. */
export function realFleet(stacks?: readonly string[]): Promise<RealFleet> {
  memo ??= (async () => {
    let bootstrap: StackRun | undefined;
    const plan = await planFleet({
      stacks,
      onStack: (run, phase) => {
        if (phase === "bootstrap") bootstrap = run;
      },
    });
    assert.ok(bootstrap !== undefined, "the hub was bootstrapped");
    assert.equal(bootstrap.error, undefined, `hub bootstrap failed: ${bootstrap.error?.message ?? ""}`);
    const runs = new Map(plan.runs.map((r) => [r.stack, r] as const));
    for (const r of plan.runs) assert.equal(r.error, undefined, `${r.stack} failed: ${r.error?.message ?? ""}`);
    return { runs, bootstrap, hubRefs: { [bootstrap.stack]: asReference(bootstrap) } };
  })();
  return memo;
}

/** The final run of a stack. */
export function runOf(fleet: RealFleet, stack: string): StackRun {
  const run = fleet.runs.get(stack);
  assert.ok(run !== undefined, `no run of ${stack}`);
  return run;
}

/** Options of an extra run of a spoke that reads the same bootstrap hub as in the fleet run. */
export function spokeRunOptions(fleet: RealFleet, stack: string, mutateConfig: RunStackOptions["mutateConfig"]): RunStackOptions {
  return { stack, references: fleet.hubRefs, mutateConfig };
}

export const ofType = (run: StackRun, type: string): RecordedResource[] => run.resources.filter((r) => r.type === type);

/** The one resource of a type (fails when there is none or several). */
export function one(run: StackRun, type: string): RecordedResource {
  const all = ofType(run, type);
  assert.equal(all.length, 1, `${run.stack}: exactly one ${type}`);
  return all[0];
}

/** A resource by its logical name. */
export function named(run: StackRun, type: string, name: string): RecordedResource {
  const r = ofType(run, type).find((x) => x.name === name);
  assert.ok(r !== undefined, `${run.stack}: ${type} ${name}`);
  return r;
}

/** Inputs with secrets revealed. */
export const inputs = (r: RecordedResource): Record<string, unknown> => reveal(r.inputs) as Record<string, unknown>;
export const input = (r: RecordedResource, key: string): unknown => reveal(r.inputs[key]);
export const output = (r: RecordedResource, key: string): unknown => reveal(r.outputs[key]);

/** Stack outputs with secrets revealed. */
export const plainOutputs = (run: StackRun): Record<string, unknown> => reveal(run.outputs) as Record<string, unknown>;

/**
 * Every resource of a provider package (`aws`, `gcp`, `azure-native`) is created through the
 * stack's one explicit provider `<stack>-<cloud>`, never the ambient default provider.
 */
export function assertExplicitProvider(run: StackRun, pkg: string, cloud: string): void {
  const providers = ofType(run, `pulumi:providers:${pkg}`);
  assert.deepEqual(providers.map((p) => p.name), [`${run.stack}-${cloud}`], `${run.stack}: one explicit ${pkg} provider`);
  const ref = `${providers[0].urn}::${providers[0].id}`;
  const resources = run.resources.filter((r) => r.custom && r.type.startsWith(`${pkg}:`));
  assert.ok(resources.length > 0);
  for (const r of resources) assert.equal(r.provider, ref, `${run.stack}: ${r.type} ${r.name} uses the stack's provider`);
}

/** `protect` and `retainOnDelete` on each resource given. */
export function assertDataSafe(resources: readonly RecordedResource[], what: string): void {
  assert.ok(resources.length > 0, `no ${what} to check`);
  for (const r of resources) {
    assert.equal(r.options.protect, true, `${r.name}: protect`);
    assert.equal(r.options.retainOnDelete, true, `${r.name}: retainOnDelete`);
  }
}

/** `egressIps` of the stack outputs: exactly the recorded addresses. */
export function assertEgressIps(run: StackRun, recorded: readonly unknown[]): void {
  const exported = run.outputs.egressIps;
  assert.ok(Array.isArray(exported), `${run.stack}: egressIps exported`);
  assert.ok(recorded.length > 0);
  assert.deepEqual([...exported].map(String).sort(), recorded.map(String).sort());
}

/**
 * The hub's read-only objstore: a secret among the stack outputs, `[secret]` in the plan
 * document, and never visible in clear anywhere in that document.
 */
export function assertReadonlyObjstoreSecret(run: StackRun): string {
  assert.ok(run.outputs.objstoreReadonly !== undefined, `${run.stack}: objstoreReadonly exported`);
  assert.ok(isSecretValue(run.outputs.objstoreReadonly), `${run.stack}: objstoreReadonly is a secret output`);
  assert.ok(run.secretOutputNames.includes("objstoreReadonly"));
  const doc = planDocument(run, PROJECT, false);
  assert.equal((doc.outputs as Record<string, unknown>).objstoreReadonly, "[secret]");
  const clear = String(reveal(run.outputs.objstoreReadonly));
  assert.ok(clear.length > 0);
  assert.ok(!JSON.stringify(doc).includes(JSON.stringify(clear).slice(1, -1)), "the plan document never shows the reader credential");
  const shown = planDocument(run, PROJECT, true);
  assert.equal((shown.outputs as Record<string, unknown>).objstoreReadonly, clear, "shown on request");
  return clear;
}

/** The validated config of a stack file of this repository, optionally edited first. */
export function stackConfig(stack: string, mutate?: (values: Record<string, unknown>) => void): StackConfig {
  const file = readStackFile(REPO_DIR, stack);
  const values = structuredClone(file.values);
  mutate?.(values);
  const r = validateStackConfig(values, { stack, secretKeys: file.secretKeys });
  if (!r.ok) throw new Error(`${stack}: ${r.issues.map((i) => `${i.key}: ${i.message}`).join("; ")}`);
  return r.config;
}

/** The validated configuration of a spoke's stack file (see {@link stackConfig}); refuses another role. */
export function spokeConfig(stack: string, mutate?: (values: Record<string, unknown>) => void): SpokeConfig {
  const c = stackConfig(stack, mutate);
  if (c.role !== "spoke") throw new Error(`${stack} is a ${c.role}, not a spoke`);
  return c;
}
