/**
 * `fleet secrets`: which secret config values each stack has and which it still needs, and
 * setting them through the Automation API so the stack's own secrets provider encrypts them.
 * Values are read from files or from a prompt that does not echo; they are never printed.
 *
 * The secrets a stack needs are the schema's secret leaves for its role and cloud
 * (`secretLeaves`, components/config/schema.ts), the same table the offline engine uses
 * for its stand-ins.
 */
import { readFileSync } from "node:fs";
import { neededSecretLeaves } from "../components/config/schema";
import { readStackFile } from "../components/config/stackfile";
import { EXIT, FleetError } from "./exit-codes";
import { fleetStacks, type Fleet } from "./orchestrator";
import type { StackRunner } from "./runner";

const NS = "observability";

/** One secret of one stack. */
export interface SecretRow {
  /** Full config path: `observability:alerting.receiver.url`. */
  key: string;
  set: boolean;
}

/** The secrets of one stack. */
export interface StackSecrets {
  stack: string;
  role: string;
  cloud: string;
  /** The stack exists in the backend. */
  exists: boolean;
  secrets: SecretRow[];
}

/** Full config path of a key given with or without the namespace. */
export function fullKey(key: string): string {
  return key.startsWith(`${NS}:`) ? key : `${NS}:${key}`;
}

/** The command that sets one secret of a stack from a file (the value never appears on a command line). */
export function setCommand(stack: string, key: string): string {
  const bare = key.slice(NS.length + 1);
  return bare === "kubeconfig"
    ? `npm run fleet -- secrets --stacks ${stack} --from-file kubeconfig=<kubeconfig file>`
    : `npm run fleet -- secrets --stacks ${stack} --from-file ${bare}=<file> (or --prompt)`;
}

/** Which secrets every selected stack needs and which of them it has (through the runner; nothing decrypted). */
export async function secretStatus(projectDir: string, runner: StackRunner, fleet: Fleet): Promise<StackSecrets[]> {
  const stacks = fleetStacks(fleet);
  return Promise.all(
    stacks.map(async (s): Promise<StackSecrets> => {
      const values = readStackFile(projectDir, s.name).values;
      const needed = neededSecretLeaves(values).map((l) => `${NS}:${l}`);
      const have = await runner.secretConfig(s.name);
      return { stack: s.name, role: s.role, cloud: s.cloud, exists: have.exists, secrets: needed.map((key) => ({ key, set: have.set.includes(key) })) };
    }),
  );
}

/** Missing secrets over all stacks. */
export function missingCount(rows: readonly StackSecrets[]): number {
  return rows.reduce((n, r) => n + r.secrets.filter((s) => !s.set).length, 0);
}

/** The table people read: per stack, set and missing secrets, each missing one with its command. */
export function renderSecretStatus(rows: readonly StackSecrets[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    const set = r.secrets.filter((s) => s.set).length;
    lines.push(`${r.stack} (${r.role}, ${r.cloud}): ${set} of ${r.secrets.length} secrets set${r.exists ? "" : " (stack not created in the backend yet; setting a secret creates it)"}`);
    for (const s of r.secrets) lines.push(s.set ? `  set      ${s.key}` : `  MISSING  ${s.key}: ${setCommand(r.stack, s.key)}`);
  }
  const missing = missingCount(rows);
  lines.push(missing === 0 ? "every secret is set" : `${missing} secret(s) missing`);
  return lines.join("\n");
}

/** One `--from-file key=path`. */
export interface FromFile {
  key: string;
  path: string;
}

/** Parses `--from-file key=path` (key with or without the `observability:` namespace). */
export function parseFromFile(arg: string): FromFile {
  const eq = arg.indexOf("=");
  if (eq <= 0 || eq === arg.length - 1) throw new FleetError(`--from-file ${arg}: expected key=path, like kubeconfig=kubeconfigs/dev-01.yaml`, EXIT.USAGE);
  return { key: fullKey(arg.slice(0, eq)), path: arg.slice(eq + 1) };
}

/**
 * A secret's value as read from a file or prompt: single-line values (URLs) lose their line
 * ending, which editors and `echo` add; multi-line values (kubeconfigs) are kept as they are.
 */
export function secretValue(text: string): string {
  const trimmed = text.replace(/\r?\n$/, "");
  return trimmed.includes("\n") ? text : trimmed.trim();
}

