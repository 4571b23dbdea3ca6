/**
 * The zone receiver of a spoke (issue 16, "Edge clusters"): a Thanos Receive split into a
 * router, which takes the edges' remote write over mTLS, and ingesters, which hold one TSDB per
 * tenant (per edge), upload its blocks to the spoke's own metrics bucket and serve them over a
 * mTLS StoreAPI to the spoke's query. Rendered kube-thanos style as pure functions, like args.ts;
 * every flag exists in `thanos receive --help` of v0.42.4 (test/receive.test.ts checks them
 * against the built binary).
 *
 * Upstream facts this file relies on, all at github.com/thanos-io/thanos tag v0.42.4:
 * - Mode: a hashring file and no `--receive.local-endpoint` make a RouterOnly receiver; no
 *   hashring makes an IngestorOnly one (cmd/thanos/receive.go, `determineMode`).
 * - Tenant from the certificate: with `--receive.tenant-certificate-field` set, the tenant is the
 *   named subject field of the verified client certificate, the tenant header is ignored and a
 *   missing field fails the request (pkg/tenancy/tenancy.go `GetTenantFromHTTP`,
 *   `getTenantFromCertificate`: "This must hard fail to ensure hard tenancy"). Allowed values:
 *   `organization`, `organizationalUnit`, `commonName` (cmd/thanos/receive.go, flag enum).
 * - `--receive.split-tenant-label-name` "takes precedence over the HTTP header" and, in
 *   `distributeTimeseriesToReplicas` (pkg/receive/handler.go), over the certificate too: a series
 *   carrying that label is written to the tenant it names. It is never set here.
 * - Unknown tenants: a hashring with tenants matches only those (exact matcher by default); a
 *   hashring without `tenants` matches every tenant (pkg/receive/hashring.go `multiHashring.GetN`:
 *   "If the hashring has no tenants, then it is considered a default hashring and matches
 *   everything"); no match is the error "no matching hashring to handle tenant". So the edges'
 *   hashring always lists its tenants and there is no catch-all hashring.
 * - A forged `THANOS-REPLICA` header is ignored by a RouterOnly or IngestorOnly receiver
 *   (handler.go `handleRequest`: `rep = 0` in those modes).
 * - The Cap'n Proto replication server listens on `--receive.capnproto-address` (default
 *   `0.0.0.0:19391`, plain TCP, no TLS, no tenancy check) in every mode, whatever
 *   `--receive.replication-protocol` is (cmd/thanos/receive.go, `runReceive`, last block). It is
 *   bound to loopback here: the replication protocol is protobuf over the mTLS gRPC port.
 * - An IngestorOnly receiver writes whatever tenant it is handed, through gRPC
 *   (handler.go `RemoteWrite`, "Fast path for IngestorOnly mode") and through its own HTTP
 *   remote-write handler (its hashring is a single local node). So ingesters accept gRPC only
 *   with a client certificate of the spoke's internal CA, and their HTTP remote write is bound
 *   to loopback.
 * - Per-tenant TSDB external labels are the `--label`s plus `<tenant label>=<tenant>`
 *   (pkg/receive/multitsdb.go `startTSDB`); they override a series label of the same name on
 *   read (pkg/store/tsdb.go, `labelpb.ExtendSortedLabels`), so an edge cannot forge the tenant
 *   or replica label, and an ingester label named like an edge's own label would overwrite it.
 */
import type { Profile } from "../config";
import type { edgeLabels } from "../labels";
import { GRPC_PORT, HTTP_PORT, PATHS, REPLICA_LABEL } from "./args";

/** The port edges remote-write to (Thanos Receive's default `--remote-write.address` port). */
export const REMOTE_WRITE_PORT = 19291;
/** The Cap'n Proto replication port (Thanos default); only ever bound to loopback here. */
export const CAPNPROTO_PORT = 19391;

/**
 * The label every tenant's series and blocks carry, naming the tenant (the edge). Thanos's
 * default name (pkg/tenancy/tenancy.go `DefaultTenantLabel`), rendered explicitly so that a
 * change of default cannot silently rename it.
 */
export const TENANT_LABEL = "tenant_id";

/** Subject fields Thanos v0.42.4 can take the tenant from (`--receive.tenant-certificate-field`). */
export const TENANT_CERTIFICATE_FIELDS = ["commonName", "organization", "organizationalUnit"] as const;
/** A subject field of the client certificate naming the tenant. */
export type TenantCertificateField = (typeof TENANT_CERTIFICATE_FIELDS)[number];
/**
 * The field the fleet uses: the common name, as the edge contract says ("the receiver's tenant of
 * this edge: the common name of its client certificate", components/contracts/edges.ts).
 */
export const TENANT_CERTIFICATE_FIELD: TenantCertificateField = "commonName";

