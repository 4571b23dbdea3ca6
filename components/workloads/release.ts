/**
 * Helm releases of the pinned charts, created the same way everywhere: fixed release name,
 * pinned version from the stack config, bounded history.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** Chart repositories of the pinned charts (grafana-community hosts loki and grafana since 2026). */
export const CHART_REPOS = {
  "kube-prometheus-stack": "https://prometheus-community.github.io/helm-charts",
  loki: "https://grafana-community.github.io/helm-charts",
  grafana: "https://grafana-community.github.io/helm-charts",
  alloy: "https://grafana.github.io/helm-charts",
} as const;

export interface ChartReleaseArgs {
  /** Release name (pod labels and service names derive from it). */
  release: string;
  chart: keyof typeof CHART_REPOS;
  version: string;
  namespace: string;
  values: pulumi.Input<Record<string, unknown>>;
  /** Seconds to wait for the release's resources (CRD-heavy charts need longer). */
  timeout?: number;
}

/** A release of one of the pinned charts. */
export function chartRelease(name: string, args: ChartReleaseArgs, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(name, {
    name: args.release,
    chart: args.chart,
    version: args.version,
    repositoryOpts: { repo: CHART_REPOS[args.chart] },
    namespace: args.namespace,
    values: args.values,
    maxHistory: 10,
    ...(args.timeout !== undefined ? { timeout: args.timeout } : {}),
  }, opts);
}
