/**
 * The Azure view of the cloud seam's context: the same {@link CloudContext}, with the cluster
 * and network narrowed to their Azure shapes.
 */
import type { AzureCluster, AzureNetwork } from "../../config";
import type { CloudContext } from "../types";

/** A {@link CloudContext} whose stack targets Azure. */
export type AzureContext = CloudContext & { config: CloudContext["config"] & { cloud: "azure"; cluster: AzureCluster; network: AzureNetwork } };

/** Narrows a context to Azure, or fails loudly: the Azure module must never touch another cloud's stack. */
export function asAzure(ctx: CloudContext): AzureContext {
  if (ctx.config.cloud !== "azure") throw new Error(`stack ${ctx.stack} targets ${ctx.config.cloud}, not azure`);
  return ctx as AzureContext;
}
