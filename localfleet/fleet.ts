/**
 * The loopback fleet: the pods of two spokes, their hub and an edge of one spoke (the edge's
 * Prometheus agent; the spoke's zone receiver is among the spoke's planned workloads), built
 * from the offline plan (plan.ts), the helm-rendered kube-prometheus-stack releases of that
 * plan (offline/manifests.ts with the pinned helm and charts) and the operator rendering
 * (operator.ts), run as real processes on loopback inside the harness's network namespace
 * (index.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { chartsDir, releasesOf, renderRelease, type Manifest } from "../offline/manifests";
import { REPO_DIR } from "../offline";
import { toolPath, type ToolName } from "../toolchain";
import { FleetDns, podResolvConf, Zone } from "./dns";
import { ghostunnelServer, loadBalancer, Servers, syntheticTarget, webhookReceiver, type Notification, type TlsConnLog } from "./net";
import { RECEIVER } from "../components/workloads/receive";
import { alertmanagerPods, parseAdditionalAlertmanagers, prometheusAgentPods, prometheusPods, PROMETHEUS_STORAGE_DIR, type OperatorPod, type ScrapeTarget } from "./operator";
import { isObj, type LoopbackPlan, type Obj, type PlanService, type StackPlan } from "./plan";
import { materialize, volumeDir, volumeSource, type ObjectSource, type Pod, type VolumeSource } from "./pods";
import { Supervisor, type Proc, type ProcSpec } from "./proc";
import { bucketId, CHECK_TIME_FACTOR, compressEdgeGroups, compressRuleTimes, divideDuration, filesystemObjstore, receiversToWebhook } from "./substitutions";

const NAMESPACE_FALLBACK = "observability";

/** Objects of one cluster: the plan's typed resources, then the rendered releases. */
class ClusterObjects implements ObjectSource {
  constructor(
    private readonly plan: StackPlan,
    private readonly rendered: Manifest[],
    private readonly transform: (kind: "ConfigMap" | "Secret", name: string, key: string, text: string) => string,
  ) {}

  data(kind: "ConfigMap" | "Secret", name: string): Record<string, string> {
    let raw: Record<string, string> | undefined;
    try {
      raw = this.plan.objectData(kind, name);
    } catch {
      const m = this.rendered.find((x) => x.kind === kind && x.metadata.name === name);
      if (m === undefined) throw new Error(`${this.plan.stack}: no ${kind} ${name} in the plan or its rendered releases`);
      raw = {};
      if (isObj(m.data)) for (const [k, v] of Object.entries(m.data)) raw[k] = kind === "Secret" ? Buffer.from(String(v), "base64").toString("utf8") : String(v);
      if (isObj(m.stringData)) for (const [k, v] of Object.entries(m.stringData)) raw[k] = String(v);
    }
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, this.transform(kind, name, k, v)]));
  }
}

/** One cluster of the fleet. */
export interface Cluster {
  stack: string;
  role: "spoke" | "hub" | "edge";
  index: number;
  resolver: string;
  plan: StackPlan;
  objects: ClusterObjects;
  rendered: Manifest[];
  pods: Pod[];
  procs: ProcSpec[];
  /** In-harness containers (ghostunnel) with their rewritten args. */
  tlsSidecars: string[][];
  loadBalancers: { host: string; port: number; service: PlanService; backends: { host: string; port: number }[] }[];
  zone: Zone;
  synthetic?: { host: string; port: number };
  namespace: string;
}

export interface FleetOptions {
  root: string;
  /** `--check`: rule times compressed (substitution 14). */
  check: boolean;
}

const WEBHOOK_PORT = 8080;
const SYNTHETIC_PORT = 8080;

export class LoopbackFleet {
  readonly clusters: Cluster[] = [];
  readonly supervisor: Supervisor;
  readonly servers = new Servers();
  readonly notifications: Notification[] = [];
  readonly tlsLog: TlsConnLog[] = [];
  readonly publicZone = new Zone();
  dns: FleetDns | undefined;
  readonly webhook: { host: string; port: number };
  readonly bucketsDir: string;
  private readonly running = new Map<string, Proc[]>();

