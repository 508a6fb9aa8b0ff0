/*
 * Read helpers over a DragonFly image for audits, ps and tests (orchestrator side, machine
 * quiescent): no locks are taken, so call them only when nothing runs.
 */
import type { Image } from "../../shm/image.js";
import { NULL, type Handle } from "../../shm/table.js";
import { lwpV, procglob, procV } from "./globals.js";
import { ALLPROC_HSIZE, LWP, PROC } from "./structs.js";

/** A walk stops at a stale handle (a list a kernel defect left dangling): the audits report those. */
const live = (img: Image, decl: typeof PROC | typeof LWP, h: Handle): boolean => img.table(decl as typeof PROC).valid(h);

/** Every process, chain by chain (procglob[0..ALLPROC_HSIZE-1]), zombies included. */
export function allprocs(img: Image): Handle[] {
  const out: Handle[] = [];
  for (let n = 0; n < ALLPROC_HSIZE; n++) {
    for (let h = procglob(n, img).allproc; h !== NULL && live(img, PROC, h); h = procV(h, img).p_list) out.push(h);
  }
  return out;
}
/** p_children of p (p_sibling chain). */
export function childrenOf(img: Image, p: Handle): Handle[] {
  const out: Handle[] = [];
  for (let h = procV(p, img).p_children; h !== NULL; h = procV(h, img).p_sibling) out.push(h);
  return out;
}
/** The lwps of p, in tid order (p_lwp_tree). */
export function lwpsOf(img: Image, p: Handle): Handle[] {
  const out: Handle[] = [];
  for (let h = procV(p, img).p_lwp_tree; h !== NULL && live(img, LWP, h); h = lwpV(h, img).lwp_rbnode) out.push(h);
  return out;
}
/** A process by pid (zombies included), or NULL. */
export function procByPid(img: Image, pid: number): Handle {
  for (const h of allprocs(img)) if (procV(h, img).p_pid === pid) return h;
  return NULL;
}
