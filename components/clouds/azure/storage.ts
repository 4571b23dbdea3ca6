/**
 * Sovereign storage on Azure: one storage account with the metrics and logs containers, its
 * firewall and lifecycle policy, optionally a customer-managed key, the workload-identity writer
 * identities and the hub's read-only SAS.
 */
import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as resources from "@pulumi/azure-native/resources";
import * as storage from "@pulumi/azure-native/storage";
import * as pulumi from "@pulumi/pulumi";
import type { Encryption } from "../../config";
import type { BucketUser, CloudContext, FederatedReader, StorageArgs, StorageOutputs, WorkloadRef } from "../types";
import { asAzure, type AzureContext } from "./context";
import { dataResourceGroupName, identityName, keyVaultName, parseKeyVaultKeyId, roleAssignmentGuid, roleDefinitionId, storageAccountName, subnetId } from "./names";
import {
  AZURE_WI_CLIENT_ID_ANNOTATION,
  AZURE_WI_USE_LABEL,
  type AzureGrant,
  type AzureNetworkRuleSet,
  type ContainerRole,
  planGrants,
  renderAzureObjstore,
  renderFederatedCredential,
  renderLokiAzureStorage,
  renderManagementPolicy,
  renderNetworkRuleSet,
  renderReaderSasParameters,
  renderSasPolicy,
  softDeleteDays,
} from "./render";

/** Key Vault Crypto Service Encryption User: wrap/unwrap with a key, nothing else. */
export const KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6";

/** Rotation of the customer-managed key created here (90 days, the common CIS/PCI cadence). */
export const CMK_ROTATION = "P90D";

/**
 * Azure regions without availability zones, where zone-redundant storage does not exist and the
 * account falls back to locally redundant storage. Geo-redundant SKUs are never used: they copy
 * data to the paired region, which is a sovereignty decision this module does not take.
 */
export const REGIONS_WITHOUT_ZONES: ReadonlySet<string> = new Set(["germanynorth", "switzerlandwest", "francesouth", "norwaywest", "ukwest", "westus", "northcentralus"]);

/** The storage SKU of a region: ZRS where the region has zones, LRS otherwise. */
export function storageSku(region: string): "Standard_ZRS" | "Standard_LRS" {
  return REGIONS_WITHOUT_ZONES.has(region) ? "Standard_LRS" : "Standard_ZRS";
}

/** Arguments of {@link AzureStorage}: the seam's {@link StorageArgs} plus the stack context. */
export interface AzureStorageArgs extends StorageArgs {
  context: CloudContext;
  /** Clock of the reader SAS rotation window; defaults to the time of the run (tests pin it). */
  now?: Date;
}

/**
 * The storage account, containers, identities and reader credential of one stack on Azure.
 *
 * Placement: a dedicated resource group `rg-<stack>-observability` in the stack's region rather
 * than the cluster's resource group, which belongs to whoever runs the cluster: the data gets its
 * own ownership, RBAC and lock boundary, and nothing here is ever deleted with the cluster. The
 * group is protected like the data it holds (deleting a group deletes everything in it).
 *
 * Identities: one user-assigned identity per workload, federated only with that workload's
 * ServiceAccount token from the cluster's OIDC issuer; roles are assigned at container scope.
 *
 * Hub reader and shared keys (CKV2_AZURE_40): by default (`hubReader.auth: federated`) the hub's
 * store gateway gets a user-assigned identity of its own, federated with the hub cluster's issuer
 * for exactly its ServiceAccount, with Storage Blob Data Reader on the metrics container; the
 * storage firewall admits the hub's addresses; shared-key authorization is disabled. Only with
 * `hubReader.auth: key` (a hub whose issuer is not publicly discoverable), or while a migrating
 * hub still reads with it, does the hub get a service SAS instead: read+list on the metrics
 * container only, HTTPS only, bound to the hub's addresses (signedIp where expressible, and always
 * the storage firewall), valid for two rotation windows, under an account SAS policy that blocks
 * anything longer; shared keys then stay enabled on this one account, and its keys themselves are
 * never read or exported.
 */
