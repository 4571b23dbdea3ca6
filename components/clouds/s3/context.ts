/**
 * The S3-compatible view of the cloud seam's context: the same {@link CloudContext}, narrowed to
 * cloud `s3`, and what is derived from it (the endpoint clients use, the spoke's source addresses).
 */
import * as pulumi from "@pulumi/pulumi";
import type { S3Cluster, S3Network, S3ObjectStorage } from "../../config";
import type { CloudContext } from "../types";
import { s3Profile } from "./profiles";
import type { S3Endpoint } from "./render";

/** A stack configuration whose cloud is `s3`. */
export type S3Config = CloudContext["config"] & { cloud: "s3"; cluster: S3Cluster; network: S3Network; objectStorage: S3ObjectStorage };
/** A {@link CloudContext} whose stack is on S3-compatible storage. */
export type S3Context = CloudContext & { config: S3Config };

/** Narrows a context to cloud s3, or fails loudly: this module must never touch another cloud's stack. */
export function asS3(ctx: CloudContext): S3Context {
  if (ctx.config.cloud !== "s3") throw new Error(`stack ${ctx.stack} targets ${ctx.config.cloud}, not s3`);
  return ctx as S3Context;
}

/** Where clients reach the service: its URL, the signing region (default: the stack's region) and the addressing (default: the profile's). */
export function s3Endpoint(config: S3Config): S3Endpoint {
  const s = config.objectStorage;
  return { url: s.endpoint, region: s.signingRegion ?? config.region, addressing: s.addressing ?? s3Profile(s.profile).addressing };
}

/**
 * The addresses the service sees for the spoke's own requests: `network.storageSourceCidrs` when
 * set (a private path to the service), else the cluster's egress addresses.
 */
export function spokeSourceCidrs(config: S3Config, egressIps: pulumi.Input<string[]>): pulumi.Output<string[]> {
  const declared = config.network.storageSourceCidrs;
  return declared.length > 0 ? pulumi.output([...declared]) : pulumi.output(egressIps);
}
