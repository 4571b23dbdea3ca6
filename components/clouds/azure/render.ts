/**
 * Pure renderers of the Azure cloud module: which principal gets which role on which container,
 * the storage firewall, the lifecycle (management) policy, the hub reader's SAS parameters and
 * rotation window, Thanos objstore and Loki storage values, and the ARM template that attaches
 * the NAT gateway to an existing subnet. The components call these; the tests call them directly.
 */
import { isIPv4 } from "node:net";
import { stringify } from "yaml";
import { durationDays, type Retention } from "../../config";
import type { BucketUser, WorkloadRef, Writer } from "../types";

/** The containers a stack can own (one per bucket role of the seam). */
export type ContainerRole = "metrics" | "logs";

/**
 * Who is granted access: a workload of this stack, the hub's SAS (`hub-reader`), or the hub's
 * federated user-assigned identity (`hub-federated`).
 */
export type AzurePrincipal = BucketUser | "hub-reader" | "hub-federated";

/** Built-in data-plane roles this module grants, and nothing broader. */
export const AZURE_ROLES = {
  "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
} as const;
export type AzureRoleName = keyof typeof AZURE_ROLES;

/**
 * ABAC condition (version 2.0) that lets a Contributor do everything except delete blobs: the
 * expression is false exactly for the delete action, so Azure denies it. Thanos' sidecar only
 * uploads; with this condition a compromised sidecar cannot destroy history (versioning keeps
 * overwritten blocks).
 */
export const DENY_BLOB_DELETE_CONDITION = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'})))";

/** One grant on one container. */
export interface AzureGrant {
  principal: AzurePrincipal;
  container: ContainerRole;
  role: AzureRoleName;
  roleId: (typeof AZURE_ROLES)[AzureRoleName];
  /**
   * `rbac`: a role assignment (at container scope) to the principal's federated user-assigned identity.
   * `sas`: a service SAS on the container with `sasPermissions`, the data-plane equivalent of the role.
   */
  via: "rbac" | "sas";
  /** ABAC condition narrowing the role, when one applies. */
  condition?: string;
  /** Signed permissions of the SAS (`via: sas`). */
  sasPermissions?: string;
  /** Why this principal needs this access (shown in plans and reviews). */
  why: string;
}

/** What the grants plan depends on. */
export interface GrantsInput {
  containers: readonly ContainerRole[];
  writers: Partial<Record<Writer, WorkloadRef>>;
  store?: WorkloadRef;
  /** Whether the hub's read-only SAS exists. */
  hubReader: boolean;
  /** Whether the hub reads through a federated identity. */
  hubFederated?: boolean;
}

/** Read and list: everything Thanos' store gateway needs, nothing that writes. */
export const READER_SAS_PERMISSIONS = "rl";

/**
 * Least-privilege container grants. Azure has no built-in "write but not delete" blob role, so
 * the sidecar gets Contributor narrowed by {@link DENY_BLOB_DELETE_CONDITION}; only the compactor
 * deletes on metrics (one per bucket); Loki owns the logs container (chunks, index, retention).
 * The store gateway and the hub only read. Every grant is scoped to one container, never to the
 * account, so a principal of one container cannot touch the other.
 */
