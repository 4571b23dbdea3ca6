/**
 * The declared network flows of the platform, per role: the one table that says which pods may
 * reach which pods, on which port and protocol, from inside the cluster or from which peer's
 * egress addresses. The NetworkPolicies are rendered from it ({@link renderFlowPolicies}) and
 * the flow check ({@link ./flows-check}) judges any manifest set against it, so the table is
 * the single source of what the network admits.
 *
 * Rules used (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
 * a pod selected by an ingress policy admits only the union of what the policies selecting it
 * admit; traffic from the pod's own node (kubelet probes, port-forward) is always allowed,
 * so probes need no flow; `ipBlock` is meant for cluster-external addresses and may not match
 * pod traffic, so in-cluster clients are declared by pod selector, never by the cluster CIDRs.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HUB_ALERTMANAGER, LOKI_GATEWAY, RELEASES, THANOS_QUERY } from "../endpoints";
import type { Flow, FlowSource, FlowTable, Protocol } from "./flows-check";

export type { Flow, FlowSource, FlowTable } from "./flows-check";

/** Pods a policy isolates: every flow to them is declared, everything else is refused. */
export interface FlowTarget {
  /** Policy name stem: the NetworkPolicy is `<name>-ingress`. */
  name: string;
  selector: Record<string, string>;
  what: string;
}

/** A flow table with the pods its policies isolate. */
export interface PolicedFlowTable extends FlowTable {
  targets: readonly FlowTarget[];
}

/** Pod labels of the workloads the table names (chart and operator labels, see flows-check podGroups). */
export const POD_SELECTORS = {
  /** Pods of the kps Prometheus CR (prometheus-operator pkg/prometheus/statefulset.go: `prometheus: <CR name>`). */
  prometheus: { "app.kubernetes.io/name": "prometheus", prometheus: `${RELEASES.prometheus}-prometheus` },
  alertmanager: { ...HUB_ALERTMANAGER.selector },
  alloy: { "app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": RELEASES.alloy },
  grafana: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": RELEASES.grafana },
  thanosQuery: { ...THANOS_QUERY.selector },
  thanosRule: { "app.kubernetes.io/name": "thanos-rule", "app.kubernetes.io/instance": "hub" },
  lokiGateway: { ...LOKI_GATEWAY.selector },
  /** The zone receiver's routers (components/workloads/receive.ts), which the edges dial. */
  receiveRouter: { "app.kubernetes.io/name": "thanos-receive-router", "app.kubernetes.io/instance": "spoke" },
  /** The zone receiver's ingesters: they hold the edges' recent samples and upload blocks. */
  receiveIngester: { "app.kubernetes.io/name": "thanos-receive", "app.kubernetes.io/instance": "spoke" },
  /**
   * Pods of the edge's PrometheusAgent CR (prometheus-operator pkg/prometheus/agent: the agent's
   * pods are `app.kubernetes.io/name: prometheus-agent`, the chart's Service selects them so).
   */
  prometheusAgent: { "app.kubernetes.io/name": "prometheus-agent" },
  /** The edge's heartbeat CronJob pods (components/workloads/edge.ts). */
  heartbeat: { "app.kubernetes.io/name": "edge-heartbeat" },
  /** A Loki component of the loki chart 18.11.0 (`app.kubernetes.io/component` of its pod templates). */
  loki: (component: "single-binary" | "write" | "read" | "backend"): Record<string, string> => ({ "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": RELEASES.loki, "app.kubernetes.io/component": component }),
} as const;

/** Ports the flows use (container ports of the upstream workloads). */
export const FLOW_PORTS = {
  thanosGrpc: THANOS_QUERY.port,
  /** Thanos `--http-address` (metrics). */
  thanosHttp: 10902,
  /** Loki `server.http_listen_port` (push, query, metrics), chart 18.11.0 `http-metrics`. */
  lokiHttp: 3100,
  /** Loki `server.grpc_listen_port`, chart `grpc`. */
  lokiGrpc: 9095,
  /** Loki memberlist, chart `http-memberlist`. */
  lokiMemberlist: 7946,
  lokiGatewayTls: LOKI_GATEWAY.targetPort,
  /** Alloy's HTTP server (metrics), alloy chart `alloy.listenPort`. */
  alloyHttp: 12345,
  /** Alertmanager web (prometheus-operator default portName `http-web`). */
  alertmanagerWeb: 9093,
  /** Alertmanager cluster mesh, TCP and UDP (`mesh-tcp`, `mesh-udp`). */
  alertmanagerMesh: 9094,
  alertmanagerSpokes: HUB_ALERTMANAGER.targetPort,
  grafana: 3000,
  /** Thanos Receive `--remote-write.address` (default 0.0.0.0:19291, `thanos receive --help` v0.42.4). */
  receiveRemoteWrite: 19291,
  /** Prometheus web (agent mode too): `/metrics`, `/-/ready`. */
  prometheusWeb: 9090,
} as const;

