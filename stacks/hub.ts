/**
 * The hub: reads every spoke through its contract, then composes the global read path.
 * Composition only; every decision lives in a component or a renderer.
 */
import type { HubConfig } from "../components/config";
import { cloudModule } from "../components/clouds";
import { chooseHubReads, CONTRACT_VERSION, hubFederation, readSpoke, selectSpokes, SPOKES_ENV, type SpokeView } from "../components/contracts";
import { HUB_ALERTMANAGER, SERVICE_ACCOUNTS } from "../components/endpoints";
import { ExposedEndpoint } from "../components/exposure";
import { FLOW_PORTS, FlowPolicies, POD_SELECTORS } from "../components/exposure/flows";
import { stackFoundation } from "../components/foundation";
import { k8sLabels } from "../components/labels";
import { caBundle, tlsSecret } from "../components/pki";
import { HUB_SECRETS, HUB_STORE_SA_PREFIX, HubWorkloads } from "../components/workloads/hub";

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
  const federation = hubFederation({ hub: config.stack, auth: config.hubReader.auth, issuerUrl: cloudModule(config.cloud).serviceAccountIssuer(config), namespace: config.namespace, serviceAccountPrefix: HUB_STORE_SA_PREFIX });
  const reads = chooseHubReads(config.stack, spokes, federation);

  const ns = config.namespace;

  const { cloud, ctx, egress, cluster, pki, k8sOpts } = stackFoundation(config);
  // The hub's own data: the ruler's global SLI blocks. No compactor runs on the hub (checklist);
  // lifecycle rules bound the bucket instead, and nothing read from a spoke is ever written here.
  const storage = cloud.createStorage(`${config.stack}-storage`, ctx, {
    retention: config.retention,
    encryption: config.encryption,
    buckets: ["metrics"],
    writers: { sidecar: { namespace: ns, serviceAccount: SERVICE_ACCOUNTS.ruler } },
    store: { namespace: ns, serviceAccount: SERVICE_ACCOUNTS.hubStore },
    ownEgressIps: egress.egressIps,
  });

  // Every spoke CA the hub's clients and its Alertmanager must trust; per-endpoint TLS pins each spoke to its own.
  const spokeCas = caBundle(spokes.map((s) => s.thanos.caPem));

  const queryClient = pki.issue(`${config.stack}-thanos-query-client`, { usage: "client", commonName: `${config.stack}-thanos-query` });
  const grafanaClient = pki.issue(`${config.stack}-grafana-client`, { usage: "client", commonName: `${config.stack}-grafana` });
  const alertmanagerServer = pki.issue(`${config.stack}-alertmanager-server`, { usage: "server", commonName: config.endpoints.alertmanager, dnsNames: [config.endpoints.alertmanager] });
  tlsSecret(HUB_SECRETS.queryClientTls, { namespace: ns, certificate: queryClient, trustedCaPem: spokeCas, labels: k8sLabels(config, "thanos") }, k8sOpts);
  tlsSecret("grafana-client-tls", { namespace: ns, certificate: grafanaClient, trustedCaPem: spokeCas, labels: k8sLabels(config, "grafana") }, k8sOpts);
  tlsSecret(HUB_SECRETS.alertmanagerTls, { namespace: ns, certificate: alertmanagerServer, trustedCaPem: spokeCas, labels: k8sLabels(config, "alertmanager") }, k8sOpts);
  // Grafana serves HTTPS itself: the operator's own certificate, or one from the hub CA.
  const grafanaTlsSecret = config.grafana.tls.existingSecret ?? HUB_SECRETS.grafanaTls;
  if (config.grafana.tls.existingSecret === undefined) {
    const grafanaServer = pki.issue(`${config.stack}-grafana-server`, { usage: "server", commonName: config.endpoints.grafana, dnsNames: [config.endpoints.grafana] });
    tlsSecret(HUB_SECRETS.grafanaTls, { namespace: ns, certificate: grafanaServer, trustedCaPem: pki.trustBundle, labels: k8sLabels(config, "grafana") }, k8sOpts);
  }

  new HubWorkloads(`${config.stack}-workloads`, {
    config,
    spokes,
    reads,
    writerObjstore: storage.writerObjstore,
    identities: storage.workloadIdentityOutput ?? storage.workloadIdentity,
    grafanaClient: { certPem: grafanaClient.certPem, keyPem: grafanaClient.privateKeyPem },
    grafanaTlsSecret,
  }, { providers: [cluster.provider], dependsOn: [cluster, storage] });

  const forwarders = spokes.filter((s) => s.exposed).flatMap((s) => s.egressIps);
  if (forwarders.length > 0) {
    new ExposedEndpoint("alertmanager-spokes", {
      namespace: ns,
      labels: k8sLabels(config, "alertmanager"),
      selector: { ...HUB_ALERTMANAGER.selector },
      ports: [{ name: "https", port: HUB_ALERTMANAGER.port, targetPort: HUB_ALERTMANAGER.targetPort }],
      allowedIps: forwarders,
      annotations: cloud.loadBalancerAnnotations(config),
    }, { providers: [cluster.provider], dependsOn: [cluster] });
  }
  const operatorCidrs = config.grafana.operatorCidrs;
  if (operatorCidrs.length > 0) {
    new ExposedEndpoint("grafana-operators", {
      namespace: ns,
      labels: k8sLabels(config, "grafana"),
      selector: { ...POD_SELECTORS.grafana },
      ports: [{ name: "https", port: 443, targetPort: FLOW_PORTS.grafana }],
      allowedIps: operatorCidrs,
      annotations: cloud.loadBalancerAnnotations(config),
    }, { providers: [cluster.provider], dependsOn: [cluster] });
  }
  // Every NetworkPolicy of the hub, from its declared flow table (components/exposure/flows.ts).
  new FlowPolicies(`${config.stack}-flows`, {
    role: "hub",
    labels: k8sLabels(config, "network"),
    params: { namespace: ns, spokeEgressIps: forwarders, clusterCidrs: config.network.cidrs, operatorCidrs },
  }, { providers: [cluster.provider], dependsOn: [cluster] });

  return {
    contractVersion: CONTRACT_VERSION,
    role: "hub",
    name: config.stack,
    cloud: config.cloud,
    region: config.region,
    egressIps: egress.egressIps,
    buckets: { metrics: storage.metricsBucket },
    spokes: spokes.map((s) => s.name),
    clientCaPem: pki.trustBundle,
    alertmanager: { url: `https://${config.endpoints.alertmanager}`, serverName: config.endpoints.alertmanager, caPem: pki.trustBundle },
    grafanaUrl: `https://${config.endpoints.grafana}`,
    // AWS: spokes in the hub's region admit its reader through this endpoint (see the contract).
    ...(storage.s3GatewayEndpoint !== undefined ? { s3GatewayEndpoint: storage.s3GatewayEndpoint } : {}),
    // Spokes trust this issuer for exactly their store gateway's ServiceAccount.
    ...(federation !== undefined ? { federation } : {}),
    // A federated spoke retires its key once it sees itself read federated here.
    spokeReaders: Object.fromEntries(Object.entries(reads).map(([spoke, r]) => [spoke, r.mode])),
  };
}
