/**
 * Rendering of fleet events for three audiences: people at a terminal (live progress per
 * stack), CI logs (one plain line per event that matters) and machines (`--json`:
 * newline-delimited JSON, one object per event).
 */
import { SPOKES_ENV } from "../components/contracts";
import type { DriftRow, FleetEvent, Wave } from "./orchestrator";
import { changedCount } from "./runner";

/** Where output goes; a writable stream in production, an array in tests. */
export interface Sink {
  write(text: string): void;
  /** True for an interactive terminal (cursor movement allowed). */
  isTTY?: boolean;
}

/**
 * A process stream as a {@link Sink} that survives its reader going away: when stdout is a
 * pipe whose reader has exited (`fleet up --dry-run | head -1`), Node reports EPIPE as an
 * `error` event on the stream, which would otherwise crash the CLI with a stack trace
 * (https://nodejs.org/api/process.html#a-note-on-process-io, and Node's `'error'` event rule:
 * an unhandled `'error'` is thrown). Later writes are dropped, so the command finishes what
 * it started and exits with its own exit code, without a word on stderr.
 */
export function pipeSafeSink(stream: NodeJS.WritableStream & { isTTY?: boolean }): Sink & { readonly closed: boolean } {
  let closed = false;
  const isEpipe = (e: unknown): boolean => e !== null && typeof e === "object" && (e as { code?: unknown }).code === "EPIPE";
  stream.on("error", (e: unknown) => {
    if (isEpipe(e)) closed = true;
    else throw e;
  });
  return {
    get closed() {
      return closed;
    },
    isTTY: stream.isTTY === true,
    write(text: string): void {
      if (closed) return;
      try {
        stream.write(text);
      } catch (e) {
        if (isEpipe(e)) closed = true;
        else throw e;
      }
    },
  };
}

/** Output mode chosen from flags and environment. */
export type OutputMode = "tty" | "plain" | "json";

