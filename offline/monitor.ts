/**
 * A mock monitor that records what the real engine would see: every resource with its
 * raw inputs (secrets still marked) and the options that matter for data safety.
 * Pulumi's own MockMonitor hands mocks neither `protect` nor `retainOnDelete`; the SDK internals
 * this needs are in ./sdk-adapter.ts.
 */
import { MockMonitor, type Mocks, type RegisterResourceRequestView as RegisterRequest, type RegisterResourceResponseView as RegisterResponse } from "./sdk-adapter";

type Callback = (err: unknown, response: unknown) => void;

/** One resource as registered. */
export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  id: string;
  parent?: string;
  /** Provider reference (`urn::id`), when explicit. */
  provider?: string;
  custom: boolean;
  options: { protect: boolean; retainOnDelete: boolean; dependsOn: string[] };
  /** Inputs in wire form: secrets are `{ <sig>: <secret sig>, value }`. */
  inputs: Record<string, unknown>;
  /** Outputs the mock computed, in wire form. */
  outputs: Record<string, unknown>;
}

/** Records registrations and lets the engine wait until none is in flight. */
export class RecordingMonitor extends MockMonitor {
  readonly recorded: RecordedResource[] = [];
  /** Inputs of each provider instance by its reference `urn::id`. */
  readonly providerInputs = new Map<string, Record<string, unknown>>();
  private inFlight = 0;
  /** Raw inputs and secret-output names of registrations the mocks are answering, by `type::name`. */
  private readonly stash = new Map<string, { inputs: Record<string, unknown>; secretOutputs: string[] }[]>();

  constructor(mocks: Mocks) {
    super(mocks);
  }

  /** Registrations started and not yet answered. */
  pending(): number {
    return this.inFlight;
  }

  /**
   * What the mock of a registration needs beyond Pulumi's MockResourceArgs: inputs with their
   * secrets still marked, and `additionalSecretOutputs` (the real engine marks those outputs secret).
   */
  take(type: string, name: string): { inputs: Record<string, unknown>; secretOutputs: string[] } | undefined {
    return this.stash.get(`${type}::${name}`)?.shift();
  }

  override async registerResource(req: RegisterRequest, callback: Callback): Promise<void> {
    this.inFlight++;
    const inputs = req.getObject()?.toJavaScript() ?? {};
    const key = `${req.getType()}::${req.getName()}`;
    const queue = this.stash.get(key) ?? [];
    queue.push({ inputs, secretOutputs: req.getAdditionalsecretoutputsList() });
    this.stash.set(key, queue);
    const done: Callback = (err, response) => {
      this.inFlight--;
      if (err === null || err === undefined) {
        const r = response as RegisterResponse;
        const urn = r.getUrn();
        const id = r.getId();
        if (req.getType().startsWith("pulumi:providers:")) this.providerInputs.set(`${urn}::${id}`, inputs);
        this.recorded.push({
          urn,
          type: req.getType(),
          name: req.getName(),
          id,
          parent: req.getParent() || undefined,
          provider: req.getProvider() || undefined,
          custom: req.getCustom(),
          options: { protect: req.getProtect(), retainOnDelete: req.getRetainondelete(), dependsOn: [...req.getDependenciesList()].sort() },
          inputs,
          outputs: r.getObject()?.toJavaScript() ?? {},
        });
      }
      callback(err, response);
    };
    return super.registerResource(req, done);
  }
}
