/**
 * Reading `Pulumi.<stack>.yaml` files directly, without the Pulumi CLI: the fleet CLI,
 * the offline engine and the hub's spoke-list check all need to know what a stack file says.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { neededSecretLeaves } from "./schema";

/** The `observability:*` part of a stack file. */
export interface StackFile {
  stack: string;
  path: string;
  /**
   * Values by key without the namespace, as a program sees them offline: secure leaves, and
   * secret leaves of the stack's role and cloud that are not set at all, replaced by
   * `secretPlaceholder` stand-ins.
   */
  values: Record<string, unknown>;
  /** Full keys (`observability:kubeconfig`) whose value is, or contains, a secret (set or stood in for). */
  secretKeys: Set<string>;
  /** Full paths of the secure leaves written in the file (`observability:alerting.receiver.url`). */
  setSecrets: string[];
  /** Full paths of the secret leaves the schema requires that the file does not set; `values` holds stand-ins. */
  standInSecrets: string[];
  /** The whole `config:` map as written (other namespaces included). */
  raw: Record<string, unknown>;
}

/** A secure leaf in a stack file: `{ secure: "v1:..." }`. */
export function isSecureLeaf(v: unknown): v is { secure: string } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";
}

/**
 * The stand-in for a secret that cannot be decrypted without the stack's secrets provider.
 * Keys ending in `url` get a URL so that shape checks still run offline.
 */
export function secretPlaceholder(stack: string, keyPath: string): string {
  const last = keyPath.split(/[.:[\]]/).filter(Boolean).pop() ?? "";
  return /url$/i.test(last)
    ? `https://offline.invalid/${stack}/${keyPath.replace(/[^A-Za-z0-9.-]/g, "-")}`
    : `offline-secret:${stack}:${keyPath}`;
}

function replaceSecure(stack: string, path: string, v: unknown, found: { secure: boolean; paths: string[] }): unknown {
  if (isSecureLeaf(v)) {
    found.secure = true;
    found.paths.push(path);
    return secretPlaceholder(stack, path);
  }
  if (Array.isArray(v)) return v.map((x, i) => replaceSecure(stack, `${path}[${i}]`, x, found));
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceSecure(stack, `${path}.${k}`, x, found)]));
  }
  return v;
}

/**
 * Full paths (`observability:alerting.receiver.url`) of the secure leaves in a stack's
 * `config:` map, as Pulumi writes them with `pulumi config set --secret [--path]`.
 */
export function securePaths(config: Record<string, unknown>, namespace = "observability"): string[] {
  const out: string[] = [];
  const walk = (path: string, v: unknown): void => {
    if (isSecureLeaf(v)) out.push(path);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(`${path}[${i}]`, x));
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(`${path}.${k}`, x);
  };
  for (const [full, v] of Object.entries(config)) if (full.startsWith(`${namespace}:`)) walk(full, v);
  return out.sort();
}

/** Path of a stack's file in a project directory. */
export function stackFilePath(projectDir: string, stack: string): string {
  return join(projectDir, `Pulumi.${stack}.yaml`);
}

/** Reads one stack file; throws with the file name when it is not valid YAML. */
export function readStackFile(projectDir: string, stack: string, namespace = "observability"): StackFile {
  const path = stackFilePath(projectDir, stack);
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`Pulumi.${stack}.yaml: not readable YAML: ${(e as Error).message}`);
  }
  const raw = doc !== null && typeof doc === "object" && "config" in doc ? (doc as { config: unknown }).config : {};
  const config = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  const setSecrets: string[] = [];
  for (const [full, v] of Object.entries(config)) {
    if (!full.startsWith(`${namespace}:`)) continue;
    const key = full.slice(namespace.length + 1);
    const found = { secure: false, paths: setSecrets };
    values[key] = replaceSecure(stack, full, v, found);
    if (found.secure) secretKeys.add(full);
  }
  // The example stacks carry no ciphertext (a real secrets provider could not decrypt it);
  // a secret the schema requires and the file does not set gets the same stand-in a secure
  // value would, so the program still runs offline and still treats the key as secret.
  const standInSecrets: string[] = [];
  for (const leaf of neededSecretLeaves(values)) {
    const [top, ...rest] = leaf.split(".");
    let holder: Record<string, unknown> = values;
    let name = top;
    let ok = true;
    for (const seg of rest) {
      const next = holder[name] ?? {};
      if (next === null || typeof next !== "object" || Array.isArray(next)) {
        ok = false;
        break;
      }
      holder[name] = next;
      holder = next as Record<string, unknown>;
      name = seg;
    }
    if (!ok || holder[name] !== undefined) continue;
    holder[name] = secretPlaceholder(stack, `${namespace}:${leaf}`);
    secretKeys.add(`${namespace}:${top}`);
    standInSecrets.push(`${namespace}:${leaf}`);
  }
  return { stack, path, values, secretKeys, setSecrets, standInSecrets, raw: config };
}

/** Stack names that have a `Pulumi.<stack>.yaml` in the project directory. */
export function listStacks(projectDir: string): string[] {
  if (!existsSync(projectDir)) return [];
  return readdirSync(projectDir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** Every stack of the project with its declared `observability:role`. */
export function knownStacks(projectDir: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const s of listStacks(projectDir)) {
    try {
      const role = readStackFile(projectDir, s).values.role;
      out.set(s, typeof role === "string" ? role : undefined);
    } catch {
      out.set(s, undefined);
    }
  }
  return out;
}

/** Every stack of the project with its declared `observability:sovereigntyZone`. */
export function knownZones(projectDir: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const s of listStacks(projectDir)) {
    try {
      const zone = readStackFile(projectDir, s).values.sovereigntyZone;
      out.set(s, typeof zone === "string" ? zone : undefined);
    } catch {
      out.set(s, undefined);
    }
  }
  return out;
}
