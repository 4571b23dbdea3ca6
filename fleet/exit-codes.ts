/**
 * Exit codes of the fleet CLI. Pipelines branch on them, so they are part of the CLI's API:
 * change them only with a major version and the `--help` epilog below.
 */
export const EXIT = {
  /** Every requested stack operation succeeded and nothing drifted. */
  OK: 0,
  /** `drift` found drifted resources, or `preview` found pending changes. */
  CHANGES: 1,
  /** At least one stack operation failed (the others still ran where the policy allows). */
  STACK_FAILED: 2,
  /** Bad flags, an invalid or conflicting stack configuration, or a refused destroy: nothing ran. */
  USAGE: 3,
  /** The Pulumi CLI is not installed or not runnable: nothing ran. */
  PULUMI_MISSING: 4,
} as const;

/** One of the values of {@link EXIT}. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit-code table printed at the end of `fleet --help`. */
export const EXIT_CODES_HELP = [
  "Exit codes:",
  `  ${EXIT.OK}  success: every stack operation succeeded, nothing drifted`,
  `  ${EXIT.CHANGES}  drift found (drift) or pending changes (preview)`,
  `  ${EXIT.STACK_FAILED}  a stack operation failed (see the stack and step named in the output)`,
  `  ${EXIT.USAGE}  usage or configuration error, or destroy refused: nothing was run or written`,
  `  ${EXIT.PULUMI_MISSING}  the pulumi CLI is missing: install it with 'curl -fsSL https://get.pulumi.com | sh'`,
].join("\n");

/** An error the CLI turns into a message and an exit code instead of a stack trace. */
export class FleetError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = "FleetError";
  }
}
