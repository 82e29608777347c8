// The error the test API throws when plugin code trapped during the call (HostOptions
// throwOnTrap, on by default): a test that only checks a header cannot pass while the
// plugin crashed and Envoy answered 503. It is thrown after the host applied Envoy's
// behaviour (the local reply or fail-open, the failed VM), so that state can be inspected.
import type { PluginFailure } from "./failure.js";

export class PluginTrapError extends Error {
  override readonly name = "PluginTrapError";

  constructor(readonly failure: PluginFailure) {
    super(failure.report);
  }

  get kind(): PluginFailure["kind"] {
    return this.failure.kind;
  }
}
