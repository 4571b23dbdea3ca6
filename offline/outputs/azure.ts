/**
 * Mock outputs of the azure-native resources and invokes the Azure cloud module uses, shaped like
 * what Azure Resource Manager returns: ARM ids under the provider's subscription, names, GUIDs of
 * identities, endpoints of the storage account, allocated public IPs and signed SAS tokens.
 */
import { createHmac } from "node:crypto";
import { natGatewayName } from "../../components/clouds/azure/names";
import { hexOf, ipOf, str, type InvokeTable, type MockContext, type MockRegistration, type OutputTable } from "./types";

/** The subscription a resource lands in: the provider's. */
function subscriptionOf(reg: Pick<MockRegistration, "providerInputs">): string {
  return str(reg.providerInputs.subscriptionId, "00000000-0000-4000-8000-000000000000");
}

function tenantOf(reg: Pick<MockRegistration, "providerInputs">): string {
  return str(reg.providerInputs.tenantId, "00000000-0000-4000-8000-000000000001");
}

function locationOf(reg: MockRegistration): string {
  return str(reg.inputs.location, str(reg.providerInputs.location, "germanywestcentral"));
}

/** A deterministic GUID (version 4 layout) for a resource and a salt. */
function guidOf(ctx: MockContext, reg: Pick<MockRegistration, "type" | "name">, salt: string): string {
  const h = hexOf(ctx, reg, 32, salt);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The name ARM gives a resource: the explicit name input, else Pulumi's auto-name. */
function nameOf(reg: MockRegistration, ctx: MockContext, key: string): string {
  return str(reg.inputs[key], `${reg.name}${hexOf(ctx, reg, 8, "autoname")}`);
}

function rgId(reg: MockRegistration, rg: string): string {
  return `/subscriptions/${subscriptionOf(reg)}/resourceGroups/${rg}`;
}

function accountId(reg: MockRegistration): string {
  return `${rgId(reg, str(reg.inputs.resourceGroupName, "rg"))}/providers/Microsoft.Storage/storageAccounts/${str(reg.inputs.accountName, "account")}`;
}

/** A mock account key for a storage account: SAS signatures are real HMACs over it. */
function accountKey(ctx: MockContext, subscription: string, account: string): Buffer {
  return Buffer.from(hexOf(ctx, { type: "azure-native:storage:StorageAccount", name: `${subscription}/${account}` }, 64, "key1"), "hex");
}

export const azureOutputs: OutputTable = {
  "azure-native:resources:ResourceGroup": (reg, ctx) => {
    const name = nameOf(reg, ctx, "resourceGroupName");
    return { id: rgId(reg, name), state: { name, location: locationOf(reg), properties: { provisioningState: "Succeeded" }, type: "Microsoft.Resources/resourceGroups" } };
  },
  "azure-native:storage:StorageAccount": (reg, ctx) => {
    const name = nameOf(reg, ctx, "accountName");
    const id = `${rgId(reg, str(reg.inputs.resourceGroupName, "rg"))}/providers/Microsoft.Storage/storageAccounts/${name}`;
    const ep = (svc: string): string => `https://${name}.${svc}.core.windows.net/`;
    const identity = reg.inputs.identity as { type?: string; userAssignedIdentities?: string[] } | undefined;
    return {
      id,
      state: {
        name,
        type: "Microsoft.Storage/storageAccounts",
        location: locationOf(reg),
        provisioningState: "Succeeded",
        primaryLocation: locationOf(reg),
        statusOfPrimary: "available",
        creationTime: "2026-01-01T00:00:00.0000000Z",
        primaryEndpoints: { blob: ep("blob"), dfs: ep("dfs"), file: ep("file"), queue: ep("queue"), table: ep("table"), web: `https://${name}.z1.web.core.windows.net/` },
        ...(identity !== undefined
          ? { identity: { type: identity.type, userAssignedIdentities: Object.fromEntries((identity.userAssignedIdentities ?? []).map((u) => [u, { principalId: guidOf(ctx, { type: reg.type, name: u }, "principal"), clientId: guidOf(ctx, { type: reg.type, name: u }, "client") }])) } }
          : {}),
      },
    };
  },
  "azure-native:storage:BlobServiceProperties": (reg) => ({
    id: `${accountId(reg)}/blobServices/default`,
    state: { name: "default", type: "Microsoft.Storage/storageAccounts/blobServices" },
  }),
  "azure-native:storage:BlobContainer": (reg, ctx) => {
    const name = nameOf(reg, ctx, "containerName");
    return {
      id: `${accountId(reg)}/blobServices/default/containers/${name}`,
      state: { name, type: "Microsoft.Storage/storageAccounts/blobServices/containers", etag: `"0x8DC${hexOf(ctx, reg, 12, "etag").toUpperCase()}"`, hasImmutabilityPolicy: false, hasLegalHold: false, deleted: false, leaseState: "Available" },
    };
  },
  "azure-native:storage:ManagementPolicy": (reg) => ({
    id: `${accountId(reg)}/managementPolicies/default`,
    state: { name: "DefaultManagementPolicy", type: "Microsoft.Storage/storageAccounts/managementPolicies", lastModifiedTime: "2026-01-01T00:00:00.0000000Z" },
  }),
  "azure-native:managedidentity:UserAssignedIdentity": (reg, ctx) => {
    const name = nameOf(reg, ctx, "resourceName");
    return {
      id: `${rgId(reg, str(reg.inputs.resourceGroupName, "rg"))}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
      state: { name, type: "Microsoft.ManagedIdentity/userAssignedIdentities", location: locationOf(reg), principalId: guidOf(ctx, reg, "principal"), clientId: guidOf(ctx, reg, "client"), tenantId: tenantOf(reg) },
    };
  },
  "azure-native:managedidentity:FederatedIdentityCredential": (reg, ctx) => {
    const name = nameOf(reg, ctx, "federatedIdentityCredentialResourceName");
    return {
      id: `${rgId(reg, str(reg.inputs.resourceGroupName, "rg"))}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${str(reg.inputs.resourceName, "identity")}/federatedIdentityCredentials/${name}`,
      state: { name, type: "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials" },
    };
  },
  "azure-native:authorization:RoleAssignment": (reg, ctx) => {
    const name = str(reg.inputs.roleAssignmentName, guidOf(ctx, reg, "assignment"));
    return {
      id: `${str(reg.inputs.scope, "/")}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      state: { name, type: "Microsoft.Authorization/roleAssignments", createdOn: "2026-01-01T00:00:00.0000000Z", createdBy: guidOf(ctx, { type: "deployer", name: "pulumi" }, "principal") },
    };
  },
  "azure-native:keyvault:Vault": (reg, ctx) => {
    const name = nameOf(reg, ctx, "vaultName");
    const properties = { ...((reg.inputs.properties ?? {}) as Record<string, unknown>), vaultUri: `https://${name}.vault.azure.net/`, provisioningState: "Succeeded" };
    return { id: `${rgId(reg, str(reg.inputs.resourceGroupName, "rg"))}/providers/Microsoft.KeyVault/vaults/${name}`, state: { name, type: "Microsoft.KeyVault/vaults", location: locationOf(reg), properties } };
  },
  "azure-native:keyvault:Key": (reg, ctx) => {
    const name = nameOf(reg, ctx, "keyName");
    const vault = str(reg.inputs.vaultName, "vault");
    const keyUri = `https://${vault}.vault.azure.net/keys/${name}`;
    return {
      id: `${rgId(reg, str(reg.inputs.resourceGroupName, "rg"))}/providers/Microsoft.KeyVault/vaults/${vault}/keys/${name}`,
      state: { name, type: "Microsoft.KeyVault/vaults/keys", keyUri, keyUriWithVersion: `${keyUri}/${hexOf(ctx, reg, 32, "version")}` },
    };
  },
  "azure-native:network:PublicIPAddress": (reg, ctx) => {
    const name = nameOf(reg, ctx, "publicIpAddressName");
    return {
      id: `${rgId(reg, str(reg.inputs.resourceGroupName, "rg"))}/providers/Microsoft.Network/publicIPAddresses/${name}`,
      state: { name, type: "Microsoft.Network/publicIPAddresses", location: locationOf(reg), ipAddress: ipOf(ctx, reg), provisioningState: "Succeeded", resourceGuid: guidOf(ctx, reg, "guid"), etag: `W/"${guidOf(ctx, reg, "etag")}"` },
    };
  },
  "azure-native:network:NatGateway": (reg, ctx) => {
    const name = nameOf(reg, ctx, "natGatewayName");
    return {
      id: `${rgId(reg, str(reg.inputs.resourceGroupName, "rg"))}/providers/Microsoft.Network/natGateways/${name}`,
      state: { name, type: "Microsoft.Network/natGateways", location: locationOf(reg), provisioningState: "Succeeded", resourceGuid: guidOf(ctx, reg, "guid"), etag: `W/"${guidOf(ctx, reg, "etag")}"` },
    };
  },
  "azure-native:resources:Deployment": (reg, ctx) => {
    const name = nameOf(reg, ctx, "deploymentName");
    const properties = { ...((reg.inputs.properties ?? {}) as Record<string, unknown>), provisioningState: "Succeeded", correlationId: guidOf(ctx, reg, "correlation"), timestamp: "2026-01-01T00:00:00.0000000Z" };
    return { id: `${rgId(reg, str(reg.inputs.resourceGroupName, "rg"))}/providers/Microsoft.Resources/deployments/${name}`, state: { name, type: "Microsoft.Resources/deployments", properties } };
  },
};

/**
 * The service SAS Azure would return: the query string with a real HMAC-SHA256 signature over
 * the string-to-sign of a container SAS (version 2022-11-02), keyed with a mock account key.
 */
function serviceSas(inputs: Record<string, unknown>, ctx: MockContext, subscription: string): string {
  const sv = "2022-11-02";
  const account = str(inputs.accountName, "account");
  const f = (k: string): string => (typeof inputs[k] === "string" ? (inputs[k] as string) : "");
  const toSign = [f("permissions"), f("sharedAccessStartTime"), f("sharedAccessExpiryTime"), f("canonicalizedResource"), f("identifier"), f("iPAddressOrRange"), f("protocols"), sv, f("resource"), "", "", "", "", "", "", ""].join("\n");
  const sig = createHmac("sha256", accountKey(ctx, subscription, account)).update(toSign, "utf8").digest("base64");
  const q: [string, string][] = [["sv", sv], ["sr", f("resource")], ["sp", f("permissions")], ["st", f("sharedAccessStartTime")], ["se", f("sharedAccessExpiryTime")], ["spr", f("protocols")]];
  if (f("iPAddressOrRange") !== "") q.push(["sip", f("iPAddressOrRange")]);
  q.push(["sig", sig]);
  return q.filter(([, v]) => v !== "").map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
}

export const azureInvokes: InvokeTable = {
  "azure-native:storage:listStorageAccountServiceSAS": (call, ctx) => ({ serviceSasToken: serviceSas(call.inputs, ctx, subscriptionOf(call)) }),
  /**
   * The cluster subnet as ARM returns it after the stack's attachment deployment ran: its owner's
   * address prefix and Microsoft.Storage service endpoint, and `natGateway` pointing at the stack's
   * NAT gateway (same id as the NatGateway mock above: network resource group, provider subscription).
   */
  "azure-native:network:getSubnet": (call, ctx) => {
    const rg = str(call.inputs.resourceGroupName, "rg");
    const vnet = str(call.inputs.virtualNetworkName, "vnet");
    const name = str(call.inputs.subnetName, "subnet");
    const base = `/subscriptions/${subscriptionOf(call)}/resourceGroups/${rg}`;
    return {
      id: `${base}/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/${name}`,
      name,
      type: "Microsoft.Network/virtualNetworks/subnets",
      etag: `W/"${guidOf(ctx, { type: "azure-native:network:Subnet", name: `${rg}/${vnet}/${name}` }, "etag")}"`,
      addressPrefix: "10.240.0.0/16",
      provisioningState: "Succeeded",
      natGateway: { id: `${base}/providers/Microsoft.Network/natGateways/${natGatewayName(ctx.stack)}` },
      serviceEndpoints: [{ service: "Microsoft.Storage", locations: [str(call.providerInputs.location, "germanywestcentral")], provisioningState: "Succeeded" }],
      privateEndpointNetworkPolicies: "Disabled",
      privateLinkServiceNetworkPolicies: "Enabled",
    };
  },
  "azure-native:network:getPublicIPAddress": (call, ctx) => {
    const rg = str(call.inputs.resourceGroupName, "rg");
    const name = str(call.inputs.publicIpAddressName, "pip");
    const reg = { type: "azure-native:network:PublicIPAddress", name: `${rg}/${name}` };
    return {
      id: `/subscriptions/${subscriptionOf(call)}/resourceGroups/${rg}/providers/Microsoft.Network/publicIPAddresses/${name}`,
      name,
      type: "Microsoft.Network/publicIPAddresses",
      location: str(call.providerInputs.location, "germanywestcentral"),
      ipAddress: ipOf(ctx, reg),
      publicIPAllocationMethod: "Static",
      sku: { name: "Standard", tier: "Regional" },
      provisioningState: "Succeeded",
    };
  },
};
