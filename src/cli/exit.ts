/*
 * Exit codes, for every command (docs/CONTRACTS.md): 0 clean, 1 violation, shortfall or unmet
 * expectation, 2 usage error (one clear line on stderr), 3 hang, 4 internal error (or a file that
 * could not be written after a clean run), 130 interrupted (SIGINT or SIGTERM; the report is
 * still written).
 */
export const EXIT = { clean: 0, violation: 1, usage: 2, hang: 3, internal: 4, interrupted: 130 } as const;
