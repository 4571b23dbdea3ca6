/**
 * Values of the grafana alloy chart 1.11.1: the node log agent of a spoke. Each Alloy pod
 * tails the container logs of its own node and pushes them to the spoke's own Loki; a log
 * line never leaves the cluster from here.
 */
import type { Profile } from "../../config";
import { containerResources } from "../resources";
import { PROMETHEUS_MONITOR_LABELS } from "./kube-prometheus-stack";
import type { HelmValues, IdentityLabels } from "./types";

/** Labels every log stream carries: from discovery, and static identity labels. */
export const ALLOY_STREAM_LABELS = ["namespace", "workload", "pod", "container", "cluster", "environment", "region"] as const;

/**
 * `configReloader.resources` is a Kubernetes ResourceRequirements rendered verbatim; the
 * chart's values.yaml shows only its requests, but limits are part of the same object.
 */
export const ALLOY_FREE_FORM_PATHS = ["configReloader.resources"] as const;

/** Everything the spoke's Alloy release depends on. */
export interface AlloyParams {
  profile: Profile;
  labels: Pick<IdentityLabels, "cluster" | "environment" | "region">;
  /** The spoke's in-cluster Loki push URL (see `lokiPushUrl`); anything off-cluster is refused. */
  lokiPushUrl: string;
}

/**
 * Whether a URL addresses a Service of this cluster: `*.svc` or `*.svc.cluster.local`, or a
 * bare Service name. Public names, IPs and other clusters' domains are not in-cluster.
 */
export function isInClusterUrl(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") return false;
  if (u.username !== "" || u.password !== "") return false;
  const host = u.hostname;
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)?\.svc(\.cluster\.local)?$/.test(host) || /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(host);
}

/** A River string literal (River strings follow Go's escaping, which JSON's is a subset of). */
const str = (v: string): string => JSON.stringify(v);

/**
 * The log pipeline of a node's Alloy (River syntax), up to its destination: pods of this node
 * only (field selector on `spec.nodeName`; the chart sets HOSTNAME to the node name), files under
 * /var/log/pods, CRI parsing, the identity labels (`labels`, in order), forwarded to the
 * `loki.write` component named `writer`. The spoke's and the edge's Alloy differ only in their
 * labels and their writer.
 */
export function alloyPodLogsPipeline(p: { comment: string; labels: readonly (readonly [string, string])[]; writer: string }): string {
  const width = Math.max(...p.labels.map(([k]) => k.length));
  return `// ${p.comment}
discovery.kubernetes "pods" {
  role = "pod"
  selectors {
    role  = "pod"
    field = "spec.nodeName=" + sys.env("HOSTNAME")
  }
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets

  rule {
    source_labels = ["__meta_kubernetes_pod_phase"]
    regex         = "Pending|Succeeded|Failed|Unknown"
    action        = "drop"
  }
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }
  // workload: the controlling owner; a bare pod is its own workload.
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "workload"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_controller_name"]
    regex         = "(.+)"
    target_label  = "workload"
  }
  // A Deployment's pods are owned by a ReplicaSet named <deployment>-<pod-template-hash>.
  rule {
    source_labels = ["__meta_kubernetes_pod_controller_kind", "__meta_kubernetes_pod_controller_name"]
    separator     = ";"
    regex         = "ReplicaSet;(.+)-[a-z0-9]{5,10}"
    target_label  = "workload"
  }
  // A CronJob's pods are owned by a Job named <cronjob>-<schedule timestamp>.
  rule {
    source_labels = ["__meta_kubernetes_pod_controller_kind", "__meta_kubernetes_pod_controller_name"]
    separator     = ";"
    regex         = "Job;(.+)-[0-9]{8,}"
    target_label  = "workload"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
    separator     = "/"
    target_label  = "__path__"
    replacement   = "/var/log/pods/*$1/*.log"
  }
}

local.file_match "pods" {
  path_targets = discovery.relabel.pods.output
}

loki.source.file "pods" {
  targets    = local.file_match.pods.targets
  forward_to = [loki.process.pods.receiver]
}

loki.process "pods" {
  stage.cri {}

  stage.static_labels {
    values = {
${p.labels.map(([k, v]) => `      ${k.padEnd(width)} = ${str(v)},`).join("\n")}
    }
  }

  // The file name repeats pod and container; as a label it only multiplies streams.
  stage.label_drop {
    values = ["filename"]
  }

  forward_to = [loki.write.${p.writer}.receiver]
}
`;
}

/**
 * The spoke's Alloy configuration: the pod log pipeline ({@link alloyPodLogsPipeline}) with
 * the identity labels, to one local Loki as the only destination.
 */
export function alloyConfig(p: Omit<AlloyParams, "profile">): string {
  if (!isInClusterUrl(p.lokiPushUrl)) throw new Error(`Alloy may push only to the spoke's own Loki inside the cluster, not to ${p.lokiPushUrl}`);
  const labels = [["cluster", p.labels.cluster], ["environment", p.labels.environment], ["region", p.labels.region]] as const;
  return `${alloyPodLogsPipeline({ comment: "Rendered by sovereign-observability: logs of this node, to this cluster's Loki only.", labels, writer: "local" })}
loki.write "local" {
  endpoint {
    url = ${str(p.lokiPushUrl)}
  }
}
`;
}

/**
 * The spoke's Alloy values: a DaemonSet with /var/log mounted read-only, usage reporting
 * off, and the log pipeline of {@link alloyConfig}.
 */
export function alloyValues(p: AlloyParams): HelmValues {
  const alloy = containerResources(p.profile, "alloy");
  const reloader = containerResources(p.profile, "config-reloader");
  return {
    controller: { type: "daemonset" },
    alloy: {
      configMap: { create: true, content: alloyConfig(p) },
      mounts: { varlog: true, dockercontainers: false },
      // Anonymous usage reports would leave the sovereign boundary.
      enableReporting: false,
      resources: { requests: { ...alloy.requests }, limits: { ...alloy.limits } },
    },
    configReloader: { resources: { requests: { ...reloader.requests }, limits: { ...reloader.limits } } },
    // The chart's ServiceMonitor is off by default (alloy 1.11.1 values.yaml `serviceMonitor.enabled:
    // false`; templates/servicemonitor.yaml renders it only with `service.enabled`, the default).
    // Without it nothing scrapes Alloy and AlloyLokiWriteDroppingEntries can never fire. Its `job`
    // is the Service name, the chart's fullname (`alloy`).
    service: { enabled: true },
    serviceMonitor: { enabled: true, additionalLabels: { ...PROMETHEUS_MONITOR_LABELS } },
  };
}
