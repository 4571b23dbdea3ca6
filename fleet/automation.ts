/**
 * The production {@link StackRunner}: the Pulumi Automation API over the project directory
 * (`LocalWorkspace` with `workDir`, the program being this project's `index.ts`).
 *
 * Every operation gets its own workspace, because `LocalWorkspace.envVars` are fixed per
 * workspace and the hub's `SOVEREIGN_SPOKES` differs per run; parallel spokes each run their
 * own `pulumi` process with an explicit `--stack`, so they never share selection state.
 */
import { mkdirSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import {
  type EngineEvent,
  type LocalProgramArgs,
  type LocalWorkspaceOptions,
  type Stack,
  LocalWorkspace,
  PulumiCommand,
  StackNotFoundError,
} from "@pulumi/pulumi/automation";
import { EXIT, FleetError } from "./exit-codes";
import { SPOKES_ENV } from "./orchestrator";
import { securePaths } from "../components/config/stackfile";
import { type DriftResult, type RunOptions, type RunResult, type RunnerProgress, type SecretConfig, type StackRunner, StepError } from "./runner";

/** The command users run to install the Pulumi CLI. */
export const PULUMI_INSTALL = "curl -fsSL https://get.pulumi.com | sh";

/** Backend and secrets flags as given on the command line. */
export interface BackendInput {
  projectDir: string;
  /** `--backend`: overrides `PULUMI_BACKEND_URL`. */
  backend?: string;
  /** `--passphrase-file`: file holding the passphrase of the passphrase secrets provider. */
  passphraseFile?: string;
  /** `--secrets-provider`: `passphrase` (default on self-managed backends), `awskms://...`, ... */
  secretsProvider?: string;
  /** The process environment (injected for tests). */
  env: NodeJS.ProcessEnv;
}

/** Where state lives and how secrets are encrypted, resolved once per CLI run. */
export interface BackendSettings {
  backendUrl: string;
  /** Local directory of a `file://` backend (created before the first operation). */
  stateDir?: string;
  /** Passed to `stack init`; undefined lets Pulumi Cloud manage secrets. */
  secretsProvider?: string;
  /** Variables every `pulumi` process gets: backend URL and passphrase. */
  envVars: Readonly<Record<string, string>>;
}

const BACKEND_SCHEMES = ["file://", "s3://", "gs://", "azblob://", "https://"];

/** The backend URL alone: `--backend`, else `PULUMI_BACKEND_URL`, else `file://<project>/.pulumi-state`. */
export function backendUrlOf(input: BackendInput): string {
  return input.backend ?? input.env.PULUMI_BACKEND_URL ?? `file://${resolve(input.projectDir, ".pulumi-state")}`;
}

/**
 * Resolves backend and secrets provider: `--backend`, else `PULUMI_BACKEND_URL`, else a
 * `file://` backend in `<project>/.pulumi-state`. Self-managed backends default to the
 * passphrase provider, which needs `--passphrase-file`, `PULUMI_CONFIG_PASSPHRASE` or
 * `PULUMI_CONFIG_PASSPHRASE_FILE`; Pulumi Cloud (`https://`) defaults to its own secrets.
 */
export function resolveBackend(input: BackendInput): BackendSettings {
  const backendUrl = backendUrlOf(input);
  if (!BACKEND_SCHEMES.some((s) => backendUrl.startsWith(s))) {
    throw new FleetError(`unsupported backend '${backendUrl}': expected ${BACKEND_SCHEMES.map((s) => `${s}...`).join(", ")}`, EXIT.USAGE);
  }
  const envVars: Record<string, string> = { PULUMI_BACKEND_URL: backendUrl };
  let stateDir: string | undefined;
  if (backendUrl.startsWith("file://")) {
    const path = backendUrl.slice("file://".length);
    // `file://~` is Pulumi's home-directory backend, which Pulumi creates itself.
    if (isAbsolute(path)) stateDir = path;
  }
  const secretsProvider = input.secretsProvider ?? (backendUrl.startsWith("https://") ? undefined : "passphrase");
  if (secretsProvider === "passphrase") {
    if (input.passphraseFile !== undefined) envVars.PULUMI_CONFIG_PASSPHRASE_FILE = resolve(input.passphraseFile);
    else if (input.env.PULUMI_CONFIG_PASSPHRASE !== undefined) envVars.PULUMI_CONFIG_PASSPHRASE = input.env.PULUMI_CONFIG_PASSPHRASE;
    else if (input.env.PULUMI_CONFIG_PASSPHRASE_FILE !== undefined) envVars.PULUMI_CONFIG_PASSPHRASE_FILE = resolve(input.env.PULUMI_CONFIG_PASSPHRASE_FILE);
    else {
      throw new FleetError(
        "the passphrase secrets provider needs a passphrase: export PULUMI_CONFIG_PASSPHRASE, or pass --passphrase-file <file> (or --secrets-provider / --backend https://api.pulumi.com)",
        EXIT.USAGE,
      );
    }
  }
  return { backendUrl, stateDir, secretsProvider, envVars };
}

/**
 * The arguments of `LocalWorkspace.createOrSelectStack` / `selectStack` for one stack and
 * one run: the project directory as `workDir` (no inline program, no `projectSettings`, so
 * `Pulumi.yaml` and `Pulumi.<stack>.yaml` are used as they are) and the run's environment.
 */
export function workspaceArgs(
  projectDir: string,
  settings: BackendSettings,
  stackName: string,
  runEnv: Readonly<Record<string, string>> = {},
  pulumiCommand?: PulumiCommand,
): { args: LocalProgramArgs; opts: LocalWorkspaceOptions } {
  const opts: LocalWorkspaceOptions = { workDir: projectDir, envVars: { ...settings.envVars, ...runEnv } };
  if (settings.secretsProvider !== undefined) opts.secretsProvider = settings.secretsProvider;
  if (pulumiCommand !== undefined) opts.pulumiCommand = pulumiCommand;
  return { args: { stackName, workDir: projectDir }, opts };
}

/**
 * Finds the Pulumi CLI before anything runs; a missing or incompatible CLI becomes a
 * {@link FleetError} with the install command and exit code 4.
 */
export async function detectPulumi(get: () => Promise<PulumiCommand> = () => PulumiCommand.get()): Promise<PulumiCommand> {
  try {
    return await get();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new FleetError(`the pulumi CLI is required for this command but was not found on PATH or could not run (${why.split("\n")[0]}).\nInstall it with:\n  ${PULUMI_INSTALL}\nthen open a new shell (or add ~/.pulumi/bin to PATH). --dry-run works without it.`, EXIT.PULUMI_MISSING);
  }
}

/** The last lines of a Pulumi error: the CLI's messages end with the cause. */
function brief(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const lines = text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
  return lines.slice(-15).join("\n");
}

/** Turns engine events into progress: resources done and the errors/warnings worth showing. */
export function progressFromEvents(onProgress: (p: RunnerProgress) => void): (e: EngineEvent) => void {
  let done = 0;
  return (e) => {
    if (e.preludeEvent) onProgress({ phase: "starting", resourcesDone: done });
    else if (e.resourcePreEvent) onProgress({ phase: "running", resourcesDone: done });
    else if (e.resOutputsEvent) onProgress({ phase: "running", resourcesDone: ++done });
    else if (e.resOpFailedEvent) onProgress({ phase: "failing", resourcesDone: done });
    else if (e.diagnosticEvent && (e.diagnosticEvent.severity === "error" || e.diagnosticEvent.severity === "warning") && !e.diagnosticEvent.ephemeral) {
      onProgress({ phase: e.diagnosticEvent.severity, resourcesDone: done, message: e.diagnosticEvent.message.trim() });
    } else if (e.summaryEvent) onProgress({ phase: "done", resourcesDone: done });
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Resources of an exported deployment (`stack export` JSON, version 3). */
function deploymentResources(deployment: unknown): Record<string, unknown>[] {
  if (!isRecord(deployment) || !Array.isArray(deployment.resources)) return [];
  return deployment.resources.filter(isRecord);
}

/** {@link StackRunner} over the Automation API. */
export class AutomationRunner implements StackRunner {
  constructor(
    private readonly projectDir: string,
    private readonly settings: BackendSettings,
    private readonly pulumiCommand: PulumiCommand,
  ) {
    // `pulumi` inherits this process's environment; an inherited SOVEREIGN_SPOKES would
    // silently narrow every hub run, so only the orchestrator may set it, per run.
    delete process.env[SPOKES_ENV];
    if (settings.stateDir !== undefined) mkdirSync(settings.stateDir, { recursive: true });
  }

  private async open(stack: string, env: Readonly<Record<string, string>>, create: boolean): Promise<Stack | undefined> {
    const { args, opts } = workspaceArgs(this.projectDir, this.settings, stack, env, this.pulumiCommand);
    try {
      return create ? await LocalWorkspace.createOrSelectStack(args, opts) : await LocalWorkspace.selectStack(args, opts);
    } catch (e) {
      if (!create && e instanceof StackNotFoundError) return undefined;
      throw new StepError("select stack", brief(e));
    }
  }

  private async step<T>(step: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new StepError(step, brief(e));
    }
  }

  async up(stack: string, opts: RunOptions): Promise<RunResult> {
    const s = await this.open(stack, opts.env, true);
    if (s === undefined) throw new StepError("select stack", `stack ${stack} not found`);
    const r = await this.step("up", () => s.up({ onEvent: progressFromEvents(opts.onProgress), color: "never" }));
    return { changes: r.summary.resourceChanges ?? {} };
  }

  async preview(stack: string, opts: RunOptions): Promise<RunResult> {
    const s = await this.open(stack, opts.env, true);
    if (s === undefined) throw new StepError("select stack", `stack ${stack} not found`);
    const r = await this.step("preview", () => s.preview({ onEvent: progressFromEvents(opts.onProgress), color: "never" }));
    return { changes: r.changeSummary };
  }

  async refresh(stack: string, opts: RunOptions): Promise<RunResult> {
    const s = await this.open(stack, opts.env, false);
    if (s === undefined) return { changes: {} };
    const r = await this.step("refresh", () => s.refresh({ onEvent: progressFromEvents(opts.onProgress), color: "never" }));
    return { changes: r.summary.resourceChanges ?? {} };
  }

  async destroy(stack: string, opts: RunOptions): Promise<RunResult> {
    const s = await this.open(stack, opts.env, false);
    if (s === undefined) return { changes: {} };
    if (opts.allowProtectedDestroy) await this.step("unprotect", () => this.unprotectAll(s));
    const r = await this.step("destroy", () => s.destroy({ onEvent: progressFromEvents(opts.onProgress), color: "never" }));
    return { changes: r.summary.resourceChanges ?? {} };
  }

  async outputs(stack: string): Promise<Record<string, unknown>> {
    const s = await this.open(stack, {}, false);
    if (s === undefined) return {};
    const out = await this.step("outputs", () => s.outputs());
    return Object.fromEntries(Object.entries(out).map(([k, v]): [string, unknown] => [k, v.value]));
  }

  async drift(stack: string): Promise<DriftResult> {
    const s = await this.open(stack, {}, false);
    if (s === undefined) return { changes: {} };
    // previewRefresh is `pulumi refresh --preview-only`; RefreshOptions.previewOnly is deprecated in 3.270.
    const r = await this.step("refresh preview", () => s.previewRefresh({ color: "never" }));
    const last = await this.step("history", () => s.info());
    return { changes: r.changeSummary, lastUpdate: last ? new Date(last.endTime).toISOString() : undefined };
  }

  async hasProtectedResources(stack: string): Promise<boolean> {
    const s = await this.open(stack, {}, false);
    if (s === undefined) return false;
    const state: unknown = (await this.step("export state", () => s.exportStack())).deployment;
    return deploymentResources(state).some((r) => r.protect === true);
  }

  async setSecret(stack: string, key: string, value: string): Promise<void> {
    const s = await this.open(stack, {}, true);
    if (s === undefined) throw new StepError("select stack", `stack ${stack} not found`);
    await this.step(`set secret ${key}`, () => s.setConfig(key, { value, secret: true }, true));
  }

  async secretConfig(stack: string): Promise<SecretConfig> {
    const s = await this.open(stack, {}, false);
    if (s === undefined) return { exists: false, set: [] };
    // The workspace's stack settings (Pulumi.<stack>.yaml as Pulumi reads it): secure leaves
    // are visible as `{ secure: ... }` without the passphrase, so nothing is decrypted here.
    const settings = await this.step("stack settings", () => s.workspace.stackSettings(stack));
    return { exists: true, set: securePaths(settings.config ?? {}) };
  }

  async configValue(stack: string, key: string): Promise<string | undefined> {
    const s = await this.open(stack, {}, false);
    if (s === undefined) return undefined;
    const all = await this.step("read config", () => s.getAllConfig());
    return all[key]?.value;
  }

  /** `pulumi state unprotect --all`, which the Automation API has no call for: edit the exported state. */
  private async unprotectAll(s: Stack): Promise<void> {
    const exported = await s.exportStack();
    const state: unknown = exported.deployment;
    const resources = deploymentResources(state);
    if (!resources.some((r) => r.protect === true)) return;
    for (const r of resources) delete r.protect;
    await s.importStack(exported);
  }
}
