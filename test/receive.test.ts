/**
 * The zone receiver's building blocks (issue 16, "Edge clusters") against the real binaries of
 * the pinned versions, on loopback: the rendered router and ingesters (Thanos v0.42.4) take an
 * edge's remote write (`prometheus --agent`, v3.14.0) over mTLS, file it under the tenant named by
 * the edge's client certificate, replicate it to two ingesters, and serve it over mTLS to a
 * Thanos Query built by queryArgs, which deduplicates the copies by the existing replica label.
 * Foreign, missing and unlisted certificates are refused. The edge-silent rule is checked with
 * promtool, on the series the running router really exposes.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { EDGE_SILENT_ALERT, EDGE_WRITE_SERIES, edgeRuleGroups } from "../components/alerting/edges";
import { isAlertingRule, type AlertingRule } from "../components/alerting/types";
import { queryArgs, renderEndpointConfig, REPLICA_LABEL } from "../components/thanos/args";
import {
  INGESTER_LISTEN,
  receiveIngesterArgs,
  receiveProfile,
  receiveRouterArgs,
  renderHashrings,
  ROUTER_LISTEN,
  TENANT_CERTIFICATE_FIELDS,
  TENANT_LABEL,
  type ReceiveListen,
} from "../components/thanos/receive";
import { generatePrivateKey, issueCertificate, type Issuer } from "../offline/outputs/tls";
import { builtTool } from "../toolchain";
import { remoteWrite as edgeRemoteWrite, type WriteResult } from "../localfleet/edge";
import { flagsOf, thanosFlags, thanosHelp, unknownThanosFlags } from "./support/reference";
import { requireTool, runTool } from "./support/tools";

const thanosTool = requireTool("thanos");
const prometheusTool = requireTool("prometheus");
const promtoolTool = requireTool("promtool");
const liveSkip = thanosTool.skipReason ?? prometheusTool.skipReason;

const EDGE = "edge-dev-01";
const OTHER_EDGE = "edge-dev-02";
const UNLISTED = "edge-unlisted-01";
const RECEIVER_NAME = "receive.dev-01.obs.example.eu";
const INGESTER_NAME = "thanos-receive-ingester.observability.svc";

const dir = mkdtempSync(join(tmpdir(), "receive-test-"));
const procs: { name: string; proc: ChildProcess; log: string[] }[] = [];
after(async () => {
  for (const p of procs) if (p.proc.exitCode === null) p.proc.kill("SIGKILL");
  await new Promise((r) => setTimeout(r, 100));
  rmSync(dir, { recursive: true, force: true });
});

// ---- helpers ---------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** A non-loopback IPv4 address of this machine, if it has one. */
const EXTERNAL_HOST = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === "IPv4" && !i.internal)?.address;

/**
 * The renderer's listeners with free ports: a listener it binds to every interface (`0.0.0.0`)
 * is bound to this machine's external address (loopback without one), a loopback one stays on
 * loopback. So the test sees the renderer's choice of interface, not its own.
 */
async function testListen(defaults: Readonly<ReceiveListen>): Promise<ReceiveListen> {
  const out: Partial<ReceiveListen> = {};
  for (const key of ["http", "grpc", "remoteWrite", "capnproto"] as const) {
    const host = defaults[key].split(":")[0];
    out[key] = `${host === "0.0.0.0" ? (EXTERNAL_HOST ?? "127.0.0.1") : host}:${await freePort()}`;
  }
  return out as ReceiveListen;
}

function start(name: string, tool: "thanos" | "prometheus", args: readonly string[]): { name: string; proc: ChildProcess; log: string[] } {
  const bin = builtTool(tool);
  assert.ok(bin !== undefined, `${tool} is built`);
  const proc = spawn(bin, [...args], { stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  const keep = (d: Buffer): void => {
    log.push(d.toString());
    if (log.length > 400) log.splice(0, log.length - 400);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const p = { name, proc, log };
  procs.push(p);
  return p;
}

function tail(p: { name: string; log: string[] }): string {
  return `--- ${p.name} log ---\n${p.log.join("").split("\n").slice(-30).join("\n")}`;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, logsOf: { name: string; log: string[] }[] = []): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what} (${String(last)})\n${logsOf.map(tail).join("\n")}`);
}

async function ready(p: { name: string; proc: ChildProcess; log: string[] }, httpAddress: string): Promise<void> {
  await waitFor(
    `${p.name} ready`,
    async () => {
      if (p.proc.exitCode !== null) throw new Error(`${p.name} exited ${p.proc.exitCode}\n${tail(p)}`);
      const r = await fetch(`http://${httpAddress}/-/ready`);
      return r.status === 200 ? true : undefined;
    },
    30_000,
    [p],
  );
}

