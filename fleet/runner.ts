/**
 * The seam between the pure fleet orchestration and Pulumi. The orchestrator only ever talks
 * to a {@link StackRunner}; production uses the Automation API (`automation.ts`), tests use
 * fakes that record order, environment and concurrency.
 */

/** A lifecycle operation over one stack. */
export type StackOperation = "up" | "preview" | "refresh" | "destroy";

/** Progress of one running stack operation, as the runner sees it. */
export interface RunnerProgress {
  /** Short phase name: `starting`, `running`, `done`, ... */
  phase: string;
  /** Resources whose step has completed so far. */
  resourcesDone: number;
  /** An engine diagnostic worth showing (errors and warnings only). */
  message?: string;
}

/** Per-operation inputs. */
export interface RunOptions {
  /**
   * Environment variables for the Pulumi program of this run only. A key absent here must be
   * absent in the program too (the hub treats unset and empty `SOVEREIGN_SPOKES` differently).
   */
  env: Readonly<Record<string, string>>;
  /** Called for every progress update. */
  onProgress: (p: RunnerProgress) => void;
  /** Set by `destroy --yes-destroy-data`: protected resources may be unprotected and deleted. */
  allowProtectedDestroy?: boolean;
}

/** What an operation changed (or would change), by Pulumi operation type. */
export interface RunResult {
  /** Counts per operation type (`create`, `update`, `same`, ...). */
  changes: Readonly<Record<string, number>>;
}

/** Result of a refresh preview. */
export interface DriftResult {
  /** Counts per operation type of the refresh preview; anything but `same` is drift. */
  changes: Readonly<Record<string, number>>;
  /** End of the last update of the stack, ISO 8601, when there was one. */
  lastUpdate?: string;
}

/** An error carrying the step that failed, so the CLI can name stack and step. */
export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.name = "StepError";
  }
}

/** Everything the orchestrator and the onboarding flow need from Pulumi. */
export interface StackRunner {
  up(stack: string, opts: RunOptions): Promise<RunResult>;
  preview(stack: string, opts: RunOptions): Promise<RunResult>;
  refresh(stack: string, opts: RunOptions): Promise<RunResult>;
  destroy(stack: string, opts: RunOptions): Promise<RunResult>;
  /** Plain stack outputs (secrets included as values); `{}` for a stack never deployed or not yet created. */
  outputs(stack: string): Promise<Record<string, unknown>>;
  /** A refresh in preview mode: what differs between state and the clouds. */
  drift(stack: string): Promise<DriftResult>;
  /** True when the stack's state holds resources marked `protect` (buckets with telemetry). */
  hasProtectedResources(stack: string): Promise<boolean>;
  /**
   * Sets a secret config value (`observability:alerting.receiver.url`, a path into structured
   * config) so that it is encrypted by the stack's secrets provider, creating the stack if needed.
   */
  setSecret(stack: string, key: string, value: string): Promise<void>;
  /**
   * Which secret config values the stack has, by full path (`observability:alerting.receiver.url`),
   * without decrypting any; `exists: false` when the stack has not been created in the backend.
   */
  secretConfig(stack: string): Promise<SecretConfig>;
  /**
   * One config value, decrypted by the stack's secrets provider (`fleet doctor` reads the
   * kubeconfig to reach the cluster; it never prints it); undefined when it is not set.
   */
  configValue(stack: string, key: string): Promise<string | undefined>;
}

/** The secret values a stack has set (never their values). */
export interface SecretConfig {
  /** The stack exists in the backend (`pulumi stack init` has run). */
  exists: boolean;
  /** Full paths of the secure values in the stack's config. */
  set: string[];
}

/** Sum of the changes that are not `same`. */
export function changedCount(changes: Readonly<Record<string, number>>): number {
  return Object.entries(changes).reduce((n, [op, c]) => (op === "same" ? n : n + c), 0);
}
