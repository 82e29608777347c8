// vitest runs the package's ESM entry, by name, with no flags.
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { root: import.meta.dirname ?? new URL(".", import.meta.url).pathname, include: ["vitest.spec.mjs"] } });
