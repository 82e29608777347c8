// ServiceMeshExtension phases → WasmPlugin phases (PACKAGING.md §2.3). SME had six slots
// around Istio's authn, authz and stats filters; WasmPlugin has three plus "unspecified"
// (last, before the router), so two pairs collapse into one phase each, where only
// priority (higher first) orders plugins. Priority keeps its meaning and its value.

export const SME_PHASES = ["PreAuthN", "PostAuthN", "PreAuthZ", "PostAuthZ", "PreStats", "PostStats"] as const;
export type SmePhase = (typeof SME_PHASES)[number];
/** undefined = unspecified: the end of the chain, just before the router. */
export type WasmPluginPhase = "AUTHN" | "AUTHZ" | "STATS" | undefined;

export const PHASE_MAP: Record<SmePhase, WasmPluginPhase> = {
  PreAuthN: "AUTHN",
  PostAuthN: "AUTHZ",
  PreAuthZ: "AUTHZ",
  PostAuthZ: "STATS",
  PreStats: "STATS",
  PostStats: undefined,
};

export const isSmePhase = (value: unknown): value is SmePhase => typeof value === "string" && (SME_PHASES as readonly string[]).includes(value);

/** The SME phase that shares the WasmPlugin phase with `phase`, if any. */
export function collapsedWith(phase: SmePhase): SmePhase | undefined {
  return SME_PHASES.find((p) => p !== phase && PHASE_MAP[p] !== undefined && PHASE_MAP[p] === PHASE_MAP[phase]);
}

export interface PhasedPlugin {
  /** "namespace/name" */
  id: string;
  name: string;
  namespace: string;
  smePhase: SmePhase;
  priority: number;
}

/**
 * For plugins now sharing a WasmPlugin phase that came from different SME phases: a note
 * for each pair whose relative order changes (SME ran the earlier phase first whatever
 * the priorities; WasmPlugin orders by priority, then name and namespace).
 */
export function orderChanges(plugins: readonly PhasedPlugin[]): string[] {
  const notes: string[] = [];
  const runsFirstInWasmPlugin = (a: PhasedPlugin, b: PhasedPlugin): boolean =>
    a.priority !== b.priority ? a.priority > b.priority : a.name !== b.name ? a.name < b.name : a.namespace < b.namespace;
  for (const [i, a] of plugins.entries()) {
    for (const b of plugins.slice(i + 1)) {
      if (PHASE_MAP[a.smePhase] === undefined || PHASE_MAP[a.smePhase] !== PHASE_MAP[b.smePhase] || a.smePhase === b.smePhase) continue;
      const [earlier, later] = SME_PHASES.indexOf(a.smePhase) < SME_PHASES.indexOf(b.smePhase) ? [a, b] : [b, a];
      if (runsFirstInWasmPlugin(later, earlier)) {
        notes.push(
          `${earlier.id} (${earlier.smePhase}, priority ${earlier.priority}) ran before ${later.id} (${later.smePhase}, priority ${later.priority}); ` +
            `both are now ${PHASE_MAP[a.smePhase]}, where the higher priority runs first, so ${later.id} now runs first. ` +
            `To keep the old order give ${earlier.id} a priority above ${later.priority}.`,
        );
      }
    }
  }
  return notes;
}
