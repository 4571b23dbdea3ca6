/**
 * The Azure implementation of the cloud seam: provider, sovereign blob storage with
 * workload-identity writers and the hub's read-only SAS, and static egress through a NAT gateway.
 */
import { Provider } from "@pulumi/azure-native/provider";
import type { CloudModule } from "../types";
import { AzureEgress } from "./egress";
import { AzureStorage } from "./storage";

export * from "./context";
export * from "./egress";
export * from "./names";
export * from "./render";
export * from "./storage";

/**
 * Service annotations of a public LoadBalancer on AKS. Public is the default; it is stated so
 * that a cluster-wide default of internal load balancers cannot hide the endpoint from the hub.
 * The health probe is plain TCP: the endpoints speak mTLS (gRPC and HTTPS with client
 * certificates), which an HTTP probe of the cloud provider cannot pass. Source ranges are
 * enforced by AKS as NSG rules from `loadBalancerSourceRanges` on the Service spec.
 */
export const AKS_LB_ANNOTATIONS: Readonly<Record<string, string>> = {
  "service.beta.kubernetes.io/azure-load-balancer-internal": "false",
  "service.beta.kubernetes.io/azure-load-balancer-health-probe-protocol": "Tcp",
};

/** The Azure cloud module. */
export const azureCloud: CloudModule = {
  createProvider(name, config) {
    if (config.cloud !== "azure") throw new Error(`stack ${config.stack} targets ${config.cloud}, not azure`);
    return new Provider(name, {
      subscriptionId: config.cluster.subscriptionId,
      tenantId: config.cluster.tenantId,
      location: config.region,
    });
  },
  createStorage(name, ctx, args, opts) {
    return new AzureStorage(name, { ...args, context: ctx }, opts);
  },
  createEgress(name, ctx, args, opts) {
    return new AzureEgress(name, { ...args, context: ctx }, opts);
  },
  serviceAccountIssuer(config) {
    if (config.cloud !== "azure") throw new Error(`stack ${config.stack} targets ${config.cloud}, not azure`);
    return config.cluster.oidcIssuerUrl;
  },
  loadBalancerAnnotations() {
    return { ...AKS_LB_ANNOTATIONS };
  },
};