export interface SpokeFlowParams {
  namespace: string;
  lokiMode: "single-binary" | "simple-scalable";
  spokeQuery: boolean;
  /** The hub's egress addresses; undefined when the hub is unreadable (nothing is exposed). */
  hubEgressIps?: readonly string[];
  /** The cluster's own ranges: where AWS NLB IP-target health checks come from. */
  clusterCidrs: readonly string[];
  /**
   * The zone receiver, when the spoke runs one: the egress addresses of the edges it accepts
   * (empty while no edge is readable: the receiver then admits no one from outside).
   */
  receiver?: { edgeEgressIps: readonly string[] };
}

/** The flows of an edge: it exposes nothing; inside, only the heartbeat reads the agent. */
export interface EdgeFlowParams {
  namespace: string;
}

export interface HubFlowParams {
  namespace: string;
  /** Egress addresses of the spokes that forward alerts. */
  spokeEgressIps: readonly string[];
  clusterCidrs: readonly string[];
  /** Operator ranges Grafana is exposed to; empty: Grafana is reachable only by port-forward. */
  operatorCidrs: readonly string[];
}

const cidr = (ipOrCidr: string): string => (ipOrCidr.includes("/") ? ipOrCidr : `${ipOrCidr}/32`);
const cidrs = (xs: readonly string[]): string[] => [...new Set(xs.map(cidr))].sort();

function pods(selector: Record<string, string>, what: string): FlowSource {
  return { kind: "pods", selector, what };
}

function flow(id: string, description: string, from: FlowSource, to: FlowTarget, port: number, protocol: Protocol = "TCP"): Flow {
  return { id, description, from, to: { selector: to.selector, what: to.what }, port, protocol };
}

