/**
 * The Kubernetes side every stack shares: a provider for the existing cluster and the
 * namespace all workloads live in.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface ClusterArgs {
  /** Kubeconfig of the existing cluster (secret config). */
  kubeconfig: pulumi.Input<string>;
  namespace: string;
  labels: Record<string, string>;
}

/** The cluster connection and the observability namespace. */
export class Cluster extends pulumi.ComponentResource {
  public readonly provider: k8s.Provider;
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:kube:Cluster", name, {}, opts);
    this.provider = new k8s.Provider(`${name}-provider`, { kubeconfig: pulumi.secret(args.kubeconfig), enableServerSideApply: true }, { parent: this });
    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      // The node agents (node-exporter, Alloy) share this namespace and need host paths and the host
      // network, which the baseline profile rejects; so the namespace enforces nothing and audits and
      // warns against `restricted`, while every pod this project renders sets its own securityContext.
      { metadata: { name: args.namespace, labels: { ...args.labels, "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/warn": "restricted" } } },
      { parent: this, provider: this.provider },
    );
    this.namespace = ns.metadata.name;
    this.registerOutputs({ namespace: this.namespace });
  }
}