interface Pem {
  key: string;
  cert: string;
}

async function ca(cn: string): Promise<Issuer> {
  const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
  const c = await issueCertificate({ subjectKeyPem: key.privateKeyPem, subject: { commonName: cn, organization: "sovereign-observability" }, isCaCertificate: true, validityPeriodHours: 24, allowedUses: ["cert_signing", "digital_signature"], setSubjectKeyId: true });
  return { certPem: c.certPem, keyPem: key.privateKeyPem };
}

async function leaf(issuer: Issuer, p: { cn: string; usage: "server" | "client"; dnsNames?: string[] }): Promise<Pem> {
  const key = generatePrivateKey("ECDSA", { ecdsaCurve: "P256" });
  const c = await issueCertificate({
    subjectKeyPem: key.privateKeyPem,
    subject: { commonName: p.cn, organization: "sovereign-observability" },
    issuer,
    dnsNames: p.dnsNames ?? [],
    validityPeriodHours: 24,
    allowedUses: ["digital_signature", "key_encipherment", p.usage === "server" ? "server_auth" : "client_auth"],
  });
  return { key: key.privateKeyPem, cert: c.certPem };
}

/** A TLS directory as the pods mount it: `tls.crt`, `tls.key`, `ca.crt`. */
function tlsDir(name: string, pem: Pem, caBundle: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "tls.crt"), pem.cert);
  writeFileSync(join(d, "tls.key"), pem.key);
  writeFileSync(join(d, "ca.crt"), caBundle);
  return d;
}

/** A remote write to the router, as an edge sends it (localfleet/edge.ts, which the loopback fleet uses too). */
function remoteWrite(address: string, client: Partial<Pem>, caPem: string, series: Record<string, string>): Promise<WriteResult> {
  const [host, port] = address.split(":");
  return edgeRemoteWrite({ host, port: Number(port), servername: RECEIVER_NAME, ca: caPem, client: client.key !== undefined && client.cert !== undefined ? { key: client.key, cert: client.cert } : undefined, series });
}

interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

async function instantQuery(httpAddress: string, q: string, dedup: boolean): Promise<PromSeries[]> {
  const r = await fetch(`http://${httpAddress}/api/v1/query?${new URLSearchParams({ query: q, dedup: String(dedup) })}`);
  const j = (await r.json()) as { status: string; data?: { result: PromSeries[] }; error?: string };
  if (j.status !== "success" || j.data === undefined) throw new Error(`query ${q}: ${j.error}`);
  return j.data.result;
}