export function planGrants(input: GrantsInput): AzureGrant[] {
  const need = (who: AzurePrincipal, c: ContainerRole): void => {
    if (!input.containers.includes(c)) throw new Error(`${who} needs the ${c} container, which this stack does not own (containers: ${input.containers.join(", ") || "none"})`);
  };
  const grant = (g: Omit<AzureGrant, "roleId">): AzureGrant => ({ ...g, roleId: AZURE_ROLES[g.role] });
  const out: AzureGrant[] = [];
  if (input.writers.sidecar !== undefined) {
    need("sidecar", "metrics");
    out.push(grant({ principal: "sidecar", container: "metrics", role: "Storage Blob Data Contributor", via: "rbac", condition: DENY_BLOB_DELETE_CONDITION, why: "uploads TSDB blocks; cannot delete them" }));
  }
  if (input.writers.compactor !== undefined) {
    need("compactor", "metrics");
    out.push(grant({ principal: "compactor", container: "metrics", role: "Storage Blob Data Contributor", via: "rbac", why: "compacts, downsamples and deletes blocks" }));
  }
  if (input.writers.loki !== undefined) {
    need("loki", "logs");
    out.push(grant({ principal: "loki", container: "logs", role: "Storage Blob Data Contributor", via: "rbac", why: "writes chunks and index, applies retention" }));
  }
  if (input.store !== undefined) {
    need("store", "metrics");
    out.push(grant({ principal: "store", container: "metrics", role: "Storage Blob Data Reader", via: "rbac", why: "lists and reads blocks" }));
  }
  if (input.hubReader) {
    need("hub-reader", "metrics");
    out.push(grant({ principal: "hub-reader", container: "metrics", role: "Storage Blob Data Reader", via: "sas", sasPermissions: READER_SAS_PERMISSIONS, why: "the hub's store gateway lists and reads blocks, from the hub's egress addresses only" }));
  }
  if (input.hubFederated === true) {
    need("hub-federated", "metrics");
    out.push(grant({ principal: "hub-federated", container: "metrics", role: "Storage Blob Data Reader", via: "rbac", why: "the hub's store gateway (federated, one ServiceAccount of the hub cluster) lists and reads blocks, from the hub's egress addresses only" }));
  }
  return out;
}

// ---- workload identity -----------------------------------------------------------------------

/** ServiceAccount annotation naming the identity the workload identity webhook hands to the pod. */
export const AZURE_WI_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id";
/** Pod label that makes the webhook inject the federated token and the AZURE_* variables. */
export const AZURE_WI_USE_LABEL = "azure.workload.identity/use";
/** The only audience Entra ID accepts for workload identity federation. */
export const AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange";

/** Subject of a Kubernetes ServiceAccount token, as the federated credential must match it. */
export function workloadIdentitySubject(ref: WorkloadRef): string {
  return `system:serviceaccount:${ref.namespace}:${ref.serviceAccount}`;
}

/**
 * At most 20 federated identity credentials per user-assigned identity ("Considerations and
 * restrictions for federated identity credentials",
 * https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations).
 * Every identity here holds exactly one.
 */
export const MAX_FEDERATED_CREDENTIALS = 20;

/** The federated identity credential of one workload, as `FederatedIdentityCredential` takes it. */
export function renderFederatedCredential(issuer: string, ref: WorkloadRef): { issuer: string; subject: string; audiences: string[] } {
  return { issuer, subject: workloadIdentitySubject(ref), audiences: [AZURE_TOKEN_AUDIENCE] };
}

// ---- storage firewall ------------------------------------------------------------------------

/** The storage firewall as `StorageAccount.networkRuleSet` takes it (plain values). */
export interface AzureNetworkRuleSet {
  defaultAction: "Deny";
  bypass: "None";
  virtualNetworkRules: { virtualNetworkResourceId: string; action: "Allow" }[];
  ipRules: { iPAddressOrRange: string; action: "Allow" }[];
}

function v4(ip: string): number[] {
  return ip.split(".").map(Number);
}

