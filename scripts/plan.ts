/**
 * `npm run plan`: renders the fleet offline, in deployment order, without any credential.
 *
 *   npm run plan                          # the example fleet, into plan/
 *   npm run plan -- --stacks dev-01,ops-01 --out /tmp/plan --show-secrets
 *   npm run plan -- --enforce             # exit 3 on any mandatory policy violation
 *   npm run plan -- --no-render           # skip helm template (on by default when helm is built)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { PROJECT, planFleet, REPO_DIR } from "../offline";
import { fleetMarkdown, planDocument } from "../offline/report";
import { evaluatePolicies, mandatory, policyMarkdown } from "../policy/offline";
import { chartsDir, manifestsYaml, secretStrings, stackManifests, type StackManifests } from "../offline/manifests";
import { builtTool } from "../toolchain";

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
  .option("--render", "render every Helm release with helm template into <out>/<stack>/manifests.yaml (default when helm is built and the charts are there)")
  .option("--no-render", "do not render the Helm releases")
  .showHelpAfterError();

async function main(): Promise<number> {
  program.parse();
  const opts = program.opts<{ stacks?: string[]; out: string; showSecrets: boolean; projectDir: string; parallel: number; enforce: boolean; render?: boolean }>();
  const charts = chartsDir(REPO_DIR);
  const helm = builtTool("helm");
  const render = opts.render ?? (helm !== undefined && charts !== undefined);
  if (render && (helm === undefined || charts === undefined)) {
    throw new Error(helm === undefined ? "--render needs helm: run `npm run tools`" : "--render needs the pinned charts: ../shared/reference/charts, or set SOVEREIGN_CHARTS_DIR");
  }
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
  const rendered: StackManifests[] = [];
  if (render) {
    for (const run of plan.runs.filter((r) => r.error === undefined)) {
      const set = stackManifests(run, { repoDir: REPO_DIR, helm, chartsDir: charts });
      mkdirSync(join(out, run.stack), { recursive: true });
      writeFileSync(join(out, run.stack, "manifests.yaml"), manifestsYaml(set, { showSecrets: opts.showSecrets, secrets: secretStrings(run) }));
      process.stderr.write(`render    ${run.stack.padEnd(12)} ${set.errors.length ? "FAILED" : "ok"} (${set.releases.length} releases, ${set.all.length} manifests)\n`);
      rendered.push(set);
    }
  }
  const policy = plan.runs.filter((r) => r.error === undefined).map((run) => ({ stack: run.stack, violations: evaluatePolicies(run) }));
  writeFileSync(join(out, "fleet.md"), fleetMarkdown(plan.runs, [manifestsMarkdown(rendered, render), policyMarkdown(policy)]));
  const renderErrors = rendered.flatMap((s) => s.errors);
  for (const e of renderErrors) process.stderr.write(`\nhelm template refused ${e}\n`);
  const blocking = policy.flatMap((p) => mandatory(p.violations).map((v) => ({ stack: p.stack, ...v })));
  for (const v of blocking) process.stderr.write(`policy ${v.policy} (mandatory) on ${v.stack}: ${v.message}\n`);
  const failed = plan.runs.filter((r) => r.error !== undefined);
  for (const r of failed) process.stderr.write(`\n${r.stack}: ${r.error?.message}\n`);
  process.stderr.write(`\nplanned ${plan.runs.length} stack(s) into ${out} in ${((Date.now() - started) / 1000).toFixed(1)}s${failed.length ? `; ${failed.length} failed` : ""}\n`);
  if (failed.length > 0 || renderErrors.length > 0) return 1;
  return opts.enforce && blocking.length > 0 ? 3 : 0;
}

/** The fleet.md section linking each stack's full manifest set. */
function manifestsMarkdown(sets: readonly StackManifests[], render: boolean): string {
  if (!render) return "## Kubernetes manifests\n\nNot rendered (`npm run tools` builds helm; the pinned charts come from ../shared/reference/charts or SOVEREIGN_CHARTS_DIR).\n";
  const rows = sets.map((s) => `| \`${s.stack}\` | [${s.stack}/manifests.yaml](${s.stack}/manifests.yaml) | ${s.typed.length} | ${s.releases.map((r) => `${r.release} (${r.chart} ${r.version}): ${r.error === undefined ? `${r.manifests.length}` : "**not rendered**"}`).join("<br>")} |`);
  return ["## Kubernetes manifests", "", "Everything each stack applies to its cluster: the typed resources and every Helm release rendered by `helm template` with the exact values and namespace the program passes.", "", "| stack | manifests | typed | releases (objects) |", "|---|---|---|---|", ...rows, ""].join("\n");
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`plan: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
