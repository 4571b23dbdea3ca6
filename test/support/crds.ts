/**
 * Custom resources validated against the CustomResourceDefinitions the pinned charts install
 * (kube-prometheus-stack 88.5.3 ships Prometheus Operator v0.93.1's CRDs in charts/crds).
 *
 * The OpenAPI v3 schemas are read as a structural schema is by the API server
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * `nullable` admits null, `x-kubernetes-int-or-string` admits both, and
 * `x-kubernetes-preserve-unknown-fields` keeps a subtree open. One difference on purpose: the
 * API server *prunes* unknown fields silently (kubectl and helm only warn), which would hide a
 * misspelt key; here an unknown field is an error.
 */
import Ajv, { type ValidateFunction } from "ajv";
import type { Manifest } from "../../offline/manifests";

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Schema => v !== null && typeof v === "object" && !Array.isArray(v);

/** An OpenAPI v3 structural schema as a JSON Schema that refuses unknown fields. */
export function toJsonSchema(s: unknown): unknown {
  if (!isObject(s)) return s;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith("x-kubernetes-") || k === "nullable") continue;
    if (k === "properties" && isObject(v)) out.properties = Object.fromEntries(Object.entries(v).map(([p, x]) => [p, toJsonSchema(x)]));
    else if (k === "items" || k === "additionalProperties" || k === "not") out[k] = typeof v === "boolean" ? v : toJsonSchema(v);
    else if ((k === "anyOf" || k === "allOf" || k === "oneOf") && Array.isArray(v)) out[k] = v.map(toJsonSchema);
    else out[k] = v;
  }
  if (s["x-kubernetes-int-or-string"] === true) {
    delete out.type;
    delete out.anyOf;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (s.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  const open = s["x-kubernetes-preserve-unknown-fields"] === true;
  if (out.type === "object" && isObject(out.properties) && out.additionalProperties === undefined && !open) out.additionalProperties = false;
  return out;
}

/** A Go regular expression as a JavaScript one (inline `(?i)` as the `i` flag). */
function goRegExp(pattern: string, flags: string): RegExp {
  const insensitive = pattern.includes("(?i)");
  return new RegExp(pattern.split("(?i)").join(""), insensitive && !flags.includes("i") ? `${flags}i` : flags);
}
goRegExp.code = "goRegExp";

/** Validators of every served version of every CRD in a manifest set, by `group/version/Kind`. */
export class CrdValidator {
  private readonly validators = new Map<string, ValidateFunction>();
  // CRD patterns are Go RE2 (k8s.io/apiextensions-apiserver validation); the operator's use
  // inline flags such as `(?i)`, which JavaScript has no syntax for: they become the `i` flag.
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: goRegExp } });

  constructor(manifests: readonly Manifest[]) {
    for (const m of manifests) {
      if (m.kind !== "CustomResourceDefinition") continue;
      const spec = m.spec as { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: unknown } }[] };
      for (const v of spec.versions) {
        if (!v.served || v.schema?.openAPIV3Schema === undefined) continue;
        const schema = toJsonSchema(v.schema.openAPIV3Schema) as Schema;
        // apiVersion, kind and metadata are the API server's, not the CRD's.
        const props = isObject(schema.properties) ? schema.properties : {};
        props.metadata = { type: "object" };
        schema.properties = props;
        this.validators.set(`${spec.group}/${v.name}/${spec.names.kind}`, this.ajv.compile(schema));
      }
    }
  }

  /** Kinds this validator knows. */
  get kinds(): string[] {
    return [...this.validators.keys()];
  }

  /** Whether the manifest is a custom resource of a known CRD. */
  knows(m: Manifest): boolean {
    return this.validators.has(`${m.apiVersion}/${m.kind}`);
  }

  /** Schema errors of one custom resource (`/path message`), none when valid. */
  errors(m: Manifest): string[] {
    const validate = this.validators.get(`${m.apiVersion}/${m.kind}`);
    if (validate === undefined) return [`no CRD for ${m.apiVersion} ${m.kind}`];
    if (validate(m)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}${e.params !== undefined && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`);
  }
}
