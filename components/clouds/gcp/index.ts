/**
 * The GCP implementation of the cloud seam: provider, sovereign GCS storage with Workload
 * Identity writers and the hub's read-only key, and static egress through Cloud NAT.
 */
import * as gcp from "@pulumi/gcp";
import { resourceLabels } from "../../labels";
import type { CloudModule } from "../types";
import { gkeIssuerUrl } from "./context";
import { GcpEgress } from "./egress";
import { GcpStorage } from "./storage";

export * from "./context";
export * from "./egress";
export * from "./names";
export * from "./render";
export * from "./storage";

/**
 * Service annotations of an external LoadBalancer on GKE: a backend-service-based external
 * passthrough Network Load Balancer (`cloud.google.com/l4-rbs`, GKE ≥ 1.25.5), which honours
 * `loadBalancerSourceRanges` with VPC firewall rules and preserves client source addresses.
 */
export const GKE_LB_ANNOTATIONS: Readonly<Record<string, string>> = { "cloud.google.com/l4-rbs": "enabled" };

/** The GCP cloud module. */
export const gcpCloud: CloudModule = {
  createProvider(name, config) {
    if (config.cloud !== "gcp") throw new Error(`stack ${config.stack} targets ${config.cloud}, not gcp`);
    return new gcp.Provider(name, {
      project: config.cluster.project,
      region: config.region,
      // The same labels the stack puts in CloudContext.labels: every GCP resource carries the stack identity.
      defaultLabels: resourceLabels(config),
    });
  },
  createStorage(name, ctx, args, opts) {
    return new GcpStorage(name, { ...args, context: ctx }, opts);
  },
  createEgress(name, ctx, args, opts) {
    return new GcpEgress(name, { ...args, context: ctx }, opts);
  },
  serviceAccountIssuer(config) {
    if (config.cloud !== "gcp") throw new Error(`stack ${config.stack} targets ${config.cloud}, not gcp`);
    return gkeIssuerUrl(config.cluster.project, config.cluster.location, config.cluster.name);
  },
  loadBalancerAnnotations() {
    return { ...GKE_LB_ANNOTATIONS };
  },
};
