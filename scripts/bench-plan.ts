/**
 * `npm run bench:plan`: how the offline plan scales with the number of spokes.
 *
 * Grows the example fleet (spokes dev-01 on AWS, prod-01 on GCP, stag-01 on Azure, hub ops-01) to
 * 15 spokes, five per cloud over five regions each, in temporary project directories (the
 * repository's stack files are only read), lists them in the hub's `observability:spokes`, and
 * times `planFleet` (the engine behind `npm run plan`, without policy evaluation and Helm
 * rendering) for fleets of 1, 3 and 15 spokes. Prints the marginal seconds per extra spoke and the
 * 15-spoke time against the linear extrapolation of the 1- and 3-spoke fleets.
 *
 * A benchmark, not a test: wall time depends on the machine and on what else runs on it. Each
 * fleet is planned `--repeat` times and the fastest run counts.
 *
 *   npm run bench:plan -- [--parallel 2] [--repeat 1] [--sizes 1,3,15]
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { parseDocument } from "yaml";
import { regionInZone, zonesOf, type Cloud } from "../components/config/regions";
import { planFleet, REPO_DIR } from "../offline";

const HUB = "ops-01";
/** The example spokes the fleet is grown from, one per cloud, and the regions their copies use. */
const TEMPLATES: readonly { stack: string; prefix: string; cloud: Cloud; region: string; regions: readonly string[] }[] = [
  { stack: "dev-01", prefix: "dev", cloud: "aws", region: "eu-central-1", regions: ["eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1", "eu-south-1"] },
  { stack: "prod-01", prefix: "prod", cloud: "gcp", region: "europe-west3", regions: ["europe-west3", "europe-west1", "europe-west4", "europe-west9", "europe-west10"] },
  { stack: "stag-01", prefix: "stag", cloud: "azure", region: "germanywestcentral", regions: ["germanywestcentral", "westeurope", "northeurope", "francecentral", "swedencentral"] },
];

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
};

/** Spoke `i` (0-based) of a grown fleet: clouds take turns, so every fleet size mixes the three. */
function spokeFile(i: number): { stack: string; text: string } {
  const t = TEMPLATES[i % TEMPLATES.length];
  const n = Math.floor(i / TEMPLATES.length);
  const stack = `${t.prefix}-${String(n + 1).padStart(2, "0")}`;
  const region = t.regions[n % t.regions.length];
  let text = readFileSync(join(REPO_DIR, `Pulumi.${t.stack}.yaml`), "utf8");
  if (n === 0) return { stack, text };
  // Names, cluster, project and endpoint names carry the stack name; OIDC issuers and GCP
  // locations carry the region.
  text = text.split(t.stack).join(stack).split(t.region).join(region);
  const doc = parseDocument(text);
  const zoneKey = ["config", "observability:sovereigntyZone"];
  const zone = String(doc.getIn(zoneKey));
  if (!regionInZone(t.cloud, region, zone)) doc.setIn(zoneKey, zonesOf(t.cloud, region)[0]);
  return { stack, text: doc.toString() };
}

/** A project directory with the hub and the first `spokes` spokes of the grown fleet. */
export function project(spokes: number): string {
  const dir = mkdtempSync(join(tmpdir(), `bench-plan-${spokes}-`));
  copyFileSync(join(REPO_DIR, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  const names: string[] = [];
  for (let i = 0; i < spokes; i++) {
    const { stack, text } = spokeFile(i);
    writeFileSync(join(dir, `Pulumi.${stack}.yaml`), text);
    names.push(stack);
  }
  const hub = parseDocument(readFileSync(join(REPO_DIR, `Pulumi.${HUB}.yaml`), "utf8"));
  hub.setIn(["config", "observability:spokes"], names);
  writeFileSync(join(dir, `Pulumi.${HUB}.yaml`), hub.toString());
  return dir;
}

async function timePlan(spokes: number, parallel: number): Promise<{ seconds: number; resources: number }> {
  const dir = project(spokes);
  try {
    const start = process.hrtime.bigint();
    const plan = await planFleet({ projectDir: dir, parallel });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const failed = plan.runs.filter((r) => r.error !== undefined);
    if (failed.length > 0) throw new Error(`bench: ${failed.map((r) => `${r.stack}: ${r.error?.message ?? ""}`).join("\n")}`);
    if (plan.runs.length !== spokes + 1) throw new Error(`bench: expected ${spokes + 1} stacks, planned ${plan.runs.length}`);
    return { seconds, resources: plan.runs.reduce((n, r) => n + r.resources.length, 0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const program = new Command("bench:plan")
    .option("--parallel <n>", "stack processes at once (npm run plan's default is 2)", positiveInt, 2)
    .option("--repeat <n>", "plans per fleet size; the fastest counts", positiveInt, 1)
    .option("--sizes <list>", "fleet sizes in spokes, smallest first (at least two)", (v: string) => v.split(",").map(positiveInt), [1, 3, 15])
    .showHelpAfterError();
  program.parse();
  const opts = program.opts<{ parallel: number; repeat: number; sizes: number[] }>();
  const sizes = [...new Set(opts.sizes)].sort((a, b) => a - b);
  if (sizes.length < 2) throw new InvalidArgumentError("--sizes needs at least two fleet sizes");

  const fmt = (n: number): string => n.toFixed(1);
  process.stdout.write(`bench:plan on ${availableParallelism()} CPUs, --parallel ${opts.parallel}, load average ${loadavg().map(fmt).join(" ")}\n`);
  const best = new Map<number, number>();
  for (const size of sizes) {
    for (let r = 0; r < opts.repeat; r++) {
      const { seconds, resources } = await timePlan(size, opts.parallel);
      process.stdout.write(`  ${String(size).padStart(2)} spoke(s) + hub: ${fmt(seconds)} s (${resources} resources)\n`);
      best.set(size, Math.min(best.get(size) ?? Infinity, seconds));
    }
  }
  const [a, b] = sizes;
  const largest = sizes[sizes.length - 1];
  const t = (n: number): number => best.get(n) ?? NaN;
  const slope = (t(b) - t(a)) / (b - a);
  process.stdout.write(`fastest: ${sizes.map((n) => `${n}: ${fmt(t(n))} s`).join(", ")}\n`);
  process.stdout.write(`marginal cost per extra spoke: ${fmt(slope)} s (${a}->${b} spokes)`);
  for (let i = 1; i + 1 < sizes.length; i++) {
    const [p, q] = [sizes[i], sizes[i + 1]];
    process.stdout.write(`, ${fmt((t(q) - t(p)) / (q - p))} s (${p}->${q} spokes)`);
  }
  process.stdout.write(`; over the whole range ${fmt((t(largest) - t(a)) / (largest - a))} s (${a}->${largest} spokes)`);
  const linear = t(a) + slope * (largest - a);
  process.stdout.write(`\n${largest} spokes: ${fmt(t(largest))} s against ${fmt(linear)} s linear from ${a} and ${b} spokes: ${(t(largest) / linear).toFixed(2)}x\n`);
  process.stdout.write(`load average after: ${loadavg().map(fmt).join(" ")}\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
