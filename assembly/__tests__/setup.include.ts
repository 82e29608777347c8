// Included in every spec module: the plugin ABI exports (so the mock host can call the
// SDK's dispatcher) and no collection while specs call back into the module.
import { setCollectionEnabled } from "../abi/collector";
export * from "../exports";

setCollectionEnabled(false);
