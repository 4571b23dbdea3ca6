/**
 * The upstream reference data in ../shared/reference: Thanos flags per component, objstore
 * and endpoint-config schemas, chart values. Tests check generated configuration against it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { builtTool, runTool } from "../../toolchain";

/** The reference folder: ../shared/reference next to the repository (CI clones it there too). */
export const REFERENCE_DIR = [resolve(__dirname, "..", "..", "..", "shared", "reference"), resolve(process.cwd(), "..", "shared", "reference")].find((d) => existsSync(d)) ?? resolve(__dirname, "..", "..", "..", "shared", "reference");

export type ThanosComponent = "query" | "store" | "compact" | "query-frontend" | "rule" | "sidecar" | "receive";

const helpCache = new Map<ThanosComponent, string>();

/**
 * `thanos <component> --help` of the built, pinned binary (`npm run tools`). Without the
 * binary (outside CI only) the transcribed help in ../shared/reference stands in, loudly.
 */
export function thanosHelp(component: ThanosComponent): string {
  const known = helpCache.get(component);
  if (known !== undefined) return known;
  let text: string;
  if (builtTool("thanos") !== undefined) {
    const r = runTool("thanos", [component, "--help"]);
    if (r.status !== 0) throw new Error(`thanos ${component} --help exited ${r.status}: ${r.output}`);
    text = r.output;
  } else {
    if (process.env.CI === "true") throw new Error("thanos is not built in .tools/bin: .ci/run must run `npm run tools`");
    process.stderr.write(`\n*** thanos not built (npm run tools): flags checked against the transcribed ${component}.help.txt ***\n\n`);
    text = transcribedThanosHelp(component);
  }
  helpCache.set(component, text);
  return text;
}

/** The help text transcribed into ../shared/reference from the v0.42.4 docs. */
export function transcribedThanosHelp(component: ThanosComponent): string {
  return readFileSync(join(REFERENCE_DIR, "thanos-v0.42.4", `${component}.help.txt`), "utf8");
}

/** Every flag a help text lists, with `--[no-]x` expanded to `--x` and `--no-x`. */
export function helpFlags(text: string): Set<string> {
  const flags = new Set<string>();
  for (const m of text.matchAll(/^\s+(?:-[a-zA-Z], )?--(\[no-\])?([a-z0-9][a-z0-9.-]*)/gm)) {
    flags.add(`--${m[2]}`);
    if (m[1] !== undefined) flags.add(`--no-${m[2]}`);
  }
  return flags;
}

/** Every flag `thanos <component> --help` of the pinned binary lists. */
export function thanosFlags(component: ThanosComponent): Set<string> {
  return helpFlags(thanosHelp(component));
}

/** Flags of an argument list (`compact --a=b --c` → `--a`, `--c`). */
export function flagsOf(args: readonly string[]): string[] {
  return args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]);
}

/** Flags of `args` that the component's reference help does not know. */
export function unknownThanosFlags(component: ThanosComponent, args: readonly string[]): string[] {
  const known = thanosFlags(component);
  return flagsOf(args).filter((f) => !known.has(f));
}

/** A YAML reference file, parsed. */
export function referenceYaml(path: string): unknown {
  return parse(readFileSync(join(REFERENCE_DIR, path), "utf8"));
}

/** Key paths of a YAML/JSON document (`a.b.c`; array items as `a[]`). */
export function keyPaths(doc: unknown, prefix = ""): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown, p: string): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, `${p}[]`);
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        const q = p === "" ? k : `${p}.${k}`;
        out.add(q);
        walk(x, q);
      }
    }
  };
  walk(doc, prefix);
  return out;
}

/**
 * Key paths of `doc` unknown to `reference`. A path is known when the reference has it, or
 * when one of its ancestors is a free-form map in the reference (`{}` or a map whose keys are
 * user-defined, listed in `freeForm`).
 */
export function unknownKeyPaths(doc: unknown, reference: unknown, freeForm: readonly string[] = []): string[] {
  const known = keyPaths(reference);
  const refEmptyMaps = new Set<string>();
  const walk = (v: unknown, p: string): void => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      if (Object.keys(v).length === 0 && p !== "") refEmptyMaps.add(p);
      for (const [k, x] of Object.entries(v)) walk(x, p === "" ? k : `${p}.${k}`);
    } else if (Array.isArray(v)) {
      if (v.length === 0 && p !== "") refEmptyMaps.add(p);
      for (const x of v) walk(x, `${p}[]`);
    }
  };
  walk(reference, "");
  const open = (path: string): boolean => {
    const parts = path.split(".");
    for (let i = parts.length - 1; i > 0; i--) {
      const ancestor = parts.slice(0, i).join(".");
      if (refEmptyMaps.has(ancestor) || refEmptyMaps.has(ancestor.replace(/\[\]$/, "")) || freeForm.includes(ancestor)) return true;
    }
    return false;
  };
  return [...keyPaths(doc)].filter((p) => !known.has(p) && !open(p));
}
