/**
 * `fleet`: up, preview, refresh, destroy, drift and onboard over every stack of the project,
 * in deployment order, on the Pulumi Automation API. `npm run fleet -- <command> --help`.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parse } from "yaml";
import { type BackendSettings, AutomationRunner, detectPulumi, resolveBackend } from "./automation";
import { EXIT, EXIT_CODES_HELP, type ExitCode, FleetError } from "./exit-codes";
import { executeOnboard, lineDiff, planOnboard } from "./onboard";
import { type FleetOptions, CONTRACT_OUTPUT, SPOKES_ENV, driftFleet, fleetStacks, loadFleet, planFleet, runFleet } from "./orchestrator";
import { type Sink, createReporter, outputMode, pipeSafeSink, renderDriftJson, renderDriftTable, renderPlan } from "./output";
import { type DoctorProbes, doctorExitCode, realProbes, renderDoctor, runDoctor } from "./doctor";
import { type SecretPrompt, missingCount, parseFromFile, renderSecretStatus, secretStatus, setCommand, setSecrets, terminalPrompt } from "./secrets";
import type { StackOperation, StackRunner } from "./runner";

/** What the CLI needs from its surroundings; tests pass fakes. */
export interface CliIO {
  stdout: Sink;
  stderr: Sink;
  env: NodeJS.ProcessEnv;
  /** Builds the runner after the backend is resolved; defaults to the Automation API. */
  createRunner?: (projectDir: string, settings: BackendSettings) => Promise<StackRunner>;
  /** Asks for a secret without echo (`fleet secrets --prompt`); defaults to the terminal. */
  prompt?: SecretPrompt;
  /** What `fleet doctor` asks of the outside world; defaults to the real CLI and network. */
  doctorProbes?: DoctorProbes;
}

interface CommonFlags {
  projectDir: string;
  stacks?: string[];
  parallel: number;
  strict: boolean;
  json: boolean;
  dryRun: boolean;
  backend?: string;
  passphraseFile?: string;
  secretsProvider?: string;
}

/** The flags of `fleet onboard`. */
interface OnboardFlags {
  cloud: string;
  region: string;
  environment?: string;
  hub?: string;
  values?: string;
  set: string[];
  kubeconfigFile?: string;
  clusterName?: string;
  cidrs?: string[];
  profile?: string;
  endpoint?: string;
  egressIps?: string[];
  principal: string[];
  lbAnnotation: string[];
  storageSourceCidrs?: string[];
  role: string;
  spoke?: string;
}

const DEFAULT_PROJECT = resolve(__dirname, "..");

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
}

