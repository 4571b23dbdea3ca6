/**
 * A spoke: sovereign storage, identities, egress, PKI and workloads of one cloud/region.
 * Composition only; every decision lives in a component or a renderer.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SpokeConfig } from "../components/config";
import { CONTRACT_VERSION, readHub } from "../components/contracts";
import { Cluster } from "../components/kube";
import { externalLabels, k8sLabels } from "../components/labels";
import { StackPki, tlsSecret } from "../components/pki";
import { LOKI_GATEWAY, THANOS_QUERY } from "../components/endpoints";


export async function spokeProgram(config: SpokeConfig): Promise<Record<string, unknown>> {
  const hubRead = await readHub(config.hub.stack);
  if (!hubRead.ok) {
    // Fail closed: without the hub's addresses and client CA nothing may be exposed.
    pulumi.log.warn(`spoke ${config.stack} exposes nothing: ${hubRead.error.message}`);
  }
  const hub = hubRead.ok ? hubRead.value : undefined;

  const cluster = new Cluster(config.stack, { kubeconfig: config.kubeconfig, namespace: config.namespace, labels: k8sLabels(config, "namespace") });
  const k8sOpts = { provider: cluster.provider };

  const pki = new StackPki(`${config.stack}-pki`, {
    stack: config.stack,
    caValidityHours: config.pki.caValidityHours,
    caEarlyRenewalHours: config.pki.caEarlyRenewalHours,
    rotateCa: config.pki.rotateCa,
  });
  const leaf = { validityHours: config.pki.leafValidityHours, earlyRenewalHours: config.pki.leafEarlyRenewalHours };
  const thanosCert = pki.issue(`${config.stack}-thanos-server`, { ...leaf, usage: "server", commonName: config.endpoints.thanos, dnsNames: [config.endpoints.thanos] });
  const lokiCert = pki.issue(`${config.stack}-loki-server`, { ...leaf, usage: "server", commonName: config.endpoints.loki, dnsNames: [config.endpoints.loki] });
  const alertClient = pki.issue(`${config.stack}-alertmanager-client`, { ...leaf, usage: "client", commonName: `${config.stack}-prometheus` });

  if (hub !== undefined) {
    // Servers the hub dials require a client certificate from the hub's CA.
    tlsSecret("thanos-grpc-tls", { namespace: cluster.namespace, certificate: thanosCert, trustedCaPem: hub.clientCaPem, labels: k8sLabels(config, "thanos") }, k8sOpts);
    tlsSecret("loki-gateway-tls", { namespace: cluster.namespace, certificate: lokiCert, trustedCaPem: hub.clientCaPem, labels: k8sLabels(config, "loki") }, k8sOpts);
    tlsSecret("alertmanager-hub-client-tls", { namespace: cluster.namespace, certificate: alertClient, trustedCaPem: hub.alertmanager.caPem, labels: k8sLabels(config, "prometheus") }, k8sOpts);
  }

  return {
    contractVersion: CONTRACT_VERSION,
    role: "spoke",
    name: config.stack,
    cloud: config.cloud,
    region: config.region,
    sovereigntyZone: config.sovereigntyZone,
    environment: config.environment,
    queryPath: config.queryPath,
    labels: externalLabels(config),
    exposed: hub !== undefined,
    thanos: { endpoint: `${config.endpoints.thanos}:${THANOS_QUERY.port}`, serverName: config.endpoints.thanos, caPem: pki.trustBundle },
    loki: { url: `https://${config.endpoints.loki}${LOKI_GATEWAY.port === 443 ? "" : `:${LOKI_GATEWAY.port}`}`, serverName: config.endpoints.loki, caPem: pki.trustBundle, username: `hub-${config.stack}` },
  };
}
