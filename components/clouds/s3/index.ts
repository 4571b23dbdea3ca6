/**
 * The S3-compatible implementation of the cloud seam (`observability:cloud: s3`): any Kubernetes
 * cluster next to an S3-compatible service (Open Telekom Cloud, STACKIT, IONOS, Ceph RGW, MinIO,
 * or one the project knows nothing of). The AWS provider talks to the service's S3 API; what the
 * service can express is its profile's (./profiles.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CloudModule } from "../types";
import type { S3Config } from "./context";
import { S3CompatibleEgress } from "./egress";
import { s3Endpoint } from "./context";
import { s3ProviderArgs } from "./render";
import { S3CompatibleStorage } from "./storage";

export * from "./context";
export * from "./egress";
export * from "./names";
export * from "./profiles";
export * from "./render";
export * from "./storage";

function asS3Config(config: Parameters<CloudModule["createProvider"]>[1]): S3Config {
  if (config.cloud !== "s3") throw new Error(`stack ${config.stack} targets ${config.cloud}, not s3`);
  return config as S3Config;
}

/** The S3-compatible cloud module. */
export const s3Cloud: CloudModule = {
  createProvider(name, config) {
    const c = asS3Config(config);
    const provisioner = c.objectStorage.credentials.provisioner;
    return new aws.Provider(name, {
      ...s3ProviderArgs(s3Endpoint(c)),
      accessKey: pulumi.secret(provisioner.accessKey),
      secretKey: pulumi.secret(provisioner.secretKey),
    });
  },
  createStorage(name, ctx, args, opts) {
    return new S3CompatibleStorage(name, { ...args, context: ctx }, opts);
  },
  createEgress(name, ctx, args, opts) {
    return new S3CompatibleEgress(name, { ...args, context: ctx }, opts);
  },
  serviceAccountIssuer() {
    // No federation with these services: the hub reads them with a key.
    return undefined;
  },
  loadBalancerAnnotations(config) {
    if (config === undefined) throw new Error("cloud s3 adopts the operator's load-balancer annotations: pass the stack's configuration");
    return { ...asS3Config(config).network.loadBalancerAnnotations };
  },
};
