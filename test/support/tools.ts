/**
 * External validators the tests call (promtool, amtool). On a developer machine a missing
 * tool skips the tests that need it, loudly; in CI it is an error, because a skipped check
 * there would pass a change nobody validated.
 */
import { spawnSync } from "node:child_process";

/** Tools the tests may shell out to. */
export type Tool = "promtool" | "amtool";

const INSTALL: Record<Tool, string> = {
  promtool: "Debian's prometheus package",
  amtool: "Debian's prometheus-alertmanager package",
};

const cache = new Map<Tool, { available: boolean; skipReason?: string }>();

/**
 * Whether `name` can be run. Use the result as `it(title, { skip: t.skipReason }, ...)`.
 * Throws when the tool is missing and `CI=true`.
 */
export function requireTool(name: Tool): { available: boolean; skipReason?: string } {
  const known = cache.get(name);
  if (known !== undefined) return known;
  const probe = spawnSync(name, ["--version"], { encoding: "utf8" });
  const available = probe.error === undefined && probe.status === 0;
  if (!available) {
    if (process.env.CI === "true") throw new Error(`${name} missing in CI: .ci/run must install ${INSTALL[name]}`);
    const skipReason = `${name} not installed (install ${INSTALL[name]}); tests needing it are SKIPPED`;
    process.stderr.write(`\n*** ${skipReason} ***\n\n`);
    const result = { available: false, skipReason };
    cache.set(name, result);
    return result;
  }
  const result = { available: true };
  cache.set(name, result);
  return result;
}

/** Runs a tool; returns exit status and combined output. */
export function runTool(name: Tool, args: readonly string[]): { status: number; output: string } {
  const r = spawnSync(name, [...args], { encoding: "utf8" });
  if (r.error !== undefined) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
