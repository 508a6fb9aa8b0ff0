/*
 * Read helpers over a NetBSD image for the orchestrator side (ps, audits): they read through the
 * image's tables directly, so they work on the main thread while the machine is quiescent.
 */
import type { Image } from "../../shm/image.js";
import { NULL, type Handle } from "../../shm/table.js";
import { GLOBALS, LWP, PGRP, PROC } from "./structs.js";

export function globals(img: Image) {
  const t = img.table(GLOBALS);
  return t.view(t.handleAt(0));
}

export const procView = (img: Image, h: Handle) => img.table(PROC).view(h);

/** Follow a next-field list from `first`; stops (and reports the cycle) after `limit` steps. */
function follow(img: Image, first: Handle, next: (h: Handle) => Handle, limit: number): Handle[] {
  const out: Handle[] = [];
  for (let h = first; h !== NULL; h = next(h)) {
    if (out.length >= limit) throw new Error("list does not end (cycle?)");
    out.push(h);
  }
  return out;
}

const procNext = (img: Image, f: "p_list" | "p_sibling" | "p_pglist") => (h: Handle) => {
  const t = img.table(PROC);
  if (!t.valid(h)) throw new Error(`stale proc handle ${h} on a list`);
  return t.view(h)[f];
};

/** Processes on allproc, in list order. */
export function allproc(img: Image): Handle[] {
  return follow(img, globals(img).allproc, procNext(img, "p_list"), img.table(PROC).capacity + 1);
}

/** Processes on zombproc. */
export function zombproc(img: Image): Handle[] {
  return follow(img, globals(img).zombproc, procNext(img, "p_list"), img.table(PROC).capacity + 1);
}

/** The children of p (p_children / p_sibling). */
export function children(img: Image, p: Handle): Handle[] {
  return follow(img, procView(img, p).p_children, procNext(img, "p_sibling"), img.table(PROC).capacity + 1);
}

/** The members of a process group. */
export function pgMembers(img: Image, pg: Handle): Handle[] {
  return follow(img, img.table(PGRP).view(pg).pg_members, procNext(img, "p_pglist"), img.table(PROC).capacity + 1);
}

/** The lwps of p (p_lwps / l_sibling). */
export function lwpsOf(img: Image, p: Handle): Handle[] {
  const lt = img.table(LWP);
  return follow(img, procView(img, p).p_lwps, (h) => lt.view(h).l_sibling, lt.capacity + 1);
}

/** Every live proc record, by table slot (SIDL ones included). */
export function procRecords(img: Image): Handle[] {
  const t = img.table(PROC);
  const out: Handle[] = [];
  for (let s = 0; s < t.capacity; s++) {
    const h = t.handleAt(s);
    if (h !== NULL) out.push(h);
  }
  return out;
}
