/**
 * The hub's store gateway reading an Azure spoke's container with its projected ServiceAccount
 * token (pure; no SDK). The spoke's half (identity, federated credential, role) is in storage.ts.
 */
import type { ReaderPodRenderer } from "../reader-types";
import { AZURE_TOKEN_AUDIENCE } from "./render";

/** Entra ID's authority of the public cloud, as the workload identity webhook sets it. */
export const AZURE_AUTHORITY_HOST = "https://login.microsoftonline.com/";

/**
 * What the Azure workload identity webhook would inject, set by hand (the hub's pods carry no
 * webhook label: the hub may not even run on Azure): `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
 * `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_AUTHORITY_HOST` ("Azure AD Workload Identity, Mutating
 * Admission Webhook", https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html),
 * read by azidentity's WorkloadIdentityCredential inside DefaultAzureCredential, which Thanos
 * builds when its objstore file has neither key, connection string nor `user_assigned_id`.
 * `AZURE_TOKEN_CREDENTIALS` narrows DefaultAzureCredential to that one credential, so a
 * misconfigured pod fails on the token file instead of probing the instance metadata endpoint,
 * which does not exist off Azure. The token lives an hour, the lower bound of the webhook's own
 * `azure.workload.identity/service-account-token-expiration` (3600 to 86400 seconds, same page).
 */
export const azureReaderPod: ReaderPodRenderer<"azure"> = (identity, paths) => ({
  audience: AZURE_TOKEN_AUDIENCE,
  expirationSeconds: 3600,
  env: [
    { name: "AZURE_CLIENT_ID", value: identity.clientId },
    { name: "AZURE_TENANT_ID", value: identity.tenantId },
    { name: "AZURE_FEDERATED_TOKEN_FILE", value: paths.tokenFile },
    { name: "AZURE_AUTHORITY_HOST", value: AZURE_AUTHORITY_HOST },
    { name: "AZURE_TOKEN_CREDENTIALS", value: "WorkloadIdentityCredential" },
  ],
  files: {},
});
