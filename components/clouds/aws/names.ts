/**
 * Deterministic names of the AWS resources whose names are global or referenced by other
 * systems (bucket names in objstore configs, role names in ServiceAccount annotations).
 */
import { createHash } from "node:crypto";
import type { BucketUser } from "../types";

/** What a bucket holds. */
export type BucketRole = "metrics" | "logs";

/** S3 bucket names: 3-63 characters, lowercase letters, digits and '-', starting and ending alphanumeric. */
export const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/**
 * The bucket of a stack: `<stack>-<role>-<account>-<region>`. S3 names are global, so the
 * account and region make two deployments of the same stack name (another account, another
 * region) never collide. Stacks long enough to overflow 63 characters are shortened and a
 * hash of the full name keeps them distinct.
 */
export function bucketName(stack: string, role: BucketRole, accountId: string, region: string): string {
  const full = `${stack}-${role}-${accountId}-${region}`;
  if (full.length <= 63) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  const suffix = `-${role}-${accountId}-${region}`;
  const room = 63 - suffix.length - hash.length - 1;
  const head = stack.slice(0, Math.max(1, room)).replace(/-+$/, "");
  return `${head}-${hash}${suffix}`;
}

/** IAM role of one workload (≤ 64 characters: stack names are at most 32). */
export function workloadRoleName(stack: string, user: BucketUser): string {
  return `${stack}-observability-${user}`;
}

/** IAM role the hub's store gateway assumes with its projected token (federated reader). */
export function readerRoleName(stack: string): string {
  return `${stack}-observability-hub-reader`;
}

/** IAM user that carries the hub's read-only access keys. */
export function readerUserName(stack: string): string {
  return `${stack}-observability-hub-reader`;
}

/** Alias of the customer-managed KMS key. */
export function kmsAliasName(stack: string): string {
  return `alias/${stack}-observability`;
}