function isNonPublicV4(ip: string): boolean {
  const [a, b] = v4(ip);
  return a === 10 || a === 127 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

/**
 * One address or range in the form storage IP rules accept: IPv4 only, public only (RFC 1918
 * ranges are refused by Azure), and `/31` and `/32` are not accepted as CIDR, so `/32` becomes
 * the bare address and `/31` its two addresses.
 */
export function storageIpRules(entry: string): string[] {
  const [ip, prefix, ...rest] = entry.split("/");
  if (rest.length > 0 || !isIPv4(ip)) throw new Error(`storage IP rules take public IPv4 addresses or ranges; got ${entry}`);
  if (isNonPublicV4(ip)) throw new Error(`storage IP rules cannot admit private or reserved addresses (${entry}); private clients come through the VNet rule`);
  if (prefix === undefined || prefix === "32") return [ip];
  const bits = Number(prefix);
  if (!/^[0-9]{1,2}$/.test(prefix) || bits < 8 || bits > 32) throw new Error(`not a usable IPv4 prefix length in ${entry}`);
  if (bits === 31) {
    const [a, b, c, d] = v4(ip);
    const base = d & 0xfe;
    return [`${a}.${b}.${c}.${base}`, `${a}.${b}.${c}.${base + 1}`];
  }
  return [`${ip}/${bits}`];
}

/** What the storage firewall admits. */
export interface NetworkRuleSetInput {
  /** ARM id of the cluster's node subnet (needs the Microsoft.Storage service endpoint). */
  subnetId: string;
  /** The hub's egress addresses (the read-only credential is usable only from these). */
  hubIps: readonly string[];
}

/**
 * The storage firewall (CKV_AZURE_35): deny by default; the spoke's writers come through the
 * cluster subnet's service endpoint (VNet rule), the hub through its egress addresses (IP rules).
 * `bypass: None`: no trusted Azure service needs data access (lifecycle management and ARM
 * control-plane calls are not subject to the firewall), so none gets a blanket exception.
 * The stack's own NAT addresses are deliberately not admitted: IP rules do not apply to clients
 * in the account's own region, whose traffic must use the service endpoint anyway.
 */
export function renderNetworkRuleSet(input: NetworkRuleSetInput): AzureNetworkRuleSet {
  const ips = [...new Set(input.hubIps.flatMap(storageIpRules))].sort();
  return {
    defaultAction: "Deny",
    bypass: "None",
    virtualNetworkRules: [{ virtualNetworkResourceId: input.subnetId, action: "Allow" }],
    ipRules: ips.map((ip) => ({ iPAddressOrRange: ip, action: "Allow" })),
  };
}

// ---- lifecycle -------------------------------------------------------------------------------

/** Days after which a container's current blobs are deleted: the longest tier it stores. */
export function containerRetentionDays(container: ContainerRole, retention: Retention): number {
  if (container === "logs") return durationDays(retention.logs);
  return Math.max(durationDays(retention.raw), durationDays(retention.fiveMinutes), durationDays(retention.oneHour));
}

/** One lifecycle rule as `ManagementPolicy.policy.rules` takes it (plain values). */
export interface ManagementPolicyRule {
  name: string;
  enabled: true;
  type: "Lifecycle";
  definition: {
    filters: { blobTypes: ["blockBlob"]; prefixMatch: string[] };
    actions: {
      baseBlob: { delete: { daysAfterModificationGreaterThan: number } };
      version: { delete: { daysAfterCreationGreaterThan: number } };
    };
  };
}

/**
 * The lifecycle policy. The metrics rule is a backstop behind the compactor's own retention: it
 * fires only after the longest tier, and a blob is never older than the data it holds, so it never
 * deletes a block the compactor would still keep. Rule names are alphanumeric, as Azure requires;
 * prefixes end in `/` so that `metrics` never matches a container named `metrics2`.
 *
 * Previous versions: Azure ages a version from when it was created, i.e. when its data was
 * written, not from when it stopped being current ("For a blob snapshot or version, the condition
 * that is checked is the number of days since the snapshot or version was created",
 * https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-policy-configure; the
 * `version` actions accept only `daysAfterCreationGreaterThan`,
 * https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-policy-structure). So a
 * block written months ago and deleted today is a previous version for at most one lifecycle run.
 * What makes the recovery window real is blob soft delete: a lifecycle delete in an account with
 * soft delete puts the version in the soft-deleted state for the whole retention period, and
 * lifecycle never touches soft-deleted data
 * (https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-policy-delete). The version
 * rule only bounds how long versions stay directly readable; see {@link recoveryWindowDays}.
 */
export function renderManagementPolicy(containers: readonly ContainerRole[], retention: Retention): { rules: ManagementPolicyRule[] } {
  return {
    rules: containers.map((c) => ({
      name: `${c}Retention`,
      enabled: true,
      type: "Lifecycle",
      definition: {
        filters: { blobTypes: ["blockBlob"], prefixMatch: [`${c}/`] },
        actions: {
          baseBlob: { delete: { daysAfterModificationGreaterThan: containerRetentionDays(c, retention) } },
          version: { delete: { daysAfterCreationGreaterThan: durationDays(retention.noncurrentVersions) } },
        },
      },
    })),
  };
}

/** The longest blob soft-delete retention Azure accepts (DeleteRetentionPolicy.days: 1-365). */
export const MAX_SOFT_DELETE_DAYS = 365;

/**
 * Soft-delete window of blobs and containers: `noncurrentVersions`, which must lie within the
 * 1-365 days Azure allows (the configuration refuses more on Azure; no silent cap: a capped
 * window would not be the one configured).
 */
export function softDeleteDays(retention: Retention): number {
  const days = Math.max(1, durationDays(retention.noncurrentVersions));
  if (days > MAX_SOFT_DELETE_DAYS) throw new Error(`retention.noncurrentVersions is ${retention.noncurrentVersions}; Azure blob soft delete keeps at most ${MAX_SOFT_DELETE_DAYS} days`);
  return days;
}

/**
 * The recovery window on Azure after any delete or overwrite, in days: the blob soft-delete
 * retention. The old data first becomes a previous version (readable directly) until the version
 * rule deletes it, which for data written more than `noncurrentVersions` ago is the next lifecycle
 * run; that delete is a soft delete, kept the full retention and restorable with Undelete Blob
 * (https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview). Permanent delete
 * of soft-deleted versions stays off (`allowPermanentDelete: false`), so no principal can shorten
 * the window.
 */
export function recoveryWindowDays(retention: Retention): number {
  return softDeleteDays(retention);
}

// ---- hub reader SAS --------------------------------------------------------------------------

/** The validity window of the reader SAS issued now. */
export interface ReaderSasWindow {
  /** Rotation window index since the Unix epoch. */
  window: number;
  /** Signed start: the beginning of the window (ISO 8601, seconds precision, UTC). */
  start: string;
  /** Signed expiry: two windows after the start. */
  expiry: string;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Time is cut into windows of `rotationDays`. A SAS issued in window `w` is signed from the start
 * of `w` to the start of `w + 2`. Every deployment in the same window signs the same parameters
 * and gets the same token (no churn); the first deployment after a boundary issues a new one,
 * while the one the hub holds stays valid for one more window: the hub has that long to run
 * `pulumi up` and pick it up. Run the spoke at least once a window.
 */
export function readerSasWindow(now: Date, rotationDays: number): ReaderSasWindow {
  if (!Number.isInteger(rotationDays) || rotationDays < 1) throw new Error(`readerRotationDays must be a positive integer, got ${rotationDays}`);
  const length = rotationDays * 86400_000;
  const window = Math.floor(now.getTime() / length);
  return { window, start: isoSeconds(window * length), expiry: isoSeconds((window + 2) * length) };
}

/**
 * The account's SAS expiration policy: no SAS valid for longer than two rotation windows (plus a
 * day of slack) is honoured (`Block`), so a leaked long-lived SAS cannot exist even if one were
 * signed by hand.
 */
export function renderSasPolicy(rotationDays: number): { sasExpirationPeriod: string; expirationAction: "Block" } {
  return { sasExpirationPeriod: `${2 * rotationDays + 1}.00:00:00`, expirationAction: "Block" };
}

function v4ToInt(ip: string): number {
  return v4(ip).reduce((n, o) => n * 256 + o, 0);
}

/**
 * The SAS `signedIp` (`sip`): one address or one inclusive `a-b` range, nothing else ("Create a
 * service SAS", signed IP: https://learn.microsoft.com/rest/api/storageservices/create-service-sas; an inclusive range).
 * The token is bound only when that expresses exactly the hub's addresses: one address, or
 * addresses that are consecutive. Anything else (the hub's NAT addresses are allocated by the
 * cloud, rarely adjacent) would admit addresses that are not the hub's, so the SAS carries no
 * `sip` and only the storage firewall, which admits exactly the hub's addresses, binds it.
 */
export function sasSignedIp(hubIps: readonly string[]): string | undefined {
  const ips = [...new Set(hubIps.flatMap(storageIpRules))];
  if (ips.length === 0 || ips.some((ip) => ip.includes("/"))) return undefined;
  if (ips.length === 1) return ips[0];
  const sorted = ips.sort((a, b) => v4ToInt(a) - v4ToInt(b));
  const [lo, hi] = [sorted[0], sorted[sorted.length - 1]];
  // Distinct sorted addresses are consecutive exactly when the range holds no more addresses than they are.
  return v4ToInt(hi) - v4ToInt(lo) + 1 === sorted.length ? `${lo}-${hi}` : undefined;
}

/** The parameters of the hub reader's service SAS, as `listStorageAccountServiceSAS` takes them. */
export interface ReaderSasParameters {
  accountName: string;
  resourceGroupName: string;
  canonicalizedResource: string;
  resource: "c";
  permissions: string;
  protocols: "https";
  keyToSign: "key1";
  sharedAccessStartTime: string;
  sharedAccessExpiryTime: string;
  iPAddressOrRange?: string;
}

/** What the reader SAS depends on. */
export interface ReaderSasInput {
  accountName: string;
  resourceGroupName: string;
  container: string;
  hubIps: readonly string[];
  now: Date;
  rotationDays: number;
}

/**
 * A service SAS on the metrics container only (`sr=c`), read and list only, HTTPS only, bound to
 * the hub's addresses where one range expresses exactly them ({@link sasSignedIp}), valid for two rotation windows. Signed by
 * `key1`: regenerating key1 revokes every reader SAS at once (the next `pulumi up` signs anew).
 */
export function renderReaderSasParameters(input: ReaderSasInput): ReaderSasParameters {
  const w = readerSasWindow(input.now, input.rotationDays);
  const ip = sasSignedIp(input.hubIps);
  return {
    accountName: input.accountName,
    resourceGroupName: input.resourceGroupName,
    canonicalizedResource: `/blob/${input.accountName}/${input.container}`,
    resource: "c",
    permissions: READER_SAS_PERMISSIONS,
    protocols: "https",
    keyToSign: "key1",
    sharedAccessStartTime: w.start,
    sharedAccessExpiryTime: w.expiry,
    ...(ip !== undefined ? { iPAddressOrRange: ip } : {}),
  };
}

// ---- Thanos and Loki -------------------------------------------------------------------------

/** The public Azure cloud's blob endpoint suffix (Thanos' default). */
export const BLOB_ENDPOINT_SUFFIX = "blob.core.windows.net";

/** Arguments of {@link renderAzureObjstore}. */
export interface AzureObjstoreInput {
  storageAccount: string;
  container: string;
  /** Blob endpoint suffix; the public cloud's by default. */
  endpoint?: string;
  /** A SAS token (the hub reader); omitted, Thanos authenticates with workload identity. */
  sasToken?: string;
}

/** A connection string that carries a SAS and no account key (what the Azure SDK accepts for SAS auth). */
export function sasConnectionString(storageAccount: string, endpoint: string, sasToken: string): string {
  return `BlobEndpoint=https://${storageAccount}.${endpoint}/;SharedAccessSignature=${sasToken.replace(/^\?/, "")}`;
}

/**
 * Thanos objstore configuration for Azure (v0.42.4 schema). Writers carry no secret and no
 * `user_assigned_id`: with `user_assigned_id` Thanos would ask the node's IMDS for a managed
 * identity, while workload identity works through DefaultAzureCredential, which reads the
 * AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_FEDERATED_TOKEN_FILE the webhook injects. The reader
 * authenticates with a SAS inside `storage_connection_string`. `storage_create_container` is off:
 * containers are created here, and no principal is allowed to create them.
 */
export function renderAzureObjstore(input: AzureObjstoreInput): string {
  const endpoint = input.endpoint ?? BLOB_ENDPOINT_SUFFIX;
  const config: Record<string, string | boolean> = {
    storage_account: input.storageAccount,
    container: input.container,
    endpoint,
    storage_create_container: false,
  };
  if (input.sasToken !== undefined) config.storage_connection_string = sasConnectionString(input.storageAccount, endpoint, input.sasToken);
  return stringify({ type: "AZURE", config }, { lineWidth: 0 });
}

/**
 * `loki.storage` values of the loki chart 18.11.0 for the logs container, to be set under `loki:`.
 * Chunks and ruler share the one sovereign logs container; Loki authenticates with the federated
 * token the workload identity webhook mounts (`useFederatedToken`), not with a key or IMDS.
 */
export function renderLokiAzureStorage(storageAccount: string, container: string): { storage: Record<string, unknown> } {
  return {
    storage: {
      type: "azure",
      bucketNames: { chunks: container, ruler: container },
      azure: { accountName: storageAccount, useManagedIdentity: false, useFederatedToken: true },
    },
  };
}

// ---- egress ----------------------------------------------------------------------------------

/** Network API version of the subnet update in {@link renderSubnetNatTemplate}. */
export const NETWORK_API_VERSION = "2024-05-01";

/**
 * An ARM template that attaches a NAT gateway to an existing subnet without taking the subnet
 * over. A subnet's NAT gateway is a property of the subnet, and a PUT replaces the whole subnet:
 * managing it as a `network.Subnet` here would make this stack the owner of the cluster's subnet
 * (and a wrong property would cut the cluster off). Instead, the outer deployment reads the
 * subnet's current properties at deployment time (`reference`) and hands them to a nested
 * deployment, which PUTs them back unchanged plus `natGateway` (the same read-modify-write
 * `az network vnet subnet update --nat-gateway` performs). The nesting avoids ARM's circular
 * reference of a resource to itself. Deleting the deployment record leaves the subnet alone.
 */
export function renderSubnetNatTemplate(): Record<string, unknown> {
  const schema = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#";
  const str = { type: "string" };
  return {
    $schema: schema,
    contentVersion: "1.0.0.0",
    parameters: { virtualNetworkName: str, subnetName: str, natGatewayId: str },
    resources: [
      {
        type: "Microsoft.Resources/deployments",
        apiVersion: "2022-09-01",
        name: "[format('{0}-nat', parameters('subnetName'))]",
        properties: {
          mode: "Incremental",
          expressionEvaluationOptions: { scope: "inner" },
          parameters: {
            virtualNetworkName: { value: "[parameters('virtualNetworkName')]" },
            subnetName: { value: "[parameters('subnetName')]" },
            natGatewayId: { value: "[parameters('natGatewayId')]" },
            current: {
              value: `[reference(resourceId('Microsoft.Network/virtualNetworks/subnets', parameters('virtualNetworkName'), parameters('subnetName')), '${NETWORK_API_VERSION}')]`,
            },
          },
          template: {
            $schema: schema,
            contentVersion: "1.0.0.0",
            parameters: { virtualNetworkName: str, subnetName: str, natGatewayId: str, current: { type: "object" } },
            resources: [
              {
                type: "Microsoft.Network/virtualNetworks/subnets",
                apiVersion: NETWORK_API_VERSION,
                name: "[format('{0}/{1}', parameters('virtualNetworkName'), parameters('subnetName'))]",
                properties: "[union(parameters('current'), createObject('natGateway', createObject('id', parameters('natGatewayId'))))]",
              },
            ],
          },
        },
      },
    ],
  };
}

/** The parts of a subnet (as `network.getSubnet` returns it) that the NAT attachment check reads. */
export interface SubnetNatView {
  id?: string;
  natGateway?: { id?: string };
}

/**
 * Whether the cluster subnet still uses this stack's NAT gateway. The attachment is a one-shot
 * read-modify-write of a subnet the network owner manages ({@link renderSubnetNatTemplate}): a
 * later PUT of the subnet by its owner without `natGateway` silently detaches it, and the cluster
 * then leaves from other addresses than the ones the hub allowlists. Checked on every run; returns
 * the error to raise, or undefined. ARM ids compare case-insensitively (resource names are case-insensitive
 * unless noted: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
 */
export function subnetNatDrift(stack: string, subnetName: string, subnet: SubnetNatView, natGatewayId: string): string | undefined {
  const attached = subnet.natGateway?.id;
  if (attached !== undefined && attached.toLowerCase() === natGatewayId.toLowerCase()) return undefined;
  return (
    `stack ${stack}: subnet ${subnetName} ${attached === undefined ? "uses no NAT gateway" : `uses NAT gateway ${attached}`}, not ${natGatewayId}: ` +
    `the cluster's egress no longer leaves from the addresses the hub allowlists. The subnet's owner must keep natGateway set ` +
    `(az network vnet subnet update --nat-gateway ${natGatewayId}), or re-run the attachment: pulumi up --replace <URN of the Deployment ${stack}-egress-subnet-nat>.`
  );
}