  constructor(readonly plan: LoopbackPlan, readonly opts: FleetOptions) {
    this.supervisor = new Supervisor(opts.root);
    this.bucketsDir = join(opts.root, "buckets");
    const hubIndex = 9;
    this.webhook = { host: `127.0.${hubIndex}.250`, port: WEBHOOK_PORT };
    mkdirSync(this.bucketsDir, { recursive: true });
    const all = [
      ...plan.spokes.map((p, i) => ({ p, role: "spoke" as const, index: i + 1 })),
      ...plan.edges.map((p, i) => ({ p, role: "edge" as const, index: plan.spokes.length + i + 1 })),
      { p: plan.hub, role: "hub" as const, index: hubIndex },
    ];
    const helm = toolPath("helm");
    const charts = chartsDir(REPO_DIR);
    if (charts === undefined) throw new Error("no chart directory (../shared/reference/charts or SOVEREIGN_CHARTS_DIR): the kube-prometheus-stack release is rendered with the pinned chart");
    for (const { p, role, index } of all) {
      const rendered: Manifest[] = [];
      for (const rel of releasesOf(p.run).filter((r) => r.chart === "kube-prometheus-stack")) {
        const r = renderRelease(rel, { helm, chartsDir: charts });
        if (r.error !== undefined) throw new Error(`${p.stack}: helm template ${rel.release} failed: ${r.error}`);
        rendered.push(...r.manifests.filter((m) => m.kind !== "CustomResourceDefinition"));
      }
      const objects = new ClusterObjects(p, rendered, (kind, name, key, text) => this.transformObject(kind, name, key, text));
      // An edge has no typed workload: its namespace is its rendered release's.
      const namespace = p.workloads()[0]?.namespace ?? rendered.find((m) => m.kind === "PrometheusAgent")?.metadata.namespace ?? NAMESPACE_FALLBACK;
      this.clusters.push({ stack: p.stack, role, index, resolver: `127.0.${index}.53`, plan: p, objects, rendered, pods: [], procs: [], tlsSidecars: [], loadBalancers: [], zone: new Zone(), namespace });
    }
  }

  get hub(): Cluster {
    return this.clusters.find((c) => c.role === "hub") as Cluster;
  }
  get spokes(): Cluster[] {
    return this.clusters.filter((c) => c.role === "spoke");
  }
  get edges(): Cluster[] {
    return this.clusters.filter((c) => c.role === "edge");
  }
  cluster(stack: string): Cluster {
    const c = this.clusters.find((x) => x.stack === stack);
    if (c === undefined) throw new Error(`no cluster ${stack}`);
    return c;
  }

  /** Bucket directory of a bucket id (substitution 1). */
  bucketDir(id: string): string {
    return join(this.bucketsDir, id);
  }

  private transformObject(_kind: "ConfigMap" | "Secret", _name: string, key: string, text: string): string {
    if (/^\s*type:\s*(S3|GCS|AZURE)\b/m.test(text)) {
      const id = bucketId(text);
      if (id !== undefined) {
        mkdirSync(this.bucketDir(id), { recursive: true });
        return filesystemObjstore(this.bucketDir(id));
      }
    }
    if (key === "alertmanager.yaml") return receiversToWebhook(text, `http://${this.webhook.host}:${this.webhook.port}`);
    return text;
  }

