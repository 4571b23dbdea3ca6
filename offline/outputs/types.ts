/**
 * How the offline engine computes the outputs a provider would return for a resource.
 * One table per provider package; the engine merges inputs with what the table returns.
 */
import { createHash } from "node:crypto";

/** What the engine knows about the stack being run. */
export interface MockContext {
  stack: string;
  project: string;
  organization: string;
}

/** A resource registration as the mock sees it. */
export interface MockRegistration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider?: string;
  /** Inputs of the provider instance this resource uses (region, project, subscription). */
  providerInputs: Record<string, unknown>;
}

/** Computed outputs for one resource; `id` defaults to a deterministic one. */
export interface MockOutputs {
  id?: string;
  state: Record<string, unknown>;
}

export type OutputFn = (reg: MockRegistration, ctx: MockContext) => MockOutputs | Promise<MockOutputs>;

/** Resource type token (`aws:s3/bucket:Bucket`) to its output function. */
export type OutputTable = Readonly<Record<string, OutputFn>>;

/** Deterministic hex digits derived from the stack, the resource and a salt. */
export function hexOf(ctx: MockContext, reg: Pick<MockRegistration, "type" | "name">, length: number, salt = ""): string {
  return createHash("sha256").update(`${ctx.organization}/${ctx.project}/${ctx.stack}/${reg.type}/${reg.name}/${salt}`).digest("hex").slice(0, length);
}

/** A deterministic documentation-range IPv4 address (RFC 5737) for a resource. */
export function ipOf(ctx: MockContext, reg: Pick<MockRegistration, "type" | "name">, salt = ""): string {
  const h = Buffer.from(hexOf(ctx, reg, 8, salt), "hex");
  const nets = ["192.0.2", "198.51.100", "203.0.113"];
  return `${nets[h[0] % 3]}.${1 + (h[1] % 254)}`;
}

/** A string input, or a fallback when it is absent or not a string. */
export function str(v: unknown, fallback: string): string {
  return typeof v === "string" && v.length > 0 ? v : fallback;
}

/** An invoke (data source) as the mock sees it. */
export interface MockInvoke {
  token: string;
  inputs: Record<string, unknown>;
  /** Inputs of the provider instance the invoke uses, when explicit. */
  providerInputs: Record<string, unknown>;
}

export type InvokeFn = (call: MockInvoke, ctx: MockContext) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** Invoke token (`gcp:storage/getProjectServiceAccount:getProjectServiceAccount`) to its result. */
export type InvokeTable = Readonly<Record<string, InvokeFn>>;
