/**
 * Names on an S3-compatible service. Bucket names are global per service (per provider, for
 * the public ones), so the default carries the stack and the region; `objectStorage.buckets`
 * overrides it.
 */

/** Default bucket name of a stack: `<stack>-<role>-<region>`, within S3's 63 characters. */
export function s3BucketName(stack: string, role: "metrics" | "logs", region: string): string {
  const name = `${stack}-${role}-${region}`;
  if (name.length > 63) throw new Error(`bucket name ${name} exceeds 63 characters: set observability:objectStorage.buckets.${role}`);
  return name;
}
