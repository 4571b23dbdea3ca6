/**
 * Pods as the harness runs them: the containers of a planned workload (or of the
 * prometheus-operator's rendering, operator.ts) with their volumes written to the harness's
 * directory, their mount paths rewritten in args and in the mounted config files, their listen
 * addresses bound to the pod's loopback address, and kubelet's `$(VAR)` expansion applied.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PlanContainer, PlanVolume } from "./plan";
import { expandArgs, type PodMount, type ProcSpec } from "./proc";

/** Where a volume's content comes from. */
export type VolumeSource =
  | { kind: "files"; files: Record<string, string> }
  | { kind: "emptyDir"; memory: boolean; size?: string }
  | { kind: "persistent" };

/** A container to run: an upstream binary, or an in-harness stand-in (`ghostunnel`). */
export interface PodContainer {
  name: string;
  bin: string;
  args: string[];
  /** Literal env values, and `fieldRef`s resolved by {@link resolveEnv}. */
  env: PlanContainer["env"];
  volumeMounts: { name: string; mountPath: string }[];
  ports: { name?: string; containerPort: number }[];
}

export interface Pod {
  cluster: string;
  namespace: string;
  name: string;
  ip: string;
  labels: Record<string, string>;
  /** StatefulSet governing Service: the pod's DNS `<hostname>.<subdomain>`. */
  subdomain?: string;
  containers: PodContainer[];
  volumes: Map<string, VolumeSource>;
  /** Bucket directories that must be read-only for this pod. */
  readonlyPaths: string[];
  /** Where the pod's resolv.conf is. */
  resolvConf: string;
}

/** A Kubernetes object store for volume and env lookups. */
export interface ObjectSource {
  data(kind: "ConfigMap" | "Secret", name: string): Record<string, string>;
}

/** A plan volume turned into a source. */
export function volumeSource(v: PlanVolume, objects: ObjectSource, claims: readonly string[]): VolumeSource {
  if (v.secret !== undefined) return { kind: "files", files: objects.data("Secret", v.secret.secretName) };
  if (v.configMap !== undefined) return { kind: "files", files: objects.data("ConfigMap", v.configMap.name) };
  if (v.emptyDir !== undefined) return { kind: "emptyDir", memory: v.emptyDir.medium === "Memory", size: v.emptyDir.sizeLimit };
  const tokens = v.projected?.sources.flatMap((x) => (x.serviceAccountToken !== undefined ? [x.serviceAccountToken] : [])) ?? [];
  if (tokens.length > 0 && tokens.length === v.projected?.sources.length) {
    // Kubelet would write a token signed by the cluster's issuer; nothing here exchanges it (see substitutions.ts).
    return { kind: "files", files: Object.fromEntries(tokens.map((t) => [t.path, `loopback-fleet stand-in ServiceAccount token, audience ${t.audience ?? "(api server)"}\n`])) };
  }
  if (claims.includes(v.name)) return { kind: "persistent" };
  throw new Error(`volume ${v.name}: unsupported source ${JSON.stringify(v)}`);
}

/** Kubernetes quantity (`2Gi`) as a tmpfs size (`2g`). */
function tmpfsSize(q: string | undefined): string | undefined {
  if (q === undefined) return undefined;
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (m === null) return undefined;
  const unit = { Ki: "k", Mi: "m", Gi: "g", K: "k", M: "m", G: "g" }[m[2] ?? ""] ?? "";
  return `${m[1]}${unit}`;
}

/** The pod's directory under the harness root. */
export const podDir = (root: string, pod: Pod): string => join(root, pod.cluster, pod.name);
/** A volume's directory. */
export const volumeDir = (root: string, pod: Pod, volume: string): string => join(podDir(root, pod), "volumes", volume);

function rewritePaths(text: string, mounts: readonly [string, string][]): string {
  let out = text;
  for (const [from, to] of mounts) {
    const esc = from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    out = out.replace(new RegExp(`${esc}(?=[/"'\\s,*]|$)`, "gm"), to);
  }
  return out;
}

