/**
 * A spoke: sovereign storage, identities, egress, PKI, exposure and workloads of one
 * cloud/region. Composition only; every decision lives in a component or a renderer.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SpokeConfig } from "../components/config";
import { CONTRACT_VERSION, planSpokeReader, readHub, spokeReaderOutput } from "../components/contracts";
import { LOKI_GATEWAY, SERVICE_ACCOUNTS, THANOS_QUERY } from "../components/endpoints";
import { ExposedEndpoint } from "../components/exposure";
import { FlowPolicies } from "../components/exposure/flows";
import { stackFoundation } from "../components/foundation";
import { externalLabels, k8sLabels } from "../components/labels";
import { caBundle, tlsSecret } from "../components/pki";
import { internalThanosNames, SPOKE_SECRETS, SpokeWorkloads } from "../components/workloads/spoke";

export async function spokeProgram(config: SpokeConfig): Promise<Record<string, unknown>> {
  const hubRead = await readHub(config.hub.stack);
  if (!hubRead.ok) {
    // Fail closed: without the hub's addresses and client CA nothing may be exposed.
    pulumi.log.warn(`spoke ${config.stack} exposes nothing: ${hubRead.error.message}`);
  }
  const hub = hubRead.ok ? hubRead.value : undefined;
  // How the hub reads this spoke's bucket; a federation mismatch with the hub fails here, before any resource.
  const readerPlan = hub === undefined ? undefined : planSpokeReader({ spoke: config.stack, auth: config.hubReader.auth, queryPath: config.queryPath, hub });
  if (readerPlan?.notice !== undefined) pulumi.log.warn(`spoke ${config.stack}: ${readerPlan.notice}`);
  const ns = config.namespace;

  const { cloud, ctx, egress, cluster, pki, k8sOpts } = stackFoundation(config);
  const storage = cloud.createStorage(`${config.stack}-storage`, ctx, {
    retention: config.retention,
    buckets: ["metrics", "logs"],
    writers: {
      sidecar: { namespace: ns, serviceAccount: SERVICE_ACCOUNTS.sidecar },
      compactor: { namespace: ns, serviceAccount: SERVICE_ACCOUNTS.compactor },
      loki: { namespace: ns, serviceAccount: SERVICE_ACCOUNTS.loki },
    },
    store: config.queryPath === "spoke-query" ? { namespace: ns, serviceAccount: SERVICE_ACCOUNTS.store } : undefined,
    // Only a hub that reads the bucket gets access to it.
    hubReader:
      hub !== undefined && readerPlan !== undefined && (readerPlan.key || readerPlan.federated !== undefined)
        ? { egressIps: hub.egressIps, s3GatewayEndpoint: hub.s3GatewayEndpoint, key: readerPlan.key, federated: readerPlan.federated, rotationDays: config.hubReader.rotationDays }
        : undefined,
    ownEgressIps: egress.egressIps,
  });


  const thanosCert = pki.issue(`${config.stack}-thanos-server`, { usage: "server", commonName: config.endpoints.thanos, dnsNames: [config.endpoints.thanos] });
  const lokiCert = pki.issue(`${config.stack}-loki-server`, { usage: "server", commonName: config.endpoints.loki, dnsNames: [config.endpoints.loki] });
  const alertClient = pki.issue(`${config.stack}-alertmanager-client`, { usage: "client", commonName: `${config.stack}-prometheus` });

  // The hub's Loki datasource logs in with this password; the gateway keeps only its bcrypt hash.
  const lokiPassword = new random.RandomPassword(`${config.stack}-loki-hub-password`, { length: 40, special: false });

  // The servers the hub dials require a client certificate from the hub's CA. Without a readable
  // hub they trust only this spoke's own CA: nothing outside the spoke can connect (fail closed).
  const hubClientCa = hub !== undefined ? pulumi.output(hub.clientCaPem) : pki.trustBundle;
  tlsSecret(SPOKE_SECRETS.queryServerTls, { namespace: ns, certificate: thanosCert, trustedCaPem: hubClientCa, labels: k8sLabels(config, "thanos") }, k8sOpts);
  tlsSecret(SPOKE_SECRETS.lokiGatewayTls, { namespace: ns, certificate: lokiCert, trustedCaPem: hubClientCa, labels: k8sLabels(config, "loki") }, k8sOpts);
  // Inside the cluster: sidecars and the store gateway accept the local query's client cert (spoke CA)
  // and the hub's client CA, which the sidecar contract asks for.
  const internalNames = internalThanosNames(ns);
  const internalServer = pki.issue(`${config.stack}-thanos-internal-server`, { usage: "server", commonName: internalNames.sidecars, dnsNames: [internalNames.sidecars, internalNames.store] });
  const internalClient = pki.issue(`${config.stack}-thanos-internal-client`, { usage: "client", commonName: `${config.stack}-thanos-query` });
  const internalTrust = pulumi.all([hubClientCa, pki.trustBundle]).apply(([a, b]) => caBundle([a, b]));
  tlsSecret(SPOKE_SECRETS.internalServerTls, { namespace: ns, certificate: internalServer, trustedCaPem: internalTrust, labels: k8sLabels(config, "thanos") }, k8sOpts);
  tlsSecret(SPOKE_SECRETS.internalClientTls, { namespace: ns, certificate: internalClient, trustedCaPem: pki.trustBundle, labels: k8sLabels(config, "thanos") }, k8sOpts);

  const workloads = new SpokeWorkloads(`${config.stack}-workloads`, {
    config,
    hubAlertmanager: hub !== undefined ? { url: hub.alertmanager.url, serverName: hub.alertmanager.serverName } : undefined,
    writerObjstore: storage.writerObjstore,
    objstoreFor: storage.objstoreFor,
    lokiStorage: requireOutput(storage.lokiStorage, config.stack, "lokiStorage"),
    lokiCredentials: storage.lokiCredentials,
    identities: storage.workloadIdentityOutput ?? storage.workloadIdentity,
    htpasswd: pulumi.interpolate`hub-${config.stack}:${lokiPassword.bcryptHash}`,
  }, { providers: [cluster.provider], dependsOn: [cluster, storage] });

  if (hub !== undefined) {
    tlsSecret(SPOKE_SECRETS.hubAlertmanagerClientTls, { namespace: ns, certificate: alertClient, trustedCaPem: hub.alertmanager.caPem, labels: k8sLabels(config, "prometheus") }, k8sOpts);

    const exposure = { namespace: ns, allowedIps: hub.egressIps, annotations: cloud.loadBalancerAnnotations(config) };
    new ExposedEndpoint("thanos-query-hub", {
      ...exposure,
      labels: k8sLabels(config, "thanos"),
      selector: { ...THANOS_QUERY.selector },
      ports: [{ name: "grpc", port: THANOS_QUERY.port, targetPort: THANOS_QUERY.port }],
    }, { providers: [cluster.provider], dependsOn: [cluster] });
    new ExposedEndpoint("loki-gateway-hub", {
      ...exposure,
      labels: k8sLabels(config, "loki"),
      selector: { ...LOKI_GATEWAY.selector },
      ports: [{ name: "https", port: LOKI_GATEWAY.port, targetPort: LOKI_GATEWAY.targetPort }],
    }, { providers: [cluster.provider], dependsOn: [cluster] });
  }
  // Every NetworkPolicy of the spoke, from its declared flow table (components/exposure/flows.ts):
  // the hub reaches the query and the gateway; in the cluster only the declared pods reach Loki
  // (Alloy pushes to Loki's write path directly, not through the gateway).
  new FlowPolicies(`${config.stack}-flows`, {
    role: "spoke",
    labels: k8sLabels(config, "network"),
    params: { namespace: ns, lokiMode: config.loki.mode, spokeQuery: config.queryPath === "spoke-query", hubEgressIps: hub?.egressIps, clusterCidrs: config.network.cidrs },
  }, { providers: [cluster.provider], dependsOn: [cluster] });

  const reader = spokeReaderOutput(readerPlan, storage.federatedReader);
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
    egressIps: egress.egressIps,
    exposed: hub !== undefined,
    thanos: { endpoint: `${config.endpoints.thanos}:${THANOS_QUERY.port}`, serverName: config.endpoints.thanos, caPem: pki.trustBundle },
    loki: { url: `https://${config.endpoints.loki}`, serverName: config.endpoints.loki, caPem: pki.trustBundle, username: `hub-${config.stack}` },
    buckets: { metrics: storage.metricsBucket, logs: storage.logsBucket },
    lokiPassword: lokiPassword.result,
    ...(storage.readonlyObjstore !== undefined ? { objstoreReadonly: storage.readonlyObjstore } : {}),
    ...(reader !== undefined ? { reader } : {}),
    footprint: workloads.footprint,
  };
}

function requireOutput<T>(v: pulumi.Output<T> | undefined, stack: string, what: string): pulumi.Output<T> {
  if (v === undefined) throw new Error(`stack ${stack}: the cloud module produced no ${what}`);
  return v;
}
