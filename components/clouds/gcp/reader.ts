/**
 * The hub's store gateway reading a GCP spoke's bucket with its projected ServiceAccount token
 * (pure; no SDK). The spoke's half (pool, provider, conditioned grant) is in storage.ts.
 */
import type { ReaderPodRenderer } from "../reader-types";

/** Google's STS token endpoint (RFC 8693 token exchange). */
export const GOOGLE_STS_TOKEN_URL = "https://sts.googleapis.com/v1/token";
/** The credential configuration file's name in the reader's files directory. */
export const GOOGLE_CREDENTIALS_FILE = "google-credentials.json";

/**
 * A file-sourced `external_account` credential configuration, as `gcloud iam
 * workload-identity-pools create-cred-config --credential-source-file` writes it ("Workload
 * Identity Federation with Kubernetes", deploy a workload: create a credential configuration,
 * https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes): the projected
 * token is the subject token, exchanged at STS for a federated access token of the pool's
 * principal, which the conditioned grant on the metrics bucket admits. No service account is
 * impersonated, so no `service_account_impersonation_url`.
 */
export function externalAccountCredentials(audience: string, tokenFile: string): Record<string, unknown> {
  return {
    universe_domain: "googleapis.com",
    type: "external_account",
    audience,
    subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
    token_url: GOOGLE_STS_TOKEN_URL,
    credential_source: { file: tokenFile, format: { type: "text" } },
  };
}

/**
 * Thanos' GCS client, with no `service_account` in its objstore file, takes Application Default
 * Credentials, which read `GOOGLE_APPLICATION_CREDENTIALS` and accept an `external_account` file.
 * The token's audience is the provider's resource name, which the provider accepts when it has no
 * `allowedAudiences`.
 */
export const gcpReaderPod: ReaderPodRenderer<"gcp"> = (identity, paths) => ({
  audience: identity.audience,
  expirationSeconds: 3600,
  env: [{ name: "GOOGLE_APPLICATION_CREDENTIALS", value: `${paths.filesDir}/${GOOGLE_CREDENTIALS_FILE}` }],
  files: { [GOOGLE_CREDENTIALS_FILE]: `${JSON.stringify(externalAccountCredentials(identity.audience, paths.tokenFile), null, 2)}\n` },
});
