/**
 * The workloads of an edge: kube-prometheus-stack with Prometheus in agent mode writing to the
 * zone receiver, Alloy pushing logs to the zone spoke's Loki gateway, and the heartbeat that
 * pings the edge's own dead man's switch while the agent writes.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EdgeConfig } from "../config";
import { RELEASES } from "../endpoints";
import { externalLabels, k8sLabels } from "../labels";
import { containerResources, type ContainerName, type Footprint } from "./resources";
import { chartRelease } from "./release";
import { EDGE_HEARTBEAT_DEFAULTS, edgeHeartbeatCronJob } from "./heartbeat";
import { kubeProxyScraped } from "./values";
import { EDGE_LOKI_PASSWORD_KEY, EDGE_REMOTE_WRITE_NAME, edgeAgentUrl, edgeAlloyValues, edgeKubePrometheusStackValues } from "./values/edge";

/** Secret names of an edge. */
export const EDGE_SECRETS = {
  /** The edge's client certificate and key, and the receiver's CA (`ca.crt`). */
  remoteWriteTls: "remote-write-tls",
  /** The same client certificate, and the spoke's Loki gateway CA. */
  lokiClientTls: "loki-client-tls",
  /** The edge's basic-auth password at the spoke's gateway. */
  lokiPassword: "loki-push-credentials",
  /** The dead man's switch URL the heartbeat pings. */
  deadMansSwitch: "dead-mans-switch",
} as const;

/** The key of the dead man's switch URL in its Secret. */
export const DEAD_MANS_SWITCH_KEY = "url";

/** The edge's basic-auth user at its spoke's Loki gateway. */
export function edgeLokiUser(edge: string): string {
  return `edge-${edge}`;
}

/** Requests of an edge: its cluster-wide workloads and one node's agents. */
export interface EdgeRequests {
  cluster: Footprint;
  perNode: Footprint;
  /** Containers counted (the sizing table's names) with their counts. */
  counted: { cluster: Partial<Record<ContainerName, number>>; perNode: Partial<Record<ContainerName, number>> };
}

/**
 * What an edge requests, from the same sizing table its values take their requests from
 * (components/workloads/resources.ts): the agent with its config reloader, the operator,
 * kube-state-metrics and the heartbeat once; node-exporter, Alloy and Alloy's reloader per
 * node. test/edge-values.test.ts checks it against the charts rendered by the real helm.
 */
export function edgeRequests(profile: EdgeConfig["profile"]): EdgeRequests {
  const cluster: Partial<Record<ContainerName, number>> = { "edge-prometheus-agent": 1, "edge-config-reloader": 1, "edge-operator": 1, "edge-kube-state-metrics": 1, "edge-heartbeat": 1 };
  const perNode: Partial<Record<ContainerName, number>> = { "edge-node-exporter": 1, "edge-alloy": 1, "edge-config-reloader": 1 };
  const sum = (counts: Partial<Record<ContainerName, number>>): Footprint => {
    let cpuMillicores = 0;
    let memoryMiB = 0;
    for (const [name, n] of Object.entries(counts) as [ContainerName, number][]) {
      const r = containerResources(profile, name);
      cpuMillicores += milli(r.requests.cpu) * n;
      memoryMiB += mebi(r.requests.memory) * n;
    }
    return { cpuMillicores, memoryMiB };
  };
  return { cluster: sum(cluster), perNode: sum(perNode), counted: { cluster, perNode } };
}

function milli(q: string): number {
  const m = /^([0-9]+)(m?)$/.exec(q);
  if (m === null) throw new Error(`unexpected CPU quantity ${q}`);
  return m[2] === "m" ? Number(m[1]) : Number(m[1]) * 1000;
}

function mebi(q: string): number {
  const m = /^([0-9]+)(Mi|Gi)$/.exec(q);
  if (m === null) throw new Error(`unexpected memory quantity ${q}`);
  return m[2] === "Gi" ? Number(m[1]) * 1024 : Number(m[1]);
}

export interface EdgeWorkloadsArgs {
  config: EdgeConfig;
  /** The zone receiver, from the spoke's contract. */
  receiver: { url: string; serverName: string };
  /** The zone spoke's Loki gateway and this edge's user there. */
  loki: { url: string; serverName: string; username: string; password: pulumi.Input<string> };
}

/** Everything running in an edge's cluster. */
export class EdgeWorkloads extends pulumi.ComponentResource {
  /** Requested CPU and memory of the edge (per-node agents separately). */
  public readonly footprint: EdgeRequests;

  constructor(name: string, args: EdgeWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:workloads:EdgeWorkloads", name, {}, opts);
    const { config } = args;
    const ns = config.namespace;
    const child = { parent: this };

    const lokiPassword = new k8s.core.v1.Secret(`${name}-loki-password`, {
      metadata: { name: EDGE_SECRETS.lokiPassword, namespace: ns, labels: k8sLabels(config, "alloy") },
      stringData: { [EDGE_LOKI_PASSWORD_KEY]: pulumi.secret(args.loki.password) },
    }, child);
    const deadMansSwitch = new k8s.core.v1.Secret(`${name}-dead-mans-switch`, {
      metadata: { name: EDGE_SECRETS.deadMansSwitch, namespace: ns, labels: k8sLabels(config, "heartbeat") },
      stringData: { [DEAD_MANS_SWITCH_KEY]: pulumi.secret(config.alerting.deadMansSwitch.url) },
    }, child);

    const kps = chartRelease(`${name}-kube-prometheus-stack`, {
      release: RELEASES.prometheus,
      chart: "kube-prometheus-stack",
      version: config.versions.kubePrometheusStack,
      namespace: ns,
      values: edgeKubePrometheusStackValues({
        profile: config.profile,
        edge: config.stack,
        labels: externalLabels(config),
        receiver: args.receiver,
        clientTlsSecret: EDGE_SECRETS.remoteWriteTls,
        kubeProxy: kubeProxyScraped({ cloud: config.cloud, kubeProxy: config.kubeProxy }),
      }),
      timeout: 900,
    }, child);

    chartRelease(`${name}-alloy`, {
      release: RELEASES.alloy,
      chart: "alloy",
      version: config.versions.alloy,
      namespace: ns,
      values: edgeAlloyValues({
        profile: config.profile,
        edge: config.stack,
        labels: externalLabels(config),
        loki: { url: args.loki.url, serverName: args.loki.serverName, username: args.loki.username },
        clientTlsSecret: EDGE_SECRETS.lokiClientTls,
        lokiPasswordSecret: EDGE_SECRETS.lokiPassword,
      }),
    }, { ...child, dependsOn: [kps, lokiPassword] });

    const cron = edgeHeartbeatCronJob({
      profile: config.profile,
      namespace: ns,
      agentUrl: edgeAgentUrl(ns),
      remoteName: EDGE_REMOTE_WRITE_NAME,
      urlSecret: { name: EDGE_SECRETS.deadMansSwitch, key: DEAD_MANS_SWITCH_KEY },
      labels: k8sLabels(config, "heartbeat"),
      schedule: EDGE_HEARTBEAT_DEFAULTS.schedule,
    });
    new k8s.batch.v1.CronJob(`${name}-heartbeat`, { metadata: cron.metadata, // The renderer returns plain JSON (so tests and the footprint read it like rendered charts); its shape is batch/v1 CronJobSpec.
      spec: cron.spec as unknown as k8s.types.input.batch.v1.CronJobSpec }, { ...child, dependsOn: [kps, deadMansSwitch] });

    this.footprint = edgeRequests(config.profile);
    this.registerOutputs({ footprint: this.footprint });
  }
}
