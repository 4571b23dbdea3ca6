/**
 * Shapes shared by the Helm values renderers. Renderers return plain JSON-like objects so
 * they can be checked against the pinned charts' values.yaml and schema, and handed to a
 * Helm release unchanged.
 */

/** A JSON value, the only thing Helm values can hold. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A Helm values document. */
export type HelmValues = { [key: string]: Json };

/** A key inside an existing Kubernetes Secret. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/**
 * How a workload binds to its cloud identity: ServiceAccount annotations (IRSA role ARN,
 * GCP service account, Azure client id) and pod labels (`azure.workload.identity/use`).
 * The cloud modules produce these per workload (`StorageOutputs.workloadIdentity`).
 */
export interface WorkloadIdentity {
  serviceAccountName: string;
  annotations: Record<string, string>;
  podLabels: Record<string, string>;
}

/** The identity labels every series and log line carries (see components/labels.ts). */
export interface IdentityLabels {
  cluster: string;
  environment: string;
  region: string;
  cloud: string;
}

/**
 * A plain value as {@link Json}: `undefined` object members are dropped (Helm has no
 * undefined), anything that JSON cannot carry is refused.
 */
export function toJson(v: unknown): Json {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`not representable in Helm values: ${v}`);
    return v;
  }
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === "object") {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJson(x);
    return out;
  }
  throw new Error(`not representable in Helm values: ${typeof v}`);
}
