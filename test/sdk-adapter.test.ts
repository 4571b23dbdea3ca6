/**
 * The offline engine's `@pulumi/pulumi` internals (offline/sdk-adapter.ts): every internal module
 * resolves, every function has the signature the adapter was written against, the runtime store
 * has the feature flags the adapter carries over, and a one-resource program run under the
 * adapter is recorded with protect, retainOnDelete, dependsOn and its secret still marked.
 * A `@pulumi/pulumi` upgrade that moves any of these fails here, naming what moved.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { RecordingMonitor } from "../offline/monitor";
import {
  installMonitor,
  MOCK_FEATURE_FLAGS,
  REGISTER_REQUEST_GETTERS,
  REGISTER_RESPONSE_GETTERS,
  runtimeStore,
  SDK_INTERNALS,
  SDK_VERSION,
  waitForRPCs,
} from "../offline/sdk-adapter";
import { SECRET_SIG, SIG_KEY } from "../offline/values";

const installed = (JSON.parse(readFileSync(require.resolve("@pulumi/pulumi/package.json"), "utf8")) as { version: string }).version;
const upgradeHint = `offline/sdk-adapter.ts was written against @pulumi/pulumi ${SDK_VERSION}, installed is ${installed}`;

/** The smallest custom resource: a type token and inputs, as a provider SDK's generated class passes them. */
class Thing extends pulumi.CustomResource {
  constructor(type: string, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super(type, name, props, opts);
  }
}

function urnOf(r: pulumi.Resource): Promise<string> {
  return new Promise((resolve) => r.urn.apply((u) => { resolve(u); return u; }));
}

function load(module: string): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(module) as Record<string, unknown>;
}

describe("SDK internals used by the offline engine", () => {
  it("the adapter has been reviewed for the installed @pulumi/pulumi", () => {
    assert.equal(installed, SDK_VERSION, `${upgradeHint}: re-check every internal listed there, then update SDK_VERSION`);
  });

  for (const internal of SDK_INTERNALS) {
    it(`${internal.module} ${internal.name} exists with ${internal.arity} parameter(s) (${internal.why})`, () => {
      assert.doesNotThrow(() => require.resolve(internal.module), `${upgradeHint}: module ${internal.module} no longer resolves`);
      const mod = load(internal.module);
      const [exported, method] = internal.name.split("#");
      const value = mod[exported];
      assert.equal(typeof value, "function", `${upgradeHint}: ${internal.module} no longer exports ${exported}`);
      const fn = method === undefined ? (value as (...a: unknown[]) => unknown) : ((value as { prototype: Record<string, unknown> }).prototype[method] as (...a: unknown[]) => unknown);
      assert.equal(typeof fn, "function", `${upgradeHint}: ${internal.name} is gone`);
      assert.equal(fn.length, internal.arity, `${upgradeHint}: ${internal.module} ${internal.name} now takes ${fn.length} parameter(s)`);
    });
  }

  it("the generated RegisterResource request/response still have the getters the monitor reads", () => {
    const pb = load("@pulumi/pulumi/proto/resource_pb");
    const proto = (name: string): Record<string, unknown> => (pb[name] as { prototype: Record<string, unknown> }).prototype;
    for (const g of REGISTER_REQUEST_GETTERS) assert.equal(typeof proto("RegisterResourceRequest")[g], "function", `${upgradeHint}: RegisterResourceRequest.${g} is gone`);
    for (const g of REGISTER_RESPONSE_GETTERS) assert.equal(typeof proto("RegisterResourceResponse")[g], "function", `${upgradeHint}: RegisterResourceResponse.${g} is gone`);
  });

  it("the runtime store has exactly the feature flags the adapter carries across the monitor swap", () => {
    const flags = Object.keys(runtimeStore()).filter((k) => k.startsWith("supports")).sort();
    assert.deepEqual(flags, [...MOCK_FEATURE_FLAGS].sort(), `${upgradeHint}: the store's supports* flags changed; check what setMocks enables and update MOCK_FEATURE_FLAGS`);
  });

  it("a program under the adapter is recorded with protect, retainOnDelete, dependsOn and its secret marked", async () => {
    const mocks: pulumi.runtime.Mocks = {
      newResource: async (args) => ({ id: `${args.name}-id`, state: args.inputs as Record<string, unknown> }),
      call: async () => ({}),
    };
    const monitor = await installMonitor(mocks, (m) => new RecordingMonitor(m), { project: "sovereign-observability", stack: "adapter-test", organization: "organization" });
    const store = runtimeStore();
    // setMocks turns these on; without them secrets would reach the monitor in clear text.
    assert.equal(store.supportsSecrets, true, `${upgradeHint}: supportsSecrets lost in the monitor swap`);
    assert.equal(store.supportsResourceReferences, true, `${upgradeHint}: supportsResourceReferences lost in the monitor swap`);

    const key = new Thing("sovereign:test:Key", "key", { size: 1 });
    const bucket = new Thing("sovereign:test:Bucket", "bucket", { token: pulumi.secret("s3cr3t") }, { protect: true, retainOnDelete: true, dependsOn: [key] });
    const [bucketUrn, keyUrn] = await Promise.all([urnOf(bucket), urnOf(key)]);
    await waitForRPCs();
    while (monitor.pending() > 0) await new Promise((r) => setTimeout(r, 5));

    const recorded = monitor.recorded.find((r) => r.urn === bucketUrn);
    assert.ok(recorded, `${upgradeHint}: the recording monitor saw no registration of ${bucketUrn} (saw ${monitor.recorded.map((r) => r.urn).join(", ")})`);
    assert.deepEqual(recorded.options, { protect: true, retainOnDelete: true, dependsOn: [keyUrn] });
    assert.equal(recorded.type, "sovereign:test:Bucket");
    assert.equal(recorded.custom, true);
    assert.deepEqual(recorded.inputs.token, { [SIG_KEY]: SECRET_SIG, value: "s3cr3t" }, "the secret input must reach the monitor marked as a secret");
    const plain = monitor.recorded.find((r) => r.urn === keyUrn);
    assert.deepEqual(plain?.options, { protect: false, retainOnDelete: false, dependsOn: [] });
    assert.equal(plain?.id, "key-id");
  });
});