/** Where the receiver's files are mounted (the rest comes from {@link PATHS}). */
export const RECEIVE_PATHS = {
  /** The hashrings JSON ({@link renderHashrings}). */
  hashrings: "/etc/thanos/hashrings/hashrings.json",
  /**
   * The router's remote-write server certificate (`tls.crt`, `tls.key`, by the spoke's CA, with
   * the name the edges dial) and `ca.crt`: the bundle of the edges' client CAs.
   */
  remoteWriteTls: "/etc/thanos/tls/remote-write",
} as const;

/** Files and directories the receiver reads; defaults are the pod mounts. */
export interface ReceivePaths {
  /** See {@link RECEIVE_PATHS}.hashrings. */
  hashrings: string;
  /** See {@link RECEIVE_PATHS}.remoteWriteTls. */
  remoteWriteTls: string;
  /** gRPC server certificate of the ingesters (`tls.crt`, `tls.key`, `ca.crt` = the CA of their clients). */
  grpcTls: string;
  /** The router's client certificate towards the ingesters (`tls.crt`, `tls.key`, `ca.crt` = the ingesters' CA). */
  clientTls: string;
  objstore: string;
  data: string;
}

const DEFAULT_PATHS: ReceivePaths = {
  hashrings: RECEIVE_PATHS.hashrings,
  remoteWriteTls: RECEIVE_PATHS.remoteWriteTls,
  grpcTls: PATHS.grpcTls,
  clientTls: PATHS.clientTls,
  objstore: PATHS.objstore,
  data: PATHS.data,
};

/** `host:port` each listener binds. */
export interface ReceiveListen {
  http: string;
  grpc: string;
  remoteWrite: string;
  capnproto: string;
}

/**
 * Router listeners: remote write open (mTLS, the edges' entry), gRPC on loopback (nobody dials a
 * router's gRPC, whose WriteableStore would take a tenant from the request body), Cap'n Proto on
 * loopback.
 */
export const ROUTER_LISTEN: Readonly<ReceiveListen> = {
  http: `0.0.0.0:${HTTP_PORT}`,
  grpc: `127.0.0.1:${GRPC_PORT}`,
  remoteWrite: `0.0.0.0:${REMOTE_WRITE_PORT}`,
  capnproto: `127.0.0.1:${CAPNPROTO_PORT}`,
};

/** Ingester listeners: gRPC open (mTLS: routers write, the spoke's query reads), remote write and Cap'n Proto on loopback. */
export const INGESTER_LISTEN: Readonly<ReceiveListen> = {
  http: `0.0.0.0:${HTTP_PORT}`,
  grpc: `0.0.0.0:${GRPC_PORT}`,
  remoteWrite: `127.0.0.1:${REMOTE_WRITE_PORT}`,
  capnproto: `127.0.0.1:${CAPNPROTO_PORT}`,
};

/** Size of a spoke's receiver under a profile. */
export interface ReceiveProfile {
  /** Ingester replicas (a StatefulSet). */
  ingesters: number;
  /**
   * Copies of every series. Write quorum is RF/2+1, except RF 2 whose quorum is 1
   * (pkg/receive/handler.go `writeQuorum`): RF 2 survives one ingester down, RF 3 too.
   */
  replicationFactor: number;
  /** Routers (a Deployment); stateless. */
  routers: number;
  /** Local TSDB retention of the ingesters; blocks older than this live only in the bucket. */
  retention: string;
}

const PROFILES: Record<Profile, ReceiveProfile> = {
  small: { ingesters: 1, replicationFactor: 1, routers: 1, retention: "1d" },
  medium: { ingesters: 2, replicationFactor: 2, routers: 2, retention: "2d" },
  large: { ingesters: 3, replicationFactor: 3, routers: 2, retention: "2d" },
};

/** The receiver's size under a profile. */
export function receiveProfile(profile: Profile): ReceiveProfile {
  return { ...PROFILES[profile] };
}

/** A tenant (edge) name: a lowercase DNS label, which also passes Thanos's `IsTenantValid` (no path separators). */
const TENANT = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Series label names an edge sends itself (components/labels.ts `edgeLabels`); the record type
 * makes this list follow the function. An ingester `--label` of one of these names would
 * overwrite the edge's own value on every series read (see the header).
 */
const EDGE_SERIES_LABELS: Record<keyof ReturnType<typeof edgeLabels>, true> = { cluster: true, environment: true, region: true, cloud: true, edge: true };

function checkTenants(edges: readonly string[]): string[] {
  if (edges.length === 0) throw new Error("a receiver hashring needs at least one edge: a hashring without tenants accepts every tenant (Thanos: default hashring)");
  for (const e of edges) if (!TENANT.test(e)) throw new Error(`edge '${e}' is not a lowercase DNS label (it is a tenant name and a PromQL label value)`);
  const dup = edges.filter((e, i) => edges.indexOf(e) !== i);
  if (dup.length > 0) throw new Error(`edges listed twice: ${[...new Set(dup)].join(", ")}`);
  return [...edges].sort();
}

