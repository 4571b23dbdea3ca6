/**
 * `npm run plan`: the example fleet renders into four plan documents and fleet.md,
 * deterministically, and bad input fails the run with the configuration messages.
 */
import assert from "node:assert/strict";
import { spawnSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { before, describe, it } from "node:test";
import { listStacks } from "../components/config";
import { requireTool } from "./support/tools";
import { asReference, REPO_DIR, runStack, SPOKES_ENV, type StackRun } from "../offline";

const PLAN = join(REPO_DIR, "scripts", "plan.ts");
/** `npm run plan` renders the Helm releases by default when helm is built (CI: always). */
const RENDERS = requireTool("helm").available;
const manifestsOf = (stacks: readonly string[]): string[] => (RENDERS ? stacks.map((s) => `${s}/manifests.yaml`) : []);

function plan(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", PLAN, ...args], { cwd: REPO_DIR, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/** Every file under a plan directory, relative (`dev-01/manifests.yaml`). */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Keys, certificates, CA fingerprints and digests of certificates (pod annotations `checksum/tls`) differ between runs by design; nothing else may. */
function normalize(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----\n?/g, "<PEM>")
    .replace(/(checksum\/tls"?:\s*"?)[0-9a-f]{16}/g, "$1<digest>")
    .replace(/sha256 [0-9A-F:]+/g, "sha256 <fingerprint>");
}

describe("npm run plan", () => {
  const outA = mkdtempSync(join(tmpdir(), "plan-a-"));
  const outB = mkdtempSync(join(tmpdir(), "plan-b-"));
  let runs: { code: number | null; stderr: string }[] = [];

  before(async () => {
    runs = await Promise.all([plan(["--out", outA]), plan(["--out", outB])]);
  });

  it("plans the example fleet without errors", () => {
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.match(runs[0].stderr, /bootstrap ops-01[\s\S]*spoke[\s\S]*hub\s+ops-01/);
  });

  it("writes one JSON document per stack, fleet.md and (helm built: --render is the default) one manifest set per stack", () => {
    const stacks = ["dev-01", "edge-dev-01", "edge-otc-01", "ops-01", "prod-01", "stag-01"];
    assert.deepEqual(files(outA), ["fleet.md", ...stacks.map((s) => `${s}.json`), ...manifestsOf(stacks)].sort());
    for (const stack of stacks) {
      const doc = JSON.parse(readFileSync(join(outA, `${stack}.json`), "utf8")) as Record<string, unknown>;
      assert.deepEqual(Object.keys(doc), ["stack", "project", "role", "config", "resources", "outputs"]);
      assert.equal(doc.stack, stack);
      assert.equal(doc.project, "sovereign-observability");
      assert.equal(doc.role, stack === "ops-01" ? "hub" : stack === "edge-dev-01" ? "edge" : "spoke");
      const resources = doc.resources as Record<string, unknown>[];
      assert.ok(resources.length > 0);
      for (const r of resources) {
        assert.deepEqual(Object.keys(r), ["urn", "type", "name", "parent", "provider", "options", "inputs"]);
        assert.deepEqual(Object.keys(r.options as object), ["protect", "retainOnDelete", "dependsOn"]);
      }
      assert.equal((doc.config as Record<string, unknown>)["observability:kubeconfig"], "[secret]");
    }
  });

  it("never prints a secret unless asked", () => {
    for (const f of files(outA)) {
      const text = readFileSync(join(outA, f), "utf8");
      // A PEM private key block, not the words (the pinned CRDs describe PRIVATE KEY blocks).
      assert.doesNotMatch(text, /offline-secret:|-----BEGIN [A-Z ]*PRIVATE KEY-----/, `${f} leaks a secret`);
    }
  });

  it("is deterministic apart from keys and certificates", () => {
    assert.deepEqual(files(outB), files(outA));
    for (const f of files(outA)) {
      assert.equal(normalize(readFileSync(join(outB, f), "utf8")), normalize(readFileSync(join(outA, f), "utf8")), `${f} differs between two plans`);
    }
  });

  it("fleet.md has a resource tree per stack, the wiring table and a Mermaid diagram", () => {
    const md = readFileSync(join(outA, "fleet.md"), "utf8");
    for (const s of ["dev-01", "edge-otc-01", "prod-01", "stag-01", "ops-01"]) assert.match(md, new RegExp(`### ${s} \\((spoke|hub)\\) — \\d+ resources`));
    assert.match(md, /\| spoke \| cloud \| region \|/);
    assert.match(md, /```mermaid\nflowchart LR/);
    assert.match(md, /\| dev-01 \| small \| \d+m \| \d+Mi \| \d+m \| \d+Mi \|/, "requested resources per spoke");
  });

  it("fleet.md shows what edge-otc-01's service expresses, an advisory for each item it cannot, and the lifecycle rules to apply", () => {
    const md = readFileSync(join(outA, "fleet.md"), "utf8");
    const section = md.slice(md.indexOf("## S3-compatible storage"), md.indexOf("## Requested resources"));
    assert.match(section, /### edge-otc-01: Open Telekom Cloud OBS at https:\/\/obs\.eu-de\.otc\.t-systems\.com/);
    assert.match(section, /\| writers only from the spoke's addresses \| yes \|/);
    assert.match(section, /\| default encryption at rest \| \*\*advisory\*\* \| Open Telekom Cloud OBS cannot express it: PutBucketEncryption accepts only aws:kms/);
    assert.match(section, /\| noncurrent versions expire \| \*\*advisory\*\* \|/);
    for (const b of ["acme-edge-otc-01-metrics", "acme-edge-otc-01-logs"]) assert.match(section, new RegExp(`put-bucket-lifecycle-configuration --endpoint-url https://obs\\.eu-de\\.otc\\.t-systems\\.com --bucket ${b} --lifecycle-configuration '\\{"Rules":\\[\\{"ID":"expire-current-versions"`));
    // The policy pack's advisories for the same gaps, in the policy table.
    assert.match(md, /\| edge-otc-01 \| advisory \| s3-compatible-guarantees \| edge-otc-01-storage-metrics \| bucket acme-edge-otc-01-metrics has no default encryption/);
    assert.doesNotMatch(md, /\| edge-otc-01 \| mandatory \|/);
  });
});

describe("npm run plan on other stack files", () => {
  function project(): string {
    const dir = mkdtempSync(join(tmpdir(), "plan-project-"));
    for (const s of listStacks(REPO_DIR)) copyFileSync(join(REPO_DIR, `Pulumi.${s}.yaml`), join(dir, `Pulumi.${s}.yaml`));
    return dir;
  }

  it("plans a stack file dropped into the project with --stacks", async () => {
    const dir = project();
    const dev = readFileSync(join(dir, "Pulumi.dev-01.yaml"), "utf8");
    writeFileSync(join(dir, "Pulumi.dev-02.yaml"), dev.replace(/dev-01/g, "dev-02"));
    const out = mkdtempSync(join(tmpdir(), "plan-out-"));
    const r = await plan(["--project-dir", dir, "--stacks", "dev-02", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(files(out), ["dev-02.json", "fleet.md", ...manifestsOf(["dev-02"])].sort());
  });

  it("exits non-zero with the configuration messages on bad config", async () => {
    const dir = project();
    const dev = readFileSync(join(dir, "Pulumi.dev-01.yaml"), "utf8");
    writeFileSync(join(dir, "Pulumi.dev-01.yaml"), dev.replace("region: eu-central-1", "region: europe-west3").replace("raw: 15d", "raw: 1d"));
    const r = await plan(["--project-dir", dir, "--stacks", "dev-01", "--out", mkdtempSync(join(tmpdir(), "plan-out-"))]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Pulumi\.dev-01\.yaml has 2 configuration problem/);
    assert.match(r.stderr, /observability:region: found "europe-west3", which is not an AWS region known to this project/);
    assert.match(r.stderr, /observability:retention\.raw: must be at least 40h/);
  });

  it("refuses unknown options", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", PLAN, "--stack", "dev-01"], { cwd: REPO_DIR, encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown option '--stack'/);
  });
});

describe("a stack process loads only its own cloud's SDK", () => {
  // components/clouds/index.ts loads each cloud module on first use: an AWS stack must not pay for
  // loading @pulumi/gcp and @pulumi/azure-native (the bulk of a stack's plan time, see README
  // "Performance"), and azure-native is imported per module, never through its root index.
  const SDKS = ["@pulumi/aws", "@pulumi/gcp", "@pulumi/azure-native"];
  let runs: StackRun[] = [];

  before(async () => {
    const hub = await runStack({ stack: "ops-01", env: { [SPOKES_ENV]: "" } });
    assert.equal(hub.error, undefined, hub.error?.message);
    const references = { "ops-01": asReference(hub) };
    runs = [hub, ...(await Promise.all(["prod-01", "stag-01"].map((stack) => runStack({ stack, references }))))];
  });

  it("the AWS hub, the GCP spoke and the Azure spoke each load one provider SDK", () => {
    const expected: Record<string, string> = { "ops-01": "@pulumi/aws", "prod-01": "@pulumi/gcp", "stag-01": "@pulumi/azure-native" };
    for (const run of runs) {
      assert.equal(run.error, undefined, `${run.stack}: ${run.error?.message ?? ""}`);
      const loaded = (run.loadedSdks ?? []).filter((p) => SDKS.includes(p));
      assert.deepEqual(loaded, [expected[run.stack]], `${run.stack} loaded ${loaded.join(", ")}`);
    }
  });

  it("azure-native is loaded per module, not through its root index", () => {
    const loaded = runs.find((r) => r.stack === "stag-01")?.loadedSdks ?? [];
    assert.ok(loaded.includes("@pulumi/azure-native"), `stag-01 loaded ${loaded.join(", ")}`);
    assert.ok(!loaded.includes("@pulumi/azure-native/index.js"), "the @pulumi/azure-native root index loads every Azure service module");
  });
});