  /** Builds every pod, volume, DNS record and process spec. */
  build(): void {
    for (const c of this.clusters) {
      let next = 10;
      const ip = (): string => `127.0.${c.index}.${next++}`;
      const resolvConf = join(this.opts.root, c.stack, "resolv.conf");
      mkdirSync(join(this.opts.root, c.stack), { recursive: true });
      writeFileSync(resolvConf, podResolvConf(c.resolver, c.namespace));
      const addPod = (p: Omit<Pod, "cluster" | "namespace" | "ip" | "resolvConf" | "readonlyPaths"> & { readonlyPaths?: string[] }): Pod => {
        const pod: Pod = { cluster: c.stack, namespace: c.namespace, ip: ip(), resolvConf, readonlyPaths: p.readonlyPaths ?? [], ...p };
        c.pods.push(pod);
        return pod;
      };
      const fromOperator = (op: OperatorPod): Pod => addPod({ name: op.name, labels: op.labels, subdomain: op.subdomain, containers: op.containers, volumes: op.volumes });

      // Alertmanagers first: Prometheus is configured with their addresses.
      const amCr = c.rendered.find((m) => m.kind === "Alertmanager");
      const amPods: Pod[] = [];
      if (amCr !== undefined) {
        const spec = amCr.spec as Obj;
        const configSecret = typeof spec.configSecret === "string" ? spec.configSecret : `alertmanager-${amCr.metadata.name}`;
        const config = c.objects.data("Secret", configSecret)["alertmanager.yaml"];
        const extra = new Map<string, VolumeSource>();
        for (const v of Array.isArray(spec.volumes) ? (spec.volumes as { name: string; secret?: { secretName: string } }[]) : []) extra.set(v.name, volumeSource(v, c.objects, []));
        for (const op of alertmanagerPods({ crName: amCr.metadata.name, namespace: c.namespace, spec, configYaml: config, extraVolumes: extra })) amPods.push(fromOperator(op));
      }

      // The plan's own workloads (Thanos components, the zone receiver), with the plan's args and
      // volumes; before Prometheus, which scrapes the receiver's routers.
      const spokeBuckets = new Set(this.spokes.flatMap((s) => {
        const osc = s.plan.objectData("Secret", "thanos-objstore")["objstore.yaml"];
        const id = bucketId(osc);
        return id === undefined ? [] : [id];
      }));
      for (const w of c.plan.workloads()) {
        const count = w.kind === "StatefulSet" ? w.replicas : 1;
        for (let i = 0; i < count; i++) {
          const volumes = new Map<string, VolumeSource>();
          for (const v of w.volumes) volumes.set(v.name, volumeSource(v, c.objects, w.claims));
          for (const claim of w.claims) if (!volumes.has(claim)) volumes.set(claim, { kind: "persistent" });
          const readonly: string[] = [];
          if (c.role === "hub") {
            for (const v of w.volumes) {
              if (v.secret === undefined) continue;
              const raw = c.plan.objectData("Secret", v.secret.secretName)["objstore.yaml"];
              const id = raw !== undefined ? bucketId(raw) : undefined;
              if (id !== undefined && spokeBuckets.has(id)) readonly.push(this.bucketDir(id));
            }
          }
          const args = (container: { args: string[] }): string[] =>
            this.opts.check && w.name === "thanos-rule" ? container.args.map((a) => (a.startsWith("--eval-interval=") ? `--eval-interval=${divideDuration(a.slice(16), CHECK_TIME_FACTOR)}` : a)) : container.args;
          addPod({
            name: w.kind === "StatefulSet" ? `${w.name}-${i}` : `${w.name}-loopback`,
            labels: w.labels,
            subdomain: w.serviceName,
            containers: w.containers.map((ct) => ({ name: ct.name, bin: "thanos", args: args(ct), env: ct.env, volumeMounts: ct.volumeMounts, ports: ct.ports })),
            volumes,
            readonlyPaths: readonly,
          });
        }
      }

      if (c.role === "spoke") {
        const synthetic = addPod({ name: "loopback-synthetic", labels: { "app.kubernetes.io/name": "loopback-synthetic" }, containers: [], volumes: new Map() });
        c.synthetic = { host: synthetic.ip, port: SYNTHETIC_PORT };
        const promCr = c.rendered.find((m) => m.kind === "Prometheus");
        if (promCr === undefined) throw new Error(`${c.stack}: the kube-prometheus-stack release renders no Prometheus`);
        const spec = promCr.spec as Obj;
        const crName = promCr.metadata.name;
        const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
        const promIps = Array.from({ length: replicas }, () => ip());
        next -= replicas;
        const thanos = spec.thanos as Obj;
        const osc = thanos.objectStorageConfig as { name: string; key: string };
        const amc = spec.additionalAlertManagerConfigs as { name: string; key: string } | undefined;
        const ruleFiles: Record<string, string> = {};
        // ruleSelector {} selects every PrometheusRule; the operator writes each as <ns>-<name>-<uid>.yaml.
        for (const r of c.rendered.filter((m) => m.kind === "PrometheusRule")) ruleFiles[`${c.namespace}-${r.metadata.name}.yaml`] = stringify({ groups: (r.spec as Obj).groups }, { lineWidth: 0 });
        const evaluation = typeof spec.evaluationInterval === "string" ? spec.evaluationInterval : "30s";
        for (const r of c.plan.prometheusRules()) {
          const groups = this.opts.check ? compressEdgeGroups(r.spec.groups, { stack: c.stack, edges: this.receiverEdges(c), evaluationInterval: evaluation, factor: CHECK_TIME_FACTOR }) : r.spec.groups;
          ruleFiles[`${c.namespace}-${r.name}.yaml`] = stringify({ groups }, { lineWidth: 0 });
        }
        ruleFiles["loopback-probe.yaml"] = stringify({ groups: [{ name: "loopback.probe", rules: [{ alert: "LoopbackFleetForwardProbe", expr: "vector(1)", labels: { severity: "warning" }, annotations: { summary: "Harness probe (substitution 13): a spoke alert for the hub." } }] }] });
        const specVolumes = new Map<string, VolumeSource>();
        for (const v of Array.isArray(spec.volumes) ? (spec.volumes as { name: string; secret?: { secretName: string } }[]) : []) specVolumes.set(v.name, volumeSource(v, c.objects, []));
        const secrets: Record<string, Record<string, string>> = {};
        for (const s of Array.isArray(spec.secrets) ? (spec.secrets as string[]) : []) secrets[s] = c.objects.data("Secret", s);
        const promPods = prometheusPods({
          crName,
          namespace: c.namespace,
          spec,
          additionalAlertmanagers: amc !== undefined ? parseAdditionalAlertmanagers(c.objects.data("Secret", amc.name)[amc.key]) : [],
          ruleFiles,
          secrets,
          specVolumes,
          objstoreConfig: c.objects.data("Secret", osc.name)[osc.key],
          alertmanagerTargets: amPods.map((p) => `${p.ip}:9093`),
          scrape: () => [
            ...promIps.map((a, i) => ({ job: `${crName}`, address: `${a}:9090`, labels: { namespace: c.namespace, service: crName, pod: `prometheus-${crName}-${i}`, container: "prometheus", endpoint: "http-web" } })),
            { job: "loopback-synthetic", address: `${synthetic.ip}:${SYNTHETIC_PORT}`, labels: { namespace: c.namespace, service: "loopback-synthetic", pod: "loopback-synthetic" } },
            // The receiver's routers, as their planned ServiceMonitor selects them: the edge-silent rule reads their per-tenant counters.
            ...this.serviceMonitorTargets(c, RECEIVER.router),
          ] satisfies ScrapeTarget[],
        });
        for (const op of promPods) fromOperator(op);
      }

      if (c.role === "edge") {
        // The edge's agent: the PrometheusAgent CR the chart renders, as the operator runs it.
        const agentCr = c.rendered.find((m) => m.kind === "PrometheusAgent");
        if (agentCr === undefined) throw new Error(`${c.stack}: the kube-prometheus-stack release renders no PrometheusAgent`);
        const spec = agentCr.spec as Obj;
        const crName = agentCr.metadata.name;
        const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
        const agentIps = Array.from({ length: replicas }, () => ip());
        next -= replicas;
        const selfService = c.rendered.find((m) => m.kind === "Service" && isObj(m.spec) && isObj(m.spec.selector) && m.spec.selector["app.kubernetes.io/name"] === "prometheus-agent");
        const agentPods = prometheusAgentPods({
          crName,
          namespace: c.namespace,
          spec,
          secrets: (name) => c.objects.data("Secret", name),
          // Substitution "edge agent scrapes": only itself (the chart's self-monitor), with the operator's relabeled labels.
          scrape: () => agentIps.map((a, i) => ({ job: selfService?.metadata.name ?? crName, address: `${a}:9090`, labels: { namespace: c.namespace, service: selfService?.metadata.name ?? crName, pod: `prom-agent-${crName}-${i}`, container: "prometheus", endpoint: "http-web" } })),
          scrapeInterval: (planned) => (this.opts.check ? divideDuration(planned, CHECK_TIME_FACTOR) : planned),
        });
        for (const op of agentPods) fromOperator(op);
      }

    }
    this.buildDns();
    for (const c of this.clusters) {
      for (const pod of c.pods) {
        const transform = (volume: string, key: string, text: string): string => (this.opts.check && c.role === "hub" && pod.name.startsWith("thanos-rule") && volume === "rules" && key.endsWith(".yaml") ? compressRuleTimes(text, CHECK_TIME_FACTOR) : text);
        const { procs, inHarness } = materialize(this.opts.root, pod, c.objects, transform);
        for (const p of procs) c.procs.push({ ...p, bin: toolPath(p.bin as ToolName) });
        for (const h of inHarness) c.tlsSidecars.push(h.args);
      }
    }
  }

