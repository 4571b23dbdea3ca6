/**
 * An edge's workloads (issue 16, "Edge clusters"): a small cluster with no buckets, no
 * compactor and no exposure. Its Prometheus runs in agent mode (a WAL and remote-write queues,
 * no TSDB blocks, no queries, no rules) and remote-writes over mTLS only to its zone spoke's
 * Thanos Receive; Alloy ships its pod logs to the zone spoke's Loki gateway. Plus what the plan
 * reports about it: the memory it requests, computed from the rendered manifests.
 *
 * Pinned upstream: kube-prometheus-stack 88.5.3 (Prometheus Operator v0.93.1, Prometheus
 * v3.14.0), alloy chart 1.11.1 (Alloy v1.18.1). No secret appears in these values: the TLS
 * material and the Loki password are references to Secrets the caller creates.
 */
import type { Profile } from "../../config";
import { RELEASES } from "../../endpoints";
import { containerResources, type ContainerName } from "../resources";
import { ALLOY_STREAM_LABELS, alloyPodLogsPipeline } from "./alloy";
import { PROMETHEUS_MONITOR_LABELS } from "./kube-prometheus-stack";
import type { HelmValues, IdentityLabels, Json } from "./types";

/** The memory every edge's agent stack must stay within, in MiB of requests ("an edge agent within 512 MiB"). */
export const EDGE_MEMORY_BUDGET_MIB = 512;

/**
 * Name of the agent's one remote-write queue. The operator passes `name` through to Prometheus
 * (prometheus-operator v0.93.0 pkg/prometheus/promcfg.go, generateRemoteWriteConfig), and
 * Prometheus labels the queue's metrics `remote_name` with it instead of a config hash
 * (prometheus v3.14.0 storage/remote/write.go ApplyConfig), so the heartbeat can find its queue.
 */
export const EDGE_REMOTE_WRITE_NAME = "zone-receiver";

/** Port of the agent's Service: `prometheus.service.port` of kube-prometheus-stack 88.5.3 values.yaml (default 9090, kept). */
export const EDGE_AGENT_PORT = 9090;

/**
 * The agent's in-cluster base URL, where the heartbeat reads `/metrics` and `/-/ready`: the
 * chart's Service `<fullname>-prometheus` (templates/prometheus/service.yaml), which in agent
 * mode selects `app.kubernetes.io/name: prometheus-agent` pods.
 */
export function edgeAgentUrl(namespace: string): string {
  return `http://${RELEASES.prometheus}-prometheus.${namespace}.svc:${EDGE_AGENT_PORT}`;
}

/** Keys of the edge's client TLS Secret: the edge's certificate from its own CA, and the spoke's CA. */
export const EDGE_TLS_KEYS = { ca: "ca.crt", cert: "tls.crt", key: "tls.key" } as const;

/**
 * Remote-write queue settings as the Prometheus Operator's `QueueConfig` (camelCase; the operator
 * renders them to Prometheus's `queue_config`, see {@link prometheusQueueConfig}).
 */
export interface EdgeQueueConfig {
  /** Samples buffered per shard before reading the WAL blocks. */
  capacity: number;
  minShards: number;
  maxShards: number;
  maxSamplesPerSend: number;
  batchSendDeadline: string;
  minBackoff: string;
  maxBackoff: string;
  retryOnRateLimit: boolean;
}

/**
 * Queue per profile. Prometheus's defaults (v3.14.0 config/config.go DefaultQueueConfig:
 * capacity 10000, max_shards 50, max_samples_per_send 2000, batch_send_deadline 5s, backoff
 * 30ms..5s) are sized for "1M samples/s" out of a server; an edge sends a few hundred to a few
 * thousand samples/s over a WAN link, and its memory request is a fraction of 512 MiB. Worst-case
 * queued samples are maxShards x (capacity + maxSamplesPerSend): 30k / 120k / 360k, a few MiB to
 * a few tens of MiB, while throughput at 100 ms per request stays at 50k / 200k / 600k samples/s,
 * far above what an edge produces. Where a queue falls behind, samples wait in the WAL on disk,
 * not in memory.
 * - batchSendDeadline: a small edge fills few batches; 10s sends fuller, fewer requests across the
 *   WAN (the heartbeat's lag allowance, {@link EDGE_HEARTBEAT_DEFAULTS}, covers it).
 * - min/maxBackoff: 250ms..30s, so that after an outage of the zone receiver its edges do not
 *   retry in lockstep at 5s; the WAL keeps what is not yet sent.
 * - retryOnRateLimit: Thanos Receive answers 429 when a tenant exceeds its limits; retrying keeps
 *   those samples (Prometheus's default, false, drops them as non-recoverable).
 */
