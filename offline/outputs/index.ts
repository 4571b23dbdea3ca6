/**
 * Every mock-output table the engine knows, merged. A resource type without an entry gets
 * its inputs echoed back with a deterministic id.
 */
import { awsInvokes, awsOutputs } from "./aws";
import { azureInvokes, azureOutputs } from "./azure";
import { coreOutputs, kubernetesOutputs } from "./core";
import { gcpInvokes, gcpOutputs } from "./gcp";
import { minioOutputs } from "./minio";
import { tlsOutputs } from "./tls";
import type { InvokeTable, MockContext, MockOutputs, MockRegistration, OutputTable } from "./types";

export const outputTable: OutputTable = { ...coreOutputs, ...tlsOutputs, ...awsOutputs, ...gcpOutputs, ...azureOutputs, ...minioOutputs };

export const invokeTable: InvokeTable = { ...awsInvokes, ...gcpInvokes, ...azureInvokes };

/** Outputs for types no table lists. */
export function fallbackOutputs(reg: MockRegistration, ctx: MockContext): MockOutputs | undefined {
  return kubernetesOutputs(reg, ctx);
}
