/**
 * An edge's workloads (issue 16), judged by the upstream software: the kube-prometheus-stack
 * and Alloy values rendered by the pinned `helm template` on the pinned charts, the rendered
 * PrometheusAgent validated against the Prometheus Operator CRD the chart ships, the memory the
 * edge requests computed from the rendered manifests, and the heartbeat script run with /bin/sh
 * and curl against a real `prometheus --agent` (v3.14.0) remote-writing to a local receiver.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { EDGE_HEARTBEAT_DEFAULTS, edgeHeartbeatCronJob, HEARTBEAT_IMAGE, HEARTBEAT_URL_ENV, heartbeatScript } from "../components/workloads/heartbeat";
import { containerResources } from "../components/workloads/resources";
import { edgeRequests } from "../components/workloads/edge";
import {
  cpuMillicores,
  EDGE_ALLOY_PATHS,
  EDGE_ALLOY_STREAM_LABELS,
  EDGE_LOKI_PASSWORD_KEY,
  EDGE_MEMORY_BUDGET_MIB,
  EDGE_REMOTE_WRITE_NAME,
  edgeAlloyConfig,
  edgeAgentUrl,
  edgeAlloyValues,
  edgeExternalLabels,
  edgeFootprint,
  edgeKubePrometheusStackValues,
  edgeLokiPushUrl,
  edgeQueueConfig,
  memoryMiB,
  prometheusQueueConfig,
  type EdgeAlloyParams,
  type EdgeKubePrometheusStackParams,
  type RenderedObject,
} from "../components/workloads/values";
import { chartsDir, renderRelease, type Manifest } from "../offline/manifests";
import { REPO_DIR } from "../offline";
import { toolPath } from "../toolchain";
import { unknownChartKeys } from "./support/charts";
import { CrdValidator } from "./support/crds";
import { requireTool } from "./support/tools";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const obj = (v: unknown): Obj => {
  assert.ok(isObj(v), `expected an object, got ${JSON.stringify(v)?.slice(0, 200)}`);
  return v;
};
const at = (v: unknown, path: string): unknown => path.split(".").reduce<unknown>((x, k) => (isObj(x) ? x[k] : undefined), v);
const arr = (v: unknown): Obj[] => {
  assert.ok(Array.isArray(v), `expected an array, got ${JSON.stringify(v)?.slice(0, 200)}`);
  return v.filter(isObj);
};

const PROFILES = ["small", "medium", "large"] as const;
const NS = "observability";
const helm = requireTool("helm");
const prometheus = requireTool("prometheus");
const CHARTS = chartsDir(REPO_DIR);
const renderSkip = helm.skipReason ?? (CHARTS === undefined ? "no ../shared/reference/charts" : undefined);

const kpsParams = (profile: (typeof PROFILES)[number]): EdgeKubePrometheusStackParams => ({
  profile,
  edge: "edge-dev-01",
  labels: { cluster: "edge-dev-01", environment: "dev", region: "eu-central-1", cloud: "aws" },
  receiver: { url: "https://receive.dev-01.obs.example.eu/api/v1/receive", serverName: "receive.dev-01.obs.example.eu" },
  clientTlsSecret: "edge-remote-write-tls",
  kubeProxy: false,
});
const alloyParams = (profile: (typeof PROFILES)[number]): EdgeAlloyParams => ({
  profile,
  edge: "edge-dev-01",
  labels: { cluster: "edge-dev-01", environment: "dev", region: "eu-central-1" },
  loki: { url: "https://loki.dev-01.obs.example.eu", serverName: "loki.dev-01.obs.example.eu", username: "edge-edge-dev-01" },
  clientTlsSecret: "edge-loki-tls",
  lokiPasswordSecret: "edge-loki-password",
});
const heartbeat = (profile: (typeof PROFILES)[number]): ReturnType<typeof edgeHeartbeatCronJob> =>
  edgeHeartbeatCronJob({ profile, namespace: NS, agentUrl: edgeAgentUrl(NS), remoteName: EDGE_REMOTE_WRITE_NAME, urlSecret: { name: "edge-dead-mans-switch", key: "url" } });

function render(release: string, chart: string, version: string, values: Obj): Manifest[] {
  const r = renderRelease({ resource: release, release, chart, version, namespace: NS, values }, { helm: toolPath("helm"), chartsDir: CHARTS ?? "" });
  assert.equal(r.error, undefined, r.error);
  return r.manifests;
}

const rendered = new Map<string, { kps: Manifest[]; alloy: Manifest[] }>();
function manifests(profile: (typeof PROFILES)[number]): { kps: Manifest[]; alloy: Manifest[] } {
  const known = rendered.get(profile);
  if (known !== undefined) return known;
  const r = {
    kps: render("kps", "kube-prometheus-stack", "88.5.3", edgeKubePrometheusStackValues(kpsParams(profile))),
    alloy: render("alloy", "alloy", "1.11.1", edgeAlloyValues(alloyParams(profile))),
  };
  rendered.set(profile, r);
  return r;
}
const ofKind = (ms: readonly Manifest[], kind: string): Manifest[] => ms.filter((m) => m.kind === kind);
/** The edge's objects without the CRDs (cluster-wide definitions, no pods). */
const objects = (profile: (typeof PROFILES)[number]): RenderedObject[] => {
  const m = manifests(profile);
  return [...m.kps, ...m.alloy, heartbeat(profile)].filter((o) => o.kind !== "CustomResourceDefinition");
};