const QUEUE: Record<Profile, EdgeQueueConfig> = {
  small: { capacity: 2500, minShards: 1, maxShards: 10, maxSamplesPerSend: 500, batchSendDeadline: "10s", minBackoff: "250ms", maxBackoff: "30s", retryOnRateLimit: true },
  medium: { capacity: 5000, minShards: 1, maxShards: 20, maxSamplesPerSend: 1000, batchSendDeadline: "5s", minBackoff: "250ms", maxBackoff: "30s", retryOnRateLimit: true },
  large: { capacity: 10000, minShards: 2, maxShards: 30, maxSamplesPerSend: 2000, batchSendDeadline: "5s", minBackoff: "250ms", maxBackoff: "30s", retryOnRateLimit: true },
};

/** The edge's remote-write queue settings under a profile. */
export function edgeQueueConfig(profile: Profile): EdgeQueueConfig {
  return { ...QUEUE[profile] };
}

/**
 * The `queue_config` Prometheus receives for an {@link EdgeQueueConfig}, key for key as the
 * operator renders it (prometheus-operator v0.93.0 pkg/prometheus/promcfg.go: capacity,
 * min_shards, max_shards, max_samples_per_send, batch_send_deadline, min_backoff, max_backoff,
 * retry_on_http_429). Used to run the real Prometheus with the edge's exact queue.
 */
export function prometheusQueueConfig(q: EdgeQueueConfig): Record<string, string | number | boolean> {
  return {
    capacity: q.capacity,
    min_shards: q.minShards,
    max_shards: q.maxShards,
    max_samples_per_send: q.maxSamplesPerSend,
    batch_send_deadline: q.batchSendDeadline,
    min_backoff: q.minBackoff,
    max_backoff: q.maxBackoff,
    retry_on_http_429: q.retryOnRateLimit,
  };
}

/**
 * Size limit of the WAL's emptyDir per profile. The WAL is a buffer, not a store: the zone
 * receiver's replicated TSDB is the store. Its size is bounded by the agent itself: every
 * truncation (2h by default) drops samples older than `storage.agent.retention.max-time`
 * (default 4h) even when they were never sent (prometheus v3.14.0 tsdb/agent/db.go,
 * DefaultMaxWALTime and the truncation loop), so it holds at most about six hours of samples,
 * which at an edge's rate of a few hundred to a few thousand samples/s stays well inside these
 * limits. A receiver outage longer than that loses the oldest samples, by upstream design. Past
 * the limit the kubelet evicts the pod rather than fill the edge node's disk.
 */
const WAL_SIZE: Record<Profile, string> = { small: "2Gi", medium: "4Gi", large: "8Gi" };

/** The zone receiver an edge writes to (from the spoke's contract `receiver`). */
export interface EdgeReceiver {
  /** `https://<name>:<port>/api/v1/receive`; plain HTTP and credentials in the URL are refused. */
  url: string;
  /** The name in the receiver's server certificate. */
  serverName: string;
}

/** Everything the edge's kube-prometheus-stack release depends on. */
export interface EdgeKubePrometheusStackParams {
  profile: Profile;
  /** The edge's name (its stack): the `edge` external label. */
  edge: string;
  /** The fleet's identity labels (components/labels.ts externalLabels). */
  labels: IdentityLabels;
  receiver: EdgeReceiver;
  /**
   * Secret with the edge's client certificate and key (`tls.crt`, `tls.key`, issued by the edge's
   * own CA) and the receiver's CA (`ca.crt`): the receiver takes the tenant from the certificate.
   */
  clientTlsSecret: string;
  /** Scrape kube-proxy (see `kubeProxyScraped` in kube-prometheus-stack.ts). */
  kubeProxy: boolean;
  /** WAL size limit; defaults by profile. */
  walSizeLimit?: string;
}

