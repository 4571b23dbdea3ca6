/**
 * Mock outputs of the MinIO resources the s3 module creates for a spoke whose identities the
 * stack creates (cloud s3, profile minio, `objectStorage.identities: created`), shaped like what
 * @pulumi/minio 0.17.1 returns (it wraps aminueza/terraform-provider-minio v1.20.1):
 * - a user's id and access key is its name; its secret, when not given, is 40 random bytes in
 *   URL-safe base64 (minio/utils.go generateSecretAccessKey) and its status `enabled`
 *   (madmin AccountEnabled; minio/resource_minio_iam_user.go);
 * - a policy's id is its name (minio/resource_minio_iam_policy.go);
 * - an attachment's id is the user name with a unique suffix (`id.PrefixedUniqueId("<user>-")`,
 *   minio/resource_minio_iam_user_policy_attachment.go).
 * The SDK marks IamUser's `secret` an additional secret output; the engine keeps it secret.
 */
import { hexOf, str, type OutputTable } from "./types";

export const minioOutputs: OutputTable = {
  "minio:index/iamUser:IamUser": (reg, ctx) => {
    const name = str(reg.inputs.name, reg.name);
    const secret = str(reg.inputs.secret, Buffer.from(hexOf(ctx, reg, 80, "secret"), "hex").toString("base64url").padEnd(56, "="));
    return { id: name, state: { name, secret, status: reg.inputs.disableUser === true ? "disabled" : "enabled", forceDestroy: reg.inputs.forceDestroy ?? false, disableUser: reg.inputs.disableUser ?? false, updateSecret: reg.inputs.updateSecret ?? false } };
  },
  "minio:index/iamPolicy:IamPolicy": (reg, ctx) => {
    const name = str(reg.inputs.name, `${str(reg.inputs.namePrefix, "terraform-")}${BigInt(`0x${hexOf(ctx, reg, 16)}`).toString().padStart(26, "0").slice(0, 26)}`);
    return { id: name, state: { name } };
  },
  "minio:index/iamUserPolicyAttachment:IamUserPolicyAttachment": (reg, ctx) => {
    const user = str(reg.inputs.userName, "user");
    return { id: `${user}-${BigInt(`0x${hexOf(ctx, reg, 16)}`).toString().padStart(26, "0").slice(0, 26)}`, state: {} };
  },
};
