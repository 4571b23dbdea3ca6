/**
 * What prometheus-operator v0.93 renders from the kube-prometheus-stack `Prometheus` and
 * `Alertmanager` custom resources, for the harness to run without a Kubernetes API. Each rule
 * cites the operator source it follows (github.com/prometheus-operator/prometheus-operator,
 * tag v0.93.0): pkg/prometheus/server/statefulset.go (Prometheus and Thanos sidecar args,
 * compaction mode), pkg/prometheus/promcfg.go (external labels, replica label, alerting
 * relabeling, retention in the config file), pkg/alertmanager/statefulset.go (Alertmanager args
 * and mesh peers). Inputs are the helm-rendered CRs of the plan's release values; nothing is
 * taken from elsewhere.
 */
import { stringify, parse } from "yaml";
import { isObj, type Obj } from "./plan";
import type { PodContainer, VolumeSource } from "./pods";

const str = (v: unknown, d = ""): string => (typeof v === "string" ? v : d);

/** Parsed Thanos/Prometheus/Alertmanager versions like `v0.42.4` or `v3.14.0-distroless`. */
function semver(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (m === null) throw new Error(`not a version: ${v}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
const gte = (a: [number, number, number], b: [number, number, number]): boolean => a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] >= b[2];

export interface ScrapeTarget {
  job: string;
  address: string;
  labels: Record<string, string>;
  /** The job's `scrape_interval` (a ServiceMonitor endpoint's `interval`); the global one when unset. */
  interval?: string;
}

export interface OperatorPod {
  name: string;
  labels: Record<string, string>;
  subdomain: string;
  containers: PodContainer[];
  volumes: Map<string, VolumeSource>;
}

/** Storage directory of Prometheus (pkg/prometheus/common.go StorageDir). */
export const PROMETHEUS_STORAGE_DIR = "/prometheus";

/**
 * The Prometheus StatefulSet pods of a `Prometheus` CR named `crName` (kps: `kps-prometheus`),
 * with the operator's generated config, rule files and Thanos sidecar.
 */
export function prometheusPods(opts: {
  crName: string;
  namespace: string;
  spec: Obj;
  /** The CR's additionalAlertManagerConfigs Secret content (kps `kps-prometheus-am-confg`). */
  additionalAlertmanagers: unknown[];
  /** Rule files by file name (each a `groups:` document). */
  ruleFiles: Record<string, string>;
  /** Secrets named in `spec.secrets`, by name. */
  secrets: Record<string, Record<string, string>>;
  /** Secret volumes of `spec.volumes`, by volume name. */
  specVolumes: Map<string, VolumeSource>;
  /** OBJSTORE_CONFIG value (the objectStorageConfig secret key). */
  objstoreConfig: string;
  scrape: (pod: string) => ScrapeTarget[];
  /** Alertmanagers of `spec.alerting.alertmanagers`, resolved to addresses (kubernetes_sd in the operator). */
  alertmanagerTargets: string[];
}): OperatorPod[] {
  const s = opts.spec;
  const promVersion = semver(str(s.version, "v3.14.0"));
  const thanos = isObj(s.thanos) ? s.thanos : undefined;
  const thanosVersion = semver(str(thanos?.version, "v0.42.4"));
  // compactionModeFor: delayed compaction when Prometheus >= v3.9.0 and Thanos >= v0.41.0 upload blocks.
  const uploads = thanos !== undefined && (thanos.objectStorageConfig !== undefined || thanos.objectStorageConfigFile !== undefined);
  const delayed = uploads && s.disableCompaction !== true && gte(promVersion, [3, 9, 0]) && gte(thanosVersion, [0, 41, 0]);
  const replicas = typeof s.replicas === "number" ? s.replicas : 1;
  // promcfg.go: replica external label defaults to prometheus_replica, value $(POD_NAME).
  const replicaLabel = str(s.replicaExternalLabelName, "prometheus_replica");
  const pods: OperatorPod[] = [];
  for (let i = 0; i < replicas; i++) {
    const name = `prometheus-${opts.crName}-${i}`;
    const config: Obj = {
      global: {
        // promcfg.go defaults: scrape and evaluation interval 30s.
        scrape_interval: str(s.scrapeInterval, "30s"),
        evaluation_interval: str(s.evaluationInterval, "30s"),
        external_labels: { ...(isObj(s.externalLabels) ? s.externalLabels : {}), ...(replicaLabel !== "" ? { [replicaLabel]: name } : {}) },
      },
      // appendStorageSettingsConfig: Prometheus >= v3.11 takes retention in the config file.
      ...(gte(promVersion, [3, 11, 0]) && typeof s.retention === "string" ? { storage: { tsdb: { retention: { time: s.retention } } } } : {}),
      rule_files: [`/etc/prometheus/rules/prometheus-${opts.crName}-rulefiles-0/*.yaml`],
      scrape_configs: groupScrapes(opts.scrape(name)),
      alerting: {
        // appendAlertingConfig: the replica label is dropped from alerts so HA pairs send one alert.
        alert_relabel_configs: replicaLabel !== "" ? [{ action: "labeldrop", regex: replicaLabel.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") }] : [],
        alertmanagers: [
          ...(opts.alertmanagerTargets.length > 0 ? [{ api_version: "v2", path_prefix: "/", scheme: "http", static_configs: [{ targets: opts.alertmanagerTargets }] }] : []),
          ...opts.additionalAlertmanagers,
        ],
      },
    };
    const promArgs = [
      `--config.file=/etc/prometheus/config_out/prometheus.env.yaml`,
      "--web.enable-lifecycle",
      ...(typeof s.externalUrl === "string" ? [`--web.external-url=${s.externalUrl}`] : []),
      `--web.route-prefix=${str(s.routePrefix, "/")}`,
      `--storage.tsdb.path=${PROMETHEUS_STORAGE_DIR}`,
      // The operator leaves the listen address at Prometheus' default :9090.
      "--web.listen-address=:9090",
      ...(delayed ? [`--storage.tsdb.delay-compact-file.path=${PROMETHEUS_STORAGE_DIR}/thanos.shipper.json`] : []),
      ...(uploads && !delayed ? ["--storage.tsdb.max-block-duration=2h", "--storage.tsdb.min-block-duration=2h"] : []),
      ...(s.walCompression === false ? ["--no-storage.tsdb.wal-compression"] : []),
      ...(typeof s.logLevel === "string" ? [`--log.level=${s.logLevel}`] : []),
      ...(typeof s.logFormat === "string" ? [`--log.format=${s.logFormat}`] : []),
    ];
    const volumes = new Map<string, VolumeSource>([
      ["config-out", { kind: "files", files: { "prometheus.env.yaml": stringify(config, { lineWidth: 0 }) } }],
      [`prometheus-${opts.crName}-rulefiles-0`, { kind: "files", files: opts.ruleFiles }],
      [`prometheus-${opts.crName}-db`, { kind: "persistent" }],
      ["thanos-prometheus-http-client-file", { kind: "files", files: { "prometheus.http-client-file.yaml": stringify({ tls_config: { insecure_skip_verify: true } }) } }],
      ...[...opts.specVolumes.entries()],
    ]);
    const promMounts = [
      { name: "config-out", mountPath: "/etc/prometheus/config_out" },
      { name: `prometheus-${opts.crName}-rulefiles-0`, mountPath: `/etc/prometheus/rules/prometheus-${opts.crName}-rulefiles-0` },
      { name: `prometheus-${opts.crName}-db`, mountPath: PROMETHEUS_STORAGE_DIR },
    ];
    for (const [secretName, files] of Object.entries(opts.secrets)) {
      // BuildCommonVolumes: each spec.secrets entry at /etc/prometheus/secrets/<name>.
      volumes.set(`secret-${secretName}`, { kind: "files", files });
      promMounts.push({ name: `secret-${secretName}`, mountPath: `/etc/prometheus/secrets/${secretName}` });
    }
    const containers: PodContainer[] = [
      { name: "prometheus", bin: "prometheus", args: promArgs, env: [], volumeMounts: promMounts, ports: [{ name: "web", containerPort: 9090 }] },
    ];
    if (thanos !== undefined) {
      const tls = isObj(thanos.grpcServerTlsConfig) ? thanos.grpcServerTlsConfig : undefined;
      const args = [
        // createThanosContainer: prometheus.url on the pod's localhost, gRPC :10901, HTTP :10902.
        `--prometheus.url=http://localhost:9090${str(s.routePrefix, "/") === "/" ? "" : str(s.routePrefix)}`,
        "--grpc-address=:10901",
        "--http-address=:10902",
        ...(tls !== undefined && typeof tls.certFile === "string" ? [`--grpc-server-tls-cert=${tls.certFile}`] : []),
        ...(tls !== undefined && typeof tls.keyFile === "string" ? [`--grpc-server-tls-key=${tls.keyFile}`] : []),
        ...(tls !== undefined && typeof tls.caFile === "string" ? [`--grpc-server-tls-client-ca=${tls.caFile}`] : []),
        ...(tls !== undefined && typeof tls.minVersion === "string" ? [`--grpc-server-tls-min-version=${tls.minVersion.replace(/^VersionTLS1(\d)$/, "1.$1")}`] : []),
        ...(uploads ? ["--objstore.config=$(OBJSTORE_CONFIG)", `--tsdb.path=${PROMETHEUS_STORAGE_DIR}`] : []),
        ...(delayed ? ["--shipper.meta-file-name=thanos.shipper.json", "--shipper.ignore-unequal-block-size"] : []),
        `--log.level=${str(thanos.logLevel, str(s.logLevel, "info"))}`,
        `--log.format=${str(thanos.logFormat, str(s.logFormat, "logfmt"))}`,
        "--prometheus.http-client-file=/etc/thanos/config/prometheus.http-client-file.yaml",
      ];
      const mounts = [
        ...(Array.isArray(thanos.volumeMounts) ? (thanos.volumeMounts as { name: string; mountPath: string }[]).map((m) => ({ name: m.name, mountPath: m.mountPath })) : []),
        { name: `prometheus-${opts.crName}-db`, mountPath: PROMETHEUS_STORAGE_DIR },
        { name: "thanos-prometheus-http-client-file", mountPath: "/etc/thanos/config" },
      ];
      containers.push({
        name: "thanos-sidecar",
        bin: "thanos",
        args: ["sidecar", ...args],
        env: [{ name: "OBJSTORE_CONFIG", value: opts.objstoreConfig }],
        volumeMounts: mounts,
        ports: [{ name: "http", containerPort: 10902 }, { name: "grpc", containerPort: 10901 }],
      });
    }
    pods.push({
      name,
      // makeSelectorLabels + BuildPodMetadata.
      labels: { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": opts.crName, "app.kubernetes.io/managed-by": "prometheus-operator", "operator.prometheus.io/name": opts.crName, "operator.prometheus.io/shard": "0", prometheus: opts.crName },
      subdomain: "prometheus-operated",
      containers,
      volumes,
    });
  }
  return pods;
}

function groupScrapes(targets: ScrapeTarget[]): Obj[] {
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const t of targets) jobs.set(t.job, [...(jobs.get(t.job) ?? []), t]);
  return [...jobs.entries()].map(([job, ts]) => ({ job_name: job, ...(ts[0].interval !== undefined ? { scrape_interval: ts[0].interval } : {}), static_configs: ts.map((t) => ({ targets: [t.address], labels: t.labels })) }));
}

/**
 * The Alertmanager StatefulSet pods of an `Alertmanager` CR (kps: `kps-alertmanager`), mesh
 * peers by the operator's governing Service `alertmanager-operated`, plus the CR's extra
 * `containers` (the hub's ghostunnel sidecar) and `volumes`.
 */
export function alertmanagerPods(opts: { crName: string; namespace: string; spec: Obj; configYaml: string; extraVolumes: Map<string, VolumeSource> }): OperatorPod[] {
  const s = opts.spec;
  const version = semver(str(s.version, "v0.34.0"));
  const replicas = typeof s.replicas === "number" ? s.replicas : 1;
  const storage = isObj(s.storage) && isObj(s.storage.emptyDir) ? s.storage.emptyDir : undefined;
  const pods: OperatorPod[] = [];
  for (let i = 0; i < replicas; i++) {
    const name = `alertmanager-${opts.crName}-${i}`;
    const args = [
      "--config.file=/etc/alertmanager/config_out/alertmanager.env.yaml",
      "--storage.path=/alertmanager",
      `--data.retention=${str(s.retention, "120h")}`,
      // A single replica without forceEnableClusterMode runs without a mesh.
      replicas === 1 && s.forceEnableClusterMode !== true ? "--cluster.listen-address=" : "--cluster.listen-address=[$(POD_IP)]:9094",
      s.listenLocal === true ? "--web.listen-address=127.0.0.1:9093" : "--web.listen-address=:9093",
      ...(typeof s.externalUrl === "string" ? [`--web.external-url=${s.externalUrl}`] : []),
      `--web.route-prefix=${str(s.routePrefix, "/")}`,
      ...(typeof s.logLevel === "string" ? [`--log.level=${s.logLevel}`] : []),
      ...(typeof s.logFormat === "string" ? [`--log.format=${s.logFormat}`] : []),
      ...(gte(version, [0, 30, 0]) ? ["--cluster.peer-name=$(POD_NAME)"] : []),
      ...(gte(version, [0, 26, 0]) ? [`--cluster.label=${str(s.clusterLabel, `${opts.namespace}/${opts.crName}`)}`] : []),
      // Without a configured cluster domain the peers rely on the pod's DNS search path.
      ...(replicas > 1 || s.forceEnableClusterMode === true ? Array.from({ length: replicas }, (_x, j) => `--cluster.peer=alertmanager-${opts.crName}-${j}.alertmanager-operated:9094`) : []),
      "--cluster.reconnect-timeout=5m",
    ];
    const volumes = new Map<string, VolumeSource>([
      ["config-out", { kind: "files", files: { "alertmanager.env.yaml": opts.configYaml } }],
      [`alertmanager-${opts.crName}-db`, storage !== undefined ? { kind: "emptyDir", memory: storage.medium === "Memory", size: str(storage.sizeLimit) || undefined } : { kind: "emptyDir", memory: false }],
      ...[...opts.extraVolumes.entries()],
    ]);
    const containers: PodContainer[] = [
      {
        name: "alertmanager",
        bin: "alertmanager",
        args,
        env: [
          { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        ],
        volumeMounts: [
          { name: "config-out", mountPath: "/etc/alertmanager/config_out" },
          { name: `alertmanager-${opts.crName}-db`, mountPath: "/alertmanager" },
        ],
        ports: [{ name: "http-web", containerPort: 9093 }, { name: "mesh-tcp", containerPort: 9094 }],
      },
    ];
    for (const c of Array.isArray(s.containers) ? (s.containers as Obj[]) : []) {
      const image = str(c.image);
      if (!image.startsWith("ghostunnel/")) throw new Error(`Alertmanager ${opts.crName}: extra container ${str(c.name)} (${image}) has no loopback stand-in`);
      containers.push({
        name: str(c.name),
        bin: "ghostunnel",
        args: Array.isArray(c.args) ? c.args.map(String) : [],
        env: [],
        volumeMounts: Array.isArray(c.volumeMounts) ? (c.volumeMounts as { name: string; mountPath: string }[]).map((m) => ({ name: m.name, mountPath: m.mountPath })) : [],
        ports: Array.isArray(c.ports) ? (c.ports as { name?: string; containerPort: number }[]) : [],
      });
    }
    pods.push({
      name,
      labels: { "app.kubernetes.io/name": "alertmanager", "app.kubernetes.io/instance": opts.crName, "app.kubernetes.io/managed-by": "prometheus-operator", alertmanager: opts.crName },
      subdomain: "alertmanager-operated",
      containers,
      volumes,
    });
  }
  return pods;
}

/** The kps `additionalAlertManagerConfigs` Secret value as a list. */
export function parseAdditionalAlertmanagers(yamlText: string): unknown[] {
  const v = parse(yamlText) as unknown;
  return Array.isArray(v) ? v : [];
}

/**
 * Where the operator mounts the TLS material a CR references by Secret key, and the file name of
 * each asset (prometheus-operator v0.93.0 pkg/prometheus/common.go `tlsAssetsDir`,
 * pkg/assets/tls.go `tlsAssetKey.toString`: `<0 secret|1 configmap>_<namespace>_<name>_<key>`).
 */
export const PROMETHEUS_TLS_ASSETS_DIR = "/etc/prometheus/certs";
const tlsAsset = (namespace: string, secret: string, key: string): string => `0_${namespace}_${secret}_${key}`;

/**
 * The pod of a `PrometheusAgent` CR in StatefulSet mode (kps with `prometheus.agentMode: true`:
 * `kps-prometheus`), as prometheus-operator v0.93.0 renders it:
 * - args: pkg/prometheus/agent/statefulset.go `buildAgentArgs` over
 *   pkg/prometheus/promcfg.go `BuildCommonPrometheusArgs` (config file, lifecycle, external URL,
 *   route prefix, `--agent` for v3, `--storage.agent.path=/prometheus`, WAL compression when set);
 * - config: promcfg.go `GenerateAgentConfiguration`: `global` (scrape interval, the CR's external
 *   labels; the prometheus/replica labels are cleared by the edge values), scrape configs, and
 *   `GenerateRemoteWriteConfig` (url, name, TLS files from the tls-assets volume, queue config);
 * - pod name `prom-agent-<cr>-<i>` (pkg/prometheus/common.go prefix `prom-agent`), governing
 *   Service `prometheus-agent-operated`.
 * The operator's web config file (always empty here) is left out, as for {@link prometheusPods}.
 */
export function prometheusAgentPods(opts: {
  crName: string;
  namespace: string;
  spec: Obj;
  /** Secrets the CR's TLS references name, by name (key -> content). */
  secrets: (name: string) => Record<string, string>;
  scrape: (pod: string) => ScrapeTarget[];
  /** The global scrape interval the harness runs (the CR's, or the CRD default 30s). */
  scrapeInterval?: (planned: string) => string;
}): OperatorPod[] {
  const s = opts.spec;
  const version = semver(str(s.version, "v3.14.0"));
  if (version[0] < 3) throw new Error(`PrometheusAgent ${opts.crName}: Prometheus ${str(s.version)} is not v3 (the harness renders --agent, not --enable-feature=agent)`);
  if (str(s.mode, "StatefulSet") !== "StatefulSet") throw new Error(`PrometheusAgent ${opts.crName}: mode ${str(s.mode)} is not rendered by the harness`);
  const replicas = typeof s.replicas === "number" ? s.replicas : 1;
  const shards = typeof s.shards === "number" ? s.shards : 1;
  if (shards !== 1) throw new Error(`PrometheusAgent ${opts.crName}: ${shards} shards are not rendered by the harness`);
  // buildExternalLabels: `prometheus` and `prometheus_replica` unless their names are cleared ("").
  const promLabel = str(s.prometheusExternalLabelName, "prometheus");
  const replicaLabel = str(s.replicaExternalLabelName, "prometheus_replica");
  const tlsFiles: Record<string, string> = {};
  const secretRef = (v: unknown): string | undefined => {
    const sel = isObj(v) && isObj(v.secret) ? v.secret : isObj(v) && typeof v.name === "string" ? v : undefined;
    if (sel === undefined || typeof sel.name !== "string" || typeof sel.key !== "string") return undefined;
    const content = opts.secrets(sel.name)[sel.key];
    if (content === undefined) throw new Error(`PrometheusAgent ${opts.crName}: Secret ${sel.name} has no key ${sel.key}`);
    const file = tlsAsset(opts.namespace, sel.name, sel.key);
    tlsFiles[file] = content;
    return `${PROMETHEUS_TLS_ASSETS_DIR}/${file}`;
  };
  const remoteWrite = (Array.isArray(s.remoteWrite) ? (s.remoteWrite as Obj[]) : []).map((rw) => {
    const tls = isObj(rw.tlsConfig) ? rw.tlsConfig : undefined;
    const q = isObj(rw.queueConfig) ? rw.queueConfig : undefined;
    const tlsYaml: Obj = {};
    if (tls !== undefined) {
      const ca = secretRef(tls.ca);
      const cert = secretRef(tls.cert);
      const key = secretRef(tls.keySecret);
      if (ca !== undefined) tlsYaml.ca_file = ca;
      if (cert !== undefined) tlsYaml.cert_file = cert;
      if (key !== undefined) tlsYaml.key_file = key;
      if (typeof tls.serverName === "string") tlsYaml.server_name = tls.serverName;
      if (typeof tls.insecureSkipVerify === "boolean") tlsYaml.insecure_skip_verify = tls.insecureSkipVerify;
    }
    // GenerateRemoteWriteConfig: queue keys in this order, only those set (non-zero).
    const queue: Obj = {};
    if (q !== undefined) {
      for (const [from, to] of [["capacity", "capacity"], ["minShards", "min_shards"], ["maxShards", "max_shards"], ["maxSamplesPerSend", "max_samples_per_send"], ["batchSendDeadline", "batch_send_deadline"], ["minBackoff", "min_backoff"], ["maxBackoff", "max_backoff"]] as const) if (q[from] !== undefined && q[from] !== 0) queue[to] = q[from];
      if (q.retryOnRateLimit === true) queue.retry_on_http_429 = true;
      if (q.sampleAgeLimit !== undefined) queue.sample_age_limit = q.sampleAgeLimit;
    }
    return {
      url: str(rw.url),
      ...(typeof rw.remoteTimeout === "string" ? { remote_timeout: rw.remoteTimeout } : {}),
      ...(isObj(rw.headers) ? { headers: rw.headers } : {}),
      ...(typeof rw.name === "string" && rw.name !== "" ? { name: rw.name } : {}),
      ...(Object.keys(tlsYaml).length > 0 ? { tls_config: tlsYaml } : {}),
      ...(q !== undefined ? { queue_config: queue } : {}),
    };
  });
  const pods: OperatorPod[] = [];
  for (let i = 0; i < replicas; i++) {
    const name = `prom-agent-${opts.crName}-${i}`;
    const planned = str(s.scrapeInterval, "30s");
    const config: Obj = {
      global: {
        scrape_interval: opts.scrapeInterval?.(planned) ?? planned,
        ...(typeof s.scrapeTimeout === "string" ? { scrape_timeout: s.scrapeTimeout } : {}),
        external_labels: {
          ...(promLabel !== "" ? { [promLabel]: `${opts.namespace}/${opts.crName}` } : {}),
          ...(replicaLabel !== "" ? { [replicaLabel]: name } : {}),
          ...(isObj(s.externalLabels) ? s.externalLabels : {}),
        },
      },
      scrape_configs: groupScrapes(opts.scrape(name)),
      remote_write: remoteWrite,
    };
    const args = [
      "--config.file=/etc/prometheus/config_out/prometheus.env.yaml",
      ...(str(s.reloadStrategy, "HTTP") === "HTTP" ? ["--web.enable-lifecycle"] : []),
      ...(typeof s.externalUrl === "string" ? [`--web.external-url=${s.externalUrl}`] : []),
      `--web.route-prefix=${str(s.routePrefix, "/")}`,
      ...(str(s.logLevel, "info") !== "info" ? [`--log.level=${str(s.logLevel)}`] : []),
      ...(str(s.logFormat, "logfmt") !== "logfmt" ? [`--log.format=${str(s.logFormat)}`] : []),
      // Prometheus' default listen address (the operator sets one only with listenLocal).
      s.listenLocal === true ? "--web.listen-address=127.0.0.1:9090" : "--web.listen-address=:9090",
      "--agent",
      `--storage.agent.path=${PROMETHEUS_STORAGE_DIR}`,
      ...(typeof s.walCompression === "boolean" ? [s.walCompression ? "--storage.agent.wal-compression" : "--no-storage.agent.wal-compression"] : []),
    ];
    const storage = isObj(s.storage) && isObj(s.storage.emptyDir) ? s.storage.emptyDir : undefined;
    const volumes = new Map<string, VolumeSource>([
      ["config-out", { kind: "files", files: { "prometheus.env.yaml": stringify(config, { lineWidth: 0 }) } }],
      ["tls-assets", { kind: "files", files: tlsFiles }],
      [`prometheus-${opts.crName}-db`, storage !== undefined ? { kind: "emptyDir", memory: storage.medium === "Memory", size: str(storage.sizeLimit) || undefined } : { kind: "persistent" }],
    ]);
    pods.push({
      name,
      // makeSelectorLabels (pkg/prometheus/agent/statefulset.go) + BuildPodMetadata.
      labels: { "app.kubernetes.io/name": "prometheus-agent", "app.kubernetes.io/instance": opts.crName, "app.kubernetes.io/managed-by": "prometheus-operator", "operator.prometheus.io/name": opts.crName, "operator.prometheus.io/shard": "0" },
      subdomain: "prometheus-agent-operated",
      containers: [
        {
          name: "prometheus",
          bin: "prometheus",
          args,
          env: [],
          volumeMounts: [
            { name: "config-out", mountPath: "/etc/prometheus/config_out" },
            { name: "tls-assets", mountPath: PROMETHEUS_TLS_ASSETS_DIR },
            { name: `prometheus-${opts.crName}-db`, mountPath: PROMETHEUS_STORAGE_DIR },
          ],
          ports: [{ name: "http-web", containerPort: 9090 }],
        },
      ],
      volumes,
    });
  }
  return pods;
}