/** `https:` without credentials, or throw. */
function requireHttps(what: string, url: string): URL {
  if (!URL.canParse(url)) throw new Error(`${what}: not a URL: ${url}`);
  const u = new URL(url);
  if (u.protocol !== "https:") throw new Error(`${what} must be https:// (mTLS), got ${url}`);
  if (u.username !== "" || u.password !== "") throw new Error(`${what}: credentials do not belong in the URL`);
  return u;
}

function res(profile: Profile, container: ContainerName): HelmValues {
  const r = containerResources(profile, container);
  return { requests: { ...r.requests }, limits: { ...r.limits } };
}

/** The labels every series of the edge carries: the fleet's identity labels and `edge`. */
export function edgeExternalLabels(p: Pick<EdgeKubePrometheusStackParams, "edge" | "labels">): Record<string, string> {
  return { ...p.labels, edge: p.edge };
}

/**
 * The remote-write entry of the agent: one queue to the zone receiver, TLS from the edge's
 * Secret (the operator mounts Secret-referenced TLS material itself, promcfg.go addTLStoYaml),
 * no tenant header (the receiver derives the tenant from the client certificate).
 */
function remoteWrite(p: EdgeKubePrometheusStackParams): Json {
  const url = requireHttps("the zone receiver URL", p.receiver.url);
  if (p.receiver.serverName === "") throw new Error("the zone receiver's server name is empty");
  const ref = (key: string): Json => ({ name: p.clientTlsSecret, key });
  return {
    url: url.toString(),
    name: EDGE_REMOTE_WRITE_NAME,
    tlsConfig: {
      ca: { secret: ref(EDGE_TLS_KEYS.ca) },
      cert: { secret: ref(EDGE_TLS_KEYS.cert) },
      keySecret: ref(EDGE_TLS_KEYS.key),
      serverName: p.receiver.serverName,
    },
    queueConfig: { ...QUEUE[p.profile] },
  };
}

/**
 * The edge's kube-prometheus-stack values. `prometheus.agentMode: true` makes the chart render a
 * `monitoring.coreos.com/v1alpha1` `PrometheusAgent` instead of a `Prometheus`
 * (templates/prometheus/prometheus.yaml of 88.5.3, lines 2-8), and drops every server-only field
 * from it (alerting, rules, retention, thanos, remoteRead, query). On top of that:
 * - no Alertmanager, no Grafana, no default rules (the agent evaluates none; a PrometheusRule on
 *   an edge would only mislead), no Thanos sidecar or its Service;
 * - the admission webhooks off: they validate PrometheusRules and AlertmanagerConfigs, which an
 *   edge has none of, and their certificate Jobs are pods an edge need not run. The operator's
 *   own TLS must go with them: its Deployment mounts the Secret `<fullname>-admission` the
 *   webhook Job creates (templates/prometheus-operator/deployment.yaml, `tls-secret` volume);
 * - node-exporter and kube-state-metrics kept, small: an edge must still be observed;
 * - the WAL on an emptyDir with a size limit, not a PVC: an edge has no guaranteed storage class,
 *   a claim would pin the agent to one node or zone, and the WAL only buffers what the receiver
 *   has not yet acknowledged. An emptyDir survives container restarts (the usual failure, OOM or
 *   crash); a pod rescheduled elsewhere loses at most the unsent backlog;
 * - one replica, no `prometheus`/`prometheus_replica` external labels: there is no HA pair to
 *   deduplicate, and the edge's identity is `edge` plus the fleet's labels.
 */
