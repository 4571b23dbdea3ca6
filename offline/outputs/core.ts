/**
 * Mock outputs for the resources that are not cloud-specific: random values and Kubernetes
 * objects. Random values are derived from the stack and resource name so that two plans
 * of the same fleet are identical.
 */
import { hashSync } from "bcryptjs";
import { createHash } from "node:crypto";
import { hexOf, ipOf, type MockContext, type MockRegistration, type OutputTable } from "./types";

const BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

function deterministicChars(ctx: MockContext, reg: MockRegistration, alphabet: string, length: number, salt: string): string {
  let out = "";
  let block = 0;
  while (out.length < length) {
    const bytes = createHash("sha256").update(hexOf(ctx, reg, 64, `${salt}/${block++}`)).digest();
    for (const b of bytes) if (out.length < length) out += alphabet[b % alphabet.length];
  }
  return out;
}

function num(v: unknown, fallback: number): number {
  return typeof v === "number" ? v : fallback;
}

/** A Service of type LoadBalancer gets an address the way each cloud's controller reports it. */
function loadBalancerStatus(reg: MockRegistration, ctx: MockContext): Record<string, unknown> {
  const spec = (reg.inputs.spec ?? {}) as { type?: string };
  if (spec.type !== "LoadBalancer") return {};
  const annotations = ((reg.inputs.metadata ?? {}) as { annotations?: Record<string, string> }).annotations ?? {};
  const aws = Object.keys(annotations).some((k) => k.startsWith("service.beta.kubernetes.io/aws-load-balancer"));
  const ingress = aws
    ? [{ hostname: `k8s-${hexOf(ctx, reg, 8)}-${hexOf(ctx, reg, 10, "nlb")}.elb.amazonaws.com` }]
    : [{ ip: ipOf(ctx, reg, "lb") }];
  return { status: { loadBalancer: { ingress } } };
}

/** Kubernetes objects: the name the SDK would auto-generate, and LoadBalancer addresses. */
function kubernetesObject(reg: MockRegistration, ctx: MockContext): { id: string; state: Record<string, unknown> } {
  const metadata = { ...((reg.inputs.metadata ?? {}) as Record<string, unknown>) };
  if (metadata.name === undefined) metadata.name = `${reg.name}-${hexOf(ctx, reg, 8)}`;
  const ns = typeof metadata.namespace === "string" ? `${metadata.namespace}/` : "";
  return { id: `${ns}${String(metadata.name)}`, state: { metadata, ...loadBalancerStatus(reg, ctx) } };
}

export const coreOutputs: OutputTable = {
  "random:index/randomPassword:RandomPassword": (reg, ctx) => {
    const result = deterministicChars(ctx, reg, PASSWORD_ALPHABET, num(reg.inputs.length, 32), "password");
    const salt = `$2b$10$${deterministicChars(ctx, reg, BCRYPT_ALPHABET, 22, "salt")}`;
    return { state: { result, bcryptHash: hashSync(result, salt) } };
  },
  "random:index/randomId:RandomId": (reg, ctx) => {
    const hex = hexOf(ctx, reg, num(reg.inputs.byteLength, 8) * 2, "id");
    return { id: Buffer.from(hex, "hex").toString("base64url"), state: { hex, dec: BigInt(`0x${hex}`).toString(10), b64Url: Buffer.from(hex, "hex").toString("base64url"), b64Std: Buffer.from(hex, "hex").toString("base64") } };
  },
  "random:index/randomString:RandomString": (reg, ctx) => ({
    state: { result: deterministicChars(ctx, reg, "abcdefghijklmnopqrstuvwxyz0123456789", num(reg.inputs.length, 16), "string") },
  }),
};

/** Kubernetes types share one rule: any `kubernetes:*` token. */
export function kubernetesOutputs(reg: MockRegistration, ctx: MockContext): { id: string; state: Record<string, unknown> } | undefined {
  if (!reg.type.startsWith("kubernetes:")) return undefined;
  if (reg.type === "kubernetes:helm.sh/v3:Release") {
    const name = typeof reg.inputs.name === "string" ? reg.inputs.name : reg.name;
    return { id: `${String(reg.inputs.namespace ?? "default")}/${name}`, state: { name, status: { name, namespace: reg.inputs.namespace, version: reg.inputs.version, status: "deployed", revision: 1 } } };
  }
  return kubernetesObject(reg, ctx);
}
