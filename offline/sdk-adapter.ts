/**
 * The only place the offline engine touches `@pulumi/pulumi` beyond its public API.
 *
 * Written against `@pulumi/pulumi` **3.270.0** (the version pinned in package.json; see
 * {@link SDK_VERSION}). Pulumi's public mock API (`pulumi.runtime.setMocks`) hands the mocks
 * neither `protect`, `retainOnDelete` nor `dependsOn` of a registration, and gives no way to wait
 * until every registration has been answered, so the engine needs these internals:
 *
 * - `@pulumi/pulumi/runtime/mocks` `MockMonitor`: the monitor `setMocks` installs. The engine
 *   subclasses it ({@link RecordingMonitor} in ./monitor.ts) to see the raw
 *   `RegisterResourceRequest` (the options above, `additionalSecretOutputs`, inputs with their
 *   secrets still marked) while keeping Pulumi's own mock behaviour (URNs, StackReferences,
 *   invokes, `registerResourceOutputs`). Source: pulumi/pulumi sdk/nodejs/runtime/mocks.ts
 *   (v3.270.0), `class MockMonitor`, `registerResource(req, callback)`.
 * - `@pulumi/pulumi/runtime/settings` `setMockOptions(monitor, project, stack, preview, organization)`:
 *   the only way to install a monitor of our own; `setMocks` calls it with a fresh `MockMonitor`.
 *   Source: sdk/nodejs/runtime/settings.ts (v3.270.0).
 * - `@pulumi/pulumi/runtime/state` `getStore()`: `setMockOptions` resets the runtime options, while
 *   the feature flags (`supportsSecrets`, `supportsResourceReferences`, ...) that `setMocks` turned
 *   on live in this store; they are copied back after the swap, else secrets would be sent as plain
 *   values and resource references as URNs. Source: sdk/nodejs/runtime/state.ts and
 *   sdk/nodejs/runtime/mocks.ts `setMocks` (v3.270.0).
 * - `@pulumi/pulumi/runtime/settings` `waitForRPCs()`: resolves when the SDK's RPC queue has
 *   drained, i.e. every registration of the program has reached the monitor.
 * - `@pulumi/pulumi/proto/resource_pb` `RegisterResourceRequest` / `RegisterResourceResponse`
 *   getters ({@link RegisterResourceRequestView}): generated protobuf accessors the monitor reads.
 *
 * test/sdk-adapter.test.ts checks every item of {@link SDK_INTERNALS} and {@link MOCK_FEATURE_FLAGS}
 * and runs a one-resource program through this adapter: after a `@pulumi/pulumi` upgrade it fails
 * naming the internal that moved, instead of the plan silently losing `protect` or secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor, type Mocks } from "@pulumi/pulumi/runtime/mocks";

export { MockMonitor };
export type { Mocks };

/** The `@pulumi/pulumi` version this adapter was written and checked against. */
export const SDK_VERSION = "3.270.0";

/** One SDK internal the engine relies on: where it is, its shape, and why the engine needs it. */
export interface SdkInternal {
  /** Module path under the package (`@pulumi/pulumi/runtime/settings`). */
  module: string;
  /** Export name; `Class#method` for a prototype method. */
  name: string;
  /** Declared parameter count (`Function.length`), checked so a changed signature is noticed. */
  arity: number;
  why: string;
}

/** Every non-public SDK entry point the engine (and the config loader) calls, as of {@link SDK_VERSION}. */
export const SDK_INTERNALS: readonly SdkInternal[] = [
  { module: "@pulumi/pulumi/runtime/mocks", name: "MockMonitor", arity: 1, why: "base class of the recording monitor (constructor(mocks))" },
  { module: "@pulumi/pulumi/runtime/mocks", name: "MockMonitor#registerResource", arity: 2, why: "overridden to record each raw registration (req, callback)" },
  { module: "@pulumi/pulumi/runtime/settings", name: "setMockOptions", arity: 5, why: "installs the recording monitor (monitor, project, stack, preview, organization)" },
  { module: "@pulumi/pulumi/runtime/settings", name: "waitForRPCs", arity: 0, why: "waits until every registration has reached the monitor" },
  { module: "@pulumi/pulumi/runtime/state", name: "getStore", arity: 0, why: "feature flags setMocks enabled are copied back after the monitor swap" },
  // Not the engine's, but the same kind of dependency: components/config/index.ts asks the SDK
  // whether a config key is secret (it has a documented fallback, the language host's env var).
  { module: "@pulumi/pulumi/runtime/config", name: "isConfigSecret", arity: 1, why: "components/config tells secure: values from plain ones" },
];