export function edgeKubePrometheusStackValues(p: EdgeKubePrometheusStackParams): HelmValues {
  const reloader = containerResources(p.profile, "edge-config-reloader");
  return {
    fullnameOverride: RELEASES.prometheus,
    defaultRules: { create: false },
    alertmanager: { enabled: false },
    grafana: { enabled: false },
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeEtcd: { enabled: false },
    kubeProxy: { enabled: p.kubeProxy },
    prometheusOperator: {
      resources: res(p.profile, "edge-operator"),
      // Passed to the operator as --config-reloader-{cpu,memory}-{request,limit}
      // (templates/prometheus-operator/deployment.yaml); the operator applies them to both the
      // init-config-reloader and the config-reloader of the agent's pod.
      prometheusConfigReloader: { resources: { requests: { ...reloader.requests }, limits: { ...reloader.limits } } },
      admissionWebhooks: { enabled: false },
      tls: { enabled: false },
    },
    "kube-state-metrics": { resources: res(p.profile, "edge-kube-state-metrics") },
    "prometheus-node-exporter": { resources: res(p.profile, "edge-node-exporter") },
    prometheus: {
      enabled: true,
      agentMode: true,
      thanosService: { enabled: false },
      thanosServiceMonitor: { enabled: false },
      prometheusSpec: {
        replicas: 1,
        shards: 1,
        externalLabels: edgeExternalLabels(p),
        prometheusExternalLabelNameClear: true,
        replicaExternalLabelNameClear: true,
        resources: res(p.profile, "edge-prometheus-agent"),
        storageSpec: { emptyDir: { sizeLimit: p.walSizeLimit ?? WAL_SIZE[p.profile] } },
        remoteWrite: [remoteWrite(p)],
        // Monitors of the other releases on the edge (Alloy) are scraped too.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
      },
    },
  };
}

/** Keys of the edge's Loki Secret: the edge's basic-auth password. */
export const EDGE_LOKI_PASSWORD_KEY = "password";

/** Where the edge's Alloy finds its Loki credentials and TLS material. */
export const EDGE_ALLOY_PATHS = { tls: "/etc/alloy/edge-tls", auth: "/etc/alloy/loki-auth" } as const;

/** The zone spoke's Loki gateway (from the spoke's contract `loki`). */
export interface EdgeLoki {
  /** The gateway's base URL, `https://<name>[:port]`; the push path is appended. */
  url: string;
  serverName: string;
  /** The edge's own basic-auth user at the spoke's gateway. */
  username: string;
}

/** Everything the edge's Alloy release depends on. */
export interface EdgeAlloyParams {
  profile: Profile;
  edge: string;
  labels: Pick<IdentityLabels, "cluster" | "environment" | "region">;
  loki: EdgeLoki;
  /** Secret with the spoke's CA (`ca.crt`) and the edge's client certificate (`tls.crt`, `tls.key`). */
  clientTlsSecret: string;
  /** Secret holding the edge's basic-auth password under {@link EDGE_LOKI_PASSWORD_KEY}. */
  lokiPasswordSecret: string;
}

/** `https://<spoke loki>/loki/api/v1/push` for a gateway base URL. */
export function edgeLokiPushUrl(base: string): string {
  const u = requireHttps("the spoke's Loki URL", base);
  if (u.search !== "" || u.hash !== "") throw new Error(`the spoke's Loki URL carries a query or fragment: ${base}`);
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}/loki/api/v1/push`;
}

/** A River string literal (River strings follow Go's escaping, which JSON's is a subset of). */
const str = (v: string): string => JSON.stringify(v);

/**
 * The edge's Alloy configuration: the discovery and relabelling of the spoke's Alloy
 * (components/workloads/values/alloy.ts, same stream labels) plus `edge`, written to the spoke's
 * Loki gateway over TLS with the edge's basic-auth user. The password is read from a mounted
 * Secret file (`password_file`), the TLS material from files; none is in the configuration.
 * Block and attribute names of Alloy v1.18.1: loki.write `endpoint` (internal/component/loki/
 * write/types.go: url, the squashed HTTP client config), `basic_auth` (username, password_file)
 * and `tls_config` (ca_file, cert_file, key_file, server_name, min_version) of
 * internal/component/common/config/types.go. Retries keep Alloy's defaults (the same file's
 * GetDefaultEndpointOptions: backoff 0.5s..5m, 10 retries, about 8.5 minutes before a batch is
 * given up, and retry on 429).
 */
export function edgeAlloyConfig(p: Omit<EdgeAlloyParams, "profile" | "clientTlsSecret" | "lokiPasswordSecret">): string {
  const push = edgeLokiPushUrl(p.loki.url);
  if (p.loki.serverName === "" || p.loki.username === "") throw new Error("the spoke's Loki server name and the edge's user must be set");
  const { tls, auth } = EDGE_ALLOY_PATHS;
  const labels = [["cluster", p.labels.cluster], ["environment", p.labels.environment], ["region", p.labels.region], ["edge", p.edge]] as const;
  return `${alloyPodLogsPipeline({ comment: "Rendered by sovereign-observability: logs of this edge node, to the zone spoke's Loki only.", labels, writer: "spoke" })}