/** Every flow a spoke needs. */
export function spokeFlowTable(p: SpokeFlowParams): PolicedFlowTable {
  const query: FlowTarget = { name: "thanos-query", selector: POD_SELECTORS.thanosQuery, what: "Thanos Query (spoke)" };
  const gateway: FlowTarget = { name: "loki-gateway", selector: POD_SELECTORS.lokiGateway, what: "Loki gateway" };
  const components = p.lokiMode === "simple-scalable" ? (["write", "read", "backend"] as const) : (["single-binary"] as const);
  const loki: FlowTarget[] = components.map((c) => ({ name: c === "single-binary" ? "loki" : `loki-${c}`, selector: POD_SELECTORS.loki(c), what: `Loki ${c}` }));
  const writer = loki[0];
  const prometheus = pods(POD_SELECTORS.prometheus, "Prometheus (kps)");
  const flows: Flow[] = [];
  if (p.hubEgressIps !== undefined) {
    const hub: FlowSource = { kind: "cidrs", cidrs: cidrs(p.hubEgressIps), what: "hub egress IPs" };
    // AWS NLB IP targets health-check the pod itself from the load balancer's VPC addresses
    // (AWS Load Balancer Controller, "Network Load Balancer": target-type ip).
    const cluster: FlowSource = { kind: "cidrs", cidrs: cidrs(p.clusterCidrs), what: "cluster CIDRs (load-balancer health checks)" };
    flows.push(
      flow("hub-to-thanos-query", "the hub's global query dials the spoke's query (gRPC, mTLS)", hub, query, FLOW_PORTS.thanosGrpc),
      flow("lb-health-thanos-query", "load-balancer health checks of the Thanos endpoint", cluster, query, FLOW_PORTS.thanosGrpc),
      flow("hub-to-loki-gateway", "the hub's Grafana reads logs through the gateway (HTTPS, basic auth + mTLS)", hub, gateway, FLOW_PORTS.lokiGatewayTls),
      flow("lb-health-loki-gateway", "load-balancer health checks of the Loki endpoint", cluster, gateway, FLOW_PORTS.lokiGatewayTls),
    );
  }
  flows.push(flow("prometheus-scrapes-thanos-query", "Prometheus scrapes Thanos Query (ServiceMonitor thanos-query)", prometheus, query, FLOW_PORTS.thanosHttp));
  // Alloy pushes straight to Loki's write path (lokiPushUrl), not through the gateway.
  flows.push(flow("alloy-pushes-logs", "Alloy pushes node logs to Loki (lokiPushUrl)", pods(POD_SELECTORS.alloy, "Alloy"), writer, FLOW_PORTS.lokiHttp));
  for (const t of loki) {
    // The gateway's nginx routes pushes to write, queries to read and rule/compactor APIs to backend (loki chart templates/gateway/_helpers-gateway.tpl).
    flows.push(flow(`gateway-to-${t.name}`, `the gateway proxies the hub's requests to ${t.what}`, pods(POD_SELECTORS.lokiGateway, "Loki gateway"), t, FLOW_PORTS.lokiHttp));
    flows.push(flow(`prometheus-scrapes-${t.name}`, `Prometheus scrapes ${t.what} (loki chart ServiceMonitor)`, prometheus, t, FLOW_PORTS.lokiHttp));
    // Every Loki component carries `app.kubernetes.io/part-of: memberlist` (loki chart 18.11.0 pod templates) and joins the ring.
    const ring = pods({ "app.kubernetes.io/instance": RELEASES.loki, "app.kubernetes.io/part-of": "memberlist" }, "Loki components");
    flows.push(flow(`loki-memberlist-${t.name}`, `Loki memberlist ring (gossip) to ${t.what}`, ring, t, FLOW_PORTS.lokiMemberlist));
    flows.push(flow(`loki-grpc-${t.name}`, `Loki gRPC between components (queriers, ingesters, schedulers) to ${t.what}`, ring, t, FLOW_PORTS.lokiGrpc));
  }
  // Flows to pods that keep no policy, declared so the table names every flow the platform needs.
  flows.push(
    flow("prometheus-scrapes-thanos-compact", "Prometheus scrapes the compactor (ServiceMonitor thanos-compact)", prometheus, { name: "thanos-compact", selector: { "app.kubernetes.io/name": "thanos-compact", "app.kubernetes.io/instance": "spoke" }, what: "Thanos compactor" }, FLOW_PORTS.thanosHttp),
    flow("prometheus-scrapes-alloy", "Prometheus scrapes Alloy (alloy chart ServiceMonitor)", prometheus, { name: "alloy", selector: POD_SELECTORS.alloy, what: "Alloy" }, FLOW_PORTS.alloyHttp),
    flow("query-to-sidecars", "the local query dials the Thanos sidecars (gRPC, mTLS)", pods(POD_SELECTORS.thanosQuery, "Thanos Query (spoke)"), { name: "prometheus", selector: POD_SELECTORS.prometheus, what: "Prometheus + Thanos sidecar" }, FLOW_PORTS.thanosGrpc),
  );
  const receiverTargets: FlowTarget[] = [];
  if (p.receiver !== undefined) {
    const router: FlowTarget = { name: "thanos-receive-router", selector: POD_SELECTORS.receiveRouter, what: "Thanos Receive router (zone receiver)" };
    const ingester: FlowTarget = { name: "thanos-receive", selector: POD_SELECTORS.receiveIngester, what: "Thanos Receive ingester" };
    receiverTargets.push(router, ingester);
    const cluster: FlowSource = { kind: "cidrs", cidrs: cidrs(p.clusterCidrs), what: "cluster CIDRs (load-balancer health checks)" };
    if (p.receiver.edgeEgressIps.length > 0) {
      const edges: FlowSource = { kind: "cidrs", cidrs: cidrs(p.receiver.edgeEgressIps), what: "edge egress IPs" };
      flows.push(
        flow("edges-remote-write", "the zone's edges remote-write to the receiver (HTTPS, mTLS, tenant from the client certificate)", edges, router, FLOW_PORTS.receiveRemoteWrite),
        // The receiver's LoadBalancer exists only while an edge is accepted (stacks/spoke.ts).
        flow("lb-health-receive", "load-balancer health checks of the receiver endpoint", cluster, router, FLOW_PORTS.receiveRemoteWrite),
        flow("edges-push-logs", "the zone's edges push logs through the gateway (HTTPS, basic auth + mTLS)", edges, gateway, FLOW_PORTS.lokiGatewayTls),
      );
      if (p.hubEgressIps === undefined) flows.push(flow("lb-health-loki-gateway", "load-balancer health checks of the Loki endpoint", cluster, gateway, FLOW_PORTS.lokiGatewayTls));
    }
    flows.push(
      flow("router-to-ingesters", "the routers forward each tenant's series to the ingesters of its hashring (gRPC, mTLS)", pods(POD_SELECTORS.receiveRouter, "Thanos Receive router"), ingester, FLOW_PORTS.thanosGrpc),
      flow("query-to-ingesters", "the local query reads the edges' recent samples from the ingesters (gRPC, mTLS)", pods(POD_SELECTORS.thanosQuery, "Thanos Query (spoke)"), ingester, FLOW_PORTS.thanosGrpc),
      flow("prometheus-scrapes-receive-router", "Prometheus scrapes the routers (per-tenant write metrics: the edge-silent alert)", prometheus, router, FLOW_PORTS.thanosHttp),
      flow("prometheus-scrapes-receive", "Prometheus scrapes the ingesters", prometheus, ingester, FLOW_PORTS.thanosHttp),
    );
  }
  if (p.spokeQuery) {
    const store: FlowTarget = { name: "thanos-store", selector: { "app.kubernetes.io/name": "thanos-store", "app.kubernetes.io/instance": "spoke" }, what: "Thanos store gateway (spoke)" };
    flows.push(
      flow("query-to-store", "the local query dials the store gateway (gRPC, mTLS)", pods(POD_SELECTORS.thanosQuery, "Thanos Query (spoke)"), store, FLOW_PORTS.thanosGrpc),
      flow("prometheus-scrapes-thanos-store", "Prometheus scrapes the store gateway (ServiceMonitor thanos-store)", prometheus, store, FLOW_PORTS.thanosHttp),
    );
  }
  return {
    role: "spoke",
    namespace: p.namespace,
    targets: [query, gateway, ...loki, ...receiverTargets],
    flows,
    unrestricted: [
      { selector: { "app.kubernetes.io/name": "prometheus" }, what: "Prometheus + Thanos sidecar", reason: "in-cluster only; the sidecar's gRPC requires a client certificate" },
      { selector: { "app.kubernetes.io/name": "alertmanager" }, what: "Alertmanager (spoke)", reason: "in-cluster only; Prometheus delivers alerts, peers mesh" },
      { selector: { "app.kubernetes.io/name": "thanos-compact" }, what: "Thanos compactor", reason: "serves only metrics, in-cluster" },
      { selector: { "app.kubernetes.io/name": "thanos-store", "app.kubernetes.io/instance": "spoke" }, what: "Thanos store gateway (spoke)", reason: "in-cluster only; gRPC requires a client certificate" },
      { selector: POD_SELECTORS.alloy, what: "Alloy", reason: "serves only metrics, in-cluster" },
      { selector: { "app.kubernetes.io/instance": RELEASES.prometheus, "app.kubernetes.io/part-of": "kube-prometheus-stack" }, what: "Prometheus Operator and its admission jobs", reason: "the API server calls the operator's admission webhook from control-plane addresses the cluster does not declare" },
      { selector: { "app.kubernetes.io/name": "kube-state-metrics" }, what: "kube-state-metrics", reason: "serves only metrics, in-cluster" },
      { selector: { "app.kubernetes.io/name": "prometheus-node-exporter" }, what: "node exporter", reason: "host network: NetworkPolicies do not apply to it" },
    ],
  };
}

