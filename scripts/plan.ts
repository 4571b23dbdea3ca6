/**
 * `npm run plan`: renders the fleet offline, in deployment order, without any credential.
 *
 *   npm run plan                          # the example fleet, into plan/
 *   npm run plan -- --stacks dev-01,ops-01 --out /tmp/plan --show-secrets
 *   npm run plan -- --enforce             # exit 3 on any mandatory policy violation
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { PROJECT, planFleet, REPO_DIR } from "../offline";
import { fleetMarkdown, planDocument } from "../offline/report";
import { evaluatePolicies, mandatory, policyMarkdown } from "../policy/offline";

const program = new Command("plan")
  .description("Render the fleet offline: one JSON plan per stack and fleet.md")
  .option("--stacks <list>", "comma-separated stacks to plan (default: every Pulumi.<stack>.yaml)", (v: string) => {
    const list = v.split(",").map((s) => s.trim()).filter(Boolean);
    if (list.length === 0) throw new InvalidArgumentError("expected a comma-separated list of stack names");
    return list;
  })
  .option("--out <dir>", "output directory", "plan")
  .option("--show-secrets", "print secret values instead of [secret]", false)
  .option("--project-dir <dir>", "directory holding the stack files", REPO_DIR)
  .option("--parallel <n>", "stack processes at once", (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
    return n;
  }, 2)
  .option("--enforce", "exit non-zero (3) when the policy pack reports a mandatory violation", false)
  .showHelpAfterError();

async function main(): Promise<number> {
  program.parse();
  const opts = program.opts<{ stacks?: string[]; out: string; showSecrets: boolean; projectDir: string; parallel: number; enforce: boolean }>();
  const out = resolve(opts.out);
  const started = Date.now();
  const plan = await planFleet({
    projectDir: resolve(opts.projectDir),
    stacks: opts.stacks,
    parallel: opts.parallel,
    onStack: (run, phase) => process.stderr.write(`${phase.padEnd(9)} ${run.stack.padEnd(12)} ${run.error ? "FAILED" : "ok"} (${run.resources.length} resources)\n`),
  });
  mkdirSync(out, { recursive: true });
  for (const run of plan.runs) {
    writeFileSync(join(out, `${run.stack}.json`), `${JSON.stringify(planDocument(run, PROJECT, opts.showSecrets), null, 2)}\n`);
  }
  const policy = plan.runs.filter((r) => r.error === undefined).map((run) => ({ stack: run.stack, violations: evaluatePolicies(run) }));
  writeFileSync(join(out, "fleet.md"), fleetMarkdown(plan.runs, [policyMarkdown(policy)]));
  const blocking = policy.flatMap((p) => mandatory(p.violations).map((v) => ({ stack: p.stack, ...v })));
  for (const v of blocking) process.stderr.write(`policy ${v.policy} (mandatory) on ${v.stack}: ${v.message}\n`);
  const failed = plan.runs.filter((r) => r.error !== undefined);
  for (const r of failed) process.stderr.write(`\n${r.stack}: ${r.error?.message}\n`);
  process.stderr.write(`\nplanned ${plan.runs.length} stack(s) into ${out} in ${((Date.now() - started) / 1000).toFixed(1)}s${failed.length ? `; ${failed.length} failed` : ""}\n`);
  if (failed.length > 0) return 1;
  return opts.enforce && blocking.length > 0 ? 3 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`plan: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