loki.write "spoke" {
  endpoint {
    url = ${str(push)}

    basic_auth {
      username      = ${str(p.loki.username)}
      password_file = ${str(`${auth}/${EDGE_LOKI_PASSWORD_KEY}`)}
    }

    tls_config {
      ca_file     = ${str(`${tls}/${EDGE_TLS_KEYS.ca}`)}
      cert_file   = ${str(`${tls}/${EDGE_TLS_KEYS.cert}`)}
      key_file    = ${str(`${tls}/${EDGE_TLS_KEYS.key}`)}
      server_name = ${str(p.loki.serverName)}
      min_version = "TLS13"
    }
  }
}
`;
}

/** Labels every edge log stream carries. */
export const EDGE_ALLOY_STREAM_LABELS = [...ALLOY_STREAM_LABELS, "edge"] as const;

/**
 * The edge's Alloy values: a DaemonSet tailing /var/log read-only, usage reporting off, the
 * pipeline of {@link edgeAlloyConfig}, the TLS and password Secrets mounted read-only
 * (`alloy.mounts.extra`, `controller.volumes.extra` of the alloy chart 1.11.1 values.yaml).
 */
export function edgeAlloyValues(p: EdgeAlloyParams): HelmValues {
  const alloy = containerResources(p.profile, "edge-alloy");
  const reloader = containerResources(p.profile, "edge-config-reloader");
  return {
    controller: {
      type: "daemonset",
      volumes: {
        extra: [
          { name: "edge-tls", secret: { secretName: p.clientTlsSecret, defaultMode: 0o440 } },
          { name: "loki-auth", secret: { secretName: p.lokiPasswordSecret, defaultMode: 0o440, items: [{ key: EDGE_LOKI_PASSWORD_KEY, path: EDGE_LOKI_PASSWORD_KEY }] } },
        ],
      },
    },
    alloy: {
      configMap: { create: true, content: edgeAlloyConfig(p) },
      mounts: {
        varlog: true,
        dockercontainers: false,
        extra: [
          { name: "edge-tls", mountPath: EDGE_ALLOY_PATHS.tls, readOnly: true },
          { name: "loki-auth", mountPath: EDGE_ALLOY_PATHS.auth, readOnly: true },
        ],
      },
      enableReporting: false,
      resources: { requests: { ...alloy.requests }, limits: { ...alloy.limits } },
    },
    configReloader: { resources: { requests: { ...reloader.requests }, limits: { ...reloader.limits } } },
    service: { enabled: true },
    serviceMonitor: { enabled: true, additionalLabels: { ...PROMETHEUS_MONITOR_LABELS } },
  };
}

/** A rendered Kubernetes object: the fields {@link edgeFootprint} reads. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Requests of one container of one pod template, and how many such pods run. */
export interface ContainerRequests {
  /** `<Kind>/<name>` of the object the pod comes from (a PrometheusAgent for the operator's pods). */
  owner: string;
  container: string;
  init: boolean;
  /** Pods of this template: replicas (x shards), 1 per node for a DaemonSet, 1 for a CronJob (one run at a time). */
  pods: number;
  perNode: boolean;
  cpuMillicores: number;
  memoryMiB: number;
  /** `manifest`: read from the rendered pod template; `operator`: what Prometheus Operator v0.93 puts in the pod it creates. */
  source: "manifest" | "operator";
}

/** The requests of an edge's rendered manifests. */
export interface EdgeFootprint {
  containers: ContainerRequests[];
  /** Nodes the DaemonSets run on. */
  nodes: number;
  /** Every container counted, init containers included, DaemonSet pods once per node. */
  memoryMiB: number;
  cpuMillicores: number;
  /**
   * What the scheduler reserves: per pod the larger of its containers' sum and its largest init
   * container (init containers run one after another, before the others; Kubernetes
   * "Init Containers", resource sharing within containers). Never more than {@link memoryMiB}.
   */
  scheduledMemoryMiB: number;
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };

/** A Kubernetes memory quantity (`16Mi`, `1Gi`, `128M`, `0`) in MiB. */
export function memoryMiB(q: string | number): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$/.exec(String(q).trim());
  if (m === null) throw new Error(`not a memory quantity: ${q}`);
  const unit = m[2] ?? "";
  return (Number(m[1]) * (BINARY[unit] ?? DECIMAL[unit])) / 2 ** 20;
}

/** A Kubernetes CPU quantity (`100m`, `0.5`, `2`) in millicores. */
export function cpuMillicores(q: string | number): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m)?$/.exec(String(q).trim());
  if (m === null) throw new Error(`not a CPU quantity: ${q}`);
  return m[2] === "m" ? Number(m[1]) : Number(m[1]) * 1000;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const at = (v: unknown, path: string): unknown => path.split(".").reduce<unknown>((x, k) => (isRecord(x) ? x[k] : undefined), v);

function requestsOf(c: Record<string, unknown>): { cpu: number; memory: number } {
  const cpu = at(c, "resources.requests.cpu");
  const memory = at(c, "resources.requests.memory");
  return {
    cpu: typeof cpu === "string" || typeof cpu === "number" ? cpuMillicores(cpu) : 0,
    memory: typeof memory === "string" || typeof memory === "number" ? memoryMiB(memory) : 0,
  };
}

/**
 * Requests of the operator's config reloaders, as the operator Deployment's flags set them.
 * The chart passes `--config-reloader-{cpu,memory}-request` from
 * `prometheusOperator.prometheusConfigReloader.resources` (`0` when unset; templates/
 * prometheus-operator/deployment.yaml of 88.5.3); `0` means no request (prometheus-operator
 * v0.93.0 pkg/operator/config.go ContainerConfig.ResourceRequirements); without the flag the
 * operator's defaults apply, 10m and 50Mi (cmd/operator/main.go defaultReloaderCPU/Memory).
 */
function operatorReloaderRequests(objects: readonly RenderedObject[]): { cpu: number; memory: number } {
  const operators = objects
    .filter((o) => o.kind === "Deployment")
    .flatMap((o) => (at(o, "spec.template.spec.containers") as unknown[] | undefined) ?? [])
    .filter(isRecord)
    .filter((c) => Array.isArray(c.args) && c.args.some((a) => typeof a === "string" && a.startsWith("--prometheus-config-reloader=")));
  if (operators.length !== 1) throw new Error(`expected one Prometheus Operator among the manifests, found ${operators.length}`);
  const args = (operators[0].args as unknown[]).filter((a): a is string => typeof a === "string");
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return { cpu: cpuMillicores(flag("config-reloader-cpu-request") ?? "10m"), memory: memoryMiB(flag("config-reloader-memory-request") ?? "50Mi") };
}

/** Kinds whose pods the operator creates, beyond the agent: an edge must have none of them. */
const UNCOUNTED_OPERATOR_KINDS = new Set(["Prometheus", "Alertmanager", "ThanosRuler"]);

/**
 * The pods the operator creates for a PrometheusAgent in StatefulSet mode (prometheus-operator
 * v0.93.0 pkg/prometheus/agent/statefulset.go makeStatefulSetSpec): `replicas` x `shards` pods,
 * each with the init container `init-config-reloader`, and the containers `prometheus`
 * (resources from `spec.resources`) and `config-reloader` (pkg/prometheus/common.go
 * BuildConfigReloader, resources from the operator's flags); `spec.containers` and
 * `spec.initContainers` are merged in as strategic-merge patches by name (k8s.MergePatchContainers),
 * so a same-named entry replaces those requests and any other name adds a container.
 */
function agentContainers(agent: RenderedObject, reloader: { cpu: number; memory: number }): ContainerRequests[] {
  const spec = isRecord(agent.spec) ? agent.spec : {};
  const mode = typeof spec.mode === "string" ? spec.mode : "StatefulSet";
  const perNode = mode === "DaemonSet";
  const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
  const shards = typeof spec.shards === "number" ? spec.shards : 1;
  const pods = perNode ? 1 : replicas * shards;
  const owner = `${agent.kind}/${agent.metadata.name}`;
  const own = (container: string, init: boolean, r: { cpu: number; memory: number }): ContainerRequests => ({ owner, container, init, pods, perNode, cpuMillicores: r.cpu, memoryMiB: r.memory, source: "operator" });
  const base = [own("init-config-reloader", true, reloader), own("prometheus", false, requestsOf(spec)), own("config-reloader", false, reloader)];
  const patches = [...(((spec.initContainers as unknown[] | undefined) ?? []).filter(isRecord).map((c) => ({ c, init: true }))), ...(((spec.containers as unknown[] | undefined) ?? []).filter(isRecord).map((c) => ({ c, init: false })))];
  for (const { c, init } of patches) {
    const name = String(c.name);
    const i = base.findIndex((b) => b.container === name && b.init === init);
    const r = requestsOf(c);
    if (i < 0) base.push({ ...own(name, init, r), source: "manifest" });
    else if (at(c, "resources.requests") !== undefined) base[i] = { ...base[i], cpuMillicores: r.cpu, memoryMiB: r.memory, source: "manifest" };
  }
  return base;
}

/**
 * The requests of an edge's manifests (its Helm releases rendered, plus its typed objects such
 * as the heartbeat CronJob): every container of every pod template, init containers included,
 * and the pods the operator creates for the PrometheusAgent. DaemonSet pods count once per node.
 * Throws on operator-managed kinds it cannot size (Prometheus, Alertmanager, ThanosRuler) rather
 * than leave them out.
 */
export function edgeFootprint(objects: readonly RenderedObject[], opts: { nodes?: number } = {}): EdgeFootprint {
  const nodes = opts.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`nodes must be a positive integer, got ${nodes}`);
  const containers: ContainerRequests[] = [];
  let reloader: { cpu: number; memory: number } | undefined;
  for (const o of objects) {
    if (UNCOUNTED_OPERATOR_KINDS.has(o.kind) && o.apiVersion.startsWith("monitoring.coreos.com/")) throw new Error(`${o.kind}/${o.metadata.name}: an edge runs no ${o.kind}`);
    if (o.kind === "PrometheusAgent" && o.apiVersion.startsWith("monitoring.coreos.com/")) {
      reloader ??= operatorReloaderRequests(objects);
      containers.push(...agentContainers(o, reloader));
      continue;
    }
    const template = o.kind === "CronJob" ? at(o, "spec.jobTemplate.spec.template.spec") : o.kind === "Pod" ? o.spec : at(o, "spec.template.spec");
    if (!["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"].includes(o.kind) || !isRecord(template)) continue;
    const perNode = o.kind === "DaemonSet";
    const replicas = at(o, "spec.replicas");
    const pods = perNode || o.kind === "CronJob" || o.kind === "Job" || o.kind === "Pod" ? 1 : typeof replicas === "number" ? replicas : 1;
    const owner = `${o.kind}/${o.metadata.name}`;
    for (const [key, init] of [["initContainers", true], ["containers", false]] as const) {
      for (const c of ((template[key] as unknown[] | undefined) ?? []).filter(isRecord)) {
        const r = requestsOf(c);
        containers.push({ owner, container: String(c.name), init, pods, perNode, cpuMillicores: r.cpu, memoryMiB: r.memory, source: "manifest" });
      }
    }
  }
  const times = (c: ContainerRequests): number => c.pods * (c.perNode ? nodes : 1);
  const memory = containers.reduce((s, c) => s + c.memoryMiB * times(c), 0);
  const cpu = containers.reduce((s, c) => s + c.cpuMillicores * times(c), 0);
  const byOwner = new Map<string, ContainerRequests[]>();
  for (const c of containers) byOwner.set(c.owner, [...(byOwner.get(c.owner) ?? []), c]);
  let scheduled = 0;
  for (const cs of byOwner.values()) {
    const app = cs.filter((c) => !c.init).reduce((s, c) => s + c.memoryMiB, 0);
    const init = Math.max(0, ...cs.filter((c) => c.init).map((c) => c.memoryMiB));
    scheduled += Math.max(app, init) * times(cs[0]);
  }
  return { containers, nodes, memoryMiB: memory, cpuMillicores: cpu, scheduledMemoryMiB: scheduled };
}
