/**
 * Values of kube-prometheus-stack 88.5.3: the spoke's Prometheus HA pair with its Thanos
 * sidecars and local Alertmanager, and the hub's Alertmanager.
 *
 * No secret ever appears in these values: the Alertmanager configuration, the object-store
 * configuration and every TLS key are references to Secrets the caller creates.
 */
import { prometheusAdditionalAlertmanager, prometheusSecretFiles } from "../../alerting";
import type { Cloud, Profile, Retention } from "../../config";
import { HUB_ALERTMANAGER, RELEASES } from "../../endpoints";
import { PATHS, REPLICA_LABEL } from "../../thanos/args";
import { containerResources, spokeReplicas } from "../resources";
import { type HelmValues, type IdentityLabels, type Json, type SecretKeyRef, toJson, type WorkloadIdentity } from "./types";

/** Key of the Alertmanager configuration inside its Secret (the operator's fixed name). */
export const ALERTMANAGER_CONFIG_KEY = "alertmanager.yaml";

/** Where Secrets listed in `prometheusSpec.secrets` are mounted in the Prometheus container. */
export const PROMETHEUS_SECRETS_DIR = "/etc/prometheus/secrets";

/**
 * Value paths that are subchart namespaces: their own values.yaml (kube-state-metrics,
 * prometheus-node-exporter) is not part of the reference, so keys below them cannot be
 * checked against kube-prometheus-stack's file.
 */
export const KPS_SUBCHART_PATHS = ["kube-state-metrics", "prometheus-node-exporter"] as const;

/**
 * Labels on every ServiceMonitor/PodMonitor/PrometheusRule this project creates for the spoke's
 * Prometheus. The spoke's values set `*SelectorNilUsesHelmValues: false` (select everything);
 * the label also matches the chart's default selector (`release: <release name>`,
 * templates/prometheus/prometheus.yaml of kube-prometheus-stack 88.5.3), so a monitor stays
 * selected should the selectors be narrowed to the chart default.
 */
export const PROMETHEUS_MONITOR_LABELS = { release: RELEASES.prometheus } as const;

/**
 * Whether kube-proxy's metrics are reachable on a managed cluster of each cloud, unless the
 * stack says otherwise (`observability:kubeProxy`). Off everywhere by default:
 * - kube-proxy binds its metrics to `127.0.0.1:10249` unless configured otherwise
 *   (kube-proxy configuration v1alpha1, `metricsBindAddress`,
 *   https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/), so a scrape
 *   from the Prometheus pod is refused even where kube-proxy runs;
 * - aws: EKS's kube-proxy add-on keeps that default (aws/containers-roadmap#657: the
 *   metrics address is changed only by patching the add-on's ConfigMap);
 * - gcp: GKE Dataplane V2 (Cilium) runs no kube-proxy at all, and GKE Autopilot always uses it;
 * - azure: AKS binds the metrics to localhost (Azure/AKS#1395, #3946), and Azure CNI powered
 *   by Cilium runs no kube-proxy;
 * - s3: a cluster the operator runs (kubeadm, CCE, SKE) keeps kube-proxy's default address above.
 * With it off, kube-prometheus-stack renders neither the kube-proxy ServiceMonitor nor the
 * KubeProxyDown rule (templates/prometheus/rules-1.14/kubernetes-system-kube-proxy.yaml is
 * conditional on `.Values.kubeProxy.enabled`), so nothing pages for a component that is absent
 * or unreachable by design.
 */
export const KUBE_PROXY_SCRAPEABLE_BY_DEFAULT: Readonly<Record<Cloud, boolean>> = { aws: false, gcp: false, azure: false, s3: false };

/** Whether a spoke scrapes kube-proxy (and alerts KubeProxyDown): its setting, else its cloud's default. */
export function kubeProxyScraped(p: { cloud: Cloud; kubeProxy?: boolean }): boolean {
  return p.kubeProxy ?? KUBE_PROXY_SCRAPEABLE_BY_DEFAULT[p.cloud];
}

/** The hub Alertmanager a spoke forwards its alerts to (mTLS). */
export interface HubForwarding {
  /** The hub's exported Alertmanager URL (`https://alertmanager.ops-01.obs.example.eu`). */
  url: string;
  /** The name the hub's server certificate carries. */
  serverName: string;
  /** Secret with `tls.crt`/`tls.key` (client certificate from the spoke CA) and `ca.crt` (the hub Alertmanager's CA). */
  clientTlsSecret: string;
}

