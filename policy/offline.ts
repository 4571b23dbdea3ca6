/**
 * The pack, offline: evaluates the same policy objects the CLI serves on a stack run of the
 * offline engine. Resources are handed over in the shape CrossGuard gives them: `props` are
 * the revealed inputs (resource policies, as `Analyze` sees them) or inputs merged with
 * outputs (stack policies, as `AnalyzeStack` sees them), secrets revealed as the CLI does,
 * the explicit provider with its inputs (a default provider is named `default`, as the
 * engine names it), dependencies resolved to resources, and the stack's root resource
 * (`pulumi:pulumi:Stack`) whose outputs are the stack's outputs (the engine records no root
 * resource, so the adapter adds it from the run's outputs). One addition: `opts.retainOnDelete`,
 * which the engine records and CrossGuard does not yet expose.
 */
import type {
  EnforcementLevel,
  Policies,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { StackRun } from "../offline";
import { reveal } from "../offline/values";
import { defaultReaderAuth } from "../components/config/schema";
import { readStackFile } from "../components/config/stackfile";
import { REPO_ROOT } from "../toolchain";
import { cloudOfType, isObj, type StackPolicyConfig } from "./lib";
import { allPolicies } from "./policies";

/** One reported violation. */
export interface Violation {
  policy: string;
  enforcementLevel: EnforcementLevel;
  /** The resource in violation, or the stack's URN for stack-wide findings. */
  urn: string;
  message: string;
}

/** Options of {@link evaluatePolicies}. */
export interface EvaluateOptions {
  /** Policies to run (default: the whole pack). */
  policies?: Policies;
  /** The stack's declaration (default: from the run's own `observability:*` config). */
  config?: StackPolicyConfig;
  /** Stack tags, as the CLI would pass them (default: none). */
  stackTags?: Record<string, string>;
}

/** The policy config of a run: what `policy/stack-config.ts` writes for the CLI. */
export function stackPolicyConfig(config: Record<string, unknown>, readStack: (stack: string) => Record<string, unknown> | undefined = () => undefined): StackPolicyConfig {
  const s = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  const encryption = config.encryption;
  const hubReader = config.hubReader;
  const hub = config.hub;
  const storage = config.objectStorage;
  return {
    region: s(config.region),
    sovereigntyZone: s(config.sovereigntyZone),
    cloud: s(config.cloud),
    role: s(config.role),
    encryptionMode: isObj(encryption) ? s(encryption.mode) ?? "provider" : "provider",
    // The schema's default (components/config/schema.ts) when the stack file does not say.
    hubReaderAuth: (isObj(hubReader) ? s(hubReader.auth) : undefined) ?? defaultReaderAuth(config.cloud),
    hubStack: isObj(hub) ? s(hub.stack) : undefined,
    ...(config.role === "edge" ? zoneOfEdge(config, readStack) : {}),
    ...(config.cloud === "s3" && isObj(storage)
      ? { s3SigningRegion: s(storage.signingRegion) ?? s(config.region), s3EndpointHost: URL.canParse(String(storage.endpoint)) ? new URL(String(storage.endpoint)).host : undefined }
      : {}),
  };
}

/**
 * An edge's zone spoke as its stack file declares it: where its receiver and Loki gateway listen
 * and its zone (the edge's own file names only the spoke).
 */
function zoneOfEdge(config: Record<string, unknown>, readStack: (stack: string) => Record<string, unknown> | undefined): Partial<StackPolicyConfig> {
  const spoke = isObj(config.spoke) && typeof config.spoke.stack === "string" ? config.spoke.stack : undefined;
  const values = spoke !== undefined ? readStack(spoke) : undefined;
  if (values === undefined) return {};
  const receive = values.receive;
  const endpoints = values.endpoints;
  return {
    ...(isObj(receive) && typeof receive.endpoint === "string" ? { zoneReceiverHost: receive.endpoint } : {}),
    ...(typeof values.sovereigntyZone === "string" ? { zoneReceiverZone: values.sovereigntyZone } : {}),
    ...(isObj(endpoints) && typeof endpoints.loki === "string" ? { zoneLokiHost: endpoints.loki } : {}),
  };
}

/** A stack file's `observability:*` values, or undefined when there is none. */
export function readOptional(projectDir: string, stack: string): Record<string, unknown> | undefined {
  try {
    return readStackFile(projectDir, stack).values;
  } catch {
    return undefined;
  }
}

/** The URN of a run's root stack resource. */
function stackUrnOf(run: StackRun): string {
  return run.resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn ?? `urn:pulumi:${run.stack}::sovereign-observability::pulumi:pulumi:Stack::sovereign-observability-${run.stack}`;
}

class NotApplicable extends Error {}

function pulumiTypeOf(cls: unknown): string | undefined {
  const t = (cls as { __pulumiType?: unknown }).__pulumiType;
  return typeof t === "string" ? t : undefined;
}

type Recorded = StackRun["resources"][number];

/** The options CrossGuard hands, plus the engine's `retainOnDelete`. */
function optionsOf(r: Recorded): PolicyResourceOptions & { retainOnDelete: boolean } {
  return {
    protect: r.options.protect,
    retainOnDelete: r.options.retainOnDelete,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...(r.parent !== undefined ? { parent: r.parent } : {}),
  };
}

function propsOf(value: unknown): Record<string, unknown> {
  const v = reveal(value);
  return isObj(v) ? v : {};
}

/** The provider CrossGuard would name: the explicit one with its inputs, else the engine's default provider. */
function providerOf(r: Recorded, byUrn: Map<string, Recorded>): PolicyProviderResource | undefined {
  if (r.provider !== undefined) {
    const urn = r.provider.slice(0, r.provider.lastIndexOf("::"));
    const p = byUrn.get(urn);
    return { type: p?.type ?? urn.split("::")[2] ?? "", name: p?.name ?? urn.split("::").pop() ?? "", urn, props: propsOf(p?.inputs) };
  }
  const cloud = cloudOfType(r.type);
  if (!r.custom || cloud === undefined || r.type.startsWith("pulumi:providers:")) return undefined;
  const pkg = r.type.split(":")[0];
  return { type: `pulumi:providers:${pkg}`, name: "default", urn: `urn:pulumi:default::provider::pulumi:providers:${pkg}::default`, props: {} };
}

/** The root stack resource as `AnalyzeStack` hands it: its props are the stack's outputs (secrets revealed). */
function rootStackResource(run: StackRun): PolicyResource {
  const props = propsOf(run.outputs);
  const type = "pulumi:pulumi:Stack";
  return {
    type,
    props,
    urn: stackUrnOf(run),
    name: `sovereign-observability-${run.stack}`,
    opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
    dependencies: [],
    propertyDependencies: {},
    isType: (cls) => pulumiTypeOf(cls) === type,
    asType: (cls) => (pulumiTypeOf(cls) === type ? (props as never) : undefined),
  };
}

/** The run's resources as `AnalyzeStack` hands them to stack policies. */
export function policyResources(run: StackRun): PolicyResource[] {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r] as const));
  const out = new Map<string, PolicyResource>();
  if (!run.resources.some((r) => r.type === "pulumi:pulumi:Stack")) {
    const root = rootStackResource(run);
    out.set(root.urn, root);
  }
  for (const r of run.resources) {
    const props = { ...propsOf(r.inputs), ...propsOf(r.outputs) };
    const resource: PolicyResource = {
      type: r.type,
      props,
      urn: r.urn,
      name: r.name,
      opts: optionsOf(r),
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => pulumiTypeOf(cls) === r.type,
      asType: (cls) => (pulumiTypeOf(cls) === r.type ? (props as never) : undefined),
    };
    const provider = providerOf(r, byUrn);
    if (provider !== undefined) resource.provider = provider;
    out.set(r.urn, resource);
  }
  for (const r of run.resources) {
    const res = out.get(r.urn) as PolicyResource;
    if (r.parent !== undefined) res.parent = out.get(r.parent);
    res.dependencies = r.options.dependsOn.map((u) => out.get(u)).filter((x): x is PolicyResource => x !== undefined);
  }
  return [...out.values()];
}

