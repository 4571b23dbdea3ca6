/**
 * The hub side of a federated read, shared by every cloud's pure reader renderer: what the hub's
 * store gateway pod for one spoke needs so that the spoke's cloud exchanges its projected
 * ServiceAccount token for short-lived read-only credentials. No SDK is loaded here.
 */
import type { FederatedIdentity } from "../contracts";

/** Where the hub mounts the token and the files its objstore client reads. */
export interface ReaderPodPaths {
  /** The projected ServiceAccount token file. */
  tokenFile: string;
  /** Directory of the extra files {@link ReaderPod.files} (mounted read-only). */
  filesDir: string;
}

/** What a federated reader pod carries besides its objstore file. */
export interface ReaderPod {
  /** Audience of the projected ServiceAccount token (what the spoke's cloud accepts). */
  audience: string;
  /** Lifetime of the projected token; kubelet refreshes it at 80 % of it. */
  expirationSeconds: number;
  /** Environment the objstore client's credential chain reads. */
  env: { name: string; value: string }[];
  /** Extra non-secret files, by name, mounted in {@link ReaderPodPaths.filesDir}. */
  files: Record<string, string>;
}

/** One cloud's renderer of the hub's reader pod for a spoke on that cloud. */
export type ReaderPodRenderer<C extends FederatedIdentity["cloud"]> = (identity: Extract<FederatedIdentity, { cloud: C }>, paths: ReaderPodPaths, session: string) => ReaderPod;
