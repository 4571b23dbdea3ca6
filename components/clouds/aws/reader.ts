/**
 * The hub's store gateway reading an AWS spoke's bucket with its projected ServiceAccount token
 * (pure; no SDK). The spoke's half (OIDC provider, role, policies) is in storage.ts.
 */
import type { ReaderPodRenderer } from "../reader-types";
import { AWS_STS_AUDIENCE } from "./render";

/**
 * Web identity for the AWS SDK's default chain, which Thanos uses with `aws_sdk_auth: true`:
 * `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` make it call `AssumeRoleWithWebIdentity`
 * (aws-sdk-go-v2 config, "web identity token" provider; the same variables the EKS Pod Identity
 * Webhook injects, https://github.com/aws/amazon-eks-pod-identity-webhook README). The SDK's STS
 * client takes the region Thanos passes (the objstore file's `region`, the bucket's) and calls
 * `https://sts.<region>.amazonaws.com` (aws-sdk-go-v2 service/sts endpoints.go at the version
 * Thanos v0.42.4 links); `AWS_REGION` says the same for any other client in the pod. The session
 * name shows in the spoke's CloudTrail which hub read. Beware: the minio client Thanos wraps the
 * SDK in signs anonymously when the SDK returns no credentials (minio-go credentials chain.go), so a
 * broken federation shows as Access Denied, not as an STS error.
 */
export const awsReaderPod: ReaderPodRenderer<"aws"> = (identity, paths, session) => ({
  audience: AWS_STS_AUDIENCE,
  // One hour; kubelet rotates a projected token once it is older than 80 % of its lifetime
  // (Kubernetes "Projected Volumes", serviceAccountToken), so the file is always valid when read.
  expirationSeconds: 3600,
  env: [
    { name: "AWS_ROLE_ARN", value: identity.roleArn },
    { name: "AWS_WEB_IDENTITY_TOKEN_FILE", value: paths.tokenFile },
    { name: "AWS_REGION", value: identity.region },
    { name: "AWS_ROLE_SESSION_NAME", value: session.replace(/[^\w+=,.@-]/g, "-").slice(0, 64) },
  ],
  files: {},
});