function isStackPolicy(p: ResourceValidationPolicy | StackValidationPolicy): p is StackValidationPolicy {
  return "validateStack" in p && typeof p.validateStack === "function";
}

function levelOf(p: ResourceValidationPolicy | StackValidationPolicy): EnforcementLevel {
  const l = p.enforcementLevel ?? "advisory";
  // CrossGuard treats remediate as mandatory where it cannot remediate.
  return l === "remediate" ? "mandatory" : l;
}

function settle(result: Promise<void> | void, policy: string): void {
  if (result instanceof Promise) throw new Error(`policy ${policy} is asynchronous; the offline adapter runs synchronous policies only`);
}

/** Evaluates the pack (or the given policies) on one offline stack run. */
export function evaluatePolicies(run: StackRun, opts: EvaluateOptions = {}): Violation[] {
  const policies = opts.policies ?? allPolicies;
  const config = opts.config ?? stackPolicyConfig(run.config, (s) => readOptional(REPO_ROOT, s));
  const stackTags: ReadonlyMap<string, string> = new Map(Object.entries(opts.stackTags ?? {}));
  const resources = policyResources(run);
  const stackUrn = stackUrnOf(run);
  const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
  };
  const getConfig = <T extends object>(): T => ({ ...config }) as T;
  const out: Violation[] = [];
  for (const p of policies) {
    const level = levelOf(p);
    if (level === "disabled") continue;
    const push = (urn: string, message: string): void => void out.push({ policy: p.name, enforcementLevel: level, urn, message });
    try {
      if (isStackPolicy(p)) {
        const args: StackValidationArgs = { resources, stackTags, getConfig, notApplicable };
        settle(p.validateStack(args, (message, urn) => push(urn ?? stackUrn, message)), p.name);
        continue;
      }
      const validations = p.validateResource === undefined ? [] : Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
      for (const r of run.resources) {
        const resource = resources.find((x) => x.urn === r.urn) as PolicyResource;
        const props = propsOf(r.inputs);
        const args: ResourceValidationArgs = {
          type: r.type,
          props,
          urn: r.urn,
          name: r.name,
          opts: resource.opts,
          stackTags,
          isType: (cls) => pulumiTypeOf(cls) === r.type,
          asType: (cls) => (pulumiTypeOf(cls) === r.type ? (props as never) : undefined),
          getConfig,
          notApplicable,
          ...(resource.provider !== undefined ? { provider: resource.provider } : {}),
        };
        for (const v of validations) {
          try {
            settle(v(args, (message) => push(r.urn, message)), p.name);
          } catch (e) {
            if (!(e instanceof NotApplicable)) throw e;
          }
        }
      }
    } catch (e) {
      if (!(e instanceof NotApplicable)) throw e;
    }
  }
  return out;
}

