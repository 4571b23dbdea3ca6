/**
 * An edge: a small cluster with no buckets, no compactor and nothing exposed. Its Prometheus
 * runs in agent mode and writes only to the zone receiver of its spoke, a spoke of its own
 * sovereignty zone; its logs go to that spoke's Loki gateway. Composition only.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { EdgeConfig } from "../components/config";
import { CONTRACT_VERSION } from "../components/contracts";
import { readZoneSpoke } from "../components/contracts/edges";
import { FlowPolicies } from "../components/exposure/flows";
import { stackBase } from "../components/foundation";
import { edgeLabels, k8sLabels } from "../components/labels";
import { CertificateRequest, tlsSecret } from "../components/pki";
import { certifiesKey } from "../components/pki/requests";
import { EDGE_SECRETS, EdgeWorkloads, edgeLokiUser, edgeRequests } from "../components/workloads/edge";

export async function edgeProgram(config: EdgeConfig): Promise<Record<string, unknown>> {
  // The zone spoke first: a spoke of another zone, or one without a receiver, is refused here,
  // before any resource is registered (the edge has nowhere sovereign to write).
  const read = await readZoneSpoke(config.spoke.stack, { name: config.stack, sovereigntyZone: config.sovereigntyZone });
  if (!read.ok) throw read.error;
  const spoke = read.value;
  const ns = config.namespace;
  const { egress, cluster, k8sOpts } = stackBase(config);

  // The key stays here; the spoke signs the request with its edge CA, naming this edge (its tenant).
  const request = new CertificateRequest(`${config.stack}-edge-client`, { commonName: config.stack });
  // The spoke's gateway keeps only the bcrypt hash of this password (published as a secret).
  const lokiPassword = new random.RandomPassword(`${config.stack}-loki-push-password`, { length: 40, special: false });
  const signed = spoke.receiver.certificates[config.stack];
  if (signed === undefined || !spoke.receiver.edges.includes(config.stack)) {
    // Fail closed: without the spoke's certificate nothing could write; the first run publishes
    // the request and the egress addresses, the spoke then signs and admits them.
    pulumi.log.warn(`edge ${config.stack} deploys no workload yet: spoke ${spoke.name} has not signed its certificate request (it accepts ${spoke.receiver.edges.length === 0 ? "no edge" : spoke.receiver.edges.join(", ")}). Run 'pulumi up -s ${spoke.name}', then this stack again (npm run fleet -- up orders both).`);
  } else {
    // A certificate for an older key (this edge's key was replaced) would fail every handshake: stop and say which stack to run.
    const certPem = request.publicKeyPem.apply((pub) => {
      if (!certifiesKey(signed, pub)) throw new Error(`edge ${config.stack}: spoke ${spoke.name} signed an earlier certificate request of this edge (its key was replaced). Run 'pulumi up -s ${spoke.name}', then this stack again.`);
      return signed;
    });
    const client = { certPem, privateKeyPem: request.privateKeyPem };
    const remoteWriteTls = tlsSecret(EDGE_SECRETS.remoteWriteTls, { namespace: ns, certificate: client, trustedCaPem: spoke.receiver.caPem, labels: k8sLabels(config, "prometheus") }, k8sOpts);
    const lokiTls = tlsSecret(EDGE_SECRETS.lokiClientTls, { namespace: ns, certificate: client, trustedCaPem: spoke.loki.caPem, labels: k8sLabels(config, "alloy") }, k8sOpts);
    new EdgeWorkloads(`${config.stack}-workloads`, {
      config,
      receiver: { url: spoke.receiver.url, serverName: spoke.receiver.serverName },
      loki: { url: spoke.loki.url, serverName: spoke.loki.serverName, username: edgeLokiUser(config.stack), password: lokiPassword.result },
    }, { providers: [cluster.provider], dependsOn: [cluster, remoteWriteTls, lokiTls] });
    new FlowPolicies(`${config.stack}-flows`, { role: "edge", labels: k8sLabels(config, "network"), params: { namespace: ns } }, { providers: [cluster.provider], dependsOn: [cluster] });
  }

  return {
    contractVersion: CONTRACT_VERSION,
    role: "edge",
    name: config.stack,
    cloud: config.cloud,
    region: config.region,
    sovereigntyZone: config.sovereigntyZone,
    environment: config.environment,
    spoke: spoke.name,
    labels: edgeLabels(config),
    egressIps: egress.egressIps,
    clientCsrPem: request.certRequestPem,
    tenant: config.stack,
    loki: pulumi.secret({ username: edgeLokiUser(config.stack), passwordHash: lokiPassword.bcryptHash }),
    footprint: edgeRequests(config.profile),
  };
}
