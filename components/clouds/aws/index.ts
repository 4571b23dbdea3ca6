/**
 * The AWS implementation of the cloud seam: provider, sovereign S3 storage with EKS Pod
 * Identity / IRSA writers and the hub's read-only key, and static egress through NAT gateways.
 */
import * as aws from "@pulumi/aws";
import { resourceLabels } from "../../labels";
import type { CloudModule } from "../types";
import { AwsEgress } from "./egress";
import { AwsStorage } from "./storage";

export * from "./context";
export * from "./egress";
export * from "./names";
export * from "./render";
export * from "./storage";

/**
 * Service annotations of a public LoadBalancer on EKS: an internet-facing NLB provisioned by the
 * AWS Load Balancer Controller (`external`), targeting pod IPs directly (`ip`), with client IP
 * preservation on, and `loadBalancerSourceRanges` as the NLB's security group rules.
 *
 * `preserve_client_ip.enabled=true` is what lets the pods see the client's address: an NLB keeps
 * the client IP by default for instance targets but not for IP targets over TCP/TLS ("Edit target
 * group attributes for your Network Load Balancer", Client IP preservation, Default settings,
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html:
 * "IP type target groups (TCP, TLS): Disabled"); the controller sets it through the
 * `service.beta.kubernetes.io/aws-load-balancer-target-group-attributes` annotation
 * (https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/annotations/,
 * "Target group attributes"). Without it the pods see the NLB's private address, so the per-pod
 * NetworkPolicy `ipBlock` allowlists of the hub addresses never match.
 */
export const EKS_LB_ANNOTATIONS: Readonly<Record<string, string>> = {
  "service.beta.kubernetes.io/aws-load-balancer-type": "external",
  "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
  "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
  "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": "preserve_client_ip.enabled=true",
};

/** The AWS cloud module. */
export const awsCloud: CloudModule = {
  createProvider(name, config) {
    if (config.cloud !== "aws") throw new Error(`stack ${config.stack} targets ${config.cloud}, not aws`);
    return new aws.Provider(name, {
      region: config.region,
      // A wrong profile or role in the environment fails before anything lands in another account.
      allowedAccountIds: [config.cluster.accountId],
      // The same labels the stack puts in CloudContext.labels: every AWS resource carries the stack identity.
      defaultTags: { tags: resourceLabels(config) },
    });
  },
  createStorage(name, ctx, args, opts) {
    return new AwsStorage(name, { ...args, context: ctx }, opts);
  },
  createEgress(name, ctx, args, opts) {
    return new AwsEgress(name, { ...args, context: ctx }, opts);
  },
  serviceAccountIssuer(config) {
    if (config.cloud !== "aws") throw new Error(`stack ${config.stack} targets ${config.cloud}, not aws`);
    return config.cluster.oidcIssuerUrl;
  },
  loadBalancerAnnotations() {
    return { ...EKS_LB_ANNOTATIONS };
  },
};
