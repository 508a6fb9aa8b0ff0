/*
 * The BSD LIST macros (src/kern/netbsd/kern_proc.ts) are made once per (next, head) pair with
 * the field names written out: two lists linked through the same field under different heads
 * (allproc and zombproc through p_list) must each keep to their own head.
 */
import { describe, expect, it } from "vitest";
import { LIST_INSERT_AFTER, LIST_INSERT_HEAD, LIST_ITER, LIST_REMOVE } from "../../src/kern/netbsd/kern_proc.js";

type Rec = Record<string, number>;
const recs: Rec[] = [{}, ...Array.from({ length: 6 }, () => ({ p_list: 0, p_list_prev: 0, p_sibling: 0, p_sibling_prev: 0 }))];
const view = (h: number) => recs[h];
const g: Rec = { allproc: 0, zombproc: 0 };
const parent: Rec = { p_children: 0 };
const list = (first: number, next: string) => [...LIST_ITER(first, view, next)];

describe("the NetBSD LIST macros", () => {
  it("keep each (head, next) pair to its own head, in both directions", () => {
    LIST_INSERT_HEAD(g, "allproc", 1, view, "p_list");
    LIST_INSERT_HEAD(g, "allproc", 2, view, "p_list");
    LIST_INSERT_HEAD(g, "zombproc", 3, view, "p_list");
    LIST_INSERT_AFTER(2, 4, view, "p_list");
    LIST_INSERT_HEAD(parent, "p_children", 5, view, "p_sibling");
    LIST_INSERT_HEAD(parent, "p_children", 1, view, "p_sibling");
    expect(list(g.allproc, "p_list")).toEqual([2, 4, 1]);
    expect(list(g.zombproc, "p_list")).toEqual([3]);
    expect(list(parent.p_children, "p_sibling")).toEqual([1, 5]);
    expect(LIST_REMOVE(g, "zombproc", 2, view, "p_list")).toBe(false); // 2 heads allproc, not zombproc: QUEUEDEBUG's check
    expect(LIST_REMOVE(g, "allproc", 2, view, "p_list")).toBe(true);
    expect(LIST_REMOVE(g, "allproc", 1, view, "p_list")).toBe(true);
    LIST_INSERT_HEAD(g, "zombproc", 1, view, "p_list");
    expect(list(g.allproc, "p_list")).toEqual([4]);
    expect(list(g.zombproc, "p_list")).toEqual([1, 3]);
    expect(recs[3].p_list_prev).toBe(1);
    expect(LIST_REMOVE(parent, "p_children", 5, view, "p_sibling")).toBe(true);
    expect(list(parent.p_children, "p_sibling")).toEqual([1]);
    expect([recs[5].p_sibling, recs[5].p_sibling_prev]).toEqual([0, 0]);
  });
});