describe("edge kube-prometheus-stack values", () => {
  it("every key exists in kube-prometheus-stack 88.5.3", () => {
    for (const profile of PROFILES) assert.deepEqual(unknownChartKeys("kube-prometheus-stack", edgeKubePrometheusStackValues(kpsParams(profile))), [], profile);
  });

  it("refuses a receiver that is not https, or carries credentials", () => {
    assert.throws(() => edgeKubePrometheusStackValues({ ...kpsParams("small"), receiver: { url: "http://receive.dev-01.obs.example.eu/api/v1/receive", serverName: "receive.dev-01.obs.example.eu" } }), /https/);
    assert.throws(() => edgeKubePrometheusStackValues({ ...kpsParams("small"), receiver: { url: "https://u:p@receive.dev-01.obs.example.eu/api/v1/receive", serverName: "x" } }), /credentials/);
  });

  it("rendered: a PrometheusAgent (v1alpha1), valid against the chart's CRD, remote-writing over mTLS only to the zone receiver", { skip: renderSkip }, () => {
    for (const profile of PROFILES) {
      const { kps } = manifests(profile);
      assert.equal(ofKind(kps, "Prometheus").length, 0, "no server-mode Prometheus");
      const [agent, ...more] = ofKind(kps, "PrometheusAgent");
      assert.equal(more.length, 0);
      assert.equal(agent.apiVersion, "monitoring.coreos.com/v1alpha1");
      const crds = new CrdValidator(ofKind(kps, "CustomResourceDefinition"));
      assert.deepEqual(crds.errors(agent), [], `${profile}: PrometheusAgent against crd-prometheusagents.yaml`);
      const spec = obj(agent.spec);
      assert.deepEqual(spec.externalLabels, { cluster: "edge-dev-01", environment: "dev", region: "eu-central-1", cloud: "aws", edge: "edge-dev-01" });
      assert.equal(spec.replicaExternalLabelName, "");
      assert.equal(spec.prometheusExternalLabelName, "");
      for (const serverOnly of ["alerting", "ruleSelector", "ruleNamespaceSelector", "retention", "thanos", "remoteRead", "query", "evaluationInterval", "additionalAlertManagerConfigs"]) {
        assert.equal(spec[serverOnly], undefined, `${profile}: ${serverOnly} has no place in agent mode`);
      }
      assert.equal(arr(spec.containers ?? []).length, 0, "no extra containers (no sidecar)");
      assert.deepEqual(spec.storage, { emptyDir: { sizeLimit: { small: "2Gi", medium: "4Gi", large: "8Gi" }[profile] } });
      const [rw, ...others] = arr(spec.remoteWrite);
      assert.equal(others.length, 0, "one destination: the zone receiver");
      assert.equal(rw.url, "https://receive.dev-01.obs.example.eu/api/v1/receive");
      assert.equal(rw.name, EDGE_REMOTE_WRITE_NAME);
      assert.deepEqual(rw.tlsConfig, {
        ca: { secret: { name: "edge-remote-write-tls", key: "ca.crt" } },
        cert: { secret: { name: "edge-remote-write-tls", key: "tls.crt" } },
        keySecret: { name: "edge-remote-write-tls", key: "tls.key" },
        serverName: "receive.dev-01.obs.example.eu",
      });
      assert.equal(rw.headers, undefined, "no tenant header: the receiver takes the tenant from the client certificate");
      for (const k of ["basicAuth", "authorization", "bearerToken", "oauth2"]) assert.equal(rw[k], undefined, k);
      assert.deepEqual(rw.queueConfig, edgeQueueConfig(profile));
      assert.deepEqual(obj(at(spec, "resources.requests")), containerResources(profile, "edge-prometheus-agent").requests);
    }
  });

  it("rendered: no Alertmanager, no rules, no Thanos sidecar, no admission webhooks; node-exporter and kube-state-metrics kept, sized", { skip: renderSkip }, () => {
    for (const profile of PROFILES) {
      const { kps } = manifests(profile);
      for (const kind of ["Alertmanager", "AlertmanagerConfig", "PrometheusRule", "ThanosRuler", "Job", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]) {
        assert.deepEqual(ofKind(kps, kind).map((m) => m.metadata.name), [], `${profile}: ${kind}`);
      }
      // The chart installs every Prometheus Operator CRD (definitions, not workloads): left out here.
      const names = kps.filter((m) => m.kind !== "CustomResourceDefinition").map((m) => `${m.kind}/${m.metadata.name}`);
      assert.ok(!names.some((n) => /thanos|grafana|alertmanager/.test(n)), names.join(", "));
      const operator = ofKind(kps, "Deployment").find((d) => d.metadata.name === "kps-operator");
      assert.ok(operator);
      const [op] = arr(at(operator, "spec.template.spec.containers"));
      const args = (op.args as string[]).filter((a) => a.startsWith("--config-reloader-") || a.startsWith("--web.enable-tls"));
      const reloader = containerResources(profile, "edge-config-reloader");
      assert.ok(args.includes(`--config-reloader-memory-request=${reloader.requests.memory}`), args.join(" "));
      assert.ok(args.includes("--web.enable-tls=false"), "the operator's TLS Secret comes from the webhook Job, which is off");
      assert.equal(arr(at(operator, "spec.template.spec.volumes") ?? []).length, 0, "no volume waiting for the admission Secret");
      const ne = ofKind(kps, "DaemonSet").find((d) => d.metadata.name === "kps-prometheus-node-exporter");
      const ksm = ofKind(kps, "Deployment").find((d) => d.metadata.name === "kps-kube-state-metrics");
      assert.ok(ne && ksm, "node-exporter and kube-state-metrics are kept");
      assert.equal(at(arr(at(ne, "spec.template.spec.containers"))[0], "resources.requests.memory"), containerResources(profile, "edge-node-exporter").requests.memory);
      assert.equal(at(arr(at(ksm, "spec.template.spec.containers"))[0], "resources.requests.memory"), containerResources(profile, "edge-kube-state-metrics").requests.memory);
      const kubeProxy = ofKind(kps, "ServiceMonitor").find((m) => m.metadata.name.includes("kube-proxy"));
      assert.equal(kubeProxy, undefined);
      // The agent scrapes itself: the heartbeat's "highest sent" needs samples to advance.
      assert.ok(ofKind(kps, "ServiceMonitor").some((m) => m.metadata.name === "kps-prometheus"));
      const svc = ofKind(kps, "Service").find((m) => m.metadata.name === "kps-prometheus");
      assert.equal(obj(at(svc, "spec.selector"))["app.kubernetes.io/name"], "prometheus-agent", "the Service selects the agent's pods");
      // The heartbeat's URL names this Service and port.
      const agentUrl = new URL(edgeAgentUrl(NS));
      assert.equal(agentUrl.hostname, `${String(svc?.metadata.name)}.${NS}.svc`);
      assert.ok(arr(at(svc, "spec.ports")).some((p) => p.port === Number(agentUrl.port)), JSON.stringify(at(svc, "spec.ports")));
    }
  });
});

