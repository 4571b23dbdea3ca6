/**
 * Every mock-output table the engine knows, merged. A resource type without an entry gets
 * its inputs echoed back with a deterministic id.
 */
import { coreOutputs, kubernetesOutputs } from "./core";
import { tlsOutputs } from "./tls";
import type { InvokeTable, MockContext, MockOutputs, MockRegistration, OutputTable } from "./types";

export const outputTable: OutputTable = { ...coreOutputs, ...tlsOutputs };

export const invokeTable: InvokeTable = {};

/** Outputs for types no table lists. */
export function fallbackOutputs(reg: MockRegistration, ctx: MockContext): MockOutputs | undefined {
  return kubernetesOutputs(reg, ctx);
}
