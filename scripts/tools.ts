/**
 * `npm run tools`: builds the pinned upstream tools (components/versions.ts) from the Go
 * module proxy into `.tools/bin`. Idempotent: a binary whose stamp names the pinned
 * module@version is kept, so a second run builds nothing.
 *
 * Each module builds inside a small wrapper module under `.tools/build/<module>` that
 * requires the pinned version and repeats the upstream `replace` and `exclude` directives
 * (read from the upstream go.mod itself): `go install module@version` refuses modules whose
 * go.mod has them (Go reference, "go install": "it must not contain directives that would
 * cause it to be interpreted differently than if it were the main module"), and Thanos
 * v0.42.4 and Prometheus v0.314.0 both have them.
 *
 *   npm run tools                # build what is missing or stale
 *   npm run tools -- --force     # rebuild everything
 */
import { parse } from "yaml";
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UPSTREAM_TOOLS, type UpstreamTool } from "../components/versions";
import { builtTool, stampOf, TOOLS_BIN, TOOLS_DIR, type ToolName } from "../toolchain";

const force = process.argv.includes("--force");

function go(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync("go", args, { cwd, encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local", ...env }, stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 * 1024 * 1024 });
}

/** The `replace` and `exclude` directives of a go.mod, as go.mod text. */
export function moduleDirectives(goMod: string): string {
  const out: string[] = [];
  const lines = goMod.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\/\/.*$/, "").trim();
    const m = /^(replace|exclude)\s*(\()?\s*(.*)$/.exec(line);
    if (m === null) continue;
    if (m[2] === undefined) {
      out.push(`${m[1]} ${m[3]}`);
      continue;
    }
    const block: string[] = [];
    for (i++; i < lines.length; i++) {
      const inner = lines[i].replace(/\/\/.*$/, "").trim();
      if (inner === ")") break;
      if (inner !== "") block.push(`\t${inner}`);
    }
    out.push(`${m[1]} (\n${block.join("\n")}\n)`);
  }
  return out.join("\n");
}

/** The module cache is read-only; a copy of it must be writable to be cleaned up later. */
function chmodTree(path: string): void {
  execFileSync("chmod", ["-R", "u+w", path]);
  chmodSync(path, 0o755);
}

/**
 * The build tags of the upstream release build: `build.tags.all` and `build.tags.linux` of the
 * module's `.promu.yml` (the file Prometheus-ecosystem releases are built from, prometheus/promu
 * config), minus the tool's `omitTags`. Modules without one (helm: `TAGS :=` empty in its
 * Makefile) build without tags.
 */
export function releaseTags(moduleDir: string, tool: UpstreamTool): string[] {
  const file = join(moduleDir, ".promu.yml");
  if (!existsSync(file)) return [];
  const doc = parse(readFileSync(file, "utf8")) as { build?: { tags?: Record<string, unknown> } };
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  const all = [...new Set([...list(doc.build?.tags?.all), ...list(doc.build?.tags?.linux)])];
  for (const t of Object.keys(tool.omitTags ?? {})) if (!all.includes(t)) throw new Error(`${tool.module}@${tool.moduleVersion}: omitTags names ${t}, which its .promu.yml does not set`);
  return all.filter((t) => tool.omitTags?.[t] === undefined);
}

/**
 * The `-ldflags` of a build: stripped, plus the tool's own version variables (their names
 * differ per project: prometheus/common/version for promu, helm's internal/version, main.Version
 * for versitygw), so each binary reports its pinned version as its release build would.
 */
export function versionLdflags(tool: UpstreamTool): string {
  const vars = tool.versionVars(tool.version, tool.moduleVersion);
  for (const v of vars) if (!/^[^\s=]+\.[A-Za-z_]\w*=\S+$/.test(v)) throw new Error(`${tool.module}: versionVars entry ${JSON.stringify(v)} is not importpath.name=value`);
  return ["-s", "-w", ...vars.map((v) => `-X ${v}`)].join(" ");
}

function build(tool: UpstreamTool): void {
  const names = tool.binaries.map((b) => b.name as ToolName);
  if (!force && names.every((n) => builtTool(n) !== undefined)) {
    process.stdout.write(`tools: ${names.join(", ")} ${tool.version} up to date\n`);
    return;
  }
  const started = Date.now();
  const dir = join(TOOLS_DIR, "build", tool.module.replace(/[^A-Za-z0-9.-]/g, "_"));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const info = JSON.parse(go(["mod", "download", "-json", `${tool.module}@${tool.moduleVersion}`], dir)) as { GoMod?: string; Dir?: string; Error?: string };
  if (info.GoMod === undefined || info.Dir === undefined) throw new Error(`go mod download ${tool.module}@${tool.moduleVersion}: ${info.Error ?? "no go.mod"}`);
  const upstreamMod = readFileSync(info.GoMod, "utf8");
  const goLine = /^go\s+(\S+)/m.exec(upstreamMod)?.[1] ?? "1.22";
  let local = "";
  if (tool.generatedAssets !== undefined && tool.generatedAssets.length > 0) {
    // The pinned source, unchanged, plus the generated directories its //go:embed needs.
    const src = join(dir, "src");
    cpSync(info.Dir, src, { recursive: true });
    chmodTree(src);
    for (const asset of tool.generatedAssets) {
      mkdirSync(join(src, asset), { recursive: true });
      writeFileSync(join(src, asset, "index.html"), `<!doctype html><title>${tool.module} ${tool.version}</title><p>Built from the Go module by npm run tools: the web UI bundle is not part of the module; every API is.</p>\n`);
    }
    local = `\nreplace ${tool.module} => ./src\n`;
  }
  writeFileSync(
    join(dir, "go.mod"),
    `module sovereign.local/tools\n\ngo ${goLine}\n\nrequire ${tool.module} ${tool.moduleVersion}\n\n${moduleDirectives(upstreamMod)}\n${local}`,
  );
  // A tools file keeps the main packages in the module graph for `go mod tidy`.
  writeFileSync(join(dir, "tools.go"), `//go:build tools\n\npackage tools\n\nimport (\n${tool.binaries.map((b) => `\t_ "${b.pkg}"`).join("\n")}\n)\n`);
  go(["mod", "tidy"], dir);
  const tags = releaseTags(info.Dir, tool);
  const ldflags = versionLdflags(tool);
  mkdirSync(TOOLS_BIN, { recursive: true });
  for (const b of tool.binaries) {
    const out = join(TOOLS_BIN, b.name);
    process.stdout.write(`tools: building ${b.name} ${tool.version} (${tool.module}@${tool.moduleVersion}, tags ${tags.join(",") || "none"})\n`);
    go(["build", "-trimpath", ...(tags.length > 0 ? ["-tags", tags.join(",")] : []), "-ldflags", ldflags, "-o", `${out}.tmp`, b.pkg], dir, { CGO_ENABLED: "0" });
    renameSync(`${out}.tmp`, out);
    writeFileSync(`${out}.stamp`, stampOf(tool));
  }
  process.stdout.write(`tools: ${names.join(", ")} built in ${((Date.now() - started) / 1000).toFixed(0)}s\n`);
}

function main(): void {
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
  } catch {
    throw new Error("go is not installed: the tools are built from the Go module proxy (install Go 1.26 or later)");
  }
  for (const tool of UPSTREAM_TOOLS) build(tool);
  if (!existsSync(TOOLS_BIN)) throw new Error(`nothing built in ${TOOLS_BIN}`);
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`tools: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
