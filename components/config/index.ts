/**
 * Stack configuration: loading it from the Pulumi runtime and failing early and completely.
 */
import * as pulumi from "@pulumi/pulumi";
import { knownStacks, knownZones } from "./stackfile";
import { type ConfigIssue, type StackConfig, validateStackConfig } from "./schema";

export * from "./schema";
export * from "./regions";
export * from "./stackfile";

/** Every problem in a stack's configuration, raised before any resource is registered. */
export class ConfigError extends Error {
  constructor(
    readonly stackName: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(formatIssues(stackName, issues));
    this.name = "ConfigError";
  }
}

/** The message users see: the stack file, then one line per key path. */
export function formatIssues(stack: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.map((i) => `  - ${i.key}: ${i.message}`);
  return `Pulumi.${stack}.yaml has ${issues.length} configuration problem(s):\n${lines.join("\n")}\nFix them with 'pulumi config set ... -s ${stack}' or by editing Pulumi.${stack}.yaml.`;
}

/**
 * Whether a config key is secret. The SDK keeps this `@internal`, but it is the only way a
 * program can tell a `secure:` value from a plain one, and a kubeconfig committed in clear
 * text must be refused; the environment variable is the language host's older channel.
 */
function isConfigSecret(key: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const internal = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  if (typeof internal.isConfigSecret === "function") return internal.isConfigSecret(key);
  const env = process.env.PULUMI_CONFIG_SECRET_KEYS;
  return env !== undefined && env !== "" && (JSON.parse(env) as string[]).includes(key);
}

/** Config values as the runtime hands them over: structured values arrive as JSON text. */
function decode(v: string): unknown {
  const t = v.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return v;
    }
  }
  return v;
}

/**
 * Reads and validates the `observability:*` configuration of the running stack.
 * Throws a {@link ConfigError} listing every problem.
 */
export function loadStackConfig(projectDir: string = process.cwd()): StackConfig {
  const stack = pulumi.getStack();
  const all = pulumi.runtime.allConfig();
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  for (const [full, v] of Object.entries(all)) {
    if (!full.startsWith("observability:")) continue;
    values[full.slice("observability:".length)] = decode(v);
    if (isConfigSecret(full)) secretKeys.add(full);
  }
  const result = validateStackConfig(values, { stack, secretKeys, knownStacks: knownStacks(projectDir), knownZones: knownZones(projectDir) });
  if (!result.ok) throw new ConfigError(stack, result.issues);
  return result.config;
}
