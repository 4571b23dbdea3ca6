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
      // Restricted Pod Security: nothing in the observability plane needs privileges, except the
      // node agent, which gets its own namespace policy exemption through the chart.
      { metadata: { name: args.namespace, labels: { ...args.labels, "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted" } } },
      { parent: this, provider: this.provider },
    );
    this.namespace = ns.metadata.name;
    this.registerOutputs({ namespace: this.namespace });
  }
}