/** Everything the spoke's kube-prometheus-stack release depends on. */
export interface KubePrometheusStackParams {
  profile: Profile;
  /** External labels: identical on both replicas; only `prometheus_replica` tells them apart. */
  labels: IdentityLabels;
  retention: Pick<Retention, "local">;
  thanos: {
    /** Thanos image tag, e.g. `v0.42.4` (the sidecar runs the same version as the other components). */
    version: string;
    /** The writer objstore YAML (workload identity, no static keys). */
    objstore: SecretKeyRef;
    /**
     * Secret with the sidecar's gRPC server certificate (`tls.crt`, `tls.key`) and `ca.crt`.
     * With `requireClientCert`, only clients whose certificate `ca.crt` signed may connect.
     */
    grpcTls: { secretName: string; requireClientCert: boolean };
  };
  /** The Prometheus pod's ServiceAccount: the sidecar inside it uploads with this identity. */
  sidecarIdentity: WorkloadIdentity;
  /** Secret holding the local Alertmanager's configuration under {@link ALERTMANAGER_CONFIG_KEY}. */
  alertmanagerConfigSecret: string;
  /** Forward alerts to the hub too; omitted when the spoke does not forward or cannot read the hub. */
  hubAlertmanager?: HubForwarding;
  /** Size of each replica's TSDB volume; defaults by profile. */
  prometheusVolumeSize?: string;
  /** Storage class of the TSDB volumes; the cluster default when omitted. */
  storageClassName?: string;
  /** Scrape kube-proxy and alert KubeProxyDown (see {@link kubeProxyScraped}). */
  kubeProxy: boolean;
}

const VOLUME_SIZE: Record<Profile, string> = { small: "20Gi", medium: "50Gi", large: "150Gi" };

/** The `alertmanagers[]` entry towards the hub, with files from the Secret mounted under {@link PROMETHEUS_SECRETS_DIR}. */
function forwardingEntry(hub: HubForwarding): ReturnType<typeof prometheusAdditionalAlertmanager> {
  const files = prometheusSecretFiles(hub.clientTlsSecret);
  if (!files.caFile.startsWith(`${PROMETHEUS_SECRETS_DIR}/`)) throw new Error(`unexpected secret mount ${files.caFile}`);
  return prometheusAdditionalAlertmanager({ url: hub.url, serverName: hub.serverName, tlsCertFile: files.certFile, keyFile: files.keyFile, caFile: files.caFile });
}

/** Name of the pod volume carrying the sidecar's gRPC TLS material. */
const GRPC_TLS_VOLUME = "thanos-grpc-tls";

/** Resources of the kube-state-metrics and node-exporter subcharts, and of the operator and its helpers. */
function operatorAndExporters(profile: Profile): HelmValues {
  return {
    prometheusOperator: {
      resources: res(profile, "operator"),
      prometheusConfigReloader: { resources: res(profile, "config-reloader") },
      admissionWebhooks: { patch: { resources: res(profile, "webhook-certgen") } },
    },
    "kube-state-metrics": { resources: res(profile, "kube-state-metrics") },
    "prometheus-node-exporter": { resources: res(profile, "node-exporter") },
  };
}

function res(profile: Profile, container: Parameters<typeof containerResources>[1]): HelmValues {
  const r = containerResources(profile, container);
  return { requests: { ...r.requests }, limits: { ...r.limits } };
}

/** Control-plane targets a managed cluster (EKS, GKE, AKS) never lets us scrape: monitors off, so no false "down" alerts. */
const MANAGED_CONTROL_PLANE: HelmValues = {
  kubeControllerManager: { enabled: false },
  kubeScheduler: { enabled: false },
  kubeEtcd: { enabled: false },
};

/**
 * The spoke's kube-prometheus-stack values: Prometheus HA pair with Thanos sidecars,
 * default rules (incl. the always-firing Watchdog), local Alertmanager, optional
 * forwarding to the hub. Grafana runs only on the hub.
 */
