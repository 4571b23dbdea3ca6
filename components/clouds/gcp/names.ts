/**
 * Deterministic GCP resource names. GCS bucket names are global across all of Google Cloud,
 * service account ids are per project and short; both must be stable across runs so that a
 * `pulumi up` never replaces a bucket (and its data) because a name drifted.
 */
import { createHash } from "node:crypto";

function hash8(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 8);
}

/** Shortens `base` to `max` characters, keeping it unique with a hash of the full name. */
function fit(base: string, max: number): string {
  if (base.length <= max) return base;
  const head = base.slice(0, max - 9).replace(/-+$/, "");
  return `${head}-${hash8(base)}`;
}

/**
 * GCS rules: 3-63 characters of `[a-z0-9-_]` (no dots here, they add domain rules),
 * starting and ending with a letter or digit, no `goog` prefix and no `google` anywhere.
 */
export const GCS_BUCKET_NAME = /^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/;

/**
 * The bucket of one stack and role: `<project>-<stack>-<role>`. A GCP project id is globally
 * unique and carries no `goog`-free guarantee, so `goog` is defused; names longer than 63
 * characters are shortened with a hash of the full name, so two stacks never collide.
 */
export function gcsBucketName(project: string, stack: string, role: "metrics" | "logs"): string {
  const base = `${project}-${stack}-${role}`.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/goog/g, "g00g");
  const name = fit(base, 63);
  if (!GCS_BUCKET_NAME.test(name) || name.includes("goog")) throw new Error(`cannot derive a valid GCS bucket name from ${base}`);
  return name;
}

/** Service account ids: 6-30 characters, `[a-z][-a-z0-9]*[a-z0-9]`. */
export const SERVICE_ACCOUNT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/**
 * The service account id of one role of one stack (`prod-01-compactor`). Several stacks may
 * share a project, so the stack is part of the id; long names are shortened with a hash.
 */
export function serviceAccountId(stack: string, role: string): string {
  const id = fit(`${stack}-${role}`, 30);
  if (!SERVICE_ACCOUNT_ID.test(id)) throw new Error(`cannot derive a valid service account id from ${stack}-${role}`);
  return id;
}

/** The email GCP gives a user-managed service account: known before it exists. */
export function serviceAccountEmail(accountId: string, project: string): string {
  return `${accountId}@${project}.iam.gserviceaccount.com`;
}
