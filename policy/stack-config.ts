/**
 * Prints the `--policy-pack-config` JSON of a stack: its declared region, zone, cloud, role,
 * encryption mode, hub reader auth (`hubReader.auth`, federated when omitted) and, for a spoke, its
 * hub stack (from `Pulumi.<stack>.yaml`) for every policy that reads them. Whether a federated spoke
 * still keeps its read key for a migrating hub is the hub's decision, not in the stack file: the
 * hub-reader policies read it from the stack's outputs. CrossGuard
 * hands a pack neither the stack's config nor (on a DIY backend) stack tags, so this file is
 * how the real CLI learns what the offline plan reads directly.
 *
 *   npx tsx policy/stack-config.ts dev-01 > /tmp/policy-dev-01.json
 */
import { resolve } from "node:path";
import { readStackFile } from "../components/config/stackfile";
import { readOptional, stackPolicyConfig } from "./offline";
import { allPolicies } from "./policies";

/** The pack config of a stack: one entry per policy with a config schema. */
export function packConfigFor(projectDir: string, stack: string): Record<string, Record<string, string>> {
  const c = stackPolicyConfig(readStackFile(projectDir, stack).values, (s) => readOptional(projectDir, s));
  const values = Object.fromEntries(Object.entries(c).filter((e): e is [string, string] => typeof e[1] === "string"));
  return Object.fromEntries(allPolicies.filter((p) => p.configSchema !== undefined).map((p) => [p.name, values]));
}

if (require.main === module) {
  const stack = process.argv[2];
  if (stack === undefined) {
    process.stderr.write("usage: npx tsx policy/stack-config.ts <stack> [project-dir]\n");
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(packConfigFor(resolve(process.argv[3] ?? "."), stack), null, 2)}\n`);
}
