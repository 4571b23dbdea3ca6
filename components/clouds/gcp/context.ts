/**
 * The GCP view of the cloud seam's context: the same {@link CloudContext}, with the cluster
 * and network narrowed to their GCP shapes.
 */
import type { GcpCluster, GcpNetwork } from "../../config";
import type { CloudContext } from "../types";

/** A {@link CloudContext} whose stack targets GCP. */
export type GcpContext = CloudContext & { config: CloudContext["config"] & { cloud: "gcp"; cluster: GcpCluster; network: GcpNetwork } };

/** Narrows a context to GCP, or fails loudly: a GCP module must never touch another cloud's stack. */
export function asGcp(ctx: CloudContext): GcpContext {
  if (ctx.config.cloud !== "gcp") throw new Error(`stack ${ctx.stack} targets ${ctx.config.cloud}, not gcp`);
  return ctx as GcpContext;
}

/** Project of the VPC: the shared VPC host project when given, else the cluster's. */
export function networkProject(ctx: GcpContext): string {
  return ctx.config.network.project ?? ctx.config.cluster.project;
}

/**
 * The issuer of a GKE cluster's ServiceAccount tokens: `https://container.googleapis.com/v1/projects/<project>/locations/<location>/clusters/<name>`,
 * the `iss` claim of its tokens and the base of its public OIDC discovery document
 * ("Workload Identity Federation with Kubernetes", https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes).
 */
export function gkeIssuerUrl(project: string, location: string, cluster: string): string {
  return `https://container.googleapis.com/v1/projects/${project}/locations/${location}/clusters/${cluster}`;
}