/**
 * Every flow an edge needs: nothing from outside the cluster (an edge exposes nothing); the
 * agent is read only by the heartbeat (its /metrics) and Prometheus' own scrapes are in-pod.
 */
export function edgeFlowTable(p: EdgeFlowParams): PolicedFlowTable {
  const agent: FlowTarget = { name: "prometheus-agent", selector: POD_SELECTORS.prometheusAgent, what: "Prometheus agent" };
  const alloy: FlowTarget = { name: "alloy", selector: POD_SELECTORS.alloy, what: "Alloy" };
  return {
    role: "edge",
    namespace: p.namespace,
    targets: [agent, alloy],
    flows: [
      flow("heartbeat-reads-agent", "the heartbeat reads the agent's own metrics before it pings the dead man's switch", pods(POD_SELECTORS.heartbeat, "heartbeat"), agent, FLOW_PORTS.prometheusWeb),
      flow("agent-scrapes-alloy", "the agent scrapes Alloy (alloy chart ServiceMonitor)", pods(POD_SELECTORS.prometheusAgent, "Prometheus agent"), alloy, FLOW_PORTS.alloyHttp),
      // The agent scrapes itself through its Service (the chart's self-monitor), from its own pod.
      flow("agent-scrapes-itself", "the agent scrapes its own metrics (kube-prometheus-stack self-monitor)", pods(POD_SELECTORS.prometheusAgent, "Prometheus agent"), agent, FLOW_PORTS.prometheusWeb),
    ],
    unrestricted: [
      { selector: { "app.kubernetes.io/instance": RELEASES.prometheus, "app.kubernetes.io/part-of": "kube-prometheus-stack" }, what: "Prometheus Operator and its admission jobs", reason: "the API server calls the operator's admission webhook from control-plane addresses the cluster does not declare" },
      { selector: { "app.kubernetes.io/name": "kube-state-metrics" }, what: "kube-state-metrics", reason: "serves only metrics, in-cluster" },
      { selector: { "app.kubernetes.io/name": "prometheus-node-exporter" }, what: "node exporter", reason: "host network: NetworkPolicies do not apply to it" },
      { selector: { ...POD_SELECTORS.heartbeat }, what: "heartbeat", reason: "serves nothing: a short-lived Job that only dials the agent and the dead man's switch" },
    ],
  };
}

