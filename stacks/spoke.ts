/**
 * A spoke: sovereign storage, identities, egress, PKI, exposure and workloads of one
 * cloud/region. Composition only; every decision lives in a component or a renderer.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SpokeConfig } from "../components/config";
import { CONTRACT_VERSION, planSpokeReader, readHub, spokeReaderOutput } from "../components/contracts";
import { readZoneEdges } from "../components/contracts/edges";
import { LOKI_GATEWAY, SERVICE_ACCOUNTS, THANOS_QUERY } from "../components/endpoints";
import { ExposedEndpoint } from "../components/exposure";
import { FlowPolicies, POD_SELECTORS } from "../components/exposure/flows";
import { stackFoundation } from "../components/foundation";
import { externalLabels, k8sLabels } from "../components/labels";
import { caBundle, StackPki, tlsDigest, tlsSecret } from "../components/pki";
import { REMOTE_WRITE_PORT } from "../components/thanos/receive";
import { edgeLokiUser } from "../components/workloads/edge";
import { ingesterServiceName, RECEIVER } from "../components/workloads/receive";
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
  // The edges this spoke's receiver accepts, read before any resource: an edge of another
  // sovereignty zone stops the run; one not readable yet, or asking for another name, is left out.
  const zoneEdges = config.receive.enabled
    ? await readZoneEdges({ name: config.stack, sovereigntyZone: config.sovereigntyZone }, config.receive.edges)
    : { accepted: [], skipped: [] };
  for (const s of zoneEdges.skipped) pulumi.log.warn(`spoke ${config.stack} does not accept edge ${s.edge} yet: ${s.reason}`);
  const edges = zoneEdges.accepted;

  const { cloud, ctx, egress, cluster, pki, k8sOpts } = stackFoundation(config);
  const storage = cloud.createStorage(`${config.stack}-storage`, ctx, {
    retention: config.retention,
    encryption: config.encryption,
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

  // The zone receiver's CA for edge clients: it signs each accepted edge's request, naming the
  // edge; the receiver and the gateway trust it for edges, so only this spoke decides which tenant
  // a certificate carries (one CA per edge would let any edge's CA issue another edge's name).
  const edgesPki = config.receive.enabled
    ? new StackPki(`${config.stack}-edges-pki`, {
        stack: `${config.stack} edges`,
        caValidityHours: config.pki.caValidityHours,
        caEarlyRenewalHours: config.pki.caEarlyRenewalHours,
        leafValidityHours: config.pki.leafValidityHours,
        leafEarlyRenewalHours: config.pki.leafEarlyRenewalHours,
        rotateCa: config.pki.rotateCa,
      })
    : undefined;
  const edgeCertificates = Object.fromEntries(edges.map((e) => [e.name, (edgesPki as StackPki).sign(`${config.stack}-edge-${e.name}-client`, e.clientCsrPem, "client")]));

  // The servers the hub dials require a client certificate from the hub's CA. Without a readable
  // hub they trust only this spoke's own CA: nothing outside the spoke can connect (fail closed).
  const hubClientCa = hub !== undefined ? pulumi.output(hub.clientCaPem) : pki.trustBundle;
  tlsSecret(SPOKE_SECRETS.queryServerTls, { namespace: ns, certificate: thanosCert, trustedCaPem: hubClientCa, labels: k8sLabels(config, "thanos") }, k8sOpts);
  // The gateway also admits the accepted edges' clients (certificates of the edge CA), which push logs.
  const gatewayTrust = edgesPki !== undefined && edges.length > 0 ? pulumi.all([hubClientCa, edgesPki.trustBundle]).apply(([a, b]) => caBundle([a, b])) : hubClientCa;
  tlsSecret(SPOKE_SECRETS.lokiGatewayTls, { namespace: ns, certificate: lokiCert, trustedCaPem: gatewayTrust, labels: k8sLabels(config, "loki") }, k8sOpts);
  // Only while an edge is accepted: a receiver with no edge runs no router to mount it (components/workloads/receive.ts).
  let receiveTlsDigest: pulumi.Output<string> | undefined;
  if (config.receive.enabled && config.receive.endpoint !== undefined && edgesPki !== undefined && edges.length > 0) {
    const receiveCert = pki.issue(`${config.stack}-receive-server`, { usage: "server", commonName: config.receive.endpoint, dnsNames: [config.receive.endpoint] });
    tlsSecret(RECEIVER.remoteWriteTls, { namespace: ns, certificate: receiveCert, trustedCaPem: edgesPki.trustBundle, labels: k8sLabels(config, "thanos") }, k8sOpts);
    receiveTlsDigest = tlsDigest([receiveCert.certPem, edgesPki.trustBundle]);
  }
  // Inside the cluster: sidecars and the store gateway accept the local query's client cert (spoke CA)
  // and the hub's client CA, which the sidecar contract asks for.
  const internalNames = internalThanosNames(ns);
  const internalServer = pki.issue(`${config.stack}-thanos-internal-server`, {
    usage: "server",
    commonName: internalNames.sidecars,
    dnsNames: [internalNames.sidecars, internalNames.store, ...(config.receive.enabled ? [ingesterServiceName(ns)] : [])],
  });
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
    // One line per user: the hub's datasource, and each accepted edge pushing its logs.
    htpasswd: pulumi
      .all([lokiPassword.bcryptHash, ...edges.map((e) => e.loki.passwordHash)])
      .apply(([hubHash, ...edgeHashes]) => [`hub-${config.stack}:${hubHash}`, ...edges.map((e, i) => `${edgeLokiUser(e.name)}:${edgeHashes[i]}`)].join("\n")),
    receiver: config.receive.enabled ? { edges: edges.map((e) => e.name), tlsChecksum: receiveTlsDigest ?? "" } : undefined,
    gatewayTlsChecksum: tlsDigest([lokiCert.certPem, gatewayTrust]),
  }, { providers: [cluster.provider], dependsOn: [cluster, storage] });

  const edgeEgressIps = pulumi.all(edges.map((e) => e.egressIps)).apply((ips) => [...new Set(ips.flat())].sort());
  if (hub !== undefined) {
    tlsSecret(SPOKE_SECRETS.hubAlertmanagerClientTls, { namespace: ns, certificate: alertClient, trustedCaPem: hub.alertmanager.caPem, labels: k8sLabels(config, "prometheus") }, k8sOpts);

    const exposure = { namespace: ns, allowedIps: hub.egressIps, annotations: cloud.loadBalancerAnnotations(config) };
    new ExposedEndpoint("thanos-query-hub", {
      ...exposure,
      labels: k8sLabels(config, "thanos"),
      selector: { ...THANOS_QUERY.selector },
      ports: [{ name: "grpc", port: THANOS_QUERY.port, targetPort: THANOS_QUERY.port }],
    }, { providers: [cluster.provider], dependsOn: [cluster] });
  }
  if (hub !== undefined || edges.length > 0) {
    // The gateway serves the hub (reads) and the accepted edges (pushes): both address lists, nothing else.
    new ExposedEndpoint("loki-gateway-hub", {
      namespace: ns,
      annotations: cloud.loadBalancerAnnotations(config),
      allowedIps: pulumi.all([hub?.egressIps ?? [], edgeEgressIps]).apply(([a, b]) => [...new Set([...a, ...b])].sort()),
      labels: k8sLabels(config, "loki"),
      selector: { ...LOKI_GATEWAY.selector },
      ports: [{ name: "https", port: LOKI_GATEWAY.port, targetPort: LOKI_GATEWAY.targetPort }],
    }, { providers: [cluster.provider], dependsOn: [cluster] });
  }
  if (edges.length > 0) {
    // The receiver is reachable from the accepted edges' egress addresses only (and only with a certificate of the edge CA).
    new ExposedEndpoint("thanos-receive-edges", {
      namespace: ns,
      annotations: cloud.loadBalancerAnnotations(config),
      allowedIps: edgeEgressIps,
      labels: k8sLabels(config, "thanos"),
      selector: { ...POD_SELECTORS.receiveRouter },
      ports: [{ name: "remote-write", port: REMOTE_WRITE_PORT, targetPort: REMOTE_WRITE_PORT }],
    }, { providers: [cluster.provider], dependsOn: [cluster] });
  }
  // Every NetworkPolicy of the spoke, from its declared flow table (components/exposure/flows.ts):
  // the hub reaches the query and the gateway; in the cluster only the declared pods reach Loki
  // (Alloy pushes to Loki's write path directly, not through the gateway).
  new FlowPolicies(`${config.stack}-flows`, {
    role: "spoke",
    labels: k8sLabels(config, "network"),
    params: {
      namespace: ns,
      lokiMode: config.loki.mode,
      spokeQuery: config.queryPath === "spoke-query",
      hubEgressIps: hub?.egressIps,
      clusterCidrs: config.network.cidrs,
      receiverEnabled: config.receive.enabled,
      receiverEdgeEgressIps: edgeEgressIps,
    },
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
    ...(config.receive.enabled && config.receive.endpoint !== undefined
      ? {
          receiver: {
            url: `https://${config.receive.endpoint}:${REMOTE_WRITE_PORT}/api/v1/receive`,
            serverName: config.receive.endpoint,
            caPem: pki.trustBundle,
            edges: edges.map((e) => e.name),
            certificates: edgeCertificates,
          },
        }
      : {}),
    footprint: workloads.footprint,
  };
}

function requireOutput<T>(v: pulumi.Output<T> | undefined, stack: string, what: string): pulumi.Output<T> {
  if (v === undefined) throw new Error(`stack ${stack}: the cloud module produced no ${what}`);
  return v;
}