/** Violations that block a deployment. */
export function mandatory(violations: readonly Violation[]): Violation[] {
  return violations.filter((v) => v.enforcementLevel === "mandatory");
}

const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/**
 * The "Policy" section of fleet.md: per stack, the violations of the pack (mandatory first),
 * or a line saying there are none.
 */
export function policyMarkdown(results: readonly { stack: string; violations: readonly Violation[] }[]): string {
  const all = results.flatMap((r) => r.violations.map((v) => ({ stack: r.stack, ...v })));
  const blocking = all.filter((v) => v.enforcementLevel === "mandatory").length;
  const out = ["## Policy", "", `Policy pack \`sovereign-observability\` (policy/), evaluated offline on every stack: ${blocking} mandatory and ${all.length - blocking} advisory violation(s).`, ""];
  if (all.length === 0) {
    out.push("Zero violations.");
    return out.join("\n");
  }
  all.sort((a, b) => (a.enforcementLevel === b.enforcementLevel ? 0 : a.enforcementLevel === "mandatory" ? -1 : 1) || a.stack.localeCompare(b.stack) || a.policy.localeCompare(b.policy));
  out.push("| stack | level | policy | resource | message |", "|---|---|---|---|---|");
  for (const v of all) out.push(`| ${v.stack} | ${v.enforcementLevel} | ${v.policy} | ${cell(v.urn.split("::").pop() ?? v.urn)} | ${cell(v.message)} |`);
  return out.join("\n");
}
