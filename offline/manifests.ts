/**
 * The full Kubernetes manifest set of a planned stack: the typed `kubernetes:*` resources the
 * program registers, plus every Helm release rendered by the real `helm template` (pinned
 * helm, `npm run tools`) with the exact chart version, values and namespace the program passes.
 * `npm run plan -- --render` writes it to `plan/<stack>/manifests.yaml`; the tests run the
 * upstream checks (CRD schemas, thanos, promtool, amtool, the flow check) on it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { StackRun } from ".";
import type { RecordedResource } from "./monitor";
import { isSecretValue, reveal, UNKNOWN } from "./values";
import { builtTool } from "../toolchain";

/** A Kubernetes object as plain data. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** Where a manifest comes from: a typed resource or a Helm release. */
export interface ManifestSource {
  /** `typed` or `release:<release name>`. */
  readonly origin: string;
  readonly manifest: Manifest;
}

/** The inputs of one `kubernetes:helm.sh/v3:Release` as the program registered them. */
export interface ReleaseInput {
  /** Pulumi resource name (e.g. `dev-01-workloads-loki`). */
  readonly resource: string;
  /** Helm release name. */
  readonly release: string;
  readonly chart: string;
  readonly version: string;
  readonly namespace: string;
  /** Values, secrets revealed. */
  readonly values: Record<string, unknown>;
}

/** One release rendered, or the reason it could not be. */
export interface RenderedRelease extends ReleaseInput {
  readonly manifests: Manifest[];
  /** helm's own message when the chart refused the values (a `fail`, a template or schema error). */
  readonly error?: string;
}

/** Everything a stack would apply to its cluster. */
export interface StackManifests {
  readonly stack: string;
  readonly typed: Manifest[];
  readonly releases: RenderedRelease[];
  /** Every manifest with its origin. */
  readonly all: ManifestSource[];
  /** `<stack>: release <release> (<chart> <version>): <helm's message>`, one per failed release. */
  readonly errors: string[];
}

/**
 * What a real cluster tells helm that `helm template` must be told: the Kubernetes version the
 * platform supports, and the Prometheus Operator API that kube-prometheus-stack installs first
 * (charts render their ServiceMonitors and PrometheusRules only when
 * `.Capabilities.APIVersions.Has "monitoring.coreos.com/v1"`, e.g. loki chart templates/_helpers.tpl).
 */
export const RENDER_CAPABILITIES = {
  kubeVersion: "1.33.0",
  apiVersions: ["monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PodMonitor", "monitoring.coreos.com/v1/PrometheusRule", "monitoring.coreos.com/v1/Prometheus", "monitoring.coreos.com/v1/Alertmanager", "monitoring.coreos.com/v1alpha1/AlertmanagerConfig", "monitoring.grafana.com/v1alpha1/PodLogs", "policy/v1/PodDisruptionBudget", "autoscaling.k8s.io/v1/VerticalPodAutoscaler"],
} as const;

/**
 * Directory holding the pinned charts as `<chart>-<version>/chart/`: `SOVEREIGN_CHARTS_DIR`, or
 * `../shared/reference/charts` beside the repository. Undefined when neither exists.
 */
export function chartsDir(repoDir: string): string | undefined {
  const candidates = [process.env.SOVEREIGN_CHARTS_DIR, resolve(repoDir, "..", "shared", "reference", "charts")].filter((d): d is string => d !== undefined && d !== "");
  return candidates.find((d) => existsSync(d));
}

