/**
 * Where the pinned upstream tools live: `.tools/bin` of this repository, built by
 * `npm run tools` (scripts/tools.ts) from the versions in components/versions.ts. Tests,
 * `npm run plan` and the loopback fleet find them here without any PATH change.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { UPSTREAM_TOOLS, type UpstreamTool } from "../components/versions";

/** Repository root. */
export const REPO_ROOT = resolve(__dirname, "..");
/** Build cache and binaries of the pinned tools (ignored by git). */
export const TOOLS_DIR = join(REPO_ROOT, ".tools");
/** The binaries. */
export const TOOLS_BIN = join(TOOLS_DIR, "bin");

/** A binary `npm run tools` builds. */
export type ToolName = "thanos" | "prometheus" | "promtool" | "alertmanager" | "amtool" | "helm" | "versitygw";

/** The module a binary is built from. */
export function toolModule(name: ToolName): UpstreamTool {
  const tool = UPSTREAM_TOOLS.find((t) => t.binaries.some((b) => b.name === name));
  if (tool === undefined) throw new Error(`no pinned module builds ${name} (components/versions.ts)`);
  return tool;
}

/**
 * Stamp written next to a binary once it is built: the module@version it came from and how it
 * was built (`tags=promu`: the upstream release tags, see scripts/tools.ts), so a binary built
 * another way is stale.
 */
export function stampOf(tool: UpstreamTool): string {
  const omitted = Object.keys(tool.omitTags ?? {}).sort().join(",");
  return `${tool.module}@${tool.moduleVersion} version=${tool.version} tags=promu${omitted === "" ? "" : `-${omitted}`}\n`;
}

/** Path of a built tool, or undefined when `npm run tools` has not built this version. */
export function builtTool(name: ToolName): string | undefined {
  const bin = join(TOOLS_BIN, name);
  const stamp = `${bin}.stamp`;
  if (!existsSync(bin) || !existsSync(stamp)) return undefined;
  return readFileSync(stamp, "utf8") === stampOf(toolModule(name)) ? bin : undefined;
}

/** Path of a built tool; throws with the fix when it is missing or stale. */
export function toolPath(name: ToolName): string {
  const bin = builtTool(name);
  if (bin === undefined) {
    const t = toolModule(name);
    throw new Error(`${name} ${t.version} is not built in ${TOOLS_BIN}: run \`npm run tools\``);
  }
  return bin;
}

/** Result of one tool run. */
export interface ToolRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together. */
  readonly output: string;
}

/** Runs a built tool synchronously. */
export function runTool(name: ToolName, args: readonly string[], opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): ToolRun {
  const r = spawnSync(toolPath(name), [...args], {
    encoding: "utf8",
    cwd: opts.cwd,
    input: opts.input,
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error !== undefined) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, output: `${r.stdout}${r.stderr}` };
}
