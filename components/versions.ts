/**
 * Every version the fleet pins, in one place: the images and charts the program deploys,
 * and the upstream tools (`npm run tools`) built from their Go modules to judge what the
 * program generates. `test/versions.test.ts` fails when the two drift apart (for example
 * a chart bump that moves Prometheus without moving the promtool that checks its rules).
 */

/** Image tag and chart versions deployed by default (`observability:versions`). */
export const DEPLOYED_VERSIONS = {
  /** `quay.io/thanos/thanos` tag of every Thanos component and the sidecar. */
  thanos: "v0.42.4",
  /** prometheus-community/kube-prometheus-stack; runs Prometheus v3.14.0 and Alertmanager v0.34.0. */
  kubePrometheusStack: "88.5.3",
  /** grafana-community/loki (Loki 3.7.6). */
  loki: "18.11.0",
  /** grafana/alloy (Alloy v1.18.1). */
  alloy: "1.11.1",
  /** grafana-community/grafana (Grafana 13.2.0). */
  grafana: "12.11.1",
} as const;

/**
 * Images kube-prometheus-stack {@link DEPLOYED_VERSIONS.kubePrometheusStack} runs by default
 * (its values.yaml `prometheus.prometheusSpec.image.tag` and
 * `alertmanager.alertmanagerSpec.image.tag`); the tools below are built at these versions.
 */
export const CHART_APP_VERSIONS = {
  prometheus: "v3.14.0",
  alertmanager: "v0.34.0",
} as const;

/** One upstream tool, built from the Go module proxy by `scripts/tools.ts`. */
export interface UpstreamTool {
  /** Binaries built from this module, with their main package. */
  readonly binaries: readonly { readonly name: string; readonly pkg: string }[];
  /** Go module path. */
  readonly module: string;
  /** Module version (Go's semver: Prometheus v3.14.0 is module v0.314.0). */
  readonly moduleVersion: string;
  /** The version the binary reports, set through the upstream ldflags. */
  readonly version: string;
  /** Go package whose `version`/`revision` variables carry the version (`-X` ldflags). */
  readonly versionPkg: string;
  /**
   * Directories the upstream release build generates (web UI bundles) that the module zip
   * lacks but a `//go:embed` needs: the build copies the pinned module's source and creates
   * them with a note page, so the binary has every API and no web UI.
   */
  readonly generatedAssets?: readonly string[];
}

/** The tools the tests, `npm run plan` and the loopback fleet run. */
export const UPSTREAM_TOOLS: readonly UpstreamTool[] = [
  {
    module: "github.com/thanos-io/thanos",
    moduleVersion: DEPLOYED_VERSIONS.thanos,
    version: DEPLOYED_VERSIONS.thanos,
    versionPkg: "github.com/prometheus/common/version",
    binaries: [{ name: "thanos", pkg: "github.com/thanos-io/thanos/cmd/thanos" }],
  },
  {
    module: "github.com/prometheus/prometheus",
    moduleVersion: "v0.314.0",
    version: CHART_APP_VERSIONS.prometheus,
    versionPkg: "github.com/prometheus/common/version",
    binaries: [
      { name: "prometheus", pkg: "github.com/prometheus/prometheus/cmd/prometheus" },
      { name: "promtool", pkg: "github.com/prometheus/prometheus/cmd/promtool" },
    ],
  },
  {
    module: "github.com/prometheus/alertmanager",
    moduleVersion: CHART_APP_VERSIONS.alertmanager,
    version: CHART_APP_VERSIONS.alertmanager,
    versionPkg: "github.com/prometheus/common/version",
    // ui/web.go: `//go:embed app/dist`, built by `make assets` from the Elm/React sources.
    generatedAssets: ["ui/app/dist"],
    binaries: [
      { name: "alertmanager", pkg: "github.com/prometheus/alertmanager/cmd/alertmanager" },
      { name: "amtool", pkg: "github.com/prometheus/alertmanager/cmd/amtool" },
    ],
  },
  {
    module: "helm.sh/helm/v3",
    moduleVersion: "v3.22.0",
    version: "v3.22.0",
    versionPkg: "helm.sh/helm/v3/internal/version",
    binaries: [{ name: "helm", pkg: "helm.sh/helm/v3/cmd/helm" }],
  },
];
