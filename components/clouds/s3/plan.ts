/**
 * The plan's section for a spoke on S3-compatible storage (`fleet.md`): what its profile
 * expresses and, for each guarantee it cannot, the advisory; and the lifecycle rules of each
 * bucket with the command that applies them, since no lifecycle resource can be created on these
 * services. Pure: the offline report calls it with the stack's raw configuration and outputs.
 */
import { retentionOf } from "../../config/schema";
import { S3_PROFILES } from "../../config/regions";
import { s3Guarantees, s3Profile } from "./profiles";
import { s3CreatedUserName, s3LifecycleDocument, s3LifecycleRules } from "./render";

/** What the section needs of one stack. */
export interface S3PlanInput {
  stack: string;
  /** The stack's raw `observability:objectStorage` and `observability:retention` values. */
  objectStorage: unknown;
  retention: unknown;
  /** The stack's raw `observability:queryPath` (which read identity a created-identities spoke has). */
  queryPath?: unknown;
  /** The stack's bucket names (its `buckets` output). */
  buckets: { metrics?: string; logs?: string };
}

const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** Markdown lines of one stack's S3-compatible storage section. */
export function s3PlanSection(input: S3PlanInput): string[] {
  const storage = obj(input.objectStorage);
  const id = S3_PROFILES.find((p) => p === storage.profile);
  if (id === undefined) return [`### ${input.stack}`, "", `no known profile (${String(storage.profile)})`, ""];
  const profile = s3Profile(id);
  const endpoint = String(storage.endpoint ?? "<endpoint>");
  const out = [`### ${input.stack}: ${profile.title} at ${endpoint}`, "", "| guarantee | | how, or why not |", "|---|---|---|"];
  // Created identities only where the profile creates them (the configuration refuses them elsewhere).
  const created = storage.identities === "created" && profile.createdIdentities.supported;
  for (const g of s3Guarantees(profile, created ? "created" : "provided")) out.push(`| ${g.what} | ${g.expressed ? "yes" : "**advisory**"} | ${g.detail} |`);
  out.push("");
  if (created) {
    const read = input.queryPath === "spoke-query" ? "store" : "reader";
    const users = (["sidecar", "compactor", "loki", read] as const).map((u) => `\`${s3CreatedUserName(input.stack, u)}\``);
    out.push(`Identities created by the stack (MinIO users, each with an IAM policy of the same name binding it to its bucket, actions and addresses): ${users.join(", ")}.`, "");
  }
  const retention = retentionOf(input.retention);
  for (const role of ["metrics", "logs"] as const) {
    const bucket = input.buckets[role];
    const rules = s3LifecycleRules(role, retention, profile);
    if (bucket === undefined || rules.length === 0) continue;
    out.push(
      `Lifecycle of \`${bucket}\` (apply once, and again when the retention changes):`,
      "",
      "```sh",
      `aws s3api put-bucket-lifecycle-configuration --endpoint-url ${endpoint} --bucket ${bucket} --lifecycle-configuration '${JSON.stringify(s3LifecycleDocument(rules, profile))}'`,
      "```",
      "",
    );
  }
  return out;
}