/** Sample lines of a Prometheus text exposition with the given metric name. */
function metricLines(text: string, name: string): { labels: Record<string, string>; value: number }[] {
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

// ---- pure renderers ------------------------------------------------------------------------

const hashringsExample = renderHashrings({ edges: [OTHER_EDGE, EDGE], ingesters: ["ing-1.svc:10901", "ing-0.svc:10901"], replicationFactor: 2 });
const routerExample = receiveRouterArgs({ replicationFactor: 2, ingesters: 2, ingesterServerName: INGESTER_NAME, labels: { receive: "router" } });
const ingesterExample = receiveIngesterArgs({ localEndpoint: "$(POD_NAME).thanos-receive-ingester.observability.svc:10901", replica: "$(POD_NAME)", retention: "2d", upload: true });

describe("receive renderers: flags of thanos receive v0.42.4", () => {
  it("the help of the built binary is parsed (guards the flag check) and has the flags tenancy depends on", { skip: thanosTool.skipReason }, () => {
    const flags = thanosFlags("receive");
    for (const f of ["--receive.tenant-certificate-field", "--remote-write.server-tls-client-ca", "--remote-write.server-tls-min-version", "--receive.capnproto-address", "--no-remote-write.client-tls-secure"]) assert.ok(flags.has(f), f);
    // The enum the binary documents is exactly the one the renderer types.
    const help = thanosHelp("receive").replace(/\s+/g, " ");
    assert.match(help, /Must be one of organization, organizationalUnit or commonName\. This setting will cause the receive\.tenant-header flag value to be ignored\./);
    assert.deepEqual([...TENANT_CERTIFICATE_FIELDS].sort(), ["commonName", "organization", "organizationalUnit"]);
  });

  for (const [name, args] of [
    ["router", routerExample],
    ["ingester", ingesterExample],
  ] as const) {
    it(`${name}: every flag is in \`thanos receive --help\``, { skip: thanosTool.skipReason }, () => {
      assert.equal(args[0], "receive");
      assert.deepEqual(unknownThanosFlags("receive", args), []);
      assert.equal(new Set(flagsOf(args).filter((f) => f !== "--label")).size, flagsOf(args).filter((f) => f !== "--label").length, "no flag twice");
    });
  }

  it("router: client certificates mandatory, tenant from the common name, TLS 1.3, no label-based tenant split, mTLS to the ingesters", () => {
    assert.ok(routerExample.includes("--remote-write.server-tls-client-ca=/etc/thanos/tls/remote-write/ca.crt"));
    assert.ok(routerExample.includes("--remote-write.server-tls-min-version=1.3"));
    assert.ok(routerExample.includes("--receive.tenant-certificate-field=commonName"));
    assert.ok(routerExample.includes(`--receive.tenant-label-name=${TENANT_LABEL}`));
    assert.ok(!routerExample.some((a) => a.startsWith("--receive.split-tenant-label-name")), "a split label would let an edge pick the tenant per series");
    assert.ok(!routerExample.some((a) => a.startsWith("--receive.local-endpoint")), "no local endpoint: RouterOnly");
    for (const f of ["--remote-write.client-tls-secure", "--remote-write.client-tls-cert=/etc/thanos/tls/client/tls.crt", `--remote-write.client-server-name=${INGESTER_NAME}`, "--remote-write.client-tls-min-version=1.3"]) assert.ok(routerExample.includes(f), f);
    assert.ok(routerExample.includes(`--grpc-address=${ROUTER_LISTEN.grpc}`) && ROUTER_LISTEN.grpc.startsWith("127.0.0.1:"));
    assert.ok(routerExample.includes(`--receive.capnproto-address=${ROUTER_LISTEN.capnproto}`) && ROUTER_LISTEN.capnproto.startsWith("127.0.0.1:"));
    assert.throws(() => receiveRouterArgs({ replicationFactor: 3, ingesters: 2, ingesterServerName: INGESTER_NAME, labels: { receive: "router" } }), /exceeds/);
    assert.throws(() => receiveRouterArgs({ replicationFactor: 1, ingesters: 1, ingesterServerName: INGESTER_NAME, labels: {} }), /external labels/);
  });

  it("ingester: replica label prometheus_replica, mTLS gRPC, write paths on loopback, bucket and retention", () => {
    assert.ok(ingesterExample.includes(`--label=${REPLICA_LABEL}="$(POD_NAME)"`));
    assert.equal(REPLICA_LABEL, "prometheus_replica");
    assert.ok(ingesterExample.includes("--grpc-server-tls-client-ca=/etc/thanos/tls/server/ca.crt"));
    assert.ok(ingesterExample.includes(`--remote-write.address=${INGESTER_LISTEN.remoteWrite}`) && INGESTER_LISTEN.remoteWrite.startsWith("127.0.0.1:"));
    assert.ok(ingesterExample.includes(`--receive.capnproto-address=${INGESTER_LISTEN.capnproto}`) && INGESTER_LISTEN.capnproto.startsWith("127.0.0.1:"));
    assert.ok(ingesterExample.includes("--objstore.config-file=/etc/thanos/objstore/objstore.yaml") && ingesterExample.includes("--tsdb.retention=2d"));
    assert.ok(!ingesterExample.some((a) => a.startsWith("--receive.hashrings")), "no hashring: IngestorOnly");
    for (const bad of ["cluster", "edge", TENANT_LABEL, REPLICA_LABEL]) {
      assert.throws(() => receiveIngesterArgs({ localEndpoint: "a:1", replica: "r", retention: "1d", upload: true, labels: { [bad]: "x" } }), new RegExp(bad));
    }
    assert.throws(() => receiveIngesterArgs({ localEndpoint: "a:1", replica: "r", retention: "0d", upload: true }), /positive/);
  });

  it("hashrings: the edges as exact tenants, no catch-all, ketama, replication within the ingesters", () => {
    const doc = JSON.parse(hashringsExample) as { tenants?: string[]; endpoints: string[]; algorithm: string; tenant_matcher_type: string }[];
    assert.equal(doc.length, 1);
    assert.deepEqual(doc[0].tenants, [EDGE, OTHER_EDGE]);
    assert.equal(doc[0].tenant_matcher_type, "exact");
    assert.equal(doc[0].algorithm, "ketama");
    assert.deepEqual(doc[0].endpoints, ["ing-0.svc:10901", "ing-1.svc:10901"]);
    assert.throws(() => renderHashrings({ edges: [], ingesters: ["a:1"], replicationFactor: 1 }), /accepts every tenant/);
    assert.throws(() => renderHashrings({ edges: ["../x"], ingesters: ["a:1"], replicationFactor: 1 }), /DNS label/);
    assert.throws(() => renderHashrings({ edges: [EDGE, EDGE], ingesters: ["a:1"], replicationFactor: 1 }), /twice/);
    assert.throws(() => renderHashrings({ edges: [EDGE], ingesters: ["a:1"], replicationFactor: 2 }), /exceeds/);
  });

  it("profiles: replication never above the ingesters", () => {
    for (const p of ["small", "medium", "large"] as const) {
      const r = receiveProfile(p);
      assert.ok(r.replicationFactor >= 1 && r.replicationFactor <= r.ingesters, p);
      renderHashrings({ edges: [EDGE], ingesters: Array.from({ length: r.ingesters }, (_, i) => `i-${i}:10901`), replicationFactor: r.replicationFactor });
    }
  });
});

// ---- the edge-silent rule ------------------------------------------------------------------

const EDGES = ["edge-a", "edge-b", "edge-c"];
const edgeGroups = edgeRuleGroups({ stack: "dev-01", edges: EDGES, window: "10m", for: "5m" });

function silentRule(): AlertingRule {
  const rules = edgeGroups.flatMap((g) => g.rules).filter(isAlertingRule);
  assert.equal(rules.length, 1);
  return rules[0];
}

function expectedAlert(edge: string): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } {
  const rule = silentRule();
  const labels = { tenant: edge, edge, ...rule.labels };
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(rule.annotations)) if (v !== undefined) annotations[k] = v.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_m, n: string) => labels[n as keyof typeof labels] ?? "");
  return { exp_labels: labels, exp_annotations: annotations };
}

