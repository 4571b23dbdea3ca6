/**
 * Runs ONE stack program under Pulumi's mocks, in its own process, and writes what it
 * registered. Invoked by the engine as `node --import tsx offline/child.ts <job.json>`.
 */
// Must stay the first import: it configures the process before the SDK loads.
import "./startup";
import { readFileSync, writeFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { RecordingMonitor } from "./monitor";
import { installMonitor, waitForRPCs } from "./sdk-adapter";
import { invokeTable, outputTable, fallbackOutputs } from "./outputs";
import type { MockContext } from "./outputs/types";
import { hexOf } from "./outputs/types";
import { reveal, SIG_KEY, SECRET_SIG, secretValue } from "./values";
import type { ChildJob, ChildResult, StackReferenceData } from "./protocol";

/** The `@pulumi/*` packages (and root indexes) this process has loaded, from the CommonJS module cache. */
function loadedSdks(): string[] {
  const found = new Set<string>();
  for (const file of Object.keys(require.cache)) {
    const m = /[\\/]node_modules[\\/]@pulumi[\\/]([^\\/]+)[\\/](.*)$/.exec(file);
    if (m === null || m[2].includes("node_modules")) continue;
    found.add(`@pulumi/${m[1]}`);
    if (m[2] === "index.js") found.add(`@pulumi/${m[1]}/index.js`);
  }
  return [...found].sort();
}

function configEnv(job: ChildJob): { config: Record<string, string>; secretKeys: string[] } {
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(job.config)) config[key] = typeof value === "string" ? value : JSON.stringify(value);
  return { config, secretKeys: job.secretKeys };
}

/** Resolves every Output inside a value into wire form, keeping secrets marked. */
async function resolveDeep(v: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    const out = v as pulumi.Output<unknown>;
    const [value, secret] = await Promise.all([
      new Promise<unknown>((resolve) => out.apply((x) => { resolve(x); return x; })),
      pulumi.isSecret(out),
    ]);
    const inner = await resolveDeep(value);
    return secret ? secretValue(inner) : inner;
  }
  if (v instanceof Promise) return resolveDeep(await v);
  if (Array.isArray(v)) return Promise.all(v.map(resolveDeep));
  if (v !== null && typeof v === "object" && !pulumi.Resource.isInstance(v)) {
    const entries = await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await resolveDeep(x)] as const));
    return Object.fromEntries(entries);
  }
  return v;
}

function referenceState(name: string, refs: Record<string, StackReferenceData>): Record<string, unknown> {
  const stack = name.split("/").pop() ?? name;
  const ref = refs[stack];
  if (ref === undefined) throw new Error(`unknown stack '${name}': it has not been deployed (no outputs)`);
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ref.outputs)) {
    outputs[k] = ref.secretOutputNames.includes(k) && !(v !== null && typeof v === "object" && SIG_KEY in v) ? { [SIG_KEY]: SECRET_SIG, value: v } : v;
  }
  return { name, outputs, secretOutputNames: ref.secretOutputNames };
}

async function main(): Promise<void> {
  const jobPath = process.argv[2];
  const job = JSON.parse(readFileSync(jobPath, "utf8")) as ChildJob;
  const ctx: MockContext = { stack: job.stack, project: job.project, organization: job.organization };
  const { config, secretKeys } = configEnv(job);
  process.env.PULUMI_CONFIG = JSON.stringify(config);
  process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(secretKeys);
  for (const [k, v] of Object.entries(job.env)) {
    if (v === null) delete process.env[k];
    else process.env[k] = v;
  }

  const prior = new Map((job.prior ?? []).map((r) => [`${r.type}::${r.name}`, r]));
  let monitor: RecordingMonitor | undefined;
  const mocks: pulumi.runtime.Mocks = {
    newResource: async (args) => {
      if (monitor === undefined) throw new Error("engine: monitor not ready");
      if (args.type === "pulumi:pulumi:StackReference") {
        const name = String((args.inputs as { name?: unknown }).name);
        return { id: name, state: referenceState(name, job.references) };
      }
      const stashed = monitor.take(args.type, args.name);
      const inputs = stashed?.inputs ?? (args.inputs as Record<string, unknown>);
      const reg = {
        type: args.type,
        name: args.name,
        // Tables compute from plain values; secrecy is carried by the wire-form state below.
        inputs: reveal(inputs) as Record<string, unknown>,
        provider: args.provider,
        providerInputs: reveal((args.provider !== undefined ? monitor.providerInputs.get(args.provider) : undefined) ?? {}) as Record<string, unknown>,
      };
      const previous = prior.get(`${args.type}::${args.name}`);
      if (previous !== undefined && JSON.stringify(reveal(previous.inputs)) === JSON.stringify(reveal(inputs))) {
        return { id: previous.id, state: previous.outputs };
      }
      const fn = outputTable[args.type];
      const computed = fn !== undefined ? await fn(reg, ctx) : fallbackOutputs(reg, ctx);
      const state: Record<string, unknown> = { ...inputs, ...(computed?.state ?? {}) };
      for (const k of stashed?.secretOutputs ?? []) if (k in state && !(state[k] !== null && typeof state[k] === "object" && SIG_KEY in (state[k] as object))) state[k] = secretValue(state[k]);
      return { id: computed?.id ?? `${args.name}-${hexOf(ctx, args, 8, "id")}`, state };
    },
    call: async (args) => {
      const fn = invokeTable[args.token];
      if (fn === undefined) throw new Error(`engine: no offline answer for invoke ${args.token}; add one to offline/outputs/`);
      const providerInputs = (args.provider !== undefined && monitor !== undefined ? monitor.providerInputs.get(args.provider) : undefined) ?? {};
      return fn({ token: args.token, inputs: reveal(args.inputs) as Record<string, unknown>, providerInputs: reveal(providerInputs) as Record<string, unknown> }, ctx);
    },
  };
  monitor = await installMonitor(mocks, (m) => new RecordingMonitor(m), { project: job.project, stack: job.stack, organization: job.organization });
  const recorder = monitor;

  const result: ChildResult = { stack: job.stack, resources: [], outputs: {} };
  const failures: string[] = [];
  process.on("unhandledRejection", (e) => failures.push(e instanceof Error ? e.message : String(e)));
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    process.chdir(job.projectDir);
    const program = require(job.programPath) as () => Promise<Record<string, unknown>>;
    const outputs = await program();
    result.outputs = (await resolveDeep(outputs)) as Record<string, unknown>;
    await waitForRPCs();
    while (recorder.pending() > 0) await new Promise((r) => setTimeout(r, 5));
  } catch (e) {
    const err = e as Error;
    result.error = { name: err.name, message: err.message };
  }
  if (failures.length > 0 && result.error === undefined) result.error = { name: "Error", message: failures.join("\n") };
  result.resources = recorder.recorded;
  result.loadedSdks = loadedSdks();
  writeFileSync(job.resultPath, JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`engine: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(70);
  },
);