/** Asks for one value without echoing it (injected; tests answer directly). */
export type SecretPrompt = (question: string) => Promise<string>;

/** What `fleet secrets` should set. */
export interface SetRequest {
  fromFiles: readonly FromFile[];
  /** Prompt for every secret still missing. */
  prompt?: SecretPrompt;
}

/** The outcome of one secret set: its key only, never its value. */
export interface SetOutcome {
  stack: string;
  key: string;
  source: string;
}

/**
 * Sets secrets: every `--from-file` on the one selected stack, then (with a prompt) every
 * secret still missing on each selected stack. A key the stack's role and cloud do not hold
 * as a secret is refused before anything is set.
 */
export async function setSecrets(runner: StackRunner, status: readonly StackSecrets[], req: SetRequest, read: (path: string) => string = (p) => readFileSync(p, "utf8")): Promise<SetOutcome[]> {
  if (req.fromFiles.length > 0 && status.length !== 1) {
    throw new FleetError(`--from-file sets the secrets of one stack: select it with --stacks <stack> (selected: ${status.map((s) => s.stack).join(", ") || "none"})`, EXIT.USAGE);
  }
  const planned: { stack: string; key: string; source: string; value: () => Promise<string> }[] = [];
  for (const f of req.fromFiles) {
    const st = status[0];
    if (!st.secrets.some((s) => s.key === f.key)) {
      throw new FleetError(`--from-file ${f.key}: not a secret of ${st.stack} (a ${st.role} on ${st.cloud}); its secrets are ${st.secrets.map((s) => s.key).join(", ")}`, EXIT.USAGE);
    }
    let text: string;
    try {
      text = read(f.path);
    } catch (e) {
      throw new FleetError(`--from-file ${f.key}=${f.path}: ${(e as Error).message}`, EXIT.USAGE);
    }
    const value = secretValue(text);
    if (value === "") throw new FleetError(`--from-file ${f.key}=${f.path}: the file is empty`, EXIT.USAGE);
    planned.push({ stack: st.stack, key: f.key, source: f.path, value: async () => value });
  }
  if (req.prompt !== undefined) {
    const prompt = req.prompt;
    for (const st of status) {
      for (const s of st.secrets) {
        if (s.set || planned.some((p) => p.stack === st.stack && p.key === s.key)) continue;
        planned.push({
          stack: st.stack,
          key: s.key,
          source: "prompt",
          value: async () => {
            const v = secretValue(await prompt(`${st.stack} ${s.key}${s.key.endsWith(":kubeconfig") ? " (path of the kubeconfig file)" : ""}: `));
            if (v === "") throw new FleetError(`${st.stack} ${s.key}: no value entered, nothing set for it`, EXIT.USAGE);
            if (!s.key.endsWith(":kubeconfig")) return v;
            try {
              return read(v);
            } catch (e) {
              throw new FleetError(`${st.stack} ${s.key}: ${(e as Error).message}`, EXIT.USAGE);
            }
          },
        });
      }
    }
  }
  const done: SetOutcome[] = [];
  for (const p of planned) {
    await runner.setSecret(p.stack, p.key, await p.value());
    done.push({ stack: p.stack, key: p.key, source: p.source });
  }
  return done;
}

/**
 * A prompt on the terminal that does not echo what is typed (raw mode, characters read one
 * by one); refuses to run without a terminal, where a value would have to come from a pipe.
 */
export function terminalPrompt(input: NodeJS.ReadStream, output: NodeJS.WriteStream): SecretPrompt {
  return (question) =>
    new Promise((resolvePromise, reject) => {
      if (input.isTTY !== true || typeof input.setRawMode !== "function") {
        reject(new FleetError("--prompt needs a terminal; without one use --from-file key=path", EXIT.USAGE));
        return;
      }
      output.write(question);
      input.setRawMode(true);
      input.resume();
      let value = "";
      const done = (err?: Error): void => {
        input.setRawMode(false);
        input.pause();
        input.removeListener("data", onData);
        output.write("\n");
        if (err) reject(err);
        else resolvePromise(value);
      };
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") return done();
          if (ch === "\u0003") return done(new FleetError("interrupted", EXIT.USAGE));
          if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
          else value += ch;
        }
      };
      input.on("data", onData);
    });
}
