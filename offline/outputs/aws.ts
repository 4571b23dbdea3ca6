/**
 * Mock outputs of the AWS resources and invokes the AWS cloud module uses, shaped like what
 * the AWS provider returns: ARNs in the provider's account and region, `vpce-`/`nat-`/
 * `eipalloc-` ids, AKIA access key ids, documentation-range public IPs.
 */
import { hexOf, ipOf, str, type InvokeTable, type MockContext, type MockRegistration, type OutputTable } from "./types";

/** The region a resource lands in: its own `region` input, else the provider's. */
function regionOf(reg: Pick<MockRegistration, "inputs" | "providerInputs">): string {
  return str(reg.inputs.region, str(reg.providerInputs.region, "eu-central-1"));
}

/** A provider input: providers receive non-string inputs as JSON text. */
function providerInput(reg: Pick<MockRegistration, "providerInputs">, key: string): unknown {
  const v = reg.providerInputs[key];
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** The account of the provider (`allowedAccountIds[0]`), as the real provider would be pinned. */
function accountOf(reg: Pick<MockRegistration, "providerInputs">): string {
  const ids = providerInput(reg, "allowedAccountIds");
  return Array.isArray(ids) && typeof ids[0] === "string" ? ids[0] : "123456789012";
}

function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("eusc-")) return "aws-eusc";
  return "aws";
}

/** A 17-hex-digit EC2 style id with a prefix (`vpce-0a1b...`). */
function ec2Id(ctx: MockContext, reg: MockRegistration, prefix: string): string {
  return `${prefix}-0${hexOf(ctx, reg, 16, prefix)}`;
}

/** Upper-case alphanumerics as IAM unique ids and access key ids use them. */
function iamId(ctx: MockContext, reg: MockRegistration, prefix: string, salt: string): string {
  return `${prefix}${hexOf(ctx, reg, 16, salt).toUpperCase()}`;
}

/** A tag map with the provider's default tags merged in, as `tagsAll` reports it. */
function tagsAll(reg: MockRegistration): Record<string, unknown> {
  const defaults = (providerInput(reg, "defaultTags") ?? {}) as { tags?: Record<string, unknown> };
  const own = (reg.inputs.tags ?? {}) as Record<string, unknown>;
  return { ...(defaults.tags ?? {}), ...own };
}