/** Every flow the hub needs. */
export function hubFlowTable(p: HubFlowParams): PolicedFlowTable {
  const am: FlowTarget = { name: "alertmanager", selector: POD_SELECTORS.alertmanager, what: "Alertmanager (hub)" };
  const grafana: FlowTarget = { name: "grafana", selector: POD_SELECTORS.grafana, what: "Grafana" };
  const cluster: FlowSource = { kind: "cidrs", cidrs: cidrs(p.clusterCidrs), what: "cluster CIDRs (load-balancer health checks)" };
  const flows: Flow[] = [];
  if (p.spokeEgressIps.length > 0) {
    flows.push(
      flow("spokes-forward-alerts", "spoke Prometheus instances forward alerts through the mTLS proxy", { kind: "cidrs", cidrs: cidrs(p.spokeEgressIps), what: "spoke egress IPs" }, am, FLOW_PORTS.alertmanagerSpokes),
      flow("lb-health-alertmanager", "load-balancer health checks of the Alertmanager endpoint", cluster, am, FLOW_PORTS.alertmanagerSpokes),
    );
  }
  flows.push(
    // The ruler's --alertmanagers.url is the kps-alertmanager Service on 9093 (hub workloads).
    flow("ruler-sends-alerts", "the Thanos Ruler sends global alerts and the hub Watchdog", pods(POD_SELECTORS.thanosRule, "Thanos Ruler"), am, FLOW_PORTS.alertmanagerWeb),
    // Alertmanager HA gossip runs on 9094 over TCP and UDP (alertmanager README "High Availability").
    flow("alertmanager-mesh-tcp", "Alertmanager replicas gossip (notification log, silences)", pods(POD_SELECTORS.alertmanager, "Alertmanager (hub)"), am, FLOW_PORTS.alertmanagerMesh, "TCP"),
    flow("alertmanager-mesh-udp", "Alertmanager replicas gossip (membership probes)", pods(POD_SELECTORS.alertmanager, "Alertmanager (hub)"), am, FLOW_PORTS.alertmanagerMesh, "UDP"),
  );
  if (p.operatorCidrs.length > 0) {
    flows.push(
      flow("operators-to-grafana", "operators open Grafana (HTTPS)", { kind: "cidrs", cidrs: cidrs(p.operatorCidrs), what: "operator CIDRs (grafana.operatorCidrs)" }, grafana, FLOW_PORTS.grafana),
      flow("lb-health-grafana", "load-balancer health checks of Grafana", cluster, grafana, FLOW_PORTS.grafana),
    );
  }
  return {
    role: "hub",
    namespace: p.namespace,
    targets: [am, grafana],
    flows,
    unrestricted: [
      { selector: { "app.kubernetes.io/part-of": "sovereign-observability", "app.kubernetes.io/component": "thanos" }, what: "Thanos query, query frontend, store gateways, ruler", reason: "in-cluster only (Grafana and the global query are their clients); nothing read from a spoke leaves the cluster through them" },
      { selector: { "app.kubernetes.io/instance": RELEASES.prometheus, "app.kubernetes.io/part-of": "kube-prometheus-stack" }, what: "Prometheus Operator and its admission jobs", reason: "the API server calls the operator's admission webhook from control-plane addresses the cluster does not declare" },
    ],
  };
}

