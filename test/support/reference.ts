/**
 * The upstream reference data in ../shared/reference: Thanos flags per component, objstore
 * and endpoint-config schemas, chart values. Tests check generated configuration against it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";

/** The reference folder: ../shared/reference next to the repository (CI clones it there too). */
export const REFERENCE_DIR = [resolve(__dirname, "..", "..", "..", "shared", "reference"), resolve(process.cwd(), "..", "shared", "reference")].find((d) => existsSync(d)) ?? resolve(__dirname, "..", "..", "..", "shared", "reference");

export type ThanosComponent = "query" | "store" | "compact" | "query-frontend" | "rule" | "sidecar";

/** Every flag `thanos <component> --help` lists, with `--[no-]x` expanded to `--x` and `--no-x`. */
export function thanosFlags(component: ThanosComponent): Set<string> {
  const text = readFileSync(join(REFERENCE_DIR, "thanos-v0.42.4", `${component}.help.txt`), "utf8");
  const flags = new Set<string>();
  for (const m of text.matchAll(/^\s+(?:-[a-zA-Z], )?--(\[no-\])?([a-z0-9][a-z0-9.-]*)/gm)) {
    flags.add(`--${m[2]}`);
    if (m[1] !== undefined) flags.add(`--no-${m[2]}`);
  }
  return flags;
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
