/**
 * Allowlisted exposure: a LoadBalancer Service whose source ranges are exactly the peer's
 * static egress addresses, and a NetworkPolicy admitting only those peers (plus the
 * cluster's own ranges, where load-balancer health checks and in-cluster clients come from).
 * An endpoint with no peer is not exposed at all.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** One port of an exposed endpoint. */
export interface ExposedPort {
  name: string;
  port: number;
  targetPort: number;
}

export interface LoadBalancerParams {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
  ports: readonly ExposedPort[];
  /** Peer egress addresses (IPv4, no prefix). */
  allowedIps: readonly string[];
  /** Cloud-specific annotations for a public load balancer. */
  annotations: Record<string, string>;
}

interface Meta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A rendered LoadBalancer Service (plain data). */
export interface ServiceManifest {
  apiVersion: "v1";
  kind: "Service";
  metadata: Meta;
  spec: {
    type: "LoadBalancer";
    externalTrafficPolicy: "Local";
    loadBalancerSourceRanges: string[];
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: number; protocol: "TCP" }[];
  };
}

/** A rendered ingress NetworkPolicy (plain data). */
export interface NetworkPolicyManifest {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: Meta;
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: ["Ingress"];
    ingress: { from: ({ ipBlock: { cidr: string } } | { podSelector: Record<string, never> })[]; ports: { protocol: "TCP"; port: number }[] }[];
  };
}

/** Renders the LoadBalancer Service of an endpoint; throws when no peer is allowed. */
export function renderLoadBalancerService(p: LoadBalancerParams): ServiceManifest {
  if (p.allowedIps.length === 0) throw new Error(`service ${p.name}: refusing to expose an endpoint with no allowed source`);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels, annotations: p.annotations },
    spec: {
      type: "LoadBalancer",
      // Local keeps the client address visible to the pod, so the NetworkPolicy can match it.
      externalTrafficPolicy: "Local",
      loadBalancerSourceRanges: [...new Set(p.allowedIps)].sort().map((ip) => `${ip}/32`),
      selector: p.selector,
      ports: p.ports.map((x) => ({ name: x.name, port: x.port, targetPort: x.targetPort, protocol: "TCP" })),
    },
  };
}

export interface NetworkPolicyParams {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  podSelector: Record<string, string>;
  /** Container ports the peers may reach. */
  ports: readonly number[];
  /** Peer egress addresses (IPv4, no prefix). */
  allowedIps: readonly string[];
  /** Private ranges of the cluster itself (nodes, pods, load-balancer health checks). */
  clusterCidrs: readonly string[];
  /** Admit pods of the same namespace too (in-cluster clients such as the log agent). */
  allowSameNamespace: boolean;
}

/** Renders the NetworkPolicy admitting only the peers of an endpoint. */
export function renderNetworkPolicy(p: NetworkPolicyParams): NetworkPolicyManifest {
  const from: NetworkPolicyManifest["spec"]["ingress"][number]["from"] = [
    ...[...new Set(p.allowedIps)].sort().map((ip) => ({ ipBlock: { cidr: `${ip}/32` } })),
    ...p.clusterCidrs.map((cidr) => ({ ipBlock: { cidr } })),
    ...(p.allowSameNamespace ? [{ podSelector: {} }] : []),
  ];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: {
      podSelector: { matchLabels: p.podSelector },
      policyTypes: ["Ingress"],
      ingress: [{ from, ports: p.ports.map((port) => ({ protocol: "TCP", port })) }],
    },
  };
}

export interface ExposedEndpointArgs {
  namespace: pulumi.Input<string>;
  labels: Record<string, string>;
  selector: Record<string, string>;
  ports: readonly ExposedPort[];
  allowedIps: pulumi.Input<string[]>;
  clusterCidrs: readonly string[];
  annotations: Record<string, string>;
  allowSameNamespace: boolean;
}

/** An endpoint reachable from the internet only by its allowlisted peers. */
export class ExposedEndpoint extends pulumi.ComponentResource {
  public readonly service: k8s.core.v1.Service;
  /** What the cloud's load balancer reports: an IP, or a hostname on AWS. */
  public readonly address: pulumi.Output<string>;

  constructor(name: string, args: ExposedEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:exposure:ExposedEndpoint", name, {}, opts);
    const spec = pulumi.all([args.namespace, args.allowedIps]).apply(([namespace, allowedIps]) => ({
      service: renderLoadBalancerService({ name, namespace, labels: args.labels, selector: args.selector, ports: args.ports, allowedIps, annotations: args.annotations }),
      policy: renderNetworkPolicy({
        name: `${name}-ingress`,
        namespace,
        labels: args.labels,
        podSelector: args.selector,
        ports: args.ports.map((p) => p.targetPort),
        allowedIps,
        clusterCidrs: args.clusterCidrs,
        allowSameNamespace: args.allowSameNamespace,
      }),
    }));
    this.service = new k8s.core.v1.Service(name, { metadata: spec.apply((s) => s.service.metadata), spec: spec.apply((s) => s.service.spec) }, { parent: this });
    new k8s.networking.v1.NetworkPolicy(`${name}-ingress`, { metadata: spec.apply((s) => s.policy.metadata), spec: spec.apply((s) => s.policy.spec) }, { parent: this });
    this.address = this.service.status.loadBalancer.ingress.apply((i) => i?.[0]?.ip ?? i?.[0]?.hostname ?? "");
    this.registerOutputs({ address: this.address });
  }
}
