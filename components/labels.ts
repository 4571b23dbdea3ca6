/**
 * The identity labels every resource and every series carries. They are what makes a
 * global query answerable ("which cluster, which region") and an audit provable.
 */
import type { EdgeConfig, StackConfig } from "./config";

/** `cluster`, `environment`, `region`, `cloud`: the Prometheus external labels. */
export function externalLabels(config: StackConfig): Record<"cluster" | "environment" | "region" | "cloud", string> {
  return { cluster: config.stack, environment: config.environment, region: config.region, cloud: config.cloud };
}

/**
 * The external labels of an edge's samples: the identity labels and `edge`, naming the edge
 * (its stack). The zone receiver adds its tenant label; nothing else distinguishes an edge's
 * series from its spoke's, so the label is what a global query selects an edge by.
 */
export function edgeLabels(config: EdgeConfig): Record<"cluster" | "environment" | "region" | "cloud" | "edge", string> {
  return { ...externalLabels(config), edge: config.stack };
}

/** Tags/labels for cloud resources: identity labels, sovereignty zone and the stack's own tags. */
export function resourceLabels(config: StackConfig): Record<string, string> {
  return {
    ...config.tags,
    ...externalLabels(config),
    "sovereignty-zone": config.sovereigntyZone,
    "managed-by": "pulumi",
    project: "sovereign-observability",
  };
}

/** Kubernetes labels for the objects this project creates. */
export function k8sLabels(config: StackConfig, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": "sovereign-observability",
    "app.kubernetes.io/managed-by": "pulumi",
    "app.kubernetes.io/component": component,
    "observability.sovereign/stack": config.stack,
  };
}
