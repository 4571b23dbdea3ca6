/**
 * Deterministic Azure names and ARM ids. Storage account names are global across all of Azure
 * and short; role assignment names are GUIDs. All of them must be stable across runs so that a
 * `pulumi up` never replaces an account (and its data) or re-creates a grant because a name drifted.
 */
import { createHash } from "node:crypto";

function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** Storage account names: 3-24 characters, lowercase letters and digits only, unique across Azure. */
export const STORAGE_ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

/**
 * The storage account of a stack: `obs<stack>` plus 8 hex digits of a hash of subscription and
 * stack. The prefix makes the account recognisable in the portal; the hash makes it unique across
 * subscriptions (two organisations may both name a stack `stag-01`) and stays the same on every run.
 */
export function storageAccountName(stack: string, subscriptionId: string): string {
  const head = `obs${stack.toLowerCase().replace(/[^a-z0-9]/g, "")}`.slice(0, 16);
  const name = `${head}${sha256(`${subscriptionId.toLowerCase()}/${stack}`).slice(0, 8)}`;
  if (!STORAGE_ACCOUNT_NAME.test(name)) throw new Error(`cannot derive a valid storage account name from stack ${stack}`);
  return name;
}

/** The resource group that holds a stack's observability data and identities. */
export function dataResourceGroupName(stack: string): string {
  return `rg-${stack}-observability`;
}

/** User-assigned identity names: 3-128 characters of letters, digits, `-` and `_`, starting with a letter or digit. */
export const IDENTITY_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$/;

/** The user-assigned identity of one workload of a stack (`id-stag-01-compactor`). */
export function identityName(stack: string, user: string): string {
  const name = `id-${stack}-${user}`;
  if (!IDENTITY_NAME.test(name)) throw new Error(`cannot derive a valid identity name from ${stack}-${user}`);
  return name;
}

/** Name of the stack's egress NAT gateway (in the network's resource group). */
export function natGatewayName(stack: string): string {
  return `ng-${stack}-egress`;
}

/** ARM id of a subnet. */
export function subnetId(subscriptionId: string, resourceGroup: string, virtualNetwork: string, subnet: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/virtualNetworks/${virtualNetwork}/subnets/${subnet}`;
}

/** ARM id of a built-in role definition in a subscription (the form RoleAssignment takes and Azure returns). */
export function roleDefinitionId(subscriptionId: string, roleGuid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}

/** ARM id of a blob container. */
export function containerId(subscriptionId: string, resourceGroup: string, account: string, container: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Storage/storageAccounts/${account}/blobServices/default/containers/${container}`;
}

/** The parts of an ARM resource id (`/subscriptions/<s>/resourceGroups/<rg>/providers/<ns>/<type>/<name>`). */
export interface ArmId {
  subscriptionId: string;
  resourceGroup: string;
  provider: string;
  type: string;
  name: string;
}

/** Parses a top-level ARM resource id, or throws naming what was expected. */
export function parseArmId(id: string, expectedType?: string): ArmId {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/([^/]+)\/([^/]+)$/i.exec(id);
  if (m === null) throw new Error(`not an ARM resource id: ${id} (expected /subscriptions/<sub>/resourceGroups/<rg>/providers/<namespace>/<type>/<name>)`);
  const parsed = { subscriptionId: m[1], resourceGroup: m[2], provider: m[3], type: m[4], name: m[5] };
  if (expectedType !== undefined && `${parsed.provider}/${parsed.type}`.toLowerCase() !== expectedType.toLowerCase()) {
    throw new Error(`${id} is a ${parsed.provider}/${parsed.type}, expected a ${expectedType}`);
  }
  return parsed;
}

/** Namespace of the name-based GUIDs of this project (a fixed random UUID). */
const GUID_NAMESPACE = "6f1c2b0e-8d4a-4c7e-9b3f-2a5d7e9c1f40";

/**
 * A name-based (RFC 4122 version 5) GUID for a role assignment, derived from its scope, principal
 * and role. Role assignment names must be GUIDs and Azure allows only one assignment per
 * (scope, principal, role): deriving the name from exactly that triple keeps it stable across runs,
 * and a new principal (a replaced identity) gets a new name instead of colliding with the old one.
 */
export function roleAssignmentGuid(scope: string, principalId: string, roleGuid: string): string {
  const ns = Buffer.from(GUID_NAMESPACE.replace(/-/g, ""), "hex");
  const hash = createHash("sha1").update(ns).update(`${scope.toLowerCase()}|${principalId.toLowerCase()}|${roleGuid.toLowerCase()}`).digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Key Vault names: 3-24 characters of letters, digits and single hyphens, starting with a letter, unique across Azure. */
export const KEY_VAULT_NAME = /^[a-z](?!.*--)[a-z0-9-]{1,22}[a-z0-9]$/;

/** The Key Vault of a stack's customer-managed key: `kv-<stack>-<hash>`, unique like the storage account. */
export function keyVaultName(stack: string, subscriptionId: string): string {
  const head = stack.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 11);
  const name = `kv-${head}-${sha256(`${subscriptionId.toLowerCase()}/${stack}/kv`).slice(0, 8)}`;
  if (!KEY_VAULT_NAME.test(name)) throw new Error(`cannot derive a valid Key Vault name from stack ${stack}`);
  return name;
}

/** A Key Vault key adopted by ARM id: the vault's URI (public cloud), the key name and the id as RBAC scope. */
export function parseKeyVaultKeyId(id: string): { vaultName: string; vaultUri: string; keyName: string; scope: string } {
  const m = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/([^/]+)\/keys\/([^/]+)$/i.exec(id);
  if (m === null) throw new Error(`encryption.keyId must be the ARM id of a Key Vault key (/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<vault>/keys/<key>); got ${id}`);
  return { vaultName: m[1], vaultUri: `https://${m[1]}.vault.azure.net/`, keyName: m[2], scope: id };
}