export const awsOutputs: OutputTable = {
  "aws:s3/bucket:Bucket": (reg) => {
    const region = regionOf(reg);
    const bucket = str(reg.inputs.bucket, reg.name);
    return {
      id: bucket,
      state: {
        bucket,
        arn: `arn:${partitionOf(region)}:s3:::${bucket}`,
        region,
        bucketDomainName: `${bucket}.s3.amazonaws.com`,
        bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`,
        hostedZoneId: "Z21DNDUVLTQW6Q",
        tagsAll: tagsAll(reg),
      },
    };
  },
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (reg) => ({ id: str(reg.inputs.bucket, reg.name), state: {} }),
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (reg) => ({ id: str(reg.inputs.bucket, reg.name), state: {} }),
  "aws:s3/bucketVersioning:BucketVersioning": (reg) => ({ id: str(reg.inputs.bucket, reg.name), state: {} }),
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (reg) => ({ id: str(reg.inputs.bucket, reg.name), state: {} }),
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (reg) => ({ id: str(reg.inputs.bucket, reg.name), state: {} }),
  "aws:s3/bucketPolicy:BucketPolicy": (reg) => ({ id: str(reg.inputs.bucket, reg.name), state: {} }),
  "aws:kms/key:Key": (reg, ctx) => {
    const region = regionOf(reg);
    const h = hexOf(ctx, reg, 32, "key");
    const keyId = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    return {
      id: keyId,
      state: { keyId, arn: `arn:${partitionOf(region)}:kms:${region}:${accountOf(reg)}:key/${keyId}`, keyUsage: "ENCRYPT_DECRYPT", customerMasterKeySpec: "SYMMETRIC_DEFAULT", isEnabled: true, tagsAll: tagsAll(reg) },
    };
  },
  "aws:kms/alias:Alias": (reg) => {
    const region = regionOf(reg);
    const name = str(reg.inputs.name, `alias/${reg.name}`);
    return { id: name, state: { name, arn: `arn:${partitionOf(region)}:kms:${region}:${accountOf(reg)}:${name}`, targetKeyArn: `arn:${partitionOf(region)}:kms:${region}:${accountOf(reg)}:key/${str(reg.inputs.targetKeyId, "unknown")}` } };
  },
  "aws:iam/role:Role": (reg, ctx) => {
    const name = str(reg.inputs.name, `${reg.name}-${hexOf(ctx, reg, 7)}`);
    const path = str(reg.inputs.path, "/");
    return { id: name, state: { name, path, arn: `arn:${partitionOf(regionOf(reg))}:iam::${accountOf(reg)}:role${path}${name}`, uniqueId: iamId(ctx, reg, "AROA", "role"), createDate: "2026-01-01T00:00:00Z", tagsAll: tagsAll(reg) } };
  },
  "aws:iam/rolePolicy:RolePolicy": (reg, ctx) => {
    const name = str(reg.inputs.name, `${reg.name}-${hexOf(ctx, reg, 7)}`);
    return { id: `${str(reg.inputs.role, "role")}:${name}`, state: { name } };
  },
  // IAM names an OIDC provider by the issuer's host and path.
  "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (reg) => {
    const url = new URL(str(reg.inputs.url, "https://issuer.invalid"));
    const arn = `arn:${partitionOf(regionOf(reg))}:iam::${accountOf(reg)}:oidc-provider/${`${url.host}${url.pathname}`.replace(/\/+$/, "")}`;
    return { id: arn, state: { arn, tagsAll: tagsAll(reg) } };
  },
  "aws:iam/user:User": (reg, ctx) => {
    const name = str(reg.inputs.name, `${reg.name}-${hexOf(ctx, reg, 7)}`);
    const path = str(reg.inputs.path, "/");
    return { id: name, state: { name, path, arn: `arn:${partitionOf(regionOf(reg))}:iam::${accountOf(reg)}:user${path}${name}`, uniqueId: iamId(ctx, reg, "AIDA", "user"), tagsAll: tagsAll(reg) } };
  },
  "aws:iam/userPolicy:UserPolicy": (reg, ctx) => {
    const name = str(reg.inputs.name, `${reg.name}-${hexOf(ctx, reg, 7)}`);
    return { id: `${str(reg.inputs.user, "user")}:${name}`, state: { name } };
  },
  "aws:iam/accessKey:AccessKey": (reg, ctx) => {
    const id = iamId(ctx, reg, "AKIA", "access-key");
    const secret = Buffer.from(hexOf(ctx, reg, 60, "secret"), "hex").toString("base64").slice(0, 40);
    return { id, state: { status: str(reg.inputs.status, "Active"), secret, createDate: "2026-01-01T00:00:00Z" } };
  },
  "aws:eks/podIdentityAssociation:PodIdentityAssociation": (reg, ctx) => {
    const region = regionOf(reg);
    const associationId = `a-${hexOf(ctx, reg, 17, "association")}`;
    const cluster = str(reg.inputs.clusterName, "cluster");
    return {
      id: `${cluster},${associationId}`,
      state: { associationId, associationArn: `arn:${partitionOf(region)}:eks:${region}:${accountOf(reg)}:podidentityassociation/${cluster}/${associationId}`, tagsAll: tagsAll(reg) },
    };
  },
  "aws:ec2/vpcEndpoint:VpcEndpoint": (reg, ctx) => {
    const region = regionOf(reg);
    const id = ec2Id(ctx, reg, "vpce");
    return { id, state: { arn: `arn:${partitionOf(region)}:ec2:${region}:${accountOf(reg)}:vpc-endpoint/${id}`, state: "available", prefixListId: `pl-${hexOf(ctx, reg, 8, "pl")}`, ownerId: accountOf(reg), tagsAll: tagsAll(reg) } };
  },
  "aws:ec2/eip:Eip": (reg, ctx) => {
    const region = regionOf(reg);
    // A read (`Eip.get`) is answered with the id it asked for: the allocation id adopted.
    const allocationId = ec2Id(ctx, reg, "eipalloc");
    const publicIp = ipOf(ctx, reg, "eip");
    return {
      id: allocationId,
      state: { allocationId, publicIp, domain: "vpc", publicDns: `ec2-${publicIp.replace(/\./g, "-")}.${region}.compute.amazonaws.com`, arn: `arn:${partitionOf(region)}:ec2:${region}:${accountOf(reg)}:elastic-ip/${allocationId}`, tagsAll: tagsAll(reg) },
    };
  },
  "aws:ec2/natGateway:NatGateway": (reg, ctx) => {
    const id = ec2Id(ctx, reg, "nat");
    return { id, state: { networkInterfaceId: ec2Id(ctx, reg, "eni"), privateIp: `10.0.${parseInt(hexOf(ctx, reg, 2, "ip"), 16) % 255}.${1 + (parseInt(hexOf(ctx, reg, 2, "ip2"), 16) % 253)}`, tagsAll: tagsAll(reg) } };
  },
  "aws:ec2/route:Route": (reg) => ({ id: `r-${str(reg.inputs.routeTableId, "rtb")}1080289494`, state: { state: "active", origin: "CreateRoute" } }),
};

/** Invokes the AWS module may make: adopting an EIP by public IP, resolving a KMS alias. */
export const awsInvokes: InvokeTable = {
  "aws:ec2/getElasticIp:getElasticIp": (call, ctx) => {
    const publicIp = str(call.inputs.publicIp, ipOf(ctx, { type: call.token, name: str(call.inputs.id, "eip") }, "eip"));
    const allocationId = str(call.inputs.id, `eipalloc-0${hexOf(ctx, { type: call.token, name: publicIp }, 16)}`);
    return { id: allocationId, publicIp, domain: "vpc" };
  },
  "aws:kms/getKey:getKey": (call, ctx) => {
    const region = regionOf({ inputs: call.inputs, providerInputs: call.providerInputs });
    const h = hexOf(ctx, { type: call.token, name: str(call.inputs.keyId, "key") }, 32);
    const keyId = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    return { id: keyId, arn: `arn:${partitionOf(region)}:kms:${region}:${accountOf({ providerInputs: call.providerInputs })}:key/${keyId}`, keyState: "Enabled" };
  },
};