describe("edge-silent rule (promtool v3.14.0)", () => {
  const ruleFile = join(dir, "edges.rules.yaml");
  before(() => writeFileSync(ruleFile, stringify({ groups: edgeGroups })));

  it("promtool check rules accepts the group", { skip: promtoolTool.skipReason }, () => {
    const r = runTool("promtool", ["check", "rules", ruleFile]);
    assert.equal(r.status, 0, r.output);
  });

  it("fires once per silent edge after `for`, never for an edge that writes; refused writes (code 500) do not count", { skip: promtoolTool.skipReason }, () => {
    const s = (tenant: string, code: string, instance: string): string => `${EDGE_WRITE_SERIES}{job="thanos-receive-router", namespace="observability", instance="${instance}", code="${code}", tenant="${tenant}"}`;
    const series = [
      // edge-a writes through two routers for 40 minutes.
      { series: s("edge-a", "200", "r0"), values: "0+100x40" },
      { series: s("edge-a", "200", "r1"), values: "0+50x40" },
      // edge-b writes for 10 minutes, then stops (its counter stays).
      { series: s("edge-b", "200", "r0"), values: "0+100x10 1000x30" },
      // edge-c is refused throughout: only code 500, never an accepted sample.
      { series: s("edge-c", "500", "r0"), values: "0+100x40" },
      // An edge that is not attached writes too: it must not alert, it is not in the list.
      { series: s("edge-z", "200", "r0"), values: "0x40" },
    ];
    const at = (evalTime: string, firing: string[]): object => ({ eval_time: evalTime, alertname: EDGE_SILENT_ALERT, exp_alerts: firing.map(expectedAlert) });
    const test = {
      rule_files: [ruleFile],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: series,
          alert_rule_test: [
            at("4m", []), // edge-c pending since 0m (its zero comes from the expected-edge vector)
            at("6m", ["edge-c"]),
            at("18m", ["edge-c"]), // edge-b's window still holds its last increase
            at("23m", ["edge-c"]), // edge-b silent since 19m, pending
            at("25m", ["edge-b", "edge-c"]),
            at("40m", ["edge-b", "edge-c"]),
          ],
        },
        {
          // No router series at all (receiver never scraped): every attached edge, once each.
          interval: "1m",
          input_series: [{ series: `up{job="other"}`, values: "1x20" }],
          alert_rule_test: [at("6m", ["edge-a", "edge-b", "edge-c"])],
        },
      ],
    };
    const path = join(dir, "edges.test.yaml");
    writeFileSync(path, stringify(test));
    const r = runTool("promtool", ["test", "rules", path]);
    assert.equal(r.status, 0, `${r.output}\n--- test ---\n${readFileSync(path, "utf8")}`);
  });

  it("no edges, no group; bad names and too short windows are refused", () => {
    assert.deepEqual(edgeRuleGroups({ stack: "dev-01", edges: [] }), []);
    assert.throws(() => edgeRuleGroups({ stack: "dev-01", edges: ['x"} or vector(1)'] }), /DNS label/);
    assert.throws(() => edgeRuleGroups({ stack: "dev-01", edges: ["a"], window: "1m" }), /too short/);
  });
});

