/**
 * The assertions of `npm run fleet:local -- --check` (issue 13), each judged by the real
 * processes: query results of the hub's query frontend, the real servers' TLS handshakes, the
 * webhook notifications the real Alertmanagers send, the bucket the real sidecars wrote, and
 * the mount table of the real hub readers.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import type { Cluster, LoopbackFleet } from "./fleet";
import type { Notification } from "./net";
import { parse } from "yaml";
import { toolPath } from "../toolchain";
import { volumeDir } from "./pods";

/** One assertion's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a value (not undefined) or `ms` pass. */
export async function waitFor<T>(what: string, ms: number, fn: () => Promise<T | undefined> | T | undefined, every = 1000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000}s waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await sleep(every);
  }
}

export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
}

/** An instant query against a Prometheus-compatible HTTP API. */
export async function instantQuery(base: string, query: string, opts: { time?: number; dedup?: boolean; partial?: boolean } = {}): Promise<{ series: PromSeries[]; warnings: string[] }> {
  const p = new URLSearchParams({ query });
  if (opts.time !== undefined) p.set("time", String(opts.time));
  if (opts.dedup !== undefined) p.set("dedup", String(opts.dedup));
  if (opts.partial !== undefined) p.set("partial_response", String(opts.partial));
  const res = await fetch(`http://${base}/api/v1/query?${p.toString()}`, { signal: AbortSignal.timeout(20_000) });
  const body = (await res.json()) as { status: string; data?: { result: PromSeries[] }; warnings?: string[]; error?: string };
  if (body.status !== "success") throw new Error(`${query}: ${body.error ?? res.status}`);
  return { series: body.data?.result ?? [], warnings: body.warnings ?? [] };
}

/** Series counts per `cluster` label. */
export const perCluster = (series: PromSeries[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const s of series) out[s.metric.cluster ?? "(none)"] = (out[s.metric.cluster ?? "(none)"] ?? 0) + 1;
  return out;
};

/** Sum of a metric (all label sets) in a /metrics page. */
export async function metricSum(base: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    sum += Number(line.trim().split(/\s+/).pop());
  }
  return sum;
}

/** How a TLS server treated a client. */
export interface TlsAttempt {
  accepted: boolean;
  detail: string;
}

/**
 * Connects with a client certificate and checks whether the server accepts it: over TLS 1.3 a
 * server refuses a client certificate after the client's handshake completes, with an alert, so
 * "accepted" means the server answered the application protocol (HTTP/2 SETTINGS for gRPC, an
 * HTTP/1.1 status line otherwise).
 */
export function tlsAttempt(opts: { host: string; port: number; servername: string; ca: string; cert?: string; key?: string; protocol: "h2" | "http/1.1" }): Promise<TlsAttempt> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: TlsAttempt): void => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve(a);
    };
    const sock = tlsConnect({ host: opts.host, port: opts.port, servername: opts.servername, ca: opts.ca, cert: opts.cert, key: opts.key, ALPNProtocols: [opts.protocol], minVersion: "TLSv1.2" });
    sock.once("secureConnect", () => {
      if (opts.protocol === "h2") sock.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
      else sock.write(`GET /-/healthy HTTP/1.1\r\nHost: ${opts.servername}\r\nConnection: close\r\n\r\n`);
    });
    sock.on("data", (d: Buffer) => {
      const ok = opts.protocol === "h2" ? d.length >= 9 && d[3] === 4 : d.toString().startsWith("HTTP/1.1 ");
      finish({ accepted: ok, detail: ok ? (opts.protocol === "h2" ? "server sent HTTP/2 SETTINGS" : d.toString().split("\r\n")[0]) : `unexpected ${d.length} bytes` });
    });
    sock.once("error", (e: Error & { code?: string }) => finish({ accepted: false, detail: `${e.code ?? ""} ${e.message}`.trim() }));
    sock.once("close", () => finish({ accepted: false, detail: "closed by the server without an answer" }));
    setTimeout(() => finish({ accepted: false, detail: "no answer within 5s" }), 5000);
  });
}