describe("edge Alloy values", () => {
  it("every key exists in the alloy chart 1.11.1", () => {
    for (const profile of PROFILES) assert.deepEqual(unknownChartKeys("alloy", edgeAlloyValues(alloyParams(profile))), [], profile);
  });

  it("pushes to https://<spoke loki>/loki/api/v1/push with basic auth from a file and the spoke's CA and server name", () => {
    assert.equal(edgeLokiPushUrl("https://loki.dev-01.obs.example.eu"), "https://loki.dev-01.obs.example.eu/loki/api/v1/push");
    assert.equal(edgeLokiPushUrl("https://loki.dev-01.obs.example.eu:8443/"), "https://loki.dev-01.obs.example.eu:8443/loki/api/v1/push");
    assert.throws(() => edgeLokiPushUrl("http://loki.dev-01.obs.example.eu"), /https/);
    const config = edgeAlloyConfig(alloyParams("small"));
    assert.match(config, /url = "https:\/\/loki\.dev-01\.obs\.example\.eu\/loki\/api\/v1\/push"/);
    assert.match(config, /basic_auth \{\s+username\s+= "edge-edge-dev-01"\s+password_file = "\/etc\/alloy\/loki-auth\/password"\s+\}/);
    assert.doesNotMatch(config, /\bpassword\s*=/, "no password attribute: only password_file");
    assert.match(config, /ca_file\s+= "\/etc\/alloy\/edge-tls\/ca\.crt"/);
    assert.match(config, /server_name = "loki\.dev-01\.obs\.example\.eu"/);
    assert.match(config, /edge\s+= "edge-dev-01"/);
    for (const label of EDGE_ALLOY_STREAM_LABELS) assert.match(config, new RegExp(`target_label\\s+= "${label}"|\\n\\s+${label}\\s+= "`), `stream label ${label}`);
    // Only one destination.
    assert.equal(config.match(/loki\.write "/g)?.length, 1);
    assert.equal(config.match(/endpoint \{/g)?.length, 1);
  });

  it("rendered: the DaemonSet mounts the TLS and password Secrets where the config reads them, read-only", { skip: renderSkip }, () => {
    for (const profile of PROFILES) {
      const { alloy } = manifests(profile);
      const [ds] = ofKind(alloy, "DaemonSet");
      assert.ok(ds);
      const pod = obj(at(ds, "spec.template.spec"));
      const volumes = new Map(arr(pod.volumes).map((v) => [String(v.name), v]));
      assert.equal(at(volumes.get("edge-tls"), "secret.secretName"), "edge-loki-tls");
      assert.equal(at(volumes.get("loki-auth"), "secret.secretName"), "edge-loki-password");
      const container = arr(pod.containers).find((c) => c.name === "alloy");
      assert.ok(container);
      const mounts = new Map(arr(container.volumeMounts).map((m) => [String(m.name), m]));
      assert.deepEqual([mounts.get("edge-tls")?.mountPath, mounts.get("edge-tls")?.readOnly], [EDGE_ALLOY_PATHS.tls, true]);
      assert.deepEqual([mounts.get("loki-auth")?.mountPath, mounts.get("loki-auth")?.readOnly], [EDGE_ALLOY_PATHS.auth, true]);
      const [cm] = ofKind(alloy, "ConfigMap");
      const content = String(obj(cm.data)["config.alloy"]);
      assert.ok(content.includes(`${EDGE_ALLOY_PATHS.auth}/${EDGE_LOKI_PASSWORD_KEY}`) && content.includes(`${EDGE_ALLOY_PATHS.tls}/tls.crt`));
      assert.deepEqual(container.env !== undefined ? arr(container.env).filter((e) => /PASS/i.test(String(e.name))) : [], [], "the password is not in the environment either");
    }
  });
});

describe("edge footprint", () => {
  it("parses Kubernetes quantities", () => {
    assert.equal(memoryMiB("16Mi"), 16);
    assert.equal(memoryMiB("1Gi"), 1024);
    assert.equal(memoryMiB("0"), 0);
    assert.equal(Math.round(memoryMiB("128M") * 100) / 100, 122.07);
    assert.equal(cpuMillicores("100m"), 100);
    assert.equal(cpuMillicores("0.5"), 500);
    assert.throws(() => memoryMiB("lots"));
  });

  for (const profile of PROFILES) {
    it(`${profile}: every container of the rendered edge (operator's pods and init containers included) requests ≤ ${EDGE_MEMORY_BUDGET_MIB} MiB`, { skip: renderSkip }, (t) => {
      const f = edgeFootprint(objects(profile));
      const key = (c: { owner: string; container: string }): string => `${c.owner}:${c.container}`;
      const byKey = new Map(f.containers.map((c) => [key(c), c]));
      const mi = (name: Parameters<typeof containerResources>[1]): number => memoryMiB(containerResources(profile, name).requests.memory);
      // What the operator adds to the agent's pod: prometheus-operator v0.93 agent/statefulset.go.
      assert.deepEqual(
        f.containers.filter((c) => c.owner === "PrometheusAgent/kps-prometheus").map((c) => [c.container, c.init, c.memoryMiB, c.source]),
        [["init-config-reloader", true, mi("edge-config-reloader"), "operator"], ["prometheus", false, mi("edge-prometheus-agent"), "operator"], ["config-reloader", false, mi("edge-config-reloader"), "operator"]],
      );
      for (const k of ["Deployment/kps-operator:kube-prometheus-stack", "Deployment/kps-kube-state-metrics:kube-state-metrics", "DaemonSet/kps-prometheus-node-exporter:node-exporter", "DaemonSet/alloy:alloy", "DaemonSet/alloy:config-reloader", "CronJob/edge-heartbeat:heartbeat"]) {
        assert.ok(byKey.has(k), `${k} counted (${[...byKey.keys()].join(", ")})`);
      }
      for (const c of f.containers) assert.ok(c.memoryMiB > 0, `${key(c)} has a memory request`);
      t.diagnostic(`${profile}: ${f.memoryMiB} MiB (scheduled ${f.scheduledMemoryMiB} MiB), ${f.cpuMillicores}m CPU: ${f.containers.map((c) => `${key(c)}${c.init ? " (init)" : ""}=${c.memoryMiB}`).join(", ")}`);
      assert.ok(f.memoryMiB <= EDGE_MEMORY_BUDGET_MIB, `${profile}: ${f.memoryMiB} MiB`);
      assert.ok(f.scheduledMemoryMiB <= f.memoryMiB);
      // What the program exports as the edge's footprint (and fleet.md reports) is what the rendered charts schedule.
      const reported = edgeRequests(profile);
      assert.equal(reported.cluster.memoryMiB + reported.perNode.memoryMiB, f.scheduledMemoryMiB, `${profile}: the edge's footprint output`);
      // DaemonSets grow with the nodes; the report says by how much.
      const three = edgeFootprint(objects(profile), { nodes: 3 });
      const perNode = f.containers.filter((c) => c.perNode).reduce((s, c) => s + c.memoryMiB, 0);
      assert.equal(three.memoryMiB, f.memoryMiB + 2 * perNode);
    });
  }

  it("reads the operator's flags: without them the operator's defaults (50Mi per reloader) count", { skip: renderSkip }, () => {
    const objs = structuredClone(objects("small"));
    const op = objs.find((o) => o.kind === "Deployment" && o.metadata.name === "kps-operator");
    assert.ok(op);
    const [c] = arr(at(op, "spec.template.spec.containers"));
    c.args = (c.args as string[]).filter((a) => !a.startsWith("--config-reloader-"));
    const f = edgeFootprint(objs);
    assert.deepEqual(f.containers.filter((x) => x.container.endsWith("config-reloader") && x.source === "operator").map((x) => x.memoryMiB), [50, 50]);
    c.args = [...(c.args as string[]), "--config-reloader-memory-request=0"];
    assert.deepEqual(edgeFootprint(objs).containers.filter((x) => x.container.endsWith("config-reloader") && x.source === "operator").map((x) => x.memoryMiB), [0, 0]);
  });

  it("refuses operator-managed pods it cannot size rather than leave them out", () => {
    assert.throws(() => edgeFootprint([{ apiVersion: "monitoring.coreos.com/v1", kind: "Alertmanager", metadata: { name: "am" } }]), /no Alertmanager/);
  });
});

describe("edge heartbeat CronJob", () => {
  it("is hardened like the project's other pods and carries no secret", () => {
    const cj = heartbeat("small");
    const spec = obj(at(cj, "spec.jobTemplate.spec.template.spec"));
    assert.equal(at(cj, "spec.concurrencyPolicy"), "Forbid");
    assert.equal(at(cj, "spec.schedule"), EDGE_HEARTBEAT_DEFAULTS.schedule);
    assert.equal(spec.automountServiceAccountToken, false);
    assert.deepEqual(spec.securityContext, { runAsNonRoot: true, runAsUser: HEARTBEAT_IMAGE.uid, runAsGroup: HEARTBEAT_IMAGE.gid, seccompProfile: { type: "RuntimeDefault" } });
    const [c] = arr(spec.containers);
    assert.equal(c.image, "curlimages/curl:8.21.0");
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    assert.deepEqual(c.env, [{ name: HEARTBEAT_URL_ENV, valueFrom: { secretKeyRef: { name: "edge-dead-mans-switch", key: "url" } } }]);
    assert.deepEqual((c.command as string[]).slice(0, 2), ["/bin/sh", "-c"]);
    assert.deepEqual(obj(c.resources).requests, containerResources("small", "edge-heartbeat").requests);
    assert.throws(() => heartbeatScript({ agentUrl: "http://x:9090", remoteName: "a b", maxLagSeconds: 60, windowSeconds: 5 }), /plain word/);
  });
});

/** A local HTTP server answering every request with `status`, remembering the paths it saw. */
async function serve(status: number): Promise<{ server: Server; url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      seen.push(`${req.method ?? ""} ${req.url ?? ""}`);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The value of one series of the agent's /metrics, or undefined. */
async function metric(agent: string, name: string): Promise<number | undefined> {
  const r = await fetch(`${agent}/metrics`).catch(() => undefined);
  if (r === undefined || !r.ok) return undefined;
  const line = (await r.text()).split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(`remote_name="${EDGE_REMOTE_WRITE_NAME}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf("}") + 1).trim().split(/\s+/)[0]);
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await ok()) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Runs the rendered script as the CronJob would (`/bin/sh -c`), without blocking the local servers. */
function runScript(script: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn("/bin/sh", ["-c", script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("edge heartbeat against a real prometheus --agent (v3.14.0)", { skip: prometheus.skipReason }, () => {
  const dir = mkdtempSync(join(tmpdir(), "sovereign-edge-heartbeat-"));
  const agents: ChildProcess[] = [];
  const servers: Server[] = [];
  let ping: { server: Server; url: string; seen: string[] };

  before(async () => {
    ping = await serve(200);
    servers.push(ping.server);
  });
  after(async () => {
    for (const a of agents) if (a.exitCode === null) a.kill("SIGKILL");
    for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts an agent scraping itself every second and remote-writing with the edge's small queue to `receiver`. */
  async function agent(name: string, receiver: string): Promise<string> {
    const port = await freePort();
    const config = {
      global: { scrape_interval: "1s", external_labels: edgeExternalLabels(kpsParams("small")) },
      scrape_configs: [{ job_name: "agent", static_configs: [{ targets: [`127.0.0.1:${port}`] }] }],
      remote_write: [{ url: `${receiver}/api/v1/receive`, name: EDGE_REMOTE_WRITE_NAME, queue_config: prometheusQueueConfig(edgeQueueConfig("small")) }],
    };
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(config));
    const p = spawn(toolPath("prometheus"), ["--agent", `--config.file=${file}`, `--storage.agent.path=${join(dir, name)}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdio: "ignore" });
    agents.push(p);
    const url = `http://127.0.0.1:${port}`;
    await until(`${name} ready`, async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true, 20_000);
    return url;
  }

  const script = (agentUrl: string, windowSeconds: number): string => {
    const cj = edgeHeartbeatCronJob({ profile: "small", namespace: NS, agentUrl, remoteName: EDGE_REMOTE_WRITE_NAME, urlSecret: { name: "s", key: "url" }, windowSeconds, maxLagSeconds: 60 });
    const [c] = arr(at(cj, "spec.jobTemplate.spec.template.spec.containers"));
    return (c.command as string[])[2];
  };

  it("(a) the receiver accepts (204): the switch is pinged", async () => {
    const receiver = await serve(204);
    servers.push(receiver.server);
    const url = await agent("accepting", receiver.url);
    await until("a first successful send", async () => ((await metric(url, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds")) ?? 0) > 0, 40_000);
    assert.ok(receiver.seen.some((s) => s === "POST /api/v1/receive"));
    const before = ping.seen.length;
    const r = await runScript(script(url, 2), { [HEARTBEAT_URL_ENV]: `${ping.url}/ping/accepting` });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ping.seen.slice(before), ["GET /ping/accepting"]);
  });

  it("(b) nothing listens at the receiver (connection refused): no ping", async () => {
    const url = await agent("refused", `http://127.0.0.1:${await freePort()}`);
    // Samples are scraped and queued, none is ever sent.
    await until("samples queued", async () => ((await metric(url, "prometheus_remote_storage_samples_pending")) ?? 0) > 0, 30_000);
    const before = ping.seen.length;
    const r = await runScript(script(url, 2), { [HEARTBEAT_URL_ENV]: `${ping.url}/ping/refused` });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not pinging: nothing sent yet/);
    assert.deepEqual(ping.seen.slice(before), []);
  });

  it("(c) the receiver refuses the samples (400, non-recoverable): the last-sent time advances, the failures give it away, no ping", async () => {
    const receiver = await serve(400);
    servers.push(receiver.server);
    const url = await agent("rejecting", receiver.url);
    await until("a first failed send", async () => ((await metric(url, "prometheus_remote_storage_samples_failed_total")) ?? 0) > 0, 40_000);
    assert.ok(((await metric(url, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds")) ?? 0) > 0, "Prometheus counts a rejected batch as sent");
    const before = ping.seen.length;
    // A window longer than the small queue's batch deadline (10s): at least one send falls in it.
    const r = await runScript(script(url, 11), { [HEARTBEAT_URL_ENV]: `${ping.url}/ping/rejecting` });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not pinging: failed samples went from \d+ to \d+/);
    assert.deepEqual(ping.seen.slice(before), []);
  });

  it("the agent gone: no ping", async () => {
    const before = ping.seen.length;
    const r = await runScript(script(`http://127.0.0.1:${await freePort()}`, 1), { [HEARTBEAT_URL_ENV]: `${ping.url}/ping/gone` });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not pinging: the agent is not ready/);
    assert.deepEqual(ping.seen.slice(before), []);
  });
});