function checkReplication(replicationFactor: number, ingesters: number): void {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) throw new Error(`replication factor must be a positive integer (got ${replicationFactor})`);
  // ketama refuses fewer endpoints than the replication factor at load; hashmod would silently
  // put several copies on one node ((hash+n) mod len, pkg/receive/hashring.go simpleHashring.GetN).
  if (replicationFactor > ingesters) throw new Error(`replication factor ${replicationFactor} exceeds the ${ingesters} ingester(s): copies would share a node`);
}

function quoteLabel(name: string, value: string): string {
  if (!LABEL_NAME.test(name)) throw new Error(`'${name}' is not a label name`);
  // Thanos parses the value with strconv.Unquote (cmd/thanos/flags.go parseFlagLabels).
  return `--label=${name}=${JSON.stringify(value)}`;
}

/** Parameters of {@link renderHashrings}. */
export interface HashringsParams {
  /** The edges (tenants) this receiver accepts: exactly these, nothing else. */
  edges: readonly string[];
  /** gRPC addresses (`host:port`) of the ingesters, each equal to that ingester's `--receive.local-endpoint`. */
  ingesters: readonly string[];
  replicationFactor: number;
  /** Name of the hashring (informational; metrics and logs). */
  name?: string;
}

/** One hashring of the hashrings file (pkg/receive/config.go `HashringConfig`, the keys used here). */
export interface HashringEntry {
  hashring: string;
  tenants: string[];
  tenant_matcher_type: "exact";
  algorithm: "ketama";
  endpoints: string[];
}

/**
 * The hashrings JSON of the router: one hashring listing the edges as exact tenants, over all
 * ingesters, with ketama (consistent hashing: adding an ingester moves a fraction of the
 * series; ketama also refuses fewer ingesters than copies). There is deliberately no catch-all
 * hashring, so a tenant not listed, even with a valid certificate, is refused with "no matching
 * hashring to handle tenant" (see the header).
 */
export function renderHashrings(p: HashringsParams): string {
  const tenants = checkTenants(p.edges);
  if (p.ingesters.length === 0) throw new Error("a receiver hashring needs at least one ingester");
  for (const a of p.ingesters) if (!/^[a-zA-Z0-9.-]+:[0-9]+$/.test(a)) throw new Error(`ingester endpoint '${a}' is not host:port`);
  if (new Set(p.ingesters).size !== p.ingesters.length) throw new Error("an ingester is listed twice");
  checkReplication(p.replicationFactor, p.ingesters.length);
  const entry: HashringEntry = {
    hashring: p.name ?? "edges",
    tenants,
    tenant_matcher_type: "exact",
    algorithm: "ketama",
    endpoints: [...p.ingesters].sort(),
  };
  return `${JSON.stringify([entry], null, 2)}\n`;
}

/** Parameters of {@link receiveRouterArgs}. */
export interface ReceiveRouterParams {
  /** Copies of each series (see {@link ReceiveProfile}); also the hashring's. */
  replicationFactor: number;
  /** Ingesters in the hashring, to refuse a replication factor they cannot hold. */
  ingesters: number;
  /** The name in the ingesters' gRPC server certificate (one name for all of them). */
  ingesterServerName: string;
  /** The router's `--label`s (Thanos refuses a receiver without one; a router stores nothing). */
  labels: Readonly<Record<string, string>>;
  tenantCertificateField?: TenantCertificateField;
  paths?: Partial<ReceivePaths>;
  listen?: Partial<ReceiveListen>;
}

const common = ["--log.level=info", "--log.format=json"];

/**
 * The router: terminates the edges' mTLS, takes the tenant from the client certificate, refuses
 * tenants outside the hashring, and forwards each series to `replicationFactor` ingesters over
 * gRPC with mTLS (the router's client certificate by the spoke's internal CA).
 */