/** The unpacked chart of a pinned release, or undefined when it is not in `dir`. */
export function chartPath(dir: string, chart: string, version: string): string | undefined {
  const p = join(dir, `${chart}-${version}`, "chart");
  return existsSync(join(p, "Chart.yaml")) ? p : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The Helm releases a stack registers, in registration order. */
export function releasesOf(run: Pick<StackRun, "resources">): ReleaseInput[] {
  return run.resources
    .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
    .map((r) => {
      const i = reveal(r.inputs) as Record<string, unknown>;
      const str = (k: string): string => {
        const v = i[k];
        if (typeof v !== "string" || v === UNKNOWN) throw new Error(`release ${r.name}: input ${k} is not a known string`);
        return v;
      };
      return { resource: r.name, release: str("name"), chart: str("chart"), version: str("version"), namespace: str("namespace"), values: isObject(i.values) ? i.values : {} };
    });
}

/** Unknown values (outputs not computed offline) anywhere in a value, by path. */
export function unknownPaths(v: unknown, path = ""): string[] {
  if (v === UNKNOWN) return [path || "(root)"];
  if (Array.isArray(v)) return v.flatMap((x, i) => unknownPaths(x, `${path}[${i}]`));
  if (isObject(v)) return Object.entries(v).flatMap(([k, x]) => unknownPaths(x, path === "" ? k : `${path}.${k}`));
  return [];
}

function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d): d is Manifest => isObject(d) && typeof d.kind === "string" && typeof d.apiVersion === "string");
}

/**
 * Renders one release with `helm template`, exactly as Pulumi's helm.v3.Release would install
 * it: CRDs included (the Release's `skipCrds` defaults to false), the release's namespace.
 */
