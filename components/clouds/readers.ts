/**
 * The hub side of federated reads, for a spoke on any cloud: the pure per-cloud renderers,
 * reached through one function. Only pure modules are imported, so the hub loads no spoke
 * cloud's provider SDK.
 */
import type { FederatedIdentity } from "../contracts";
import { awsReaderPod } from "./aws/reader";
import { azureReaderPod } from "./azure/reader";
import { gcpReaderPod } from "./gcp/reader";
import type { ReaderPod, ReaderPodPaths } from "./reader-types";

export type * from "./reader-types";

/**
 * What the hub's store gateway pod needs to read a spoke's bucket as its federated reader.
 * `session` names the read in the spoke's audit log where the cloud records one (AWS).
 */
export function federatedReaderPod(identity: FederatedIdentity, paths: ReaderPodPaths, session: string): ReaderPod {
  switch (identity.cloud) {
    case "aws":
      return awsReaderPod(identity, paths, session);
    case "gcp":
      return gcpReaderPod(identity, paths, session);
    case "azure":
      return azureReaderPod(identity, paths, session);
  }
}