export function kubePrometheusStackValues(p: KubePrometheusStackParams): HelmValues {
  const replicas = spokeReplicas(p.profile, "single-binary");
  const tlsDir = PATHS.grpcTls;
  const hub = p.hubAlertmanager;
  const storageSpec: Json = {
    volumeClaimTemplate: {
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: p.prometheusVolumeSize ?? VOLUME_SIZE[p.profile] } },
        ...(p.storageClassName !== undefined ? { storageClassName: p.storageClassName } : {}),
      },
    },
  };
  return {
    // Fixes object names (Alertmanager `kps-alertmanager`, Prometheus `kps-prometheus`) that endpoints.ts selects on.
    fullnameOverride: RELEASES.prometheus,
    // The chart's general.rules Watchdog is left out: the spoke ships its own heartbeat
    // (components/alerting/rules.ts, labelled watchdog="spoke" for the hub), and a second
    // always-firing alert is a second heartbeat notification per period (the heartbeat route
    // groups by every label). Chart 88.5.3 templates/prometheus/rules-1.14/general.rules.yaml
    // honours defaultRules.disabled.Watchdog.
    defaultRules: { create: true, disabled: { Watchdog: true } },
    grafana: { enabled: false },
    ...MANAGED_CONTROL_PLANE,
    kubeProxy: { enabled: p.kubeProxy },
    ...operatorAndExporters(p.profile),
    alertmanager: {
      enabled: true,
      alertmanagerSpec: {
        replicas: replicas.alertmanager,
        // The chart must not render its own config Secret: receivers hold webhook URLs (secrets).
        useExistingSecret: true,
        // `additionalConfig` is merged into the Alertmanager spec verbatim; `configSecret` itself is only a comment in values.yaml.
        additionalConfig: { configSecret: p.alertmanagerConfigSecret },
        podAntiAffinity: "soft",
        resources: res(p.profile, "alertmanager"),
      },
    },
    prometheus: {
      enabled: true,
      serviceAccount: { create: true, name: p.sidecarIdentity.serviceAccountName, annotations: { ...p.sidecarIdentity.annotations } },
      // Headless service the spoke's local query discovers the sidecars through.
      thanosService: { enabled: true },
      thanosServiceMonitor: { enabled: true },
      prometheusSpec: {
        replicas: replicas.prometheus,
        podAntiAffinity: p.profile === "small" ? "soft" : "hard",
        podAntiAffinityTopologyKey: "kubernetes.io/hostname",
        externalLabels: { ...p.labels },
        // The only label that differs between the two replicas; Thanos deduplicates on it.
        replicaExternalLabelName: REPLICA_LABEL,
        retention: p.retention.local,
        podMetadata: { labels: { ...p.sidecarIdentity.podLabels } },
        resources: res(p.profile, "prometheus"),
        storageSpec,
        // Pick up ServiceMonitors, PodMonitors and rules of the other releases (Loki, Alloy, Thanos).
        ruleSelectorNilUsesHelmValues: false,
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
        volumes: [{ name: GRPC_TLS_VOLUME, secret: { secretName: p.thanos.grpcTls.secretName } }],
        secrets: hub ? [hub.clientTlsSecret] : [],
        // Sent to both the local and the hub Alertmanager; the Watchdog heartbeat stays local.
        additionalAlertManagerConfigs: hub ? [toJson(forwardingEntry(hub))] : [],
        thanos: {
          image: `quay.io/thanos/thanos:${p.thanos.version}`,
          version: p.thanos.version,
          objectStorageConfig: { existingSecret: { name: p.thanos.objstore.name, key: p.thanos.objstore.key } },
          // The operator passes only the *File fields to the sidecar (--grpc-server-tls-*); the files come from our own volume.
          grpcServerTlsConfig: {
            certFile: `${tlsDir}/tls.crt`,
            keyFile: `${tlsDir}/tls.key`,
            ...(p.thanos.grpcTls.requireClientCert ? { caFile: `${tlsDir}/ca.crt` } : {}),
          },
          // Mounted only into the sidecar: Prometheus itself never sees the gRPC key.
          volumeMounts: [{ name: GRPC_TLS_VOLUME, mountPath: tlsDir }],
          resources: res(p.profile, "thanos-sidecar"),
          logFormat: "json",
        },
      },
    },
  };
}

