/*
 * Access to the DragonFly tables of the image: views by handle and the one globals record.
 * Works on every cpu and on the orchestrator (boot, ps, audits), whichever image is installed.
 */
import { image } from "../../sync/seam.js";
import type { Image } from "../../shm/image.js";
import type { Handle, Table, View } from "../../shm/table.js";
import type { FieldWidths, StructDecl } from "../../shm/struct.js";
import { ALLPROC_HASH, FDTOL, FILEDESC, FORKLIST, KGLOBALS, LWP, PARGS, PGRP, PLIMIT, PROC, PROCGLOB, SESSION, SIGACTS, SYSREAPER, UCRED, UIDINFO, VMSPACE } from "./structs.js";

export type ProcV = View<(typeof PROC)["fields"]>;
export type LwpV = View<(typeof LWP)["fields"]>;
export type PgrpV = View<(typeof PGRP)["fields"]>;
export type ReapV = View<(typeof SYSREAPER)["fields"]>;
export type GlobV = View<(typeof KGLOBALS)["fields"]>;
export type PrgV = View<(typeof PROCGLOB)["fields"]>;

/** Every DragonFly table, in image order. */
export const DFLY_DECLS = [KGLOBALS, PROCGLOB, PROC, LWP, PGRP, SESSION, SYSREAPER, UIDINFO, FILEDESC, FDTOL, SIGACTS, PLIMIT, PARGS, UCRED, VMSPACE, FORKLIST] as const;

export function tbl<F extends FieldWidths>(decl: StructDecl<F>, img: Image = image): Table<F> {
  return img.table(decl);
}

export const procV = (h: Handle, img: Image = image) => img.table(PROC).view(h);
export const lwpV = (h: Handle, img: Image = image) => img.table(LWP).view(h);
export const pgrpV = (h: Handle, img: Image = image) => img.table(PGRP).view(h);
export const sessV = (h: Handle, img: Image = image) => img.table(SESSION).view(h);
export const reapV = (h: Handle, img: Image = image) => img.table(SYSREAPER).view(h);
export const uiV = (h: Handle, img: Image = image) => img.table(UIDINFO).view(h);
export const fdV = (h: Handle, img: Image = image) => img.table(FILEDESC).view(h);
export const fdtolV = (h: Handle, img: Image = image) => img.table(FDTOL).view(h);
export const sigactsV = (h: Handle, img: Image = image) => img.table(SIGACTS).view(h);
export const plimitV = (h: Handle, img: Image = image) => img.table(PLIMIT).view(h);
export const pargsV = (h: Handle, img: Image = image) => img.table(PARGS).view(h);
export const credV = (h: Handle, img: Image = image) => img.table(UCRED).view(h);
export const vmV = (h: Handle, img: Image = image) => img.table(VMSPACE).view(h);
export const forklistV = (h: Handle, img: Image = image) => img.table(FORKLIST).view(h);

let cachedImg: Image | null = null;
let cachedG: GlobV | null = null;
/** The kernel-globals record (slot 0 of dfly_globals). */
export function G(img: Image = image): GlobV {
  if (cachedImg !== img || cachedG === null) {
    const t = img.table(KGLOBALS);
    cachedG = t.view(t.handleAt(0));
    cachedImg = img;
  }
  return cachedG;
}

/** &procglob[ALLPROC_HASH(id)]: the chain of a pid, pgid or sid (boot fills slot n with chain n). */
export function procglob(id: number, img: Image = image): PrgV {
  const t = img.table(PROCGLOB);
  return t.view(t.handleAt(ALLPROC_HASH(id)));
}