// ---- live: router + 2 ingesters + prometheus --agent + thanos query --------------------------

describe("live zone receiver on loopback (thanos v0.42.4, prometheus v3.14.0)", { skip: liveSkip }, () => {
  let spokeCa: Issuer;
  let edgeCa: Issuer;
  let otherEdgeCa: Issuer;
  let foreignCa: Issuer;
  let routerListen: ReceiveListen;
  let ingesterListens: ReceiveListen[];
  let queryHttp: string;
  let router: { name: string; proc: ChildProcess; log: string[] };
  let edgeClient: Pem;
  const ingesterProcs: { name: string; proc: ChildProcess; log: string[] }[] = [];

  before(async () => {
    spokeCa = await ca("dev-01 spoke CA");
    edgeCa = await ca(`${EDGE} client CA`);
    otherEdgeCa = await ca(`${OTHER_EDGE} client CA`);
    foreignCa = await ca("foreign CA");
    edgeClient = await leaf(edgeCa, { cn: EDGE, usage: "client" });

    // The router's remote-write server: the spoke's CA, trusting the edges' CAs.
    tlsDir("remote-write", await leaf(spokeCa, { cn: RECEIVER_NAME, usage: "server", dnsNames: [RECEIVER_NAME] }), edgeCa.certPem + otherEdgeCa.certPem);
    // Ingesters' gRPC server, the router's and the query's client certificates: the spoke's CA.
    const ingesterTls = tlsDir("ingester-grpc", await leaf(spokeCa, { cn: INGESTER_NAME, usage: "server", dnsNames: [INGESTER_NAME] }), spokeCa.certPem);
    const routerClient = tlsDir("router-client", await leaf(spokeCa, { cn: "thanos-receive-router", usage: "client" }), spokeCa.certPem);
    const queryClient = tlsDir("query-client", await leaf(spokeCa, { cn: "thanos-query", usage: "client" }), spokeCa.certPem);

    const objstore = join(dir, "objstore.yaml");
    writeFileSync(objstore, stringify({ type: "FILESYSTEM", config: { directory: join(dir, "bucket") } }));

    routerListen = await testListen(ROUTER_LISTEN);
    ingesterListens = [await testListen(INGESTER_LISTEN), await testListen(INGESTER_LISTEN)];
    const hashrings = join(dir, "hashrings.json");
    writeFileSync(hashrings, renderHashrings({ edges: [EDGE, OTHER_EDGE], ingesters: ingesterListens.map((l) => l.grpc), replicationFactor: 2 }));

    ingesterListens.forEach((listen, i) => {
      const args = receiveIngesterArgs({ localEndpoint: listen.grpc, replica: `thanos-receive-ingester-${i}`, retention: "1d", upload: true, listen, paths: { grpcTls: ingesterTls, data: join(dir, `ingester-${i}`), objstore } });
      ingesterProcs.push(start(`ingester-${i}`, "thanos", args));
    });
    router = start(
      "router",
      "thanos",
      receiveRouterArgs({ replicationFactor: 2, ingesters: 2, ingesterServerName: INGESTER_NAME, labels: { receive: "router-0" }, listen: routerListen, paths: { hashrings, remoteWriteTls: join(dir, "remote-write"), clientTls: routerClient } }),
    );

    // The spoke's query as queryArgs renders it (dedup by prometheus_replica), dialling both
    // ingesters with the query's client certificate. Only its two listen addresses are moved to
    // free loopback ports; queryArgs has no listen parameter.
    const endpoints = join(dir, "endpoints.yaml");
    writeFileSync(endpoints, renderEndpointConfig(ingesterListens.map((l) => ({ address: l.grpc, strict: true, tls: { clientCertDir: queryClient, caFile: join(ingesterTls, "ca.crt"), serverName: INGESTER_NAME } }))));
    queryHttp = `127.0.0.1:${await freePort()}`;
    const queryGrpc = `127.0.0.1:${await freePort()}`;
    const qArgs = queryArgs({ grpcTls: false, endpoints: { file: endpoints }, queryTimeout: "30s", storeResponseTimeout: "10s", partialResponse: false }).map((a) =>
      a.startsWith("--http-address=") ? `--http-address=${queryHttp}` : a.startsWith("--grpc-address=") ? `--grpc-address=${queryGrpc}` : a,
    );
    const query = start("query", "thanos", qArgs);

    await Promise.all([...ingesterProcs.map((p, i) => ready(p, ingesterListens[i].http)), ready(router, routerListen.http), ready(query, queryHttp)]);

    // The edge: Prometheus in agent mode scraping itself, remote-writing with its client
    // certificate, its external labels, and a forged tenant header naming another edge.
    const promPort = await freePort();
    const promDir = join(dir, "edge-prometheus");
    mkdirSync(promDir);
    writeFileSync(join(promDir, "tls.crt"), edgeClient.cert);
    writeFileSync(join(promDir, "tls.key"), edgeClient.key);
    writeFileSync(join(promDir, "ca.crt"), spokeCa.certPem);
    writeFileSync(
      join(promDir, "prometheus.yaml"),
      stringify({
        global: { scrape_interval: "1s", external_labels: { edge: EDGE, cluster: EDGE } },
        scrape_configs: [{ job_name: "prometheus", static_configs: [{ targets: [`127.0.0.1:${promPort}`] }] }],
        remote_write: [
          {
            url: `https://${routerListen.remoteWrite}/api/v1/receive`,
            name: "zone-receiver",
            headers: { "THANOS-TENANT": OTHER_EDGE },
            tls_config: { ca_file: join(promDir, "ca.crt"), cert_file: join(promDir, "tls.crt"), key_file: join(promDir, "tls.key"), server_name: RECEIVER_NAME, min_version: "TLS13" },
            queue_config: { batch_send_deadline: "1s", min_backoff: "100ms", max_backoff: "1s" },
          },
        ],
      }),
    );
    start("edge-prometheus", "prometheus", ["--agent", `--config.file=${join(promDir, "prometheus.yaml")}`, `--storage.agent.path=${join(promDir, "wal")}`, `--web.listen-address=127.0.0.1:${promPort}`, "--log.level=warn"]);
  });

  it("the edge's samples arrive: the query (mTLS to both ingesters) returns them with edge and tenant labels, deduplicated by prometheus_replica", async () => {
    const withDedup = await waitFor(
      "the edge's `up` series through the query",
      async () => {
        const r = await instantQuery(queryHttp, `up{edge="${EDGE}"}`, true);
        return r.length > 0 ? r : undefined;
      },
      40_000,
      [router, ...ingesterProcs, ...procs.filter((p) => p.name === "query" || p.name === "edge-prometheus")],
    );
    assert.equal(withDedup.length, 1, JSON.stringify(withDedup));
    const m = withDedup[0].metric;
    assert.equal(m.edge, EDGE);
    assert.equal(m.cluster, EDGE, "the ingesters' labels do not overwrite the edge's own");
    assert.equal(m[TENANT_LABEL], EDGE, "tenant from the certificate, not from the forged THANOS-TENANT header");
    assert.equal(m[REPLICA_LABEL], undefined, "deduplicated away");

    // Both copies exist (replication factor 2), one per ingester, told apart only by the replica label.
    const raw = await waitFor(
      "both replicas",
      async () => {
        const r = await instantQuery(queryHttp, `up{edge="${EDGE}"}`, false);
        return r.length === 2 ? r : undefined;
      },
      15_000,
    );
    assert.deepEqual(raw.map((s) => s.metric[REPLICA_LABEL]).sort(), ["thanos-receive-ingester-0", "thanos-receive-ingester-1"]);
    const strip = (s: PromSeries): string => JSON.stringify(Object.entries(s.metric).filter(([k]) => k !== REPLICA_LABEL).sort());
    assert.equal(strip(raw[0]), strip(raw[1]));

    // Nothing was filed under the tenant the header named.
    const tenants = await instantQuery(queryHttp, `count by (${TENANT_LABEL}) ({edge="${EDGE}"})`, true);
    assert.deepEqual(tenants.map((s) => s.metric[TENANT_LABEL]), [EDGE]);
  });

  it("a client certificate from a foreign CA is refused in the TLS handshake", async () => {
    const foreign = await leaf(foreignCa, { cn: EDGE, usage: "client" });
    const r = await remoteWrite(routerListen.remoteWrite, foreign, spokeCa.certPem, { __name__: "forged", edge: EDGE });
    assert.equal(r.status, undefined, JSON.stringify(r));
    // Go's server answers an unverifiable client certificate with the TLS alert unknown_ca.
    assert.equal(r.error, "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", JSON.stringify(r));
  });

  it("a client without a certificate is refused in the TLS handshake", async () => {
    const r = await remoteWrite(routerListen.remoteWrite, {}, spokeCa.certPem, { __name__: "anonymous" });
    assert.equal(r.status, undefined, JSON.stringify(r));
    assert.equal(r.error, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", JSON.stringify(r));
  });

  it("a valid certificate for a tenant no hashring lists is refused (no catch-all hashring)", async () => {
    const unlisted = await leaf(edgeCa, { cn: UNLISTED, usage: "client" });
    const r = await remoteWrite(routerListen.remoteWrite, unlisted, spokeCa.certPem, { __name__: "unlisted_probe", edge: UNLISTED });
    assert.equal(r.status, 500, JSON.stringify(r));
    assert.match(r.body ?? "", /no matching hashring to handle tenant/);
    // The positive control through the same client code: a listed edge's certificate is accepted.
    const other = await leaf(otherEdgeCa, { cn: OTHER_EDGE, usage: "client" });
    const ok = await remoteWrite(routerListen.remoteWrite, other, spokeCa.certPem, { __name__: "manual_probe", edge: OTHER_EDGE });
    assert.equal(ok.status, 200, JSON.stringify(ok));
  });

  // Why the spoke signs every edge's certificate itself (stacks/spoke.ts, components/contracts/edges.ts
  // checkEdgeRequest) instead of trusting one CA per edge: Thanos maps no CA to a tenant.
  it("Thanos binds no CA to a tenant: with several trusted CAs, one CA's certificate carrying another edge's name writes as that edge", async () => {
    const impostor = await leaf(otherEdgeCa, { cn: EDGE, usage: "client" });
    const r = await remoteWrite(routerListen.remoteWrite, impostor, spokeCa.certPem, { __name__: "impostor_probe", edge: OTHER_EDGE });
    assert.equal(r.status, 200, JSON.stringify(r));
    const got = await waitFor("the impostor's sample", async () => {
      const s = await instantQuery(queryHttp, "impostor_probe", true);
      return s.length > 0 ? s : undefined;
    }, 10_000);
    assert.equal(got[0].metric[TENANT_LABEL], EDGE);
  });

  it("the ingesters' gRPC refuses an edge's certificate (only the spoke's CA writes or reads there)", async () => {
    const [host, port] = ingesterListens[0].grpc.split(":");
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ host, port: Number(port), key: edgeClient.key, cert: edgeClient.cert, ca: spokeCa.certPem, servername: INGESTER_NAME, ALPNProtocols: ["h2"] });
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      s.on("data", () => undefined);
      s.on("close", () => resolve("closed"));
      s.setTimeout(5000, () => s.destroy(new Error("timeout")));
    });
    assert.equal(outcome, "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA");
  });

  it("only the router's remote write and the ingesters' gRPC and HTTP answer off loopback; write paths without mTLS stay on loopback", { skip: EXTERNAL_HOST === undefined ? "no non-loopback IPv4 address on this machine" : undefined }, async () => {
    const reach = (host: string, port: number): Promise<boolean> =>
      new Promise((resolve) => {
        const s = netConnect({ host, port, timeout: 2000 }, () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
        s.on("timeout", () => {
          s.destroy();
          resolve(false);
        });
      });
    const open: string[] = [];
    for (const [who, listen] of [["router", routerListen], ["ingester-0", ingesterListens[0]]] as const) {
      for (const key of ["http", "grpc", "remoteWrite", "capnproto"] as const) {
        const port = Number(listen[key].split(":")[1]);
        assert.equal(await reach(listen[key].split(":")[0], port), true, `${who} ${key} listens at ${listen[key]}`);
        if (await reach(String(EXTERNAL_HOST), port)) open.push(`${who} ${key}`);
      }
    }
    assert.deepEqual(open, ["router http", "router remoteWrite", "ingester-0 http", "ingester-0 grpc"]);
  });

  it("the per-tenant metrics exist on the running receiver: router write samples by tenant and code, ingester head samples by tenant", async () => {
    const routerMetrics = await (await fetch(`http://${routerListen.http}/metrics`)).text();
    const accepted = metricLines(routerMetrics, EDGE_WRITE_SERIES).filter((l) => l.labels.tenant === EDGE && l.labels.code === "200");
    assert.equal(accepted.length, 1, routerMetrics.split("\n").filter((l) => l.includes("write_samples")).join("\n"));
    assert.ok(accepted[0].value > 0);
    assert.deepEqual(Object.keys(accepted[0].labels).sort(), ["code", "tenant"]);
    // The unlisted tenant was refused before its stats were computed: the rule sees it as silent.
    assert.equal(metricLines(routerMetrics, EDGE_WRITE_SERIES).filter((l) => l.labels.tenant === UNLISTED).length, 0);
    const ingester = await (await fetch(`http://${ingesterListens[0].http}/metrics`)).text();
    const head = metricLines(ingester, "prometheus_tsdb_head_samples_appended_total").filter((l) => l.labels.tenant === EDGE);
    assert.ok(head.length > 0 && head.some((l) => l.value > 0), "ingesters label their per-tenant TSDB metrics with `tenant`");
    // The rule's selector matches these series as they are (only `job` and `instance` come from the scrape).
    const rule = silentRule();
    assert.match(rule.expr, new RegExp(`${EDGE_WRITE_SERIES}\\{job=~"[^"]+", code="200", tenant=~"`));
  });

  it("the rendered hashrings file is what the router loaded (its config metrics)", async () => {
    const metrics = await (await fetch(`http://${routerListen.http}/metrics`)).text();
    const loaded = metricLines(metrics, "thanos_receive_config_last_reload_successful");
    assert.ok(loaded.length === 1 && loaded[0].value === 1, metrics.split("\n").filter((l) => l.startsWith("thanos_receive_")).slice(0, 40).join("\n"));
    const tenants = metricLines(metrics, "thanos_receive_hashring_tenants");
    assert.ok(tenants.some((l) => l.value === 2), JSON.stringify(tenants));
    assert.equal(parse(readFileSync(join(dir, "hashrings.json"), "utf8")).length, 1);
  });
});