export class AzureStorage extends pulumi.ComponentResource implements StorageOutputs {
  public readonly metricsBucket: pulumi.Output<string>;
  public readonly logsBucket?: pulumi.Output<string>;
  public readonly writerObjstore: pulumi.Output<string>;
  public readonly readonlyObjstore?: pulumi.Output<string>;
  public readonly lokiStorage?: pulumi.Output<Record<string, unknown>>;
  /** The hub's federated reader (a user-assigned identity federated with the hub's issuer), when the hub reads federated. */
  public readonly federatedReader?: pulumi.Output<FederatedReader>;
  public readonly workloadIdentity: StorageOutputs["workloadIdentity"];
  public readonly workloadIdentityOutput: pulumi.Output<StorageOutputs["workloadIdentity"]>;
  /** The storage account's name (deterministic, see {@link storageAccountName}). */
  public readonly storageAccountName: pulumi.Output<string>;
  /** The resource group holding the account and the identities. */
  public readonly resourceGroupName: pulumi.Output<string>;
  /** Client id of each workload's user-assigned identity. */
  public readonly clientIds: Partial<Record<BucketUser, pulumi.Output<string>>>;
  /** The grants made, as planned by {@link planGrants}. */
  public readonly grants: AzureGrant[];
  /** The storage firewall applied to the account. */
  public readonly networkRuleSet: pulumi.Output<AzureNetworkRuleSet>;
  /** The Key Vault key URI encrypting the account, when `encryption.mode` is `customer`. */
  public readonly keyUri?: pulumi.Output<string>;