/** A certificate and key of a CA nobody in the fleet trusts (openssl). */
export function foreignClient(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "loopback-foreign-"));
  const run = (args: string[]): void => {
    const r = spawnSync("openssl", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "ca.key"), "-out", join(dir, "ca.crt"), "-days", "1", "-subj", "/CN=foreign CA"]);
  run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "c.key"), "-out", join(dir, "c.csr"), "-subj", "/CN=foreign client"]);
  const ext = join(dir, "ext.cnf");
  writeFileSync(ext, "extendedKeyUsage=clientAuth\n");
  run(["x509", "-req", "-in", join(dir, "c.csr"), "-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"), "-CAcreateserial", "-out", join(dir, "c.crt"), "-days", "1", "-extfile", ext]);
  const out = { cert: readFileSync(join(dir, "c.crt"), "utf8"), key: readFileSync(join(dir, "c.key"), "utf8") };
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** Notifications to a receiver path, of an alert name. */
export const notificationsOf = (all: Notification[], path: string, alertname?: string): Notification[] =>
  all.filter((n) => n.path === path && (alertname === undefined || n.alerts.some((a) => a.labels.alertname === alertname)));

/** Files under a directory (recursive), as relative paths. */
export function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const rec = (d: string, rel: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const r = rel === "" ? name : `${rel}/${name}`;
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) rec(p, r);
      else out.push(r);
    }
  };
  rec(dir, "");
  return out;
}

/** Blocks (meta.json) under a directory whose Thanos labels name one of `clusters`. */
export function spokeBlocksUnder(dir: string, clusters: readonly string[]): string[] {
  return walk(dir)
    .filter((f) => f.endsWith("meta.json"))
    .filter((f) => {
      try {
        const m = JSON.parse(readFileSync(join(dir, f), "utf8")) as { thanos?: { labels?: Record<string, string> } };
        return clusters.includes(m.thanos?.labels?.cluster ?? "");
      } catch {
        return false;
      }
    });
}

/** The mount options of `path` in a process's mount namespace (from /proc/<pid>/mountinfo). */
export function mountOf(pid: number, path: string): { fstype: string; options: string } | undefined {
  const info = readFileSync(`/proc/${pid}/mountinfo`, "utf8").split("\n");
  let found: { fstype: string; options: string } | undefined;
  for (const line of info) {
    const f = line.split(" ");
    if (f[4] !== path) continue;
    const sep = f.indexOf("-");
    found = { fstype: f[sep + 1], options: f[5] };
  }
  return found;
}

/** The data directories of the hub's pods (emptyDir and persistent volumes). */
export function hubDataDirs(fleet: LoopbackFleet, hub: Cluster): { pod: string; dir: string }[] {
  const out: { pod: string; dir: string }[] = [];
  for (const pod of hub.pods) for (const [name, v] of pod.volumes) if (v.kind !== "files") out.push({ pod: pod.name, dir: volumeDir(fleet.opts.root, pod, name) });
  return out;
}

/** Receiver of an alert label set in an Alertmanager config, by the real amtool. */
export function receiverOf(configFile: string, labels: Record<string, string>): string {
  const r = spawnSync(toolPath("amtool"), ["config", "routes", "test", `--config.file=${configFile}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`amtool config routes test: ${r.stderr}`);
  return r.stdout.trim().split(/\s*,\s*/)[0];
}

/** Webhook path of a receiver in a (substituted) Alertmanager config. */
export function receiverPath(configYaml: string, receiver: string): string {
  const doc = parse(configYaml) as { receivers?: { name: string; webhook_configs?: { url: string }[] }[] };
  const url = doc.receivers?.find((r) => r.name === receiver)?.webhook_configs?.[0]?.url;
  if (url === undefined) throw new Error(`receiver ${receiver} has no webhook`);
  return new URL(url).pathname;
}
