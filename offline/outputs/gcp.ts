/**
 * Mock outputs of the GCP resources and invokes the GCP cloud module uses, shaped like what
 * the Google provider returns (self links, emails, ids, a base64 JSON key file).
 */
import { hexOf, ipOf, str, type InvokeTable, type MockContext, type MockRegistration, type OutputTable } from "./types";

const COMPUTE = "https://www.googleapis.com/compute/v1";

/** The project a resource lands in: its own `project` input, else the provider's. */
function projectOf(reg: MockRegistration): string {
  return str(reg.inputs.project, str(reg.providerInputs.project, "mock-project"));
}

function regionOf(reg: MockRegistration): string {
  return str(reg.inputs.region, str(reg.providerInputs.region, "europe-west3"));
}

/** A deterministic 12-digit project number for a project id. */
function projectNumber(ctx: MockContext, project: string): string {
  return BigInt(`0x${hexOf(ctx, { type: "project", name: project }, 10)}`).toString(10).padStart(12, "1").slice(0, 12);
}

/** Last path segment of a resource id or self link. */
function last(v: string): string {
  return v.split("/").pop() ?? v;
}

export const gcpOutputs: OutputTable = {
  "gcp:storage/bucket:Bucket": (reg) => {
    const name = str(reg.inputs.name, reg.name);
    const project = projectOf(reg);
    return {
      id: name,
      state: {
        name,
        project,
        url: `gs://${name}`,
        selfLink: `https://www.googleapis.com/storage/v1/b/${name}`,
        location: str(reg.inputs.location, "EU").toUpperCase(),
        storageClass: str(reg.inputs.storageClass, "STANDARD"),
        effectiveLabels: { ...((reg.providerInputs.defaultLabels ?? {}) as object), ...((reg.inputs.labels ?? {}) as object) },
      },
    };
  },
  "gcp:storage/bucketIAMMember:BucketIAMMember": (reg, ctx) => ({
    id: `b/${str(reg.inputs.bucket, "bucket")}/${str(reg.inputs.role, "role")}/${str(reg.inputs.member, "member")}`,
    state: { etag: `BwY${hexOf(ctx, reg, 8, "etag")}=` },
  }),
  "gcp:projects/iAMMember:IAMMember": (reg, ctx) => {
    const cond = reg.inputs.condition as { title?: string } | undefined;
    // The provider's id: project, role, member and (when conditioned) the condition title.
    const id = [projectOf(reg), str(reg.inputs.role, "role"), str(reg.inputs.member, "member"), ...(cond?.title !== undefined ? [cond.title] : [])].join("/");
    return { id, state: { etag: `BwY${hexOf(ctx, reg, 8, "etag")}=` } };
  },
  "gcp:projects/iAMCustomRole:IAMCustomRole": (reg) => {
    const project = projectOf(reg);
    const roleId = str(reg.inputs.roleId, reg.name);
    return { id: `projects/${project}/roles/${roleId}`, state: { name: `projects/${project}/roles/${roleId}`, project, roleId, deleted: false, stage: str(reg.inputs.stage, "GA") } };
  },
  "gcp:projects/service:Service": (reg) => ({ id: `${projectOf(reg)}/${str(reg.inputs.service, reg.name)}`, state: { project: projectOf(reg), service: str(reg.inputs.service, reg.name) } }),
  // Pools and providers are named by project number, as the IAM API returns them.
  "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": (reg, ctx) => {
    const project = projectOf(reg);
    const id = str(reg.inputs.workloadIdentityPoolId, reg.name);
    const name = `projects/${projectNumber(ctx, project)}/locations/global/workloadIdentityPools/${id}`;
    return { id: `projects/${project}/locations/global/workloadIdentityPools/${id}`, state: { name, project, workloadIdentityPoolId: id, state: "ACTIVE", mode: "FEDERATION_ONLY" } };
  },
  "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": (reg, ctx) => {
    const project = projectOf(reg);
    const pool = str(reg.inputs.workloadIdentityPoolId, "pool");
    const id = str(reg.inputs.workloadIdentityPoolProviderId, reg.name);
    const name = `projects/${projectNumber(ctx, project)}/locations/global/workloadIdentityPools/${pool}/providers/${id}`;
    return { id: `projects/${project}/locations/global/workloadIdentityPools/${pool}/providers/${id}`, state: { name, project, workloadIdentityPoolId: pool, workloadIdentityPoolProviderId: id, state: "ACTIVE" } };
  },
  "gcp:serviceaccount/account:Account": (reg, ctx) => {
    const project = projectOf(reg);
    const accountId = str(reg.inputs.accountId, reg.name);
    const email = `${accountId}@${project}.iam.gserviceaccount.com`;
    return {
      id: `projects/${project}/serviceAccounts/${email}`,
      state: {
        accountId,
        project,
        email,
        name: `projects/${project}/serviceAccounts/${email}`,
        member: `serviceAccount:${email}`,
        uniqueId: BigInt(`0x${hexOf(ctx, reg, 15, "uid")}`).toString(10).padStart(21, "1").slice(0, 21),
      },
    };
  },
  "gcp:serviceaccount/iAMMember:IAMMember": (reg, ctx) => ({
    id: `${str(reg.inputs.serviceAccountId, "sa")}/${str(reg.inputs.role, "role")}/${str(reg.inputs.member, "member")}`,
    state: { etag: `BwY${hexOf(ctx, reg, 8, "etag")}=` },
  }),
  "gcp:serviceaccount/key:Key": (reg, ctx) => {
    const account = str(reg.inputs.serviceAccountId, "projects/mock-project/serviceAccounts/mock@mock-project.iam.gserviceaccount.com");
    const email = last(account);
    const project = account.split("/")[1] ?? projectOf(reg);
    const keyId = hexOf(ctx, reg, 40, "key");
    // Fake key material: the JSON shape of a key file, with no usable private key.
    const file = {
      type: "service_account",
      project_id: project,
      private_key_id: keyId,
      private_key: `-----BEGIN PRIVATE KEY-----\nMOCK${hexOf(ctx, reg, 64, "pk")}\n-----END PRIVATE KEY-----\n`,
      client_email: email,
      client_id: BigInt(`0x${hexOf(ctx, reg, 15, "cid")}`).toString(10),
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: "https://oauth2.googleapis.com/token",
      auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
      universe_domain: "googleapis.com",
    };
    return {
      id: `${account}/keys/${keyId}`,
      state: {
        name: `${account}/keys/${keyId}`,
        privateKey: Buffer.from(JSON.stringify(file, null, 2)).toString("base64"),
        publicKey: Buffer.from(`-----BEGIN CERTIFICATE-----\nMOCK${keyId}\n-----END CERTIFICATE-----\n`).toString("base64"),
        keyAlgorithm: "KEY_ALG_RSA_2048",
        privateKeyType: "TYPE_GOOGLE_CREDENTIALS_FILE",
        validAfter: "2026-01-01T00:00:00Z",
        validBefore: "9999-12-31T23:59:59Z",
      },
    };
  },
  "gcp:kms/keyRing:KeyRing": (reg) => {
    const id = `projects/${projectOf(reg)}/locations/${str(reg.inputs.location, "europe-west3")}/keyRings/${str(reg.inputs.name, reg.name)}`;
    return { id, state: { name: str(reg.inputs.name, reg.name) } };
  },
  "gcp:kms/cryptoKey:CryptoKey": (reg) => {
    const ring = str(reg.inputs.keyRing, "projects/mock-project/locations/europe-west3/keyRings/mock");
    const name = str(reg.inputs.name, reg.name);
    return { id: `${ring}/cryptoKeys/${name}`, state: { name, primaries: [{ name: `${ring}/cryptoKeys/${name}/cryptoKeyVersions/1`, state: "ENABLED" }] } };
  },
  "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": (reg, ctx) => ({
    id: `${str(reg.inputs.cryptoKeyId, "key")}/${str(reg.inputs.role, "role")}/${str(reg.inputs.member, "member")}`,
    state: { etag: `BwY${hexOf(ctx, reg, 8, "etag")}=` },
  }),
  "gcp:compute/address:Address": (reg, ctx) => {
    const project = projectOf(reg);
    const region = regionOf(reg);
    const name = str(reg.inputs.name, reg.name);
    const selfLink = `${COMPUTE}/projects/${project}/regions/${region}/addresses/${name}`;
    return { id: `projects/${project}/regions/${region}/addresses/${name}`, state: { name, project, region, address: ipOf(ctx, reg), selfLink, networkTier: str(reg.inputs.networkTier, "PREMIUM"), users: [], creationTimestamp: "2026-01-01T00:00:00.000-08:00" } };
  },
  "gcp:compute/router:Router": (reg) => {
    const project = projectOf(reg);
    const region = regionOf(reg);
    const name = str(reg.inputs.name, reg.name);
    return { id: `projects/${project}/regions/${region}/routers/${name}`, state: { name, project, region, selfLink: `${COMPUTE}/projects/${project}/regions/${region}/routers/${name}` } };
  },
  "gcp:compute/routerNat:RouterNat": (reg) => {
    const project = projectOf(reg);
    const region = regionOf(reg);
    const name = str(reg.inputs.name, reg.name);
    return { id: `${project}/${region}/${str(reg.inputs.router, "router")}/${name}`, state: { name, project, region } };
  },
};

export const gcpInvokes: InvokeTable = {
  "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": (call, ctx) => {
    const project = str(call.inputs.project, str(call.providerInputs.project, "mock-project"));
    const email = `service-${projectNumber(ctx, project)}@gs-project-accounts.iam.gserviceaccount.com`;
    return { id: email, project, emailAddress: email, member: `serviceAccount:${email}` };
  },
  "gcp:compute/getAddress:getAddress": (call, ctx) => {
    const project = str(call.inputs.project, str(call.providerInputs.project, "mock-project"));
    const region = str(call.inputs.region, str(call.providerInputs.region, "europe-west3"));
    const name = str(call.inputs.name, "address");
    return {
      id: `projects/${project}/regions/${region}/addresses/${name}`,
      name,
      project,
      region,
      address: ipOf(ctx, { type: "gcp:compute/address:Address", name }),
      addressType: "EXTERNAL",
      networkTier: "PREMIUM",
      status: "IN_USE",
      selfLink: `${COMPUTE}/projects/${project}/regions/${region}/addresses/${name}`,
    };
  },
};
