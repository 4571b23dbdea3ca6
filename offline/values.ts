/**
 * Values as the engine records them: Pulumi's wire form, where a secret is
 * `{ [specialSigKey]: specialSecretSig, value }`. These helpers read and print that form.
 */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
export const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
export const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A recorded secret. */
export interface SecretValue {
  [SIG_KEY]: typeof SECRET_SIG;
  value: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** True when a recorded value is a secret. */
export function isSecretValue(v: unknown): v is SecretValue {
  return isObject(v) && v[SIG_KEY] === SECRET_SIG;
}

/** Wraps a plain value as a recorded secret. */
export function secretValue(value: unknown): SecretValue {
  return { [SIG_KEY]: SECRET_SIG, value };
}

/** True when a value, or anything inside it, is a secret. */
export function containsSecret(v: unknown): boolean {
  if (isSecretValue(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecret);
  if (isObject(v)) return Object.values(v).some(containsSecret);
  return false;
}

/** The plain value: secrets revealed, resource references reduced to their URN. */
export function reveal(v: unknown): unknown {
  if (isSecretValue(v)) return reveal(v.value);
  if (Array.isArray(v)) return v.map(reveal);
  if (isObject(v)) {
    if (v[SIG_KEY] === RESOURCE_SIG) return v.urn;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
  }
  return v;
}

/** The value for display: secrets as `"[secret]"` unless shown, resource references as URNs, unknowns marked. */
export function display(v: unknown, showSecrets: boolean): unknown {
  if (isSecretValue(v)) return showSecrets ? display(v.value, showSecrets) : "[secret]";
  if (v === UNKNOWN) return "[unknown]";
  if (Array.isArray(v)) return v.map((x) => display(x, showSecrets));
  if (isObject(v)) {
    if (v[SIG_KEY] === RESOURCE_SIG) return v.urn;
    if (v[SIG_KEY] === ASSET_SIG || v[SIG_KEY] === ARCHIVE_SIG) return "[asset]";
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, display(x, showSecrets)]));
  }
  return v;
}
