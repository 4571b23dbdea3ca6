/**
 * Runs Azure cloud-module components in this process under Pulumi's mocks, with the engine's
 * RecordingMonitor (so protect/retainOnDelete/dependsOn are recorded as the real engine would
 * see them) and the Azure mock-output table. Used until the spoke program wires the cloud seam;
 * after that, the engine runs of stag-01 cover the same ground end to end.
 */
import * as pulumi from "@pulumi/pulumi";
import { readStackFile, validateStackConfig, type StackConfig } from "../components/config";
import { resourceLabels } from "../components/labels";
import { azureCloud } from "../components/clouds/azure";
import type { CloudContext } from "../components/clouds/types";
import { RecordingMonitor, type RecordedResource } from "./engine/monitor";
import { azureInvokes, azureOutputs } from "./engine/outputs/azure";
import { hexOf, type MockContext } from "./engine/outputs/types";
import { reveal, SECRET_SIG, SIG_KEY, secretValue } from "./engine/values";
import { REPO_DIR, PROJECT, ORGANIZATION } from "./engine";

interface SettingsModule {
  setMockOptions(monitor: unknown, project?: string, stack?: string, preview?: boolean, organization?: string): void;
  waitForRPCs(): Promise<void>;
}
interface StateModule {
  getStore(): Record<string, unknown>;
}

let monitor: RecordingMonitor | undefined;
let ready: Promise<RecordingMonitor> | undefined;

/** One mock runtime per process: concurrent suites must share it, not race to replace it. */
function setup(stack: string): Promise<RecordingMonitor> {
  ready ??= install(stack);
  return ready;
}

async function install(stack: string): Promise<RecordingMonitor> {
  const ctx: MockContext = { stack, project: PROJECT, organization: ORGANIZATION };
  const mocks: pulumi.runtime.Mocks = {
    newResource: async (args) => {
      const m = monitor;
      if (m === undefined) throw new Error("harness: monitor not ready");
      const stashed = m.take(args.type, args.name);
      const inputs = stashed?.inputs ?? (args.inputs as Record<string, unknown>);
      const providerInputs = (args.provider !== undefined ? m.providerInputs.get(args.provider) : undefined) ?? {};
      const reg = { type: args.type, name: args.name, inputs: reveal(inputs) as Record<string, unknown>, provider: args.provider, providerInputs: reveal(providerInputs) as Record<string, unknown> };
      const fn = azureOutputs[args.type];
      const computed = fn !== undefined ? await fn(reg, ctx) : undefined;
      const state: Record<string, unknown> = { ...inputs, ...(computed?.state ?? {}) };
      for (const k of stashed?.secretOutputs ?? []) {
        const v = state[k];
        if (k in state && !(v !== null && typeof v === "object" && SIG_KEY in v && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG)) state[k] = secretValue(v);
      }
      return { id: computed?.id ?? `${args.name}-${hexOf(ctx, args, 8, "id")}`, state };
    },
    call: async (args) => {
      const fn = azureInvokes[args.token];
      if (fn === undefined) throw new Error(`harness: no offline answer for invoke ${args.token}`);
      const providerInputs = (args.provider !== undefined && monitor !== undefined ? monitor.providerInputs.get(args.provider) : undefined) ?? {};
      return fn({ token: args.token, inputs: reveal(args.inputs) as Record<string, unknown>, providerInputs: reveal(providerInputs) as Record<string, unknown> }, ctx);
    },
  };
  await pulumi.runtime.setMocks(mocks, PROJECT, stack, false, ORGANIZATION);
  // Same swap as the engine's child: the recording monitor, with the runtime features re-enabled.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const store = (require("@pulumi/pulumi/runtime/state") as StateModule).getStore();
  const features = { ...store };
  monitor = new RecordingMonitor(mocks);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require("@pulumi/pulumi/runtime/settings") as SettingsModule).setMockOptions(monitor, PROJECT, stack, false, ORGANIZATION);
  for (const [k, v] of Object.entries(features)) if (k.startsWith("supports")) store[k] = v;
  return monitor;
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

/** The value of an Output, once the mocks have answered. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
}

/**
 * Builds components for a stack (with the Azure provider as the seam would create it) and
 * returns what was registered under `scope` (a name prefix unique to the caller).
 */
export async function recordAzure<T>(
  config: StackConfig,
  scope: string,
  build: (ctx: CloudContext) => T,
): Promise<{ resources: RecordedResource[]; result: T }> {
  const m = await setup(config.stack);
  const provider = azureCloud.createProvider(`${scope}-azure`, config);
  const ctx: CloudContext = { stack: config.stack, config, labels: resourceLabels(config), provider };
  const result = build(ctx);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  await (require("@pulumi/pulumi/runtime/settings") as SettingsModule).waitForRPCs();
  while (m.pending() > 0) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 20));
  while (m.pending() > 0) await new Promise((r) => setTimeout(r, 5));
  const resources = m.recorded.filter((r) => r.name.startsWith(`${scope}-`) || r.name === scope);
  return { resources, result };
}
