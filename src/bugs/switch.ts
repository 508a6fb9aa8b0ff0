/*
 * The fail-point switch kernel code reads to take a catalogued wrong path:
 *
 *     if (bug("df.ppwait-no-interlock")) { ...the wrong variant... } else { ...the kernel's code... }
 *
 * Each cpu installs the run's bug set once; a clean run has none, and bug() is one Set lookup.
 */
let enabled: ReadonlySet<string> = new Set();

export function installBugs(ids: readonly string[]): void {
  enabled = new Set(ids);
}

export function bug(id: string): boolean {
  return enabled.has(id);
}
