/**
 * Allowlisted exposure: a LoadBalancer Service whose source ranges are exactly the peer's
 * static egress addresses (or the configured operator ranges). The NetworkPolicy behind it is
 * not rendered here but from the stack's flow table ({@link ./flows}), which declares the same
 * peers. An endpoint with no peer is not exposed at all.
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
  /** Peer egress addresses (IPv4; a bare address is a /32) or CIDRs. */
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
      loadBalancerSourceRanges: [...new Set(p.allowedIps.map((ip) => (ip.includes("/") ? ip : `${ip}/32`)))].sort(),
      selector: p.selector,
      ports: p.ports.map((x) => ({ name: x.name, port: x.port, targetPort: x.targetPort, protocol: "TCP" })),
    },
  };
}

export interface ExposedEndpointArgs {
  namespace: pulumi.Input<string>;
  labels: Record<string, string>;
  selector: Record<string, string>;
  ports: readonly ExposedPort[];
  allowedIps: pulumi.Input<string[]>;
  annotations: Record<string, string>;
}

/** An endpoint reachable from the internet only by its allowlisted peers. */
export class ExposedEndpoint extends pulumi.ComponentResource {
  public readonly service: k8s.core.v1.Service;
  /** What the cloud's load balancer reports: an IP, or a hostname on AWS. */
  public readonly address: pulumi.Output<string>;

  constructor(name: string, args: ExposedEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:exposure:ExposedEndpoint", name, {}, opts);
    const spec = pulumi.all([args.namespace, args.allowedIps]).apply(([namespace, allowedIps]) =>
      renderLoadBalancerService({ name, namespace, labels: args.labels, selector: args.selector, ports: args.ports, allowedIps, annotations: args.annotations }),
    );
    this.service = new k8s.core.v1.Service(name, { metadata: spec.apply((s) => s.metadata), spec: spec.apply((s) => s.spec) }, { parent: this });
    this.address = this.service.status.loadBalancer.ingress.apply((i) => i?.[0]?.ip ?? i?.[0]?.hostname ?? "");
    this.registerOutputs({ address: this.address });
  }
}