function stackList(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function common(cmd: Command, withFleetFlags = true): Command {
  cmd
    .option("-C, --project-dir <dir>", "Pulumi project directory (holds Pulumi.yaml and Pulumi.<stack>.yaml)", DEFAULT_PROJECT)
    .option("--json", "newline-delimited JSON events on stdout", false)
    .option("--dry-run", "print the ordered waves (and file changes) without running Pulumi or writing anything", false)
    .option("--parallel <n>", "spokes at once in the spoke wave", positiveInt, 4)
    .option("--backend <url>", "state backend: file://, s3://, gs://, azblob:// or https://api.pulumi.com (default: $PULUMI_BACKEND_URL, else file://<project>/.pulumi-state)")
    .option("--passphrase-file <file>", "passphrase of the passphrase secrets provider (default: $PULUMI_CONFIG_PASSPHRASE)")
    .option("--secrets-provider <provider>", "secrets provider for new stacks (default: passphrase; Pulumi Cloud manages its own)");
  if (withFleetFlags) {
    cmd
      .option("--stacks <a,b>", "only these stacks (default: every Pulumi.<stack>.yaml)", stackList)
      .option("--strict", "do not run the final hub pass if any spoke failed", false);
  } else {
    cmd.addOption(new Option("--strict").default(false).hideHelp());
  }
  return cmd;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.OK;
  const out = (text: string): void => io.stdout.write(`${text}\n`);
  const err = (text: string): void => io.stderr.write(`${text}\n`);

  const runnerFor = async (flags: CommonFlags): Promise<StackRunner> => {
    // The CLI is looked for first: without it nothing else matters (exit 4 before any work).
    const command = io.createRunner === undefined ? await detectPulumi() : undefined;
    const settings = resolveBackend({ projectDir: flags.projectDir, backend: flags.backend, passphraseFile: flags.passphraseFile, secretsProvider: flags.secretsProvider, env: io.env });
    if (io.createRunner !== undefined) return io.createRunner(flags.projectDir, settings);
    if (command === undefined) throw new FleetError("internal: no pulumi command", EXIT.PULUMI_MISSING);
    return new AutomationRunner(flags.projectDir, settings, command);
  };
  const reporterFor = (flags: CommonFlags) => createReporter(outputMode(flags.json, io.stdout.isTTY === true, io.env), io.stdout);
  const fleetOpts = (flags: CommonFlags & { yesDestroyData?: boolean }): FleetOptions => ({ parallel: flags.parallel, strict: flags.strict, yesDestroyData: flags.yesDestroyData === true });

  const lifecycle = async (op: StackOperation, flags: CommonFlags & { yesDestroyData?: boolean }): Promise<void> => {
    const dir = resolve(flags.projectDir);
    flags.projectDir = dir;
    const fleet = loadFleet(dir, flags.stacks);
    const opts = fleetOpts(flags);
    const reporter = reporterFor(flags);
    if (flags.dryRun) {
      const waves = planFleet(op, fleet, opts);
      if (flags.json) reporter.info(JSON.stringify({ type: "plan", op, waves }));
      else {
        out(renderPlan(op, waves));
        if (op === "destroy" && !flags.yesDestroyData) out("destroy refuses stacks whose state holds protected resources (buckets) unless --yes-destroy-data");
      }
      return;
    }
    const runner = await runnerFor(flags);
    const result = await runFleet(runner, op, fleet, opts, { emit: (e) => reporter.event(e) });
    reporter.close();
    const failed = result.outcomes.filter((o) => o.status === "failed");
    if (!flags.json) {
      const ok = result.outcomes.filter((o) => o.status === "succeeded").length;
      const skipped = result.outcomes.filter((o) => o.status === "skipped").length;
      out(`fleet ${op}: ${ok} succeeded, ${failed.length} failed, ${skipped} skipped`);
    }
    for (const f of failed) err(`error: stack ${f.stack}, step ${f.step ?? op}: ${f.error ?? "failed"}`);
    exitCode = result.exitCode;
  };

  const program = new Command("fleet")
    .description("Deploy and check the sovereign observability fleet: hub bootstrap or upgrade, spokes in parallel, hub wiring, spokes retiring unused read keys")
    .addHelpText("after", `\n${EXIT_CODES_HELP}\n\nThe hub program reads ${SPOKES_ENV}: "" on bootstrap, the spokes it wired before on a contract upgrade, a comma-separated subset of observability:spokes after spoke failures, unset otherwise.`)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  for (const [op, text] of [
    ["up", "deploy: hub bootstrap (first time) or upgrade (older contract), spokes in parallel, the hub, then spokes whose read key the hub no longer uses"],
    ["preview", "show pending changes in deployment order (exit 1 when there are any)"],
    ["refresh", "adopt the clouds' actual state into every stack"],
  ] as const) {
    common(program.command(op).description(text)).action(async (flags: CommonFlags) => lifecycle(op, flags));
  }
  common(program.command("destroy").description("destroy in reverse order: hub first, then spokes"))
    .option("--yes-destroy-data", "also destroy stacks whose state holds protected resources (telemetry buckets)", false)
    .action(async (flags: CommonFlags & { yesDestroyData: boolean }) => lifecycle("destroy", flags));

  common(program.command("drift").description("refresh preview of every stack; table of drifted resources (exit 1 on drift)")).action(async (flags: CommonFlags) => {
    const dir = resolve(flags.projectDir);
    const fleet = loadFleet(dir, flags.stacks);
    const stacks = fleetStacks(fleet);
    if (flags.dryRun) {
      const plan = { type: "plan", op: "drift", stacks: stacks.map((s) => s.name), parallel: flags.parallel };
      out(flags.json ? JSON.stringify(plan) : `fleet drift: dry run, would preview a refresh of ${plan.stacks.join(", ")} (${flags.parallel} at a time)`);
      return;
    }
    const runner = await runnerFor({ ...flags, projectDir: dir });
    const report = await driftFleet(runner, fleet, flags.parallel);
    io.stdout.write(flags.json ? renderDriftJson(report.rows) : `${renderDriftTable(report.rows)}\n`);
    exitCode = report.exitCode;
  });

  common(program.command("onboard").argument("<stack>", "name of the new stack, like prod-02").description("add a spoke (write Pulumi.<stack>.yaml, list it in the hub, deploy the spoke and the hub) or, with --role edge, an edge (list it in its zone spoke's receiver, deploy the spoke and the edge)"), false)
    .option("--role <role>", "spoke, or edge: a small cluster whose agent writes only to its zone spoke's receiver (needs --spoke)", "spoke")
    .option("--spoke <stack>", "edges only, required there: the spoke of the edge's sovereignty zone it writes to")
    .requiredOption("--cloud <cloud>", "aws, gcp, azure, or s3 (an S3-compatible service: needs --profile)")
    .requiredOption("--region <region>", "region of the cloud, like eu-central-1; on s3 the profile's region (eu-de) or, on premises, <country>-<site> (de-fra1)")
    .option("--environment <env>", "dev, test, stag or prod (default: the stack name's prefix, dev-02 is dev)")
    .option("--hub <stack>", "the hub stack (default: the project's only hub)")
    .option("--values <file>", "YAML with config values (cluster, network, alerting, ...)")
    .option("--set <key.path=value>", "one config value, repeatable (cluster.name=prod-02-gke)", collect, [])
    .option("--kubeconfig-file <file>", "kubeconfig of the spoke's cluster, stored as a secret")
    .option("--cluster-name <name>", "cluster.name: the existing cluster's name (required on s3)")
    .option("--cidrs <a,b>", "network.cidrs: CIDR blocks of the cluster's nodes and pods (required on s3)", stackList)
    .option("--profile <profile>", "s3 only, required there: otc, stackit, ionos (public) or ceph, minio, generic (on premises)")
    .option("--endpoint <url>", "s3 only: https origin of the S3 API (default for otc, stackit, ionos: the region's documented endpoint; required otherwise)")
    .option("--egress-ips <a,b>", "s3 only, required there: the cluster's egress addresses (adopted)", stackList)
    .option("--principal <identity=principal>", "s3 only, repeatable: how the bucket policies name sidecar, compactor, loki and reader (or store with queryPath spoke-query), in the profile's format", collect, [])
    .option("--lb-annotation <key=value>", "s3 only, repeatable: annotation of the public LoadBalancer Services (kubernetes.io/elb.id=<id>)", collect, [])
    .option("--storage-source-cidrs <a,b>", "s3 only: where the service sees the spoke's requests, when not from the egress addresses", stackList)
    .action(async (stack: string, flags: CommonFlags & OnboardFlags) => {
      const dir = resolve(flags.projectDir);
      const read = (file: string, what: string): string => {
        try {
          return readFileSync(file, "utf8");
        } catch (e) {
          throw new FleetError(`${what} ${file}: ${(e as Error).message}`, EXIT.USAGE);
        }
      };
      if (flags.role !== "spoke" && flags.role !== "edge") throw new FleetError(`--role ${flags.role}: expected spoke or edge`, EXIT.USAGE);
      const plan = planOnboard(dir, {
        stack,
        role: flags.role,
        spoke: flags.spoke,
        cloud: flags.cloud,
        region: flags.region,
        environment: flags.environment,
        hub: flags.hub,
        values: flags.values !== undefined ? (parse(read(flags.values, "--values")) as Record<string, unknown>) : undefined,
        sets: flags.set,
        kubeconfig: flags.kubeconfigFile !== undefined ? read(flags.kubeconfigFile, "--kubeconfig-file") : undefined,
        clusterName: flags.clusterName,
        cidrs: flags.cidrs,
        s3Profile: flags.profile,
        endpoint: flags.endpoint,
        egressIps: flags.egressIps,
        principals: flags.principal,
        lbAnnotations: flags.lbAnnotation,
        storageSourceCidrs: flags.storageSourceCidrs,
      });
      const opts = fleetOpts(flags);
      if (flags.dryRun) {
        const waves =
          plan.role === "edge"
            ? planFleet("up", { spokes: [{ name: plan.hub, role: "spoke", cloud: "", region: "", spokes: [], edges: [stack] }], edges: [{ name: stack, role: "edge", cloud: flags.cloud, region: flags.region, spokes: [], spoke: plan.hub }] }, opts)
            : planFleet("up", { hub: { name: plan.hub, role: "hub", cloud: "", region: "", spokes: [] }, spokes: [{ name: stack, role: "spoke", cloud: flags.cloud, region: flags.region, spokes: [] }] }, opts).filter((w) => w.wave !== 1);
        if (flags.json) {
          out(JSON.stringify({ type: "onboard-plan", stack, hub: plan.hub, stackFile: plan.stackFileCurrent ? null : { path: plan.stackPath, text: plan.stackText }, secrets: plan.secrets.map((s) => s.key), missingSecrets: plan.missingSecrets, hubDiff: plan.hubCurrent ? null : lineDiff(plan.hubTextBefore, plan.hubTextAfter, plan.hubPath), waves }));
          return;
        }
        out(`fleet onboard ${stack}: dry run, nothing is written or executed`);
        out(plan.stackFileCurrent ? `${plan.stackPath}: already as requested` : `would write ${plan.stackPath}:\n${plan.stackText}`);
        if (plan.secrets.length > 0) out(`would set secrets through the Automation API: ${plan.secrets.map((s) => s.key).join(", ")}`);
        if (plan.missingSecrets.length > 0) out(`secrets to set before ${stack} is deployed (npm run fleet -- secrets --stacks ${stack} --prompt; the waves below wait for them): ${plan.missingSecrets.join(", ")}`);
        out(plan.hubCurrent ? `${plan.hubPath}: already lists ${stack}` : `would change ${plan.hubPath}:\n${lineDiff(plan.hubTextBefore, plan.hubTextAfter, plan.hubPath)}`);
        out(renderPlan("up", waves));
        out(`(skipped entirely when ${stack} already has a ${CONTRACT_OUTPUT} output and nothing above changes)`);
        return;
      }
      const runner = await runnerFor({ ...flags, projectDir: dir });
      const reporter = reporterFor(flags);
      const outcome = await executeOnboard(dir, runner, plan, opts, { emit: (e) => reporter.event(e) });
      reporter.close();
      if (outcome.alreadyOnboarded) {
        reporter.info(`${stack} is already onboarded: ${plan.stackPath} and ${plan.role === "edge" ? `${plan.hub}'s edge list is` : "the hub's spoke list are"} in place and ${stack} is deployed`);
        return;
      }
      for (const w of outcome.written) reporter.info(`wrote ${w}`);
      if (outcome.missingSecrets.length > 0) {
        // Not deployed: like fleet secrets and fleet doctor, a missing secret is exit 3.
        err(`fleet: ${stack} is not deployed: ${outcome.missingSecrets.length} secret(s) missing:`);
        for (const k of outcome.missingSecrets) err(`  MISSING  ${k}: ${setCommand(stack, k)}`);
        err(`Set them (npm run fleet -- secrets --stacks ${stack} --prompt), then run npm run fleet -- up --stacks ${stack},${plan.hub}`);
        exitCode = EXIT.USAGE;
        return;
      }
      exitCode = outcome.result?.exitCode ?? EXIT.OK;
      for (const f of outcome.result?.outcomes.filter((o) => o.status === "failed") ?? []) err(`error: stack ${f.stack}, step ${f.step ?? "up"}: ${f.error ?? "failed"}`);
    });

  common(program.command("secrets").description("list per stack which secrets are set and which are missing (exit 3 when any is missing); set them from files or a prompt that does not echo, never printing a value"))
    .option("--from-file <key=path>", "set one secret of the selected stack from a file (kubeconfig=kubeconfigs/dev-01.yaml, alerting.receiver.url=url.txt), repeatable", collect, [])
    .option("--prompt", "ask for every missing secret on the terminal, without echo (the kubeconfig as a file path)", false)
    .action(async (flags: CommonFlags & { fromFile: string[]; prompt: boolean }) => {
      const dir = resolve(flags.projectDir);
      const fleet = loadFleet(dir, flags.stacks);
      const fromFiles = flags.fromFile.map(parseFromFile);
      const runner = await runnerFor({ ...flags, projectDir: dir });
      let status = await secretStatus(dir, runner, fleet);
      if (flags.dryRun) {
        for (const f of fromFiles) out(`would set ${f.key} on ${status.map((s) => s.stack).join(", ")} from ${f.path}`);
      } else if (fromFiles.length > 0 || flags.prompt) {
        const prompt = flags.prompt ? (io.prompt ?? terminalPrompt(process.stdin, process.stderr)) : undefined;
        const done = await setSecrets(runner, status, { fromFiles, prompt });
        for (const d of done) (flags.json ? out(JSON.stringify({ type: "secret-set", ...d })) : out(`set ${d.key} on ${d.stack} (from ${d.source})`));
        status = await secretStatus(dir, runner, fleet);
      }
      if (flags.json) for (const r of status) out(JSON.stringify({ type: "secrets", ...r }));
      else out(renderSecretStatus(status));
      exitCode = missingCount(status) > 0 ? EXIT.USAGE : EXIT.OK;
    });

  common(program.command("doctor").description("check the prerequisites of a real deployment: Node.js, pulumi CLI, backend, passphrase, each stack's secrets, cluster and OIDC issuer, cloud credentials; each failure with its fix (exit 3, or 4 without a pulumi CLI)"))
    .action(async (flags: CommonFlags) => {
      const dir = resolve(flags.projectDir);
      const fleet = loadFleet(dir, flags.stacks);
      const backend = { projectDir: dir, backend: flags.backend, passphraseFile: flags.passphraseFile, secretsProvider: flags.secretsProvider, env: io.env };
      const probes = io.doctorProbes ?? realProbes(io.env);
      const checks = await runDoctor(dir, fleet, backend, probes, () => runnerFor({ ...flags, projectDir: dir }));
      if (flags.json) for (const c of checks) out(JSON.stringify({ type: "check", ...c }));
      else out(renderDoctor(checks));
      exitCode = doctorExitCode(checks);
    });

  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version" ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof FleetError) {
      err(`fleet: ${e.message}`);
      return e.exitCode;
    }
    err(`fleet: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.STACK_FAILED;
  }
  return exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2), { stdout: pipeSafeSink(process.stdout), stderr: pipeSafeSink(process.stderr), env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`fleet: ${String(e)}\n`);
      process.exitCode = EXIT.STACK_FAILED;
    },
  );
}
