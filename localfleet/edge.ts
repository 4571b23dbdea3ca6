/**
 * What the edge checks of `npm run fleet:local -- --check` need beyond checks.ts (issue 16,
 * "Edge clusters"): a Prometheus remote-write client (to send one sample with any client
 * certificate and read the receiver's answer), client certificates for the refusals (a foreign
 * CA, and a tenant the spoke's edge CA signs but no hashring lists), the per-tenant metrics of
 * the running receiver, and what a bucket block holds, read by the real promtool.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reveal } from "../offline";
import { generatePrivateKey, issueCertificate, type Issuer } from "../offline/outputs/tls";
import { toolPath } from "../toolchain";
import type { StackPlan } from "./plan";

/** A certificate and its key (PEM). */
export interface ClientPem {
  cert: string;
  key: string;
}

/** A throw-away CA nobody in the fleet trusts. */
export async function freshCa(cn: string): Promise<Issuer> {
  const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
  const c = await issueCertificate({ subjectKeyPem: key.privateKeyPem, subject: { commonName: cn, organization: "loopback-fleet" }, isCaCertificate: true, validityPeriodHours: 24, allowedUses: ["cert_signing", "digital_signature"], setSubjectKeyId: true });
  return { certPem: c.certPem, keyPem: key.privateKeyPem };
}

/** A client certificate with common name `cn` (the receiver's tenant field) signed by `issuer`. */
export async function clientCertificate(issuer: Issuer, cn: string): Promise<ClientPem> {
  const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
  const c = await issueCertificate({ subjectKeyPem: key.privateKeyPem, subject: { commonName: cn }, issuer, validityPeriodHours: 24, allowedUses: ["digital_signature", "key_encipherment", "client_auth"] });
  return { cert: c.certPem, key: key.privateKeyPem };
}

/**
 * The spoke's edge CA as the plan issued it (the `<stack>-edges-pki` CertificateAuthority's
 * self-signed certificate and its key; the offline engine issues real keys, offline/outputs/tls.ts).
 */
export function planIssuer(plan: StackPlan, caName: string): Issuer {
  const r = plan.resources.find((x) => x.type === "tls:index/selfSignedCert:SelfSignedCert" && x.name === caName);
  const out = r === undefined ? undefined : (reveal(r.outputs) as { certPem?: unknown; privateKeyPem?: unknown });
  if (out === undefined || typeof out.certPem !== "string" || typeof out.privateKeyPem !== "string") throw new Error(`${plan.stack}: no self-signed CA ${caName} with its key in the plan`);
  return { certPem: out.certPem, keyPem: out.privateKeyPem };
}

/** A snappy block holding `data` as literals (a valid stream; Thanos decodes it with s2.Decode). */
function snappyLiteral(data: Buffer): Buffer {
  const out: number[] = [];
  let n = data.length;
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  const chunks: Buffer[] = [Buffer.from(out)];
  for (let off = 0; off < data.length; off += 65536) {
    const part = data.subarray(off, Math.min(off + 65536, data.length));
    const len = part.length - 1;
    // Literal tag with a 2-byte little-endian length (tag byte 61 << 2).
    chunks.push(Buffer.from([0xf4, len & 0xff, (len >> 8) & 0xff]), part);
  }
  return Buffer.concat(chunks);
}

function pbVarint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}
const pbBytes = (field: number, b: Buffer): Buffer => Buffer.concat([pbVarint((field << 3) | 2), pbVarint(b.length), b]);

/**
 * The body of a remote-write 1.0 request (a snappy-compressed prompb.WriteRequest) carrying one
 * series and one sample: what a Prometheus agent posts, for probes against a real receiver.
 */
function remoteWriteBody(labels: Record<string, string>, value: number, tsMs: number): Buffer {
  return snappyLiteral(writeRequest(labels, value, tsMs));
}

