/**
 * One set of versions: what the program deploys (components/versions.ts, the config defaults),
 * what the pinned charts run, the reference data, and the upstream tools `npm run tools` builds
 * to judge the generated configuration. A bump of one without the others fails here.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CHART_APP_VERSIONS, DEPLOYED_VERSIONS, UPSTREAM_TOOLS } from "../components/versions";
import { listStacks, readStackFile } from "../components/config";
import { REPO_DIR } from "../offline";
import { moduleDirectives, releaseTags } from "../scripts/tools";
import { builtTool, REPO_ROOT, TOOLS_BIN, toolModule, type ToolName } from "../toolchain";
import { REFERENCE_DIR, helpFlags, transcribedThanosHelp, thanosFlags, type ThanosComponent } from "./support/reference";
import { requireTool, runTool } from "./support/tools";

const tool = (module: string) => {
  const t = UPSTREAM_TOOLS.find((x) => x.module === module);
  assert.ok(t !== undefined, `${module} is pinned`);
  return t;
};

describe("pinned versions agree", () => {
  it("every example stack deploys the versions the tools are built at", () => {
    for (const stack of listStacks(REPO_DIR)) {
      const versions = readStackFile(REPO_DIR, stack).values.versions;
      assert.deepEqual({ ...DEPLOYED_VERSIONS, ...(versions as object | undefined) }, DEPLOYED_VERSIONS, `Pulumi.${stack}.yaml observability:versions`);
    }
  });

  it("Thanos is built at the image tag every Thanos component and the sidecar runs", () => {
    const t = tool("github.com/thanos-io/thanos");
    assert.equal(t.moduleVersion, DEPLOYED_VERSIONS.thanos);
    assert.equal(t.version, DEPLOYED_VERSIONS.thanos);
  });

  it("Prometheus and Alertmanager are built at the images kube-prometheus-stack runs", () => {
    const values = parse(readFileSync(join(REFERENCE_DIR, `charts/kube-prometheus-stack-${DEPLOYED_VERSIONS.kubePrometheusStack}/chart/values.yaml`), "utf8")) as {
      prometheus: { prometheusSpec: { image: { tag: string } } };
      alertmanager: { alertmanagerSpec: { image: { tag: string } } };
    };
    // The chart runs the distroless variant of the same release (values.yaml prometheusSpec.image.tag).
    assert.equal(values.prometheus.prometheusSpec.image.tag.replace(/-distroless$/, ""), CHART_APP_VERSIONS.prometheus);
    assert.equal(values.alertmanager.alertmanagerSpec.image.tag, CHART_APP_VERSIONS.alertmanager);
    assert.equal(tool("github.com/prometheus/alertmanager").version, CHART_APP_VERSIONS.alertmanager);
    const prom = tool("github.com/prometheus/prometheus");
    assert.equal(prom.version, CHART_APP_VERSIONS.prometheus);
    // Prometheus tags v3.X.Y as Go module v0.3XX.Y (prometheus/prometheus RELEASE.md, "Go modules").
    const [major, minor, patch] = CHART_APP_VERSIONS.prometheus.slice(1).split(".").map(Number);
    assert.equal(prom.moduleVersion, `v0.${major * 100 + minor}.${patch}`);
  });

  it("every deployed chart version is in the reference data (values and the complete chart)", () => {
    const charts = { "kube-prometheus-stack": DEPLOYED_VERSIONS.kubePrometheusStack, loki: DEPLOYED_VERSIONS.loki, alloy: DEPLOYED_VERSIONS.alloy, grafana: DEPLOYED_VERSIONS.grafana };
    for (const [chart, version] of Object.entries(charts)) {
      const chartYaml = parse(readFileSync(join(REFERENCE_DIR, `charts/${chart}-${version}/chart/Chart.yaml`), "utf8")) as { version: string };
      assert.equal(chartYaml.version, version, chart);
    }
    assert.ok(existsSync(join(REFERENCE_DIR, `thanos-${DEPLOYED_VERSIONS.thanos}`)));
  });
});

describe("the tools script", () => {
  it("repeats the upstream replace and exclude directives, blocks included", () => {
    const goMod = [
      "module example.com/x", "", "go 1.26.0", "", "require (", "\ta.example/b v1.0.0", ")", "",
      "replace (", "\t// why", "\tgopkg.in/x.v2 => github.com/y/x v1.3.8 // pinned", "", "\tz.net/u => github.com/z/u v0.0.1", ")",
      "exclude github.com/l/l v1.0.0", "replace cloud.google.com/go => cloud.google.com/go v0.123.0",
    ].join("\n");
    assert.equal(moduleDirectives(goMod), [
      "replace (\n\tgopkg.in/x.v2 => github.com/y/x v1.3.8\n\tz.net/u => github.com/z/u v0.0.1\n)",
      "exclude github.com/l/l v1.0.0",
      "replace cloud.google.com/go => cloud.google.com/go v0.123.0",
    ].join("\n"));
  });

  const built = (["thanos", "prometheus", "promtool", "alertmanager", "amtool", "helm"] as ToolName[]).map((n) => [n, requireTool(n)] as const);
  const missing = built.find(([, r]) => !r.available)?.[1].skipReason;

  it("built every pinned binary, each reporting its pinned version", { skip: missing }, () => {
    for (const t of UPSTREAM_TOOLS) {
      for (const b of t.binaries) {
        const out = runTool(b.name as ToolName, b.name === "helm" ? ["version", "--short"] : ["--version"]).output;
        assert.ok(out.includes(t.version.slice(1)), `${b.name} --version: ${out}`);
      }
    }
  });

  it("is a no-op on a second run", { skip: missing }, () => {
    const mtimes = (): number[] => UPSTREAM_TOOLS.flatMap((t) => t.binaries.map((b) => statSync(join(TOOLS_BIN, b.name)).mtimeMs));
    const before = mtimes();
    const out = execFileSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "scripts", "tools.ts")], { cwd: REPO_ROOT, encoding: "utf8" });
    assert.doesNotMatch(out, /building/);
    assert.equal(out.match(/up to date/g)?.length, UPSTREAM_TOOLS.length, out);
    assert.deepEqual(mtimes(), before);
  });

  it("takes the release build tags from the module's .promu.yml, minus the documented omissions", () => {
    const dir = mkdtempSync(join(tmpdir(), "promu-"));
    writeFileSync(join(dir, ".promu.yml"), "build:\n  tags:\n    all: [netgo, slicelabels]\n    linux: [netgo, builtinassets]\n");
    const tool = { ...toolModule("thanos"), omitTags: { builtinassets: "why" } };
    assert.deepEqual(releaseTags(dir, tool), ["netgo", "slicelabels"]);
    assert.throws(() => releaseTags(dir, { ...tool, omitTags: { stringlabels: "why" } }), /omitTags names stringlabels, which its .promu.yml does not set/);
    rmSync(dir, { recursive: true });
  });

  // Thanos v0.42.4 .promu.yml sets build.tags.all [netgo, slicelabels]: pkg/store/labelpb casts
  // labels.Labels to []Label unsafely, which holds only with slicelabels; without the tag the
  // sidecar's first gRPC Info reply panics (found by the loopback fleet, localfleet/).
  it("built every binary with the tags of its upstream release build", { skip: missing }, () => {
    const scratch = mkdtempSync(join(tmpdir(), "modinfo-"));
    try {
      for (const t of UPSTREAM_TOOLS) {
        const info = JSON.parse(execFileSync("go", ["mod", "download", "-json", `${t.module}@${t.moduleVersion}`], { cwd: scratch, encoding: "utf8" })) as { Dir: string };
        const want = releaseTags(info.Dir, t).sort();
        for (const b of t.binaries) {
          const buildInfo = execFileSync("go", ["version", "-m", join(TOOLS_BIN, b.name)], { encoding: "utf8" });
          const got = (/^\s*build\s+-tags=(\S+)$/m.exec(buildInfo)?.[1] ?? "").split(",").filter((x) => x !== "").sort();
          assert.deepEqual(got, want, `${b.name}: go version -m shows tags ${got.join(",") || "none"}`);
        }
      }
      const thanosInfo = execFileSync("go", ["version", "-m", join(TOOLS_BIN, "thanos")], { encoding: "utf8" });
      assert.match(thanosInfo, /-tags=\S*slicelabels/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("the transcribed Thanos help in ../shared/reference lists the built binary's flags", { skip: builtTool("thanos") === undefined ? "thanos not built" : undefined }, () => {
    for (const c of ["query", "store", "compact", "query-frontend", "rule", "sidecar"] as ThanosComponent[]) {
      assert.deepEqual([...thanosFlags(c)].sort(), [...helpFlags(transcribedThanosHelp(c))].sort(), c);
    }
  });
});
