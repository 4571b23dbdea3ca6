/**
 * The AWS view of the cloud seam's context: the same {@link CloudContext}, with the cluster
 * and network narrowed to their AWS shapes, and the names and ARNs derived from them.
 */
import type { AwsCluster, AwsNetwork } from "../../config";
import type { CloudContext } from "../types";

/** A {@link CloudContext} whose stack targets AWS. */
export type AwsContext = CloudContext & { config: CloudContext["config"] & { cloud: "aws"; cluster: AwsCluster; network: AwsNetwork } };

/** Narrows a context to AWS, or fails loudly: the AWS module must never touch another cloud's stack. */
export function asAws(ctx: CloudContext): AwsContext {
  if (ctx.config.cloud !== "aws") throw new Error(`stack ${ctx.stack} targets ${ctx.config.cloud}, not aws`);
  return ctx as AwsContext;
}

/**
 * The ARN partition of a region. Every region the config accepts today is commercial, but an
 * ARN built with the wrong partition silently matches nothing in a policy, so derive it.
 */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("eusc-")) return "aws-eusc";
  return "aws";
}

/** ARN of the EKS cluster (the `eks-cluster-arn` session tag EKS Pod Identity adds when it assumes a role). */
export function clusterArn(region: string, accountId: string, clusterName: string): string {
  return `arn:${partitionOf(region)}:eks:${region}:${accountId}:cluster/${clusterName}`;
}

/** The issuer as IAM names it: host and path of the issuer URL, no scheme, no trailing slash. */
export function issuerHostPath(issuerUrl: string): string {
  const u = new URL(issuerUrl);
  return `${u.host}${u.pathname}`.replace(/\/+$/, "");
}

/** ARN of the cluster's IAM OIDC provider (`arn:aws:iam::<acct>:oidc-provider/<issuer host+path>`). */
export function oidcProviderArn(region: string, accountId: string, issuerUrl: string): string {
  return `arn:${partitionOf(region)}:iam::${accountId}:oidc-provider/${issuerHostPath(issuerUrl)}`;
}

/** ARN of an IAM role with the default path. */
export function roleArn(region: string, accountId: string, roleName: string): string {
  return `arn:${partitionOf(region)}:iam::${accountId}:role/${roleName}`;
}

/** ARN of an S3 bucket (S3 ARNs carry neither region nor account). */
export function bucketArn(region: string, bucket: string): string {
  return `arn:${partitionOf(region)}:s3:::${bucket}`;
}

/** The regional S3 endpoint; the gateway VPC endpoint routes exactly this traffic. */
export function s3Endpoint(region: string): string {
  return `s3.${region}.amazonaws.com`;
}