/** A prompb.WriteRequest (remote write 1.0) with one series and one sample. */
function writeRequest(labels: Record<string, string>, value: number, tsMs: number): Buffer {
  const lbls = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => pbBytes(1, Buffer.concat([pbBytes(1, Buffer.from(k)), pbBytes(2, Buffer.from(v))])));
  const d = Buffer.alloc(8);
  d.writeDoubleLE(value);
  const sample = Buffer.concat([Buffer.from([0x09]), d, Buffer.from([0x10]), pbVarint(tsMs)]);
  return pbBytes(1, Buffer.concat([...lbls, pbBytes(2, sample)]));
}

/** How the receiver answered one remote write. */
export interface WriteResult {
  status?: number;
  body?: string;
  /** The TLS or socket error when there was no HTTP answer (e.g. ERR_SSL_TLSV1_ALERT_UNKNOWN_CA). */
  error?: string;
}

export const describeWrite = (r: WriteResult): string => (r.status !== undefined ? `HTTP ${r.status}${r.body !== undefined && r.body !== "" ? ` "${r.body.slice(0, 160)}"` : ""}` : `no HTTP answer (${r.error ?? "?"})`);

/** One remote write of one sample to `host:port`, as an edge sends it. */
export function remoteWrite(opts: { host: string; port: number; servername: string; ca: string; client?: ClientPem; series: Record<string, string> }): Promise<WriteResult> {
  const body = remoteWriteBody(opts.series, 1, Date.now());
  return new Promise<WriteResult>((resolve) => {
    const req = https.request(
      {
        host: opts.host,
        port: opts.port,
        path: "/api/v1/receive",
        method: "POST",
        ca: opts.ca,
        servername: opts.servername,
        key: opts.client?.key,
        cert: opts.client?.cert,
        agent: false,
        timeout: 10_000,
        headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf", "X-Prometheus-Remote-Write-Version": "0.1.0" },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode, body: text.trim() }));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

/** Sample lines of a Prometheus text exposition with the given metric name. */
export function metricLines(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[4]) });
  }
  return out;
}

/** `/metrics` of a component's HTTP address. */
export async function scrape(base: string): Promise<string> {
  return (await fetch(`http://${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
}

/** A block in a bucket directory: its Thanos labels and stats (meta.json). */
export interface BucketBlock {
  id: string;
  labels: Record<string, string>;
  minTime: number;
  maxTime: number;
  numSamples: number;
  numSeries: number;
}

/** Blocks (with meta.json) in a FILESYSTEM bucket directory. */
export function bucketBlocks(dir: string): BucketBlock[] {
  if (!existsSync(dir)) return [];
  const out: BucketBlock[] = [];
  for (const id of readdirSync(dir).filter((n) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(n))) {
    const meta = join(dir, id, "meta.json");
    if (!existsSync(meta)) continue;
    const m = JSON.parse(readFileSync(meta, "utf8")) as { minTime: number; maxTime: number; stats?: { numSamples?: number; numSeries?: number }; thanos?: { labels?: Record<string, string> } };
    out.push({ id, labels: m.thanos?.labels ?? {}, minTime: m.minTime, maxTime: m.maxTime, numSamples: m.stats?.numSamples ?? 0, numSeries: m.stats?.numSeries ?? 0 });
  }
  return out;
}

/**
 * The series of a bucket block matching `match`, read by the real `promtool tsdb dump` (a block
 * in the bucket has the TSDB block layout; promtool opens a copy read-only, so the bucket is
 * not touched). Returns the distinct label sets.
 */
export function blockSeries(bucketDir: string, blockId: string, match: string): string[] {
  const tmp = mkdtempSync(join(tmpdir(), "loopback-block-"));
  try {
    cpSync(join(bucketDir, blockId), join(tmp, blockId), { recursive: true });
    // promtool opens the directory as a TSDB, which has a (here empty) WAL next to its blocks.
    mkdirSync(join(tmp, "wal"));
    const r = spawnSync(toolPath("promtool"), ["tsdb", "dump", `--match=${match}`, tmp], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`promtool tsdb dump: ${r.stderr.trim()}`);
    // Each line: `{labels} value timestamp`.
    return [...new Set(r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => l.slice(0, l.lastIndexOf("}") + 1)))];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