  constructor(name: string, args: AzureStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sovereign:azure:Storage", name, {}, opts);
    const ctx: AzureContext = asAzure(args.context);
    const { config } = ctx;
    const { cluster, network } = config;
    const sub = cluster.subscriptionId;
    const location = config.region;
    const child = { parent: this, provider: ctx.provider };
    const data = { ...child, protect: true, retainOnDelete: true };
    // Shared-key authorization is needed only to sign the hub's SAS (key mode, or a key kept during a migration).
    const hubReader = args.hubReader?.key === true;
    const federated = args.hubReader?.federated;

    // Plan first: a writer whose container this stack does not own fails before anything is registered.
    this.grants = planGrants({ containers: args.buckets, writers: args.writers, store: args.store, hubReader, hubFederated: federated !== undefined });

    const rg = new resources.ResourceGroup(`${name}-rg`, { resourceGroupName: dataResourceGroupName(ctx.stack), location, tags: ctx.labels }, data);
    this.resourceGroupName = rg.name;

    // The VNet rule admits the cluster only if its node subnet has the Microsoft.Storage service
    // endpoint (az network vnet subnet update --service-endpoints Microsoft.Storage): without it, the
    // writers' traffic arrives from the NAT's public addresses, which same-region IP rules ignore, and
    // Azure refuses the rule. The subnet belongs to the network owner, so this is a prerequisite, not
    // something this stack changes.
    const clusterSubnet = subnetId(sub, network.resourceGroup, network.virtualNetwork, network.subnet);
    this.networkRuleSet = pulumi.output(args.hubReader?.egressIps ?? []).apply((ips) => renderNetworkRuleSet({ subnetId: clusterSubnet, hubIps: ips }));

    const cmk = args.encryption.mode === "customer" ? this.customerKey(name, ctx, args.encryption, rg, data) : undefined;
    this.keyUri = cmk?.keyUri;

    const account = new storage.StorageAccount(
      `${name}-account`,
      {
        accountName: storageAccountName(ctx.stack, sub),
        resourceGroupName: rg.name,
        location,
        kind: "StorageV2",
        sku: { name: storageSku(location) },
        accessTier: "Hot",
        allowBlobPublicAccess: false,
        enableHttpsTrafficOnly: true,
        minimumTlsVersion: "TLS1_2",
        allowSharedKeyAccess: hubReader,
        defaultToOAuthAuthentication: true,
        allowCrossTenantReplication: false,
        allowedCopyScope: "AAD",
        isHnsEnabled: false,
        isSftpEnabled: false,
        isLocalUserEnabled: false,
        enableNfsV3: false,
        // Enabled: the firewall below decides; Disabled would also shut out the VNet and IP rules.
        publicNetworkAccess: "Enabled",
        networkRuleSet: this.networkRuleSet,
        ...(hubReader ? { sasPolicy: renderSasPolicy(args.hubReader?.rotationDays ?? 30) } : {}),
        encryption: {
          requireInfrastructureEncryption: true,
          services: { blob: { enabled: true, keyType: "Account" }, file: { enabled: true, keyType: "Account" } },
          ...(cmk !== undefined
            ? { keySource: "Microsoft.Keyvault", keyVaultProperties: { keyName: cmk.keyName, keyVaultUri: cmk.vaultUri }, encryptionIdentity: { encryptionUserAssignedIdentity: cmk.identityId } }
            : { keySource: "Microsoft.Storage" }),
        },
        ...(cmk !== undefined ? { identity: { type: "UserAssigned", userAssignedIdentities: [cmk.identityId] } } : {}),
        tags: ctx.labels,
      },
      // The account's identity must hold the key role before the account can name the key.
      { ...data, dependsOn: cmk !== undefined ? [cmk.grant] : [] },
    );
    this.storageAccountName = account.name;

    const days = softDeleteDays(args.retention);
    const blobService = new storage.BlobServiceProperties(
      `${name}-blob-service`,
      {
        accountName: account.name,
        resourceGroupName: rg.name,
        blobServicesName: "default",
        isVersioningEnabled: true,
        // allowPermanentDelete would let a principal purge soft-deleted versions and cut the recovery window (recoveryWindowDays).
        deleteRetentionPolicy: { enabled: true, days, allowPermanentDelete: false },
        containerDeleteRetentionPolicy: { enabled: true, days },
      },
      child,
    );

    const containers: Partial<Record<ContainerRole, storage.BlobContainer>> = {};
    for (const role of args.buckets) {
      containers[role] = new storage.BlobContainer(
        `${name}-${role}`,
        { accountName: account.name, resourceGroupName: rg.name, containerName: role, publicAccess: "None", metadata: { role, stack: ctx.stack } },
        // Versioning and soft delete are on before the first blob lands.
        { ...data, dependsOn: [blobService] },
      );
    }

    new storage.ManagementPolicy(
      `${name}-lifecycle`,
      { accountName: account.name, resourceGroupName: rg.name, managementPolicyName: "default", policy: renderManagementPolicy(args.buckets, args.retention) },
      // Version actions are refused while versioning is off.
      { ...child, dependsOn: [blobService] },
    );

    const users: [BucketUser, WorkloadRef][] = [];
    for (const w of ["sidecar", "compactor", "loki"] as const) {
      const ref = args.writers[w];
      if (ref !== undefined) users.push([w, ref]);
    }
    if (args.store !== undefined) users.push(["store", args.store]);

    const principals: Partial<Record<BucketUser, pulumi.Output<string>>> = {};
    let hubPrincipal: pulumi.Output<string> | undefined;
    let hubClientId: pulumi.Output<string> | undefined;
    const clientIds: Partial<Record<BucketUser, pulumi.Output<string>>> = {};
    const podLabels = { [AZURE_WI_USE_LABEL]: "true" };
    const plain: StorageOutputs["workloadIdentity"] = {};
    for (const [user, ref] of users) {
      const identity = new managedidentity.UserAssignedIdentity(`${name}-${user}-id`, { resourceName: identityName(ctx.stack, user), resourceGroupName: rg.name, location, tags: { ...ctx.labels, workload: user } }, child);
      new managedidentity.FederatedIdentityCredential(
        `${name}-${user}-fic`,
        { resourceGroupName: rg.name, resourceName: identity.name, federatedIdentityCredentialResourceName: `${ctx.stack}-${user}`, ...renderFederatedCredential(cluster.oidcIssuerUrl, ref) },
        child,
      );
      principals[user] = identity.principalId;
      clientIds[user] = identity.clientId;
      // The client id exists only once the identity does; the resolved annotations are in workloadIdentityOutput.
      plain[user] = { annotations: {}, podLabels: { ...podLabels } };
    }
    if (federated !== undefined) {
      // The hub's store gateway: a federated credential for the hub cluster's issuer and that one ServiceAccount.
      const identity = new managedidentity.UserAssignedIdentity(`${name}-hub-reader-id`, { resourceName: identityName(ctx.stack, "hub-reader"), resourceGroupName: rg.name, location, tags: { ...ctx.labels, workload: "hub-reader" } }, child);
      new managedidentity.FederatedIdentityCredential(
        `${name}-hub-reader-fic`,
        {
          resourceGroupName: rg.name,
          resourceName: identity.name,
          federatedIdentityCredentialResourceName: `${ctx.stack}-hub-reader`,
          ...renderFederatedCredential(federated.issuerUrl, { namespace: federated.namespace, serviceAccount: federated.serviceAccount }),
        },
        child,
      );
      hubPrincipal = identity.principalId;
      hubClientId = identity.clientId;
    }
    this.clientIds = clientIds;
    this.workloadIdentity = plain;
    const entries = Object.entries(clientIds) as [BucketUser, pulumi.Output<string>][];
    this.workloadIdentityOutput = pulumi
      .all(entries.map(([, id]) => id))
      .apply((ids) => Object.fromEntries(entries.map(([user], i) => [user, { annotations: { [AZURE_WI_CLIENT_ID_ANNOTATION]: ids[i] }, podLabels: { ...podLabels } }])));

    for (const g of this.grants.filter((x) => x.via === "rbac")) {
      const container = containers[g.container];
      const principalId = g.principal === "hub-federated" ? hubPrincipal : principals[g.principal as BucketUser];
      if (container === undefined || principalId === undefined) throw new Error(`internal: grant ${g.principal} → ${g.container} without container or identity`);
      const scope = container.id;
      new authorization.RoleAssignment(
        `${name}-${g.principal}-${g.container}-${g.role === "Storage Blob Data Reader" ? "reader" : "contributor"}`,
        {
          scope,
          principalId,
          // Skips the directory lookup that fails while a new identity is still replicating.
          principalType: "ServicePrincipal",
          roleDefinitionId: roleDefinitionId(sub, g.roleId),
          roleAssignmentName: pulumi.all([scope, principalId]).apply(([s, p]) => roleAssignmentGuid(s, p, g.roleId)),
          description: `${ctx.stack} ${g.principal}: ${g.why}`,
          ...(g.condition !== undefined ? { condition: g.condition, conditionVersion: "2.0" } : {}),
        },
        child,
      );
    }

    const metrics = containers.metrics;
    if (metrics === undefined) throw new Error(`stack ${ctx.stack}: every stack owns a metrics container (buckets: ${args.buckets.join(", ")})`);
    this.metricsBucket = metrics.name;
    this.logsBucket = containers.logs?.name;
    this.writerObjstore = pulumi.all([account.name, metrics.name]).apply(([a, c]) => renderAzureObjstore({ storageAccount: a, container: c }));

    if (hubClientId !== undefined) {
      const tenantId = cluster.tenantId;
      // Account and container only: DefaultAzureCredential then takes the workload identity the hub's pod carries.
      this.federatedReader = pulumi.all([account.name, metrics.name, hubClientId]).apply(([a, c, clientId]) => ({
        objstore: renderAzureObjstore({ storageAccount: a, container: c }),
        identity: { cloud: "azure" as const, clientId, tenantId },
      }));
    }
    const keyReader = args.hubReader?.key === true ? args.hubReader : undefined;
    if (keyReader !== undefined) {
      // Signed only once account and container exist (their outputs gate the invoke on the first run).
      const params = pulumi
        .all([account.name, metrics.name, rg.name, pulumi.output(keyReader.egressIps)])
        .apply(([accountName, container, resourceGroupName, hubIps]) =>
          renderReaderSasParameters({ accountName, resourceGroupName, container, hubIps, now: args.now ?? new Date(), rotationDays: keyReader.rotationDays }),
        );
      const sas = storage.listStorageAccountServiceSASOutput(
        {
          accountName: params.accountName,
          resourceGroupName: params.resourceGroupName,
          canonicalizedResource: params.canonicalizedResource,
          resource: params.resource,
          permissions: params.permissions,
          protocols: params.protocols,
          keyToSign: params.keyToSign,
          sharedAccessStartTime: params.sharedAccessStartTime,
          sharedAccessExpiryTime: params.sharedAccessExpiryTime,
          iPAddressOrRange: params.iPAddressOrRange,
        },
        { parent: this, provider: ctx.provider },
      );
      const token = pulumi.secret(sas.serviceSasToken);
      this.readonlyObjstore = pulumi.secret(pulumi.all([account.name, metrics.name, token]).apply(([a, c, t]) => renderAzureObjstore({ storageAccount: a, container: c, sasToken: t })));
    }

    const logs = containers.logs;
    this.lokiStorage = logs === undefined ? undefined : pulumi.all([account.name, logs.name]).apply(([a, c]) => renderLokiAzureStorage(a, c) as Record<string, unknown>);

    this.registerOutputs({
      metricsBucket: this.metricsBucket,
      logsBucket: this.logsBucket,
      writerObjstore: this.writerObjstore,
      readonlyObjstore: this.readonlyObjstore,
      lokiStorage: this.lokiStorage,
      federatedReader: this.federatedReader,
      storageAccountName: this.storageAccountName,
      resourceGroupName: this.resourceGroupName,
      keyUri: this.keyUri,
    });
  }

