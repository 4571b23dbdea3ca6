/**
 * The pinned charts' values as references, and the one check every release's values must
 * pass: no key path the chart does not know (free-form maps excepted).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { ALLOY_FREE_FORM_PATHS, GRAFANA_FREE_FORM_PATHS, KPS_SUBCHART_PATHS, LOKI_COMMENTED_KEYS, LOKI_FREE_FORM_PATHS } from "../../components/workloads/values";
import { REFERENCE_DIR, referenceYaml, unknownKeyPaths } from "./reference";

/** Deep merge of plain objects (the reference plus keys the chart documents in comments). */
export function merge(a: unknown, b: unknown): unknown {
  if (a === null || typeof a !== "object" || Array.isArray(a) || b === null || typeof b !== "object" || Array.isArray(b)) return b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k], v) : v;
  return out;
}

export const KPS_REF = referenceYaml("charts/kube-prometheus-stack-88.5.3/values.yaml");
export const LOKI_REF = merge(referenceYaml("charts/loki-18.11.0/values.yaml"), LOKI_COMMENTED_KEYS);
export const ALLOY_REF = referenceYaml("charts/alloy-1.11.1/values.yaml");
export const GRAFANA_REF = referenceYaml("charts/grafana-12.11.1/values.yaml");
export const LOKI_SCHEMA: unknown = JSON.parse(readFileSync(join(REFERENCE_DIR, "charts/loki-18.11.0/values.schema.json"), "utf8"));

/** Free-form maps: annotations, labels and the like, whose keys are the user's. */
export const LABEL_MAPS = {
  kps: ["prometheus.serviceAccount.annotations", "prometheus.prometheusSpec.externalLabels", "prometheus.prometheusSpec.podMetadata.labels", ...KPS_SUBCHART_PATHS],
  loki: ["serviceAccount.annotations", "loki.podLabels", ...LOKI_FREE_FORM_PATHS],
  grafana: [...GRAFANA_FREE_FORM_PATHS],
  alloy: [...ALLOY_FREE_FORM_PATHS],
};

/** Chart name (as released) to its reference and free-form paths. */
export const CHARTS: Record<string, { ref: unknown; freeForm: readonly string[] }> = {
  "kube-prometheus-stack": { ref: KPS_REF, freeForm: LABEL_MAPS.kps },
  loki: { ref: LOKI_REF, freeForm: LABEL_MAPS.loki },
  alloy: { ref: ALLOY_REF, freeForm: LABEL_MAPS.alloy },
  grafana: { ref: GRAFANA_REF, freeForm: LABEL_MAPS.grafana },
};

/** Key paths of a release's values that its pinned chart does not know. */
export function unknownChartKeys(chart: string, values: unknown): string[] {
  const c = CHARTS[chart];
  if (c === undefined) throw new Error(`no reference for chart ${chart}`);
  return unknownKeyPaths(values, c.ref, c.freeForm);
}

/** Loki values validated against the chart's JSON schema: the errors, or none. */
export function lokiSchemaErrors(values: unknown): string[] {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(LOKI_SCHEMA as object);
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`);
}