/** A NetworkPolicy rendered from the flow table (plain data). */
export interface FlowPolicyManifest {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: ["Ingress"];
    ingress: { from: ({ ipBlock: { cidr: string } } | { podSelector: { matchLabels: Record<string, string> } })[]; ports: { protocol: Protocol; port: number }[] }[];
  };
}

const same = (a: Record<string, string>, b: Record<string, string>): boolean => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * One ingress NetworkPolicy per isolated target, one rule per declared source with exactly
 * that source's ports: nothing but the table's flows is admitted.
 */
export function renderFlowPolicies(table: PolicedFlowTable, labels: Record<string, string>): FlowPolicyManifest[] {
  return table.targets.map((t) => {
    const bySource = new Map<string, { from: FlowPolicyManifest["spec"]["ingress"][number]["from"]; ports: { protocol: Protocol; port: number }[] }>();
    for (const f of table.flows.filter((x) => same(x.to.selector, t.selector))) {
      const key = JSON.stringify(f.from.kind === "pods" ? Object.entries(f.from.selector).sort() : f.from.cidrs);
      const entry = bySource.get(key) ?? { from: f.from.kind === "pods" ? [{ podSelector: { matchLabels: { ...f.from.selector } } }] : f.from.cidrs.map((c) => ({ ipBlock: { cidr: c } })), ports: [] };
      if (!entry.ports.some((p) => p.port === f.port && p.protocol === f.protocol)) entry.ports.push({ protocol: f.protocol, port: f.port });
      bySource.set(key, entry);
    }
    return {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: `${t.name}-ingress`, namespace: table.namespace, labels },
      spec: { podSelector: { matchLabels: { ...t.selector } }, policyTypes: ["Ingress"], ingress: [...bySource.values()] },
    };
  });
}

export type FlowPoliciesArgs = { labels: Record<string, string> } & (
  | {
      role: "spoke";
      params: Omit<SpokeFlowParams, "hubEgressIps" | "receiver"> & {
        hubEgressIps?: pulumi.Input<string[]>;
        /** Whether the spoke runs the zone receiver, and the egress addresses of the edges it accepts. */
        receiverEnabled?: boolean;
        receiverEdgeEgressIps?: pulumi.Input<string[]>;
      };
    }
  | { role: "hub"; params: Omit<HubFlowParams, "spokeEgressIps"> & { spokeEgressIps: pulumi.Input<string[]> } }
  | { role: "edge"; params: EdgeFlowParams }
);

/**
 * The stack's NetworkPolicies, rendered from its flow table. The resolved table is the
 * component's recorded input, so `fleet.md` prints the very table the policies came from.
 */
export class FlowPolicies extends pulumi.ComponentResource {
  /** The stack's flow table. */
  public readonly table: pulumi.Output<PolicedFlowTable>;

  constructor(name: string, args: FlowPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    const table: pulumi.Output<PolicedFlowTable> =
      args.role === "spoke"
        ? pulumi.all([args.params.hubEgressIps, args.params.receiverEdgeEgressIps]).apply(([ips, edgeIps]) =>
            spokeFlowTable({ ...args.params, hubEgressIps: ips, receiver: args.params.receiverEnabled ? { edgeEgressIps: edgeIps ?? [] } : undefined }),
          )
        : args.role === "hub"
          ? pulumi.output(args.params.spokeEgressIps).apply((ips) => hubFlowTable({ ...args.params, spokeEgressIps: ips }))
          : pulumi.output(edgeFlowTable(args.params));
    super("sovereign:exposure:FlowPolicies", name, { table }, opts);
    this.table = table;
    // Which pods are isolated depends on the role and Loki mode only, never on peer addresses.
    const targets =
      args.role === "spoke"
        ? spokeFlowTable({ ...args.params, hubEgressIps: undefined, receiver: args.params.receiverEnabled ? { edgeEgressIps: [] } : undefined }).targets
        : args.role === "hub"
          ? hubFlowTable({ ...args.params, spokeEgressIps: [] }).targets
          : edgeFlowTable(args.params).targets;
    for (const t of targets) {
      const policy = table.apply((tb) => {
        const found = renderFlowPolicies(tb, args.labels).find((p) => p.metadata.name === `${t.name}-ingress`);
        if (found === undefined) throw new Error(`flow table lost its target ${t.name}`);
        return found;
      });
      new k8s.networking.v1.NetworkPolicy(`${name}-${t.name}-ingress`, { metadata: policy.apply((x) => x.metadata), spec: policy.apply((x) => x.spec) }, { parent: this });
    }
    this.registerOutputs({ table });
  }
}
