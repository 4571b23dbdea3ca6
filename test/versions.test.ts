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
import { moduleDirectives, releaseTags, versionLdflags } from "../scripts/tools";
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

  // Every ToolName: `satisfies` makes the compiler refuse a missing or unknown name.
  const toolNames = Object.keys({ thanos: true, prometheus: true, promtool: true, alertmanager: true, amtool: true, helm: true, versitygw: true } satisfies Record<ToolName, true>) as ToolName[];
  const built = toolNames.map((n) => [n, requireTool(n)] as const);
  const missing = built.find(([, r]) => !r.available)?.[1].skipReason;

  it("ToolName names exactly the binaries of the pinned modules", () => {
    assert.deepEqual([...toolNames].sort(), UPSTREAM_TOOLS.flatMap((t) => t.binaries.map((b) => b.name)).sort());
  });

  it("sets each tool's own version variables in -ldflags", () => {
    const promu = "github.com/prometheus/common/version";
    assert.equal(versionLdflags(toolModule("thanos")), `-s -w -X ${promu}.Version=0.42.4 -X ${promu}.Revision=v0.42.4 -X ${promu}.Branch=module -X ${promu}.BuildUser=sovereign-tools`);
    assert.equal(versionLdflags(toolModule("promtool")), `-s -w -X ${promu}.Version=3.14.0 -X ${promu}.Revision=v0.314.0 -X ${promu}.Branch=module -X ${promu}.BuildUser=sovereign-tools`);
    assert.equal(versionLdflags(toolModule("helm")), "-s -w -X helm.sh/helm/v3/internal/version.version=v3.22.0");
    assert.equal(versionLdflags(toolModule("versitygw")), "-s -w -X main.Version=v1.8.0 -X main.Build=v1.8.0");
    assert.throws(() => versionLdflags({ ...toolModule("helm"), versionVars: () => ["version=v1"] }), /is not importpath.name=value/);
  });

  it("built every pinned binary, each reporting its pinned version", { skip: missing }, () => {
    for (const t of UPSTREAM_TOOLS) {
      for (const b of t.binaries) {
        const out = runTool(b.name as ToolName, b.name === "helm" ? ["version", "--short"] : ["--version"]).output;
        assert.ok(out.includes(t.version.slice(1)), `${b.name} --version: ${out}`);
        // versitygw prints its main.Version as set: the whole tag (cmd/versitygw/main.go).
        if (b.name === "versitygw") assert.match(out, new RegExp(`^Version\\s+: ${t.version.replace(/\./g, "\\.")}$`, "m"), out);
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

  // versitygw is released by its Makefile, not promu: `LDFLAGS=-ldflags "-X=main.Build=$(BUILD)
  // -X=main.BuildTime=$(TIME) -X=main.Version=$(VERSION)"`; the pinned build sets the same
  // variables (BuildTime left at "none" for a reproducible binary).
  it("sets versitygw's version variables as its Makefile does", { skip: missing }, () => {
    const t = toolModule("versitygw");
    const scratch = mkdtempSync(join(tmpdir(), "modinfo-"));
    try {
      const info = JSON.parse(execFileSync("go", ["mod", "download", "-json", `${t.module}@${t.moduleVersion}`], { cwd: scratch, encoding: "utf8" })) as { Dir: string };
      const makefile = readFileSync(join(info.Dir, "Makefile"), "utf8");
      for (const v of t.versionVars(t.version, t.moduleVersion)) assert.ok(makefile.includes(`-X=${v.slice(0, v.indexOf("=") + 1)}`), `Makefile sets ${v}`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
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