/** `--json` wins; otherwise live progress only on a TTY outside CI. */
export function outputMode(json: boolean, isTTY: boolean, env: NodeJS.ProcessEnv): OutputMode {
  if (json) return "json";
  const ci = env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0";
  return isTTY && !ci ? "tty" : "plain";
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function envText(env: Readonly<Record<string, string>>): string {
  const parts = Object.entries(env).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return parts.length > 0 ? ` [${parts.join(" ")}]` : "";
}

function summary(changes: Readonly<Record<string, number>>): string {
  const parts = Object.entries(changes).filter(([, n]) => n > 0).map(([op, n]) => `${op} ${n}`);
  return parts.length > 0 ? parts.join(", ") : "no changes";
}

/** A plain text line for an event, or undefined for events not worth a line of their own. */
export function plainLine(e: FleetEvent): string | undefined {
  switch (e.type) {
    case "wave-start":
      return `== wave ${e.wave}: ${e.title}: ${e.stacks.join(", ")}${e.reason !== undefined ? ` (${e.reason})` : ""}`;
    case "wave-skipped":
      return `== wave ${e.wave}: ${e.title}: skipped (${e.reason})`;
    case "stack-start":
      return `[${e.stack}] ${e.op} started${envText(e.env)}`;
    case "stack-progress":
      return e.message !== undefined ? `[${e.stack}] ${e.phase}: ${e.message}` : undefined;
    case "stack-done":
      return `[${e.stack}] ${e.op} succeeded in ${secs(e.elapsedMs)}: ${summary(e.changes)}`;
    case "stack-failed":
      return `[${e.stack}] ${e.op} FAILED at step '${e.step}' after ${secs(e.elapsedMs)}: ${e.error}`;
    case "stack-skipped":
      return `[${e.stack}] ${e.op} skipped: ${e.reason}`;
  }
}

/** Consumes fleet events and writes them in one of the output modes. */
export interface Reporter {
  event(e: FleetEvent): void;
  /** Free text (plans, tables, summaries); in JSON mode wrapped as a `message` event. */
  info(text: string): void;
  /** Flushes live displays. */
  close(): void;
}

/** A reporter for the given mode. */
export function createReporter(mode: OutputMode, out: Sink, clock: () => Date = () => new Date()): Reporter {
  if (mode === "json") {
    return {
      event: (e) => out.write(`${JSON.stringify({ time: clock().toISOString(), ...e })}\n`),
      info: (text) => out.write(`${JSON.stringify({ time: clock().toISOString(), type: "message", text })}\n`),
      close: () => undefined,
    };
  }
  if (mode === "plain") {
    return {
      event: (e) => {
        const line = plainLine(e);
        if (line !== undefined) out.write(`${line}\n`);
      },
      info: (text) => out.write(`${text}\n`),
      close: () => undefined,
    };
  }
  return liveReporter(out);
}

/**
 * Terminal display: finished lines scroll, and a block with one status line per running
 * stack (phase, resources done, elapsed) is redrawn below them.
 */
function liveReporter(out: Sink): Reporter {
  const running = new Map<string, string>();
  let drawn = 0;
  const clear = (): void => {
    if (drawn > 0) out.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = (): void => {
    for (const line of running.values()) out.write(`${line}\n`);
    drawn = running.size;
  };
  const print = (text: string): void => {
    clear();
    out.write(`${text}\n`);
    draw();
  };
  return {
    event: (e) => {
      if (e.type === "stack-start") {
        clear();
        running.set(e.stack, `  ${e.stack}: ${e.op} starting`);
        draw();
        return;
      }
      if (e.type === "stack-progress") {
        clear();
        running.set(e.stack, `  ${e.stack}: ${e.op} ${e.phase}, ${e.resourcesDone} resources done, ${secs(e.elapsedMs)}`);
        if (e.message !== undefined) out.write(`[${e.stack}] ${e.message}\n`);
        draw();
        return;
      }
      if (e.type === "stack-done" || e.type === "stack-failed") running.delete(e.stack);
      const line = plainLine(e);
      if (line !== undefined) print(line);
    },
    info: print,
    close: clear,
  };
}

/** The dry-run text of a plan: ordered waves of stack operations. */
export function renderPlan(op: string, waves: readonly Wave[]): string {
  if (waves.length === 0) return `fleet ${op}: no stacks selected`;
  const lines = [`fleet ${op}: dry run, nothing is executed`];
  for (const w of waves) {
    lines.push(`wave ${w.wave}: ${w.title}${w.condition ? ` (${w.condition})` : ""}`);
    if (w.note) lines.push(`  note: ${w.note}`);
    for (const o of w.ops) {
      const env = Object.keys(o.env).length > 0 ? envText(o.env) : o.op === "up" || o.op === "preview" ? ` [${SPOKES_ENV} unset]` : "";
      // Parallel waves are spoke waves: only the hub program reads SOVEREIGN_SPOKES.
      lines.push(`  ${o.op} ${o.stack}${w.parallel ? "" : env}${o.envNote ? `; ${o.envNote}` : ""}`);
    }
  }
  return lines.join("\n");
}

/** The drift table for people. */
export function renderDriftTable(rows: readonly DriftRow[]): string {
  const header = ["STACK", "CLOUD", "REGION", "DRIFTED", "LAST UPDATE"];
  const body = rows.map((r) => [
    r.stack,
    r.cloud,
    r.region,
    r.error !== undefined ? "error" : String(r.drifted ?? 0),
    r.lastUpdate ?? "never",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const lines = [fmt(header), ...body.map(fmt)];
  for (const r of rows) if (r.error !== undefined) lines.push(`${r.stack}: ${r.error}`);
  const drifted = rows.filter((r) => (r.drifted ?? 0) > 0);
  lines.push(drifted.length > 0 ? `${drifted.length} stack(s) drifted: ${drifted.map((r) => `${r.stack} (${summary(r.changes ?? {})})`).join("; ")}` : "no drift");
  return lines.join("\n");
}

/** The drift report for pipelines: one JSON object per stack, then a summary object. */
export function renderDriftJson(rows: readonly DriftRow[]): string {
  const lines = rows.map((r) => JSON.stringify({ type: "drift", ...r, drifted: r.error !== undefined ? null : (r.drifted ?? 0) }));
  const total = rows.reduce((n, r) => n + (r.changes ? changedCount(r.changes) : 0), 0);
  lines.push(JSON.stringify({ type: "drift-summary", stacks: rows.length, driftedStacks: rows.filter((r) => (r.drifted ?? 0) > 0).length, driftedResources: total, failedStacks: rows.filter((r) => r.error !== undefined).length }));
  return `${lines.join("\n")}\n`;
}