  /**
   * The account's customer-managed key: created in a Key Vault of the stack's region (RBAC mode,
   * purge protection, firewall closed except to trusted Azure services, which the storage service
   * is), or adopted from `encryption.keyId` (the key's ARM id). Either way a dedicated
   * user-assigned identity gets wrap/unwrap on that key only, and the account uses it. The key is
   * referenced without a version, so the account follows the key's rotations.
   */
  private customerKey(
    name: string,
    ctx: AzureContext,
    encryption: Encryption,
    rg: resources.ResourceGroup,
    data: pulumi.CustomResourceOptions,
  ): { keyName: pulumi.Output<string>; vaultUri: pulumi.Output<string>; keyUri: pulumi.Output<string>; identityId: pulumi.Output<string>; grant: authorization.RoleAssignment } {
    const { cluster } = ctx.config;
    let keyName: pulumi.Output<string>;
    let vaultUri: pulumi.Output<string>;
    let scope: pulumi.Output<string>;
    if (encryption.keyId !== undefined) {
      const adopted = parseKeyVaultKeyId(encryption.keyId);
      keyName = pulumi.output(adopted.keyName);
      vaultUri = pulumi.output(adopted.vaultUri);
      scope = pulumi.output(adopted.scope);
    } else {
      const vault = new keyvault.Vault(
        `${name}-vault`,
        {
          vaultName: keyVaultName(ctx.stack, cluster.subscriptionId),
          resourceGroupName: rg.name,
          location: ctx.config.region,
          properties: {
            tenantId: cluster.tenantId,
            sku: { family: "A", name: "premium" },
            enableRbacAuthorization: true,
            enableSoftDelete: true,
            softDeleteRetentionInDays: 90,
            // Storage refuses keys from vaults without purge protection.
            enablePurgeProtection: true,
            publicNetworkAccess: "Enabled",
            networkAcls: { defaultAction: "Deny", bypass: "AzureServices" },
          },
          tags: ctx.labels,
        },
        data,
      );
      const key = new keyvault.Key(
        `${name}-key`,
        {
          keyName: `${ctx.stack}-storage`,
          vaultName: vault.name,
          resourceGroupName: rg.name,
          properties: {
            kty: "RSA-HSM",
            keySize: 3072,
            keyOps: ["wrapKey", "unwrapKey"],
            rotationPolicy: { lifetimeActions: [{ trigger: { timeAfterCreate: CMK_ROTATION }, action: { type: "rotate" } }] },
          },
          tags: ctx.labels,
        },
        data,
      );
      keyName = key.name;
      vaultUri = vault.properties.apply((p) => p.vaultUri ?? "");
      scope = key.id;
    }
    // Identity and grant are what the retained account needs to unwrap its key: without them the
    // data is unreadable (Azure Storage loses access to the data when it loses access to the key:
    // https://learn.microsoft.com/azure/storage/common/customer-managed-keys-overview), so they are kept like the data.
    const identity = new managedidentity.UserAssignedIdentity(
      `${name}-cmk-id`,
      { resourceName: identityName(ctx.stack, "storage-cmk"), resourceGroupName: rg.name, location: ctx.config.region, tags: ctx.labels },
      data,
    );
    const grant = new authorization.RoleAssignment(
      `${name}-cmk-grant`,
      {
        scope,
        principalId: identity.principalId,
        principalType: "ServicePrincipal",
        roleDefinitionId: roleDefinitionId(cluster.subscriptionId, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER),
        roleAssignmentName: pulumi.all([scope, identity.principalId]).apply(([s, p]) => roleAssignmentGuid(s, p, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)),
        description: `${ctx.stack} storage account: wrap/unwrap with its customer-managed key`,
      },
      data,
    );
    const keyUri = pulumi.interpolate`${vaultUri.apply((u) => u.replace(/\/$/, ""))}/keys/${keyName}`;
    return { keyName, vaultUri, keyUri, identityId: identity.id, grant };
  }
}
