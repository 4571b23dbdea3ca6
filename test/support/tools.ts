/**
 * The pinned upstream tools the tests run (thanos, prometheus, promtool, alertmanager, amtool,
 * helm, and versitygw, the S3 server of test/support/s3server.ts), built by `npm run tools`
 * into `.tools/bin` (toolchain/). On a developer machine a
 * missing tool skips the tests that need it, loudly; in CI it is an error, because a skipped
 * check there would pass a change nobody validated.
 */
import { builtTool, runTool as run, toolModule, type ToolName } from "../../toolchain";

/** Tools the tests may shell out to. */
export type Tool = ToolName;

const cache = new Map<Tool, { available: boolean; skipReason?: string }>();

/**
 * Whether `name` is built. Use the result as `it(title, { skip: t.skipReason }, ...)`.
 * Throws when the tool is missing and `CI=true`.
 */
export function requireTool(name: Tool): { available: boolean; skipReason?: string } {
  const known = cache.get(name);
  if (known !== undefined) return known;
  const available = builtTool(name) !== undefined;
  if (!available) {
    const why = `${name} ${toolModule(name).version} is not built in .tools/bin: run \`npm run tools\``;
    if (process.env.CI === "true") throw new Error(`${why} (.ci/run builds it before npm test)`);
    const skipReason = `${why}; tests needing it are SKIPPED`;
    process.stderr.write(`\n*** ${skipReason} ***\n\n`);
    const result = { available: false, skipReason };
    cache.set(name, result);
    return result;
  }
  const result = { available: true };
  cache.set(name, result);
  return result;
}

/** Runs a built tool; returns exit status and combined output. */
export function runTool(name: Tool, args: readonly string[], opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): { status: number; output: string; stdout: string; stderr: string } {
  return run(name, args, opts);
}