export function renderRelease(rel: ReleaseInput, opts: { helm: string; chartsDir: string }): RenderedRelease {
  const chart = chartPath(opts.chartsDir, rel.chart, rel.version);
  if (chart === undefined) return { ...rel, manifests: [], error: `chart ${rel.chart} ${rel.version} is not in ${opts.chartsDir} (expected ${rel.chart}-${rel.version}/chart/Chart.yaml)` };
  const unknown = unknownPaths(rel.values);
  if (unknown.length > 0) return { ...rel, manifests: [], error: `values not known offline: ${unknown.join(", ")}` };
  const dir = mkdtempSync(join(tmpdir(), "sovereign-helm-"));
  try {
    const valuesFile = join(dir, "values.yaml");
    writeFileSync(valuesFile, stringify(rel.values));
    const args = [
      "template", rel.release, chart,
      "--namespace", rel.namespace,
      "--values", valuesFile,
      "--include-crds",
      "--kube-version", RENDER_CAPABILITIES.kubeVersion,
      ...RENDER_CAPABILITIES.apiVersions.flatMap((a) => ["--api-versions", a]),
    ];
    const r = spawnSync(opts.helm, args, { encoding: "utf8", maxBuffer: 512 * 1024 * 1024, timeout: 300_000, env: { ...process.env, HELM_CACHE_HOME: join(dir, "cache"), HELM_CONFIG_HOME: join(dir, "config"), HELM_DATA_HOME: join(dir, "data") } });
    if (r.error !== undefined) return { ...rel, manifests: [], error: r.error.message };
    if (r.status !== 0) return { ...rel, manifests: [], error: r.stderr.trim() || `helm exited ${r.status}` };
    return { ...rel, manifests: parseManifests(r.stdout) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `kubernetes:apps/v1:Deployment` → `apps/v1`, `Deployment`; `kubernetes:core/v1:Secret` → `v1`. */
export function apiOf(type: string): { apiVersion: string; kind: string } | undefined {
  const m = /^kubernetes:([^:]+)\/([^:/]+):([A-Za-z]+)$/.exec(type);
  if (m === null || m[1] === "helm.sh") return undefined;
  return { apiVersion: m[1] === "core" ? m[2] : `${m[1]}/${m[2]}`, kind: m[3] };
}

/** The typed Kubernetes resources of a stack as manifests (secrets revealed). */
export function typedManifests(resources: readonly RecordedResource[]): Manifest[] {
  const out: Manifest[] = [];
  for (const r of resources) {
    const api = apiOf(r.type);
    if (api === undefined || !r.custom) continue;
    const inputs = reveal(r.inputs) as Record<string, unknown>;
    const metadata = isObject(inputs.metadata) ? { ...inputs.metadata } : {};
    // Pulumi auto-names a resource without metadata.name from its resource name.
    if (typeof metadata.name !== "string") metadata.name = r.name;
    out.push({ ...inputs, apiVersion: api.apiVersion, kind: api.kind, metadata: metadata as Manifest["metadata"] });
  }
  return out;
}

/** The manifest set of a planned stack; releases rendered when helm and the charts are there. */
export function stackManifests(run: StackRun, opts: { repoDir: string; helm?: string; chartsDir?: string }): StackManifests {
  const typed = typedManifests(run.resources);
  const helm = opts.helm ?? builtTool("helm");
  const charts = opts.chartsDir ?? chartsDir(opts.repoDir);
  const releases = releasesOf(run).map((rel) =>
    helm === undefined || charts === undefined
      ? { ...rel, manifests: [], error: helm === undefined ? "helm is not built (npm run tools)" : "no chart directory (../shared/reference/charts or SOVEREIGN_CHARTS_DIR)" }
      : renderRelease(rel, { helm, chartsDir: charts }),
  );
  const all: ManifestSource[] = [
    ...typed.map((manifest) => ({ origin: "typed", manifest })),
    ...releases.flatMap((rel) => rel.manifests.map((manifest) => ({ origin: `release:${rel.release}`, manifest }))),
  ];
  const errors = releases.filter((r) => r.error !== undefined).map((r) => `${run.stack}: release ${r.release} (${r.chart} ${r.version}, resource ${r.resource}): ${r.error ?? ""}`);
  return { stack: run.stack, typed, releases, all, errors };
}

/**
 * Every secret string of a stack (inputs and outputs), to keep them out of printed manifests.
 * Plain identifiers that a secret object happens to carry (a Secret's own name, `prometheus`)
 * are not secrets: only values of 24 characters or more, or of 8 or more that are not a
 * lowercase DNS-style word, are collected.
 */
export function secretStrings(run: Pick<StackRun, "resources">): Set<string> {
  const out = new Set<string>();
  const collect = (v: unknown, inSecret: boolean): void => {
    if (isSecretValue(v)) return collect(v.value, true);
    if (typeof v === "string") {
      if (inSecret && (v.length >= 24 || (v.length >= 8 && /[^a-z0-9.-]/.test(v)))) out.add(v);
      return;
    }
    if (Array.isArray(v)) for (const x of v) collect(x, inSecret);
    else if (isObject(v)) for (const x of Object.values(v)) collect(x, inSecret);
  };
  for (const r of run.resources) {
    collect(r.inputs, false);
    collect(r.outputs, false);
  }
  return out;
}

/**
 * `manifests.yaml`: one YAML stream, each document headed by its origin. Unless secrets are
 * shown, Secret data is replaced by `[secret]` and any secret value of the stack (or its base64
 * form) that a chart copied elsewhere is masked too.
 */
export function manifestsYaml(set: StackManifests, opts: { showSecrets: boolean; secrets: ReadonlySet<string> }): string {
  const mask = (text: string): string => {
    if (opts.showSecrets) return text;
    let t = text;
    for (const s of opts.secrets) {
      for (const form of [s, Buffer.from(s).toString("base64")]) t = t.split(form).join("[secret]");
    }
    return t;
  };
  const docs = set.all.map(({ origin, manifest }) => {
    let m: Manifest = manifest;
    if (!opts.showSecrets && m.kind === "Secret") {
      const redact = (v: unknown): unknown => (isObject(v) ? Object.fromEntries(Object.keys(v).map((k) => [k, "[secret]"])) : v);
      m = { ...m, ...(m.data !== undefined ? { data: redact(m.data) } : {}), ...(m.stringData !== undefined ? { stringData: redact(m.stringData) } : {}) };
    }
    return `# ${origin}: ${m.kind} ${m.metadata.namespace ?? ""}/${m.metadata.name}\n${mask(stringify(m, { lineWidth: 0 }))}`;
  });
  const failures = set.errors.map((e) => `# NOT RENDERED: ${e.replace(/\n/g, "\n#   ")}\n`);
  return `${[...failures, ...docs].join("---\n")}`;
}
