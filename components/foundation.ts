/**
 * What every stack stands on, spoke or hub: the cloud provider pinned to the stack's region,
 * static egress, the connection to the existing cluster with its namespace, and the CA.
 */
import { cloudModule, type CloudContext, type CloudModule, type EgressOutputs } from "./clouds";
import type { StackConfig } from "./config";
import { Cluster } from "./kube";
import { k8sLabels, resourceLabels } from "./labels";
import { StackPki } from "./pki";
import type * as pulumi from "@pulumi/pulumi";

/** The shared base of a stack. */
export interface StackFoundation {
  cloud: CloudModule;
  ctx: CloudContext;
  egress: pulumi.ComponentResource & EgressOutputs;
  cluster: Cluster;
  pki: StackPki;
  /** Options for Kubernetes objects: the cluster's provider, after its namespace exists. */
  k8sOpts: { provider: Cluster["provider"]; dependsOn: Cluster[] };
}

/** Creates the provider, egress and cluster connection of a stack (named `<stack>-*`); an edge needs no more. */
export function stackBase(config: StackConfig): Omit<StackFoundation, "pki"> {
  const cloud = cloudModule(config.cloud);
  const provider = cloud.createProvider(`${config.stack}-${config.cloud}`, config);
  const ctx: CloudContext = { stack: config.stack, config, labels: resourceLabels(config), provider };
  const egress = cloud.createEgress(`${config.stack}-egress`, ctx, { egress: config.egress });
  const cluster = new Cluster(config.stack, { kubeconfig: config.kubeconfig, namespace: config.namespace, labels: k8sLabels(config, "namespace") });
  return { cloud, ctx, egress, cluster, k8sOpts: { provider: cluster.provider, dependsOn: [cluster] } };
}

/** Creates the provider, egress, cluster connection and PKI of a stack (named `<stack>-*`). */
export function stackFoundation(config: StackConfig): StackFoundation {
  const base = stackBase(config);
  const pki = new StackPki(`${config.stack}-pki`, {
    stack: config.stack,
    caValidityHours: config.pki.caValidityHours,
    caEarlyRenewalHours: config.pki.caEarlyRenewalHours,
    leafValidityHours: config.pki.leafValidityHours,
    leafEarlyRenewalHours: config.pki.leafEarlyRenewalHours,
    rotateCa: config.pki.rotateCa,
  });
  return { ...base, pki };
}
