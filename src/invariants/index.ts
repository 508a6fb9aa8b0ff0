/*
 * The kernels' laws (DESIGN.md "Finding races"): full-state audits over a quiescent image, one
 * law per function, each reported under its name. KernelModel.audit of each model calls its entry.
 */
export { runLaws, type Law } from "./common.js";
export { auditDragonfly, DRAGONFLY_LAWS } from "./dragonfly.js";
export { auditNetbsd, NETBSD_LAWS } from "./netbsd.js";