/** Listen and in-pod localhost addresses of an arg bound to the pod's address. */
export function rewriteAddresses(arg: string, ip: string): string {
  return arg
    .replace(/(=|\/\/)(?:0\.0\.0\.0|127\.0\.0\.1|localhost)?:(\d+)/g, (_m, pre: string, port: string) => `${pre}${ip}:${port}`)
    .replace(/(=|\/\/)(?:127\.0\.0\.1|localhost)(?=[:/]|$)/g, (_m, pre: string) => `${pre}${ip}`);
}

/** Env of a container with `fieldRef`s resolved as kubelet does (metadata.name, status.podIP). */
export function resolveEnv(pod: Pod, c: PodContainer, objects: ObjectSource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.env) {
    if (e.value !== undefined) out[e.name] = e.value;
    const vf = e.valueFrom as { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } | undefined;
    if (vf?.fieldRef?.fieldPath === "metadata.name") out[e.name] = pod.name;
    else if (vf?.fieldRef?.fieldPath === "status.podIP") out[e.name] = pod.ip;
    else if (vf?.fieldRef?.fieldPath === "metadata.namespace") out[e.name] = pod.namespace;
    else if (vf?.secretKeyRef !== undefined) out[e.name] = objects.data("Secret", vf.secretKeyRef.name)[vf.secretKeyRef.key];
    else if (vf !== undefined && e.value === undefined) throw new Error(`${pod.name}/${c.name}: env ${e.name} from ${JSON.stringify(vf)} is not supported`);
  }
  return out;
}

/** Writes the pod's volumes and returns one process spec per container (in-harness containers excluded). */
export function materialize(root: string, pod: Pod, objects: ObjectSource, transformFile: (volume: string, key: string, text: string) => string = (_v, _k, t) => t): { procs: ProcSpec[]; inHarness: { container: PodContainer; args: string[] }[] } {
  // The pod's directory is its processes' working directory, also for a pod without volumes.
  mkdirSync(podDir(root, pod), { recursive: true });
  const allMounts: [string, string][] = [];
  for (const c of pod.containers) for (const m of c.volumeMounts) allMounts.push([m.mountPath, volumeDir(root, pod, m.name)]);
  allMounts.sort((a, b) => b[0].length - a[0].length);
  const tmpfs: PodMount[] = [];
  for (const [name, src] of pod.volumes) {
    const dir = volumeDir(root, pod, name);
    mkdirSync(dir, { recursive: true });
    if (src.kind === "files") {
      for (const [key, text] of Object.entries(src.files)) {
        const isKey = /(^|\.)key$/.test(key);
        writeFileSync(join(dir, key), rewritePaths(transformFile(name, key, text), allMounts), { mode: isKey ? 0o600 : 0o644 });
      }
    } else if (src.kind === "emptyDir" && src.memory) {
      tmpfs.push({ kind: "tmpfs", target: dir, size: tmpfsSize(src.size) });
    }
  }
  const procs: ProcSpec[] = [];
  const inHarness: { container: PodContainer; args: string[] }[] = [];
  for (const c of pod.containers) {
    const mounts: [string, string][] = c.volumeMounts.map((m) => [m.mountPath, volumeDir(root, pod, m.name)]);
    mounts.sort((a, b) => b[0].length - a[0].length);
    const env = resolveEnv(pod, c, objects);
    const args = expandArgs(c.args, env).map((a) => rewriteAddresses(rewritePaths(a, mounts), pod.ip));
    if (c.bin === "ghostunnel") {
      inHarness.push({ container: c, args });
      continue;
    }
    const usedTmpfs = tmpfs.filter((t) => t.kind === "tmpfs" && mounts.some(([, dir]) => dir === t.target));
    const ro: PodMount[] = pod.readonlyPaths.map((p) => ({ kind: "readonly", target: p }));
    for (const [k, v] of Object.entries(env)) env[k] = rewritePaths(v, mounts);
    procs.push({
      id: `${pod.cluster}/${pod.name}/${c.name}`,
      cluster: pod.cluster,
      pod: pod.name,
      bin: c.bin,
      args,
      env,
      mounts: [{ kind: "resolv", source: pod.resolvConf }, ...usedTmpfs, ...ro],
      cwd: podDir(root, pod),
    });
  }
  return { procs, inHarness };
}