/**
 * The runtime store's feature flags as of {@link SDK_VERSION} (sdk/nodejs/runtime/state.ts
 * `LocalStore`). The adapter copies every `supports*` flag, so a new one is carried over; the
 * test pins this list so that a flag appearing or disappearing is reviewed, not silently copied.
 */
export const MOCK_FEATURE_FLAGS: readonly string[] = [
  "supportsSecrets",
  "supportsResourceReferences",
  "supportsOutputValues",
  "supportsDeletedWith",
  "supportsReplaceWith",
  "supportsAliasSpecs",
  "supportsTransforms",
  "supportsInvokeTransforms",
  "supportsParameterization",
  "supportsResourceHooks",
  "supportsErrorHooks",
  "supportsInvokeDependsOn",
  "supportsStateMigrations",
];

/** The getters of the generated `RegisterResourceRequest` (proto/resource_pb) the monitor reads. */
export interface RegisterResourceRequestView {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDependenciesList(): string[];
  getProvider(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getAdditionalsecretoutputsList(): string[];
}

/** The getters of the generated `RegisterResourceResponse` the monitor reads. */
export interface RegisterResourceResponseView {
  getUrn(): string;
  getId(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}

/** Names of the request/response getters above, for the upgrade test. */
export const REGISTER_REQUEST_GETTERS: readonly (keyof RegisterResourceRequestView)[] = [
  "getType", "getName", "getParent", "getCustom", "getProtect", "getRetainondelete",
  "getDependenciesList", "getProvider", "getObject", "getAdditionalsecretoutputsList",
];
export const REGISTER_RESPONSE_GETTERS: readonly (keyof RegisterResourceResponseView)[] = ["getUrn", "getId", "getObject"];

interface SettingsModule {
  setMockOptions(monitor: unknown, project?: string, stack?: string, preview?: boolean, organization?: string): void;
  waitForRPCs(): Promise<void>;
}
interface StateModule {
  getStore(): Record<string, unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = (): SettingsModule => require("@pulumi/pulumi/runtime/settings") as SettingsModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const state = (): StateModule => require("@pulumi/pulumi/runtime/state") as StateModule;

/** The runtime store (`runtime/state` `getStore()`), for the upgrade test. */
export function runtimeStore(): Record<string, unknown> {
  return state().getStore();
}

/** Where a program runs. */
export interface MockTarget {
  project: string;
  stack: string;
  organization: string;
}

/**
 * Runs `setMocks` (public API: it enables the mock feature flags) and then installs `makeMonitor(mocks)`
 * in place of Pulumi's own `MockMonitor`, keeping the feature flags `setMocks` set.
 * Call once per process, before the program registers anything.
 */
export async function installMonitor<M extends MockMonitor>(mocks: Mocks, makeMonitor: (mocks: Mocks) => M, target: MockTarget): Promise<M> {
  await pulumi.runtime.setMocks(mocks, target.project, target.stack, false, target.organization);
  const store = state().getStore();
  const features = Object.fromEntries(Object.entries(store).filter(([k]) => k.startsWith("supports")));
  const monitor = makeMonitor(mocks);
  settings().setMockOptions(monitor, target.project, target.stack, false, target.organization);
  Object.assign(state().getStore(), features);
  return monitor;
}

/** Resolves once every RPC the program started (registrations, invokes) has been sent and answered. */
export function waitForRPCs(): Promise<void> {
  return settings().waitForRPCs();
}