export function receiveRouterArgs(p: ReceiveRouterParams): string[] {
  checkReplication(p.replicationFactor, p.ingesters);
  if (p.ingesterServerName === "") throw new Error("the ingesters' server name is empty");
  if (Object.keys(p.labels).length === 0) throw new Error("Thanos refuses a receiver without external labels");
  const paths = { ...DEFAULT_PATHS, ...p.paths };
  const listen = { ...ROUTER_LISTEN, ...p.listen };
  const rw = paths.remoteWriteTls;
  const client = paths.clientTls;
  return [
    "receive",
    ...common,
    `--http-address=${listen.http}`,
    `--grpc-address=${listen.grpc}`,
    `--remote-write.address=${listen.remoteWrite}`,
    `--receive.capnproto-address=${listen.capnproto}`,
    // A client CA makes the client certificate mandatory and verified (pkg/tls/options.go
    // NewServerConfig: RequireAndVerifyClientCert).
    `--remote-write.server-tls-cert=${rw}/tls.crt`,
    `--remote-write.server-tls-key=${rw}/tls.key`,
    `--remote-write.server-tls-client-ca=${rw}/ca.crt`,
    "--remote-write.server-tls-min-version=1.3",
    `--receive.tenant-certificate-field=${p.tenantCertificateField ?? TENANT_CERTIFICATE_FIELD}`,
    `--receive.tenant-label-name=${TENANT_LABEL}`,
    `--receive.hashrings-file=${paths.hashrings}`,
    "--receive.hashrings-algorithm=ketama",
    "--receive.hashrings-file-refresh-interval=1m",
    `--receive.replication-factor=${p.replicationFactor}`,
    "--receive.replication-protocol=protobuf",
    "--remote-write.client-tls-secure",
    `--remote-write.client-tls-cert=${client}/tls.crt`,
    `--remote-write.client-tls-key=${client}/tls.key`,
    `--remote-write.client-tls-ca=${client}/ca.crt`,
    `--remote-write.client-server-name=${p.ingesterServerName}`,
    "--remote-write.client-tls-min-version=1.3",
    ...Object.entries(p.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => quoteLabel(k, v)),
  ];
}

/** Parameters of {@link receiveIngesterArgs}. */
export interface ReceiveIngesterParams {
  /** This ingester's address in the hashring (`--receive.local-endpoint`), e.g. `$(POD_NAME).<svc>.<ns>.svc:10901`. */
  localEndpoint: string;
  /** The replica label's value: unique per ingester (`$(POD_NAME)`). */
  replica: string;
  /**
   * Further external labels of every tenant's blocks. Not the tenant or replica label (set
   * here), nor a label an edge sends itself (`cluster`, `environment`, `region`, `cloud`,
   * `edge`): the external label would overwrite the edge's value on read.
   */
  labels?: Readonly<Record<string, string>>;
  /** Local TSDB retention (see {@link ReceiveProfile}). */
  retention: string;
  /** Upload blocks to the spoke's bucket (the objstore file); off only where no bucket exists. */
  upload: boolean;
  paths?: Partial<ReceivePaths>;
  listen?: Partial<ReceiveListen>;
}

/**
 * An ingester: one TSDB per tenant, blocks shipped to the spoke's metrics bucket, StoreAPI over
 * mTLS for the spoke's query. Its replica label is {@link REPLICA_LABEL}, the one the spoke's and
 * the hub's queries (`--query.replica-label`) and the compactor (`--deduplication.replica-label`)
 * already deduplicate by: the copies of a series on different ingesters differ only by it.
 */
export function receiveIngesterArgs(p: ReceiveIngesterParams): string[] {
  if (!/^[a-zA-Z0-9.$()_-]+:[0-9]+$/.test(p.localEndpoint)) throw new Error(`local endpoint '${p.localEndpoint}' is not host:port`);
  if (p.replica === "") throw new Error("the replica label value is empty");
  if (!/^[0-9]+[smhdwy]$/.test(p.retention) || /^0/.test(p.retention)) throw new Error(`retention '${p.retention}' must be a positive duration (0 would keep every block forever on the ingester's disk)`);
  const extra = p.labels ?? {};
  for (const name of Object.keys(extra)) {
    if (name === TENANT_LABEL || name === REPLICA_LABEL) throw new Error(`label '${name}' is set by the receiver itself`);
    if (name in EDGE_SERIES_LABELS) throw new Error(`label '${name}' is one the edges send: an external label of that name would overwrite theirs`);
  }
  const paths = { ...DEFAULT_PATHS, ...p.paths };
  const listen = { ...INGESTER_LISTEN, ...p.listen };
  const g = paths.grpcTls;
  return [
    "receive",
    ...common,
    `--http-address=${listen.http}`,
    `--grpc-address=${listen.grpc}`,
    `--grpc-server-tls-cert=${g}/tls.crt`,
    `--grpc-server-tls-key=${g}/tls.key`,
    `--grpc-server-tls-client-ca=${g}/ca.crt`,
    "--grpc-server-tls-min-version=1.3",
    `--remote-write.address=${listen.remoteWrite}`,
    `--receive.capnproto-address=${listen.capnproto}`,
    `--receive.local-endpoint=${p.localEndpoint}`,
    `--receive.tenant-label-name=${TENANT_LABEL}`,
    `--tsdb.path=${paths.data}`,
    `--tsdb.retention=${p.retention}`,
    "--tsdb.wal-compression",
    ...(p.upload ? [`--objstore.config-file=${paths.objstore}`] : []),
    ...Object.entries({ ...extra, [REPLICA_LABEL]: p.replica }).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => quoteLabel(k, v)),
  ];
}
