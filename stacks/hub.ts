/**
 * The hub: reads every spoke through its contract, then composes the global read path.
 * Composition only; every decision lives in a component or a renderer.
 */
import type { HubConfig } from "../components/config";
import { CONTRACT_VERSION, readSpoke, selectSpokes, SPOKES_ENV, type SpokeView } from "../components/contracts";
import { Cluster } from "../components/kube";
import { k8sLabels } from "../components/labels";
import { StackPki } from "../components/pki";

/** Reads every wired spoke; all broken spokes are reported together, before any resource. */
async function readSpokes(config: HubConfig): Promise<SpokeView[]> {
  const names = selectSpokes(config.stack, config.spokes, process.env[SPOKES_ENV]);
  const results = await Promise.all(names.map((s) => readSpoke(s)));
  const errors = results.flatMap((r) => (r.ok ? [] : [r.error.message]));
  if (errors.length > 0) throw new Error(`hub ${config.stack} cannot wire ${errors.length} spoke(s):\n${errors.join("\n")}`);
  return results.flatMap((r) => (r.ok ? [r.value] : []));
}

export async function hubProgram(config: HubConfig): Promise<Record<string, unknown>> {
  const spokes = await readSpokes(config);

  const cluster = new Cluster(config.stack, { kubeconfig: config.kubeconfig, namespace: config.namespace, labels: k8sLabels(config, "namespace") });
  void cluster;
  const pki = new StackPki(`${config.stack}-pki`, {
    stack: config.stack,
    caValidityHours: config.pki.caValidityHours,
    caEarlyRenewalHours: config.pki.caEarlyRenewalHours,
    rotateCa: config.pki.rotateCa,
  });

  return {
    contractVersion: CONTRACT_VERSION,
    role: "hub",
    name: config.stack,
    cloud: config.cloud,
    region: config.region,
    spokes: spokes.map((s) => s.name),
    clientCaPem: pki.trustBundle,
    alertmanager: { url: `https://${config.endpoints.alertmanager}`, serverName: config.endpoints.alertmanager, caPem: pki.trustBundle },
    grafanaUrl: `https://${config.endpoints.grafana}`,
  };
}