  /** The edges a spoke's receiver accepts (its contract output `receiver.edges`). */
  receiverEdges(c: Cluster): string[] {
    const r = c.plan.outputs.receiver;
    return isObj(r) && Array.isArray(r.edges) ? r.edges.map(String) : [];
  }

  /**
   * Scrape targets of a planned ServiceMonitor (substitution "scrape discovery"): the pods behind
   * each typed Service it selects, at the endpoint's port, with the labels the operator's
   * relabeling gives (job = the Service's name, prometheus-operator v0.93.1 ServiceMonitor CRD
   * `spec.jobLabel`), at the endpoint's `interval` (compressed with --check).
   */
  private serviceMonitorTargets(c: Cluster, name: string): ScrapeTarget[] {
    const sm = c.plan.serviceMonitors().find((m) => m.name === name);
    if (sm === undefined) return [];
    const out: ScrapeTarget[] = [];
    for (const svc of c.plan.services()) {
      const labels = c.plan.serviceLabels(svc.name) ?? {};
      if (!Object.entries(sm.selector).every(([k, v]) => labels[k] === v)) continue;
      for (const ep of sm.endpoints) {
        const port = svc.ports.find((p) => p.name === ep.port);
        if (port === undefined) continue;
        const pods = c.pods.filter((p) => Object.keys(svc.selector).length > 0 && Object.entries(svc.selector).every(([k, v]) => p.labels[k] === v));
        for (const pod of pods) {
          const container = pod.containers.find((x) => x.ports.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort));
          const cport = container?.ports.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort)?.containerPort ?? port.port;
          const interval = ep.interval ?? "30s";
          out.push({ job: svc.name, address: `${pod.ip}:${cport}`, labels: { namespace: c.namespace, service: svc.name, pod: pod.name, container: container?.name ?? "", endpoint: ep.port }, interval: this.opts.check ? divideDuration(interval, CHECK_TIME_FACTOR) : interval });
        }
      }
    }
    return out;
  }

  private servicesOf(c: Cluster): PlanService[] {
    const typed = c.plan.services();
    const rendered: PlanService[] = c.rendered
      .filter((m) => m.kind === "Service")
      .map((m) => {
        const spec = m.spec as Obj;
        return { name: m.metadata.name, namespace: m.metadata.namespace ?? c.namespace, headless: spec.clusterIP === "None", type: String(spec.type ?? "ClusterIP"), selector: (spec.selector ?? {}) as Record<string, string>, ports: (spec.ports ?? []) as PlanService["ports"] };
      });
    // The operator's governing Services of its StatefulSets (headless), pkg/prometheus/operator.go and pkg/alertmanager/operator.go.
    const governing: PlanService[] = [
      { name: "prometheus-operated", namespace: c.namespace, headless: true, type: "ClusterIP", selector: { "app.kubernetes.io/name": "prometheus" }, ports: [{ name: "web", port: 9090, targetPort: "web" }, { name: "grpc", port: 10901, targetPort: "grpc" }] },
      { name: "alertmanager-operated", namespace: c.namespace, headless: true, type: "ClusterIP", selector: { "app.kubernetes.io/name": "alertmanager" }, ports: [{ name: "web", port: 9093, targetPort: "http-web" }, { name: "tcp-mesh", port: 9094, targetPort: 9094 }] },
    ];
    return [...typed, ...rendered, ...governing];
  }

  private buildDns(): void {
    for (const c of this.clusters) {
      const zone = c.zone;
      const fqdn = (svc: string, ns: string): string => `${svc}.${ns}.svc.cluster.local`;
      for (const pod of c.pods) {
        zone.add(`${pod.ip.replace(/\./g, "-")}.${pod.namespace}.pod.cluster.local`, { type: "A", address: pod.ip });
        if (pod.subdomain !== undefined) zone.add(`${pod.name}.${fqdn(pod.subdomain, pod.namespace)}`, { type: "A", address: pod.ip });
      }
      for (const svc of this.servicesOf(c)) {
        const selected = Object.keys(svc.selector).length === 0 ? [] : c.pods.filter((p) => Object.entries(svc.selector).every(([k, v]) => p.labels[k] === v));
        if (selected.length === 0) continue;
        const targetPort = (pod: Pod, tp: number | string | undefined, port: number): number | undefined => {
          if (typeof tp === "number") return tp;
          if (tp === undefined) return port;
          const cp = pod.containers.flatMap((x) => x.ports).find((p) => p.name === tp);
          return cp?.containerPort;
        };
        if (svc.type === "LoadBalancer") {
          const port = svc.ports[0];
          const lbHost = `127.0.${c.index}.${200 + c.loadBalancers.length}`;
          c.loadBalancers.push({ host: lbHost, port: port.port, service: svc, backends: selected.flatMap((p) => { const t = targetPort(p, port.targetPort, port.port); return t === undefined ? [] : [{ host: p.ip, port: t }]; }) });
          continue;
        }
        const name = fqdn(svc.name, svc.namespace);
        for (const pod of selected) zone.add(name, { type: "A", address: pod.ip }, { rotate: !svc.headless });
        for (const port of svc.ports) {
          if (port.name === undefined) continue;
          const srv = `_${port.name}._tcp.${name}`;
          for (const pod of selected) {
            const t = targetPort(pod, port.targetPort, port.port);
            if (t === undefined) continue;
            if (svc.headless) {
              const target = pod.subdomain === svc.name ? `${pod.name}.${name}` : `${pod.ip.replace(/\./g, "-")}.${name}`;
              zone.add(target, { type: "A", address: pod.ip });
              zone.add(srv, { type: "SRV", target, port: t });
            } else if (t === port.port) {
              zone.add(srv, { type: "SRV", target: name, port: port.port });
            }
          }
        }
      }
    }
    // Public names: each spoke's Thanos endpoint and the hub's Alertmanager URL, to their LoadBalancer.
    for (const s of this.spokes) {
      const ep = (s.plan.outputs.thanos as Obj | undefined)?.endpoint;
      if (typeof ep !== "string") throw new Error(`${s.stack}: no thanos.endpoint output`);
      const [host, port] = ep.split(":");
      const lb = s.loadBalancers.find((l) => l.port === Number(port));
      if (lb === undefined) throw new Error(`${s.stack}: no LoadBalancer Service on port ${port} for ${ep}`);
      this.publicZone.add(host, { type: "A", address: lb.host });
    }
    // Each zone receiver's public name (the URL its edges write to), to its LoadBalancer.
    for (const s of this.spokes) {
      const r = s.plan.outputs.receiver;
      if (!isObj(r) || typeof r.url !== "string" || !Array.isArray(r.edges) || r.edges.length === 0) continue;
      const u = new URL(r.url);
      const lb = s.loadBalancers.find((l) => l.port === Number(u.port === "" ? 443 : u.port));
      if (lb === undefined) throw new Error(`${s.stack}: no LoadBalancer Service on port ${u.port} for the receiver ${r.url}`);
      this.publicZone.add(u.hostname, { type: "A", address: lb.host });
    }
    const amUrl = (this.hub.plan.outputs.alertmanager as Obj | undefined)?.url;
    if (typeof amUrl === "string") {
      const u = new URL(amUrl);
      const port = u.port === "" ? 443 : Number(u.port);
      const lb = this.hub.loadBalancers.find((l) => l.port === port);
      if (lb === undefined) throw new Error(`${this.hub.stack}: no LoadBalancer Service on port ${port} for ${amUrl}`);
      this.publicZone.add(u.hostname, { type: "A", address: lb.host });
    }
    this.dns = new FleetDns(this.clusters.map((c) => ({ address: c.resolver, zones: [c.zone, this.publicZone] })));
  }

  /** DNS, webhook, synthetic targets, load balancers and TLS sidecars. */
  async startNetwork(): Promise<void> {
    await this.dns?.start();
    await webhookReceiver(this.servers, this.webhook.host, this.webhook.port, this.notifications);
    for (const c of this.clusters) {
      if (c.synthetic !== undefined) await syntheticTarget(this.servers, c.synthetic.host, c.synthetic.port, c.stack);
      for (const lb of c.loadBalancers) await loadBalancer(this.servers, lb.host, lb.port, () => lb.backends);
      for (const args of c.tlsSidecars) await ghostunnelServer(this.servers, args, this.tlsLog);
    }
  }

  /**
   * Substitution 12: a block of the synthetic target's series for each Prometheus replica, made
   * by promtool from OpenMetrics, in the replica's data directory before it starts.
   */
  backfill(c: Cluster, now: number): { from: number; to: number } {
    const from = Math.floor(now / 1000) - 3 * 3600;
    const to = Math.floor(now / 1000) - 2 * 3600 - 15 * 60;
    for (const pod of c.pods.filter((p) => p.name.startsWith("prometheus-"))) {
      const db = [...pod.volumes.entries()].find(([, v]) => v.kind === "persistent");
      if (db === undefined) continue;
      const dir = volumeDir(this.opts.root, pod, db[0]);
      if (existsSync(join(dir, "loopback-backfill.om"))) continue;
      mkdirSync(dir, { recursive: true });
      const lines = ["# HELP loopback_backfill_samples Samples of the pre-made block (substitution 12).", "# TYPE loopback_backfill_samples gauge"];
      for (let t = from; t <= to; t += 60) lines.push(`loopback_backfill_samples{job="loopback-synthetic",instance="${c.synthetic?.host ?? ""}:${SYNTHETIC_PORT}",namespace="${c.namespace}"} ${t - from} ${t}`);
      lines.push("# EOF", "");
      const om = join(dir, "loopback-backfill.om");
      writeFileSync(om, lines.join("\n"));
      const r = spawnSync(toolPath("promtool"), ["tsdb", "create-blocks-from", "openmetrics", om, dir], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`promtool create-blocks-from failed for ${pod.name}: ${r.stderr}`);
    }
    return { from, to };
  }

  /** Starts every process of a cluster (or those whose pod matches). */
  startCluster(c: Cluster, match: (spec: ProcSpec) => boolean = () => true): Proc[] {
    const started = c.procs.filter(match).map((s) => this.supervisor.start(s));
    this.running.set(c.stack, [...(this.running.get(c.stack) ?? []).filter((p) => p.exitCode === undefined), ...started]);
    return started;
  }

  /** Stops every running process of a cluster. */
  async stopCluster(c: Cluster): Promise<void> {
    await this.supervisor.stop(this.running.get(c.stack) ?? []);
    this.running.set(c.stack, []);
  }

  /** HTTP address of a pod's container port by name. */
  addr(stack: string, podPrefix: string, port = 10902): string {
    const pod = this.cluster(stack).pods.find((p) => p.name.startsWith(podPrefix));
    if (pod === undefined) throw new Error(`${stack}: no pod ${podPrefix}`);
    return `${pod.ip}:${port}`;
  }

  pod(stack: string, name: string): Pod {
    const pod = this.cluster(stack).pods.find((p) => p.name === name || p.name.startsWith(name));
    if (pod === undefined) throw new Error(`${stack}: no pod ${name}`);
    return pod;
  }

  /** The sidecars' shipper meta files: uploaded block ids per Prometheus pod. */
  shipped(c: Cluster): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const pod of c.pods.filter((p) => p.name.startsWith("prometheus-"))) {
      const db = [...pod.volumes.entries()].find(([, v]) => v.kind === "persistent");
      if (db === undefined) continue;
      const f = join(volumeDir(this.opts.root, pod, db[0]), "thanos.shipper.json");
      const uploaded = existsSync(f) ? ((JSON.parse(readFileSync(f, "utf8")) as { uploaded?: string[] }).uploaded ?? []) : [];
      out.set(pod.name, uploaded);
    }
    return out;
  }

  /** Every block in a bucket directory with its Thanos labels. */
  bucketBlocks(id: string): { id: string; labels: Record<string, string> }[] {
    const dir = this.bucketDir(id);
    if (!existsSync(dir)) return [];
    const out: { id: string; labels: Record<string, string> }[] = [];
    for (const name of spawnSync("ls", [dir], { encoding: "utf8" }).stdout.split("\n").filter((n) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(n))) {
      const meta = join(dir, name, "meta.json");
      if (!existsSync(meta)) continue;
      const m = JSON.parse(readFileSync(meta, "utf8")) as { thanos?: { labels?: Record<string, string> } };
      out.push({ id: name, labels: m.thanos?.labels ?? {} });
    }
    return out;
  }

  /** The spoke bucket id of a spoke cluster. */
  spokeBucket(c: Cluster): string {
    const id = bucketId(c.plan.objectData("Secret", "thanos-objstore")["objstore.yaml"]);
    if (id === undefined) throw new Error(`${c.stack}: objstore has no bucket`);
    return id;
  }

  /** Prometheus data dir of a pod (for the backfill). */
  static readonly promStorage = PROMETHEUS_STORAGE_DIR;

  /** A human summary of the pods. */
  describe(): string {
    const lines: string[] = [];
    for (const c of this.clusters) {
      lines.push(`${c.stack} (${c.role}, resolver ${c.resolver}):`);
      for (const p of c.pods) lines.push(`  ${p.ip.padEnd(13)} ${p.name}${p.containers.length > 0 ? ` [${p.containers.map((x) => x.name).join(", ")}]` : ""}${p.readonlyPaths.length > 0 ? " (bucket read-only)" : ""}`);
      for (const lb of c.loadBalancers) lines.push(`  ${lb.host.padEnd(13)} LoadBalancer ${lb.service.name}:${lb.port} -> ${lb.backends.map((b) => `${b.host}:${b.port}`).join(", ")}`);
    }
    for (const [name, recs] of this.publicZone.entries()) lines.push(`public DNS ${name} -> ${recs.map((r) => (r.type === "A" ? r.address : `${r.target}:${r.port}`)).join(", ")}`);
    return lines.join("\n");
  }
}

/** YAML parse helper re-exported for the checks. */
export const parseYaml = (t: string): unknown => parse(t);