/** The hub's Alertmanager: ingesting alerts forwarded by spokes over mTLS. */
export interface HubAlertmanagerValuesParams {
  profile: Profile;
  /** Secret holding the Alertmanager configuration under {@link ALERTMANAGER_CONFIG_KEY}. */
  configSecret: string;
  /**
   * Secret with the hub Alertmanager's server certificate (`tls.crt`, `tls.key`) and `ca.crt`,
   * the bundle of spoke CAs whose client certificates are accepted.
   */
  tlsSecret: string;
  /** Image of the mTLS terminating proxy (ghostunnel), e.g. `ghostunnel/ghostunnel:v1.11.3`. */
  tlsProxyImage: string;
  /** The numeric user of that image (the kubelet can verify `runAsNonRoot` only for a numeric user). */
  tlsProxyUid: number;
}

/**
 * The ghostunnel command line: `server` mode terminating mTLS on `listenPort` and forwarding to
 * the Alertmanager on localhost. Flags of ghostunnel v1.11.1 (main.go at tag v1.11.1): `server`
 * with `--listen` and `--target` (both required; a non-localhost target would need
 * `--unsafe-target`), the global `--cert`, `--key`, `--cacert`, and `--allow-all` (any client
 * whose certificate chains to `--cacert`; client certificates stay mandatory unless
 * `--disable-authentication`).
 */
export function tlsProxyArgs(p: { listenPort: number; targetPort: number; tlsDir: string }): string[] {
  return [
    "server",
    `--listen=0.0.0.0:${p.listenPort}`,
    `--target=127.0.0.1:${p.targetPort}`,
    `--cert=${p.tlsDir}/tls.crt`,
    `--key=${p.tlsDir}/tls.key`,
    // Client certificates must chain to a spoke CA; any spoke may forward.
    `--cacert=${p.tlsDir}/ca.crt`,
    "--allow-all",
  ];
}

/**
 * kube-prometheus-stack on the hub, reduced to its Alertmanager (and the operator that runs
 * it). Spokes reach it on {@link HUB_ALERTMANAGER}.targetPort: the operator fixes
 * Alertmanager's own listener at 9093, so a sidecar terminates mTLS there and forwards to
 * localhost; in-cluster clients (Thanos Ruler) keep using 9093.
 */
export function hubAlertmanagerValues(p: HubAlertmanagerValuesParams): HelmValues {
  const tlsDir = "/etc/tls/alertmanager";
  const replicas = p.profile === "small" ? 1 : 2;
  return {
    fullnameOverride: RELEASES.prometheus,
    defaultRules: { create: false },
    grafana: { enabled: false },
    kubeStateMetrics: { enabled: false },
    nodeExporter: { enabled: false },
    ...MANAGED_CONTROL_PLANE,
    prometheusOperator: {
      resources: res(p.profile, "operator"),
      prometheusConfigReloader: { resources: res(p.profile, "config-reloader") },
      admissionWebhooks: { patch: { resources: res(p.profile, "webhook-certgen") } },
    },
    prometheus: { enabled: false },
    alertmanager: {
      enabled: true,
      alertmanagerSpec: {
        replicas,
        useExistingSecret: true,
        additionalConfig: { configSecret: p.configSecret },
        podAntiAffinity: "soft",
        resources: res(p.profile, "alertmanager"),
        // Alerts forwarded by spokes are spoke data: the notification log and silences live in RAM only.
        storage: { emptyDir: { medium: "Memory", sizeLimit: "256Mi" } },
        volumes: [{ name: "alertmanager-tls", secret: { secretName: p.tlsSecret } }],
        containers: [
          {
            name: "tls-proxy",
            image: p.tlsProxyImage,
            args: tlsProxyArgs({ listenPort: HUB_ALERTMANAGER.targetPort, targetPort: 9093, tlsDir }),
            ports: [{ name: "https-spokes", containerPort: HUB_ALERTMANAGER.targetPort }],
            volumeMounts: [{ name: "alertmanager-tls", mountPath: tlsDir, readOnly: true }],
            resources: res(p.profile, "tls-proxy"),
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: p.tlsProxyUid, capabilities: { drop: ["ALL"] } },
          },
        ],
      },
    },
  };
}
