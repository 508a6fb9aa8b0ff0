/*
 * Signals as far as the fork path needs them (kern_sig.c): the pending mask p_siglist, handler
 * dispositions in sigacts, ksignal waking a PCATCH sleeper, pgsignal/dokillpg under pg_lock
 * EXCLUSIVE (the other side of fork1's SHARED interlock, 000:368-386), kern_kill with
 * CANSIGNAL/reaper_sigtest, sigaction (SA_NOCLDWAIT -> PS_NOCLDWAIT, SIGCHLD SIG_IGN ->
 * PS_CLDSIGIGN), CURSIG_NOBLOCK, and the userret delivery (default-fatal signals exit).
 * Stop signals are not modelled (SIGSTOP/SIGCONT are accepted and ignored).
 */
import { NULL, type Handle } from "../../shm/table.js";
import { THREAD } from "../../shm/core.js";
import { bug } from "../../bugs/switch.js";
import { atomic_add_int, atomic_clear_int, atomic_set_int } from "../../sync/atomic.js";
import { curthread, image, type KGen } from "../../sync/seam.js";
import { EINTR, EINVAL, EPERM, ERESTART, ESRCH } from "../../sync/errno.js";
import { lockmgr, LK_EXCLUSIVE, LK_RELEASE } from "../../sync/lockmgr.js";
import { LWPHOLD, LWPRELE, PHOLD, PRELE } from "../../sync/phold.js";
import { spin_lock, spin_unlock } from "../../sync/spinlock.js";
import { tsleep_signal } from "../../sync/sleep.js";
import { lwkt_gettoken, lwkt_gettoken_shared, lwkt_reltoken } from "../../sync/token.js";
import { data_race } from "../../sync/observe.js";
import { credV, lwpV, pgrpV, procV, sigactsV, type LwpV, type ProcV } from "./globals.js";
import { allproc_scan, curlwp, curproc, lwps_of, pfind, pgfind, pgref, pgrel, threadV, zpfind } from "./kern_proc.js";
import { reaper_sigtest } from "./kern_fork.js";
import {
  LWP_MP_WEXIT, NSIG, P_SYSTEM, P_WEXIT, PS_CLDSIGIGN, PS_NOCLDWAIT, SA_NOCLDWAIT, SA_RESTART, SIG_DFL_IGNORE, SIGCHLD,
  SIGCONT, SIGKILL, SIGSTOP, sigmask, SZOMB,
} from "./structs.js";

export const SIG_DFL = 0, SIG_IGN = 1, SIG_CATCH = 2;

/** What a pending, unmasked signal would do to p: "catch", "ignore" or "kill". */
function disposition(ps: Handle, sig: number): "catch" | "ignore" | "kill" {
  if (sig === SIGKILL) return "kill";
  const s = sigactsV(ps);
  const m = sigmask(sig);
  if (s.ps_sigcatch & m) return "catch";
  if (s.ps_sigignore & m) return "ignore";
  if (SIG_DFL_IGNORE & m || sig === SIGSTOP) return "ignore";
  return "kill";
}

function pendingOf(p: ProcV, lp: LwpV): number {
  return (p.p_siglist | lp.lwp_siglist) & ~lp.lwp_sigmask;
}

/**
 * CURSIG_NOBLOCK(lp) (signal2.h __cursig with mayblock 0): true for any pending signal the lwp
 * does not mask, whatever its disposition -- it only "states the fact", it does not look at
 * what issignal would do (fork1 uses it under pg_lock, 000:382-385). The lowest such signal, or 0.
 */
export function CURSIG_NOBLOCK(lp: LwpV): number {
  const pend = data_race(() => pendingOf(procV(lp.lwp_proc), lp));
  return pend === 0 ? 0 : 31 - Math.clz32(pend & -pend) + 1;
}

/**
 * The PCATCH check of the current thread (installed as its sigcheck): EINTR, or ERESTART when
 * the pending signal's handler was installed with SA_RESTART; a fatal signal gives EINTR.
 */
export function sigcheck_current(): number {
  const lp = curlwp();
  const p = procV(lp.lwp_proc);
  if (data_race(() => p.p_flags & P_WEXIT) || lp.lwp_mpflags & LWP_MP_WEXIT) return EINTR;
  const sig = CURSIG_NOBLOCK(lp);
  if (sig === 0) return 0;
  const d = disposition(p.p_sigacts, sig);
  if (d === "catch") return sigactsV(p.p_sigacts).ps_sigintr & sigmask(sig) ? EINTR : ERESTART;
  return EINTR;
}

/** Install the PCATCH check on the current thread. */
export function install_sigcheck(): void {
  const td = curthread();
  if (td.sigcheck === null) td.sigcheck = sigcheck_current;
}

/** End the interruptible sleep of every thread of p (lwp_signotify of each). p_token held. */
export function signotify_all(p: ProcV): void {
  for (const lp of lwps_of(p)) lwp_signotify(lwpV(lp));
}

/**
 * ksignal / lwpsignal(p, NULL, sig): post sig to p and notify its threads (pg: the walk's group,
 * if any). PHOLD before the token, which may block: the hold keeps kern_wait (PSTALL reap3..reap5)
 * from freeing p meanwhile. An exiting process gets nothing. A signal in p_sigignore -- SIG_IGN,
 * and every default-ignored signal but SIGCONT, which siginit puts there (kern_sig.c 393) -- is
 * forgotten at once, nothing woken (1148-1162); SIGCONT with its default action likewise (1383).
 */
export function* ksignal(p: ProcV, sig: number, pg: Handle = NULL): KGen {
  if (sig <= 0 || sig >= NSIG) return;
  PHOLD(p.ptr("p_lock"));
  yield* lwkt_gettoken(p.ptr("p_token"));
  if (!(p.p_flags & P_WEXIT || p.p_stat === SZOMB) && disposition(p.p_sigacts, sig) !== "ignore") {
    atomic_set_int(p.ptr("p_siglist"), sigmask(sig));
    if (pg !== NULL) {
      p.p_pgsiggrp = pg;
      atomic_set_int(p.ptr("p_pgsigpend"), sigmask(sig));
    }
    signotify_all(p);
  }
  lwkt_reltoken(p.ptr("p_token"));
  PRELE(p.ptr("p_lock"));
}

/**
 * lwpsignal(p, lp, sig) for one lwp (kern_sig.c 1091-1405, the paths the model keeps): PHOLD the
 * process, LWPHOLD the lwp and take its lwp_token (which may block). An exiting lwp takes nothing
 * but SIGKILL, an ignored signal is dropped; otherwise it is pending on the lwp (lwp_siglist,
 * under lwp_spin) and lwp_signotify ends its interruptible sleep.
 */
export function* lwpsignal(p: ProcV, lp: LwpV, sig: number): KGen {
  PHOLD(p.ptr("p_lock"));
  LWPHOLD(lp.ptr("lwp_lock"));
  yield* lwkt_gettoken(lp.ptr("lwp_token"));
  const refused = (lp.lwp_mpflags & LWP_MP_WEXIT && sig !== SIGKILL) || disposition(p.p_sigacts, sig) === "ignore";
  if (!refused) {
    spin_lock(lp.ptr("lwp_spin"));
    lp.lwp_siglist = lp.lwp_siglist | sigmask(sig);
    spin_unlock(lp.ptr("lwp_spin"));
    lwp_signotify(lp);
  }
  lwkt_reltoken(lp.ptr("lwp_token"));
  LWPRELE(lp.ptr("lwp_lock"));
  PRELE(p.ptr("p_lock"));
}

/** lwp_signotify: end the lwp's interruptible sleep, if its thread sleeps in one. */
function lwp_signotify(lp: LwpV): void {
  const td = lp.lwp_thread;
  if (td !== NULL && image.table(THREAD).valid(td)) tsleep_signal(td);
}

/** p_trespass: may cr1 act on cr2 (kern_prot.c). 0 or EPERM. */
function p_trespass(cr1: Handle, cr2: Handle): number {
  if (cr1 === cr2) return 0;
  const a = credV(cr1), b = credV(cr2);
  if (a.cr_ruid === b.cr_ruid || a.cr_uid === b.cr_ruid || a.cr_ruid === b.cr_uid || a.cr_uid === b.cr_uid) return 0;
  if (a.cr_uid === 0) return 0;
  return EPERM;
}

/** CANSIGNAL(q, sig, initok) (kern_sig.c:101-104). */
function* CANSIGNAL(q: ProcV, sig: number, initok: boolean): KGen<boolean> {
  const cp = curproc();
  if (!p_trespass(cp.p_ucred, q.p_ucred) && (yield* reaper_sigtest(cp, q, initok))) return true;
  return sig === SIGCONT && pgrpV(q.p_pgrp).pg_session === pgrpV(cp.p_pgrp).pg_session;
}

/** Scripts' "variants": the safer member walk below instead of the kernel's. */
export const VARIANT_PGRP_WALK_HELD = "variant.pgrp-walk-held";

/**
 * The kernel's walk of a group's members in pgsignal and dokillpg (kern_sig.c 693-703, 880-885):
 * LIST_FOREACH over pg_members under pg_lock EXCLUSIVE alone -- no pg_token, no hold on the
 * member, no restart. pg_lock keeps fork1 from adding members (000:368-386), but it is not the
 * member list's lock: enterpgrp and leavepgrp change pg_members under pg_token. fn may block
 * (CANSIGNAL's reaper_lock, ksignal's p_token), and a member can meanwhile leave the group or be
 * reaped and freed; the walk then follows the member's stale p_pglist (docs/findings.md D7).
 */
function* pgrp_foreach(pg: Handle, fn: (p: ProcV) => KGen): KGen {
  if (bug(VARIANT_PGRP_WALK_HELD)) return yield* pgrp_foreach_held(pg, fn);
  for (let h = pgrpV(pg).pg_members; h !== NULL; h = procV(h).p_pglist) yield* fn(procV(h));
}

/**
 * The safer walk, kept as a variant for comparison (scripts: "variants": ["pgrp-walk-held"]):
 * the members of pg, each PHOLD'd while fn runs, with pg_token held (re-acquired whenever fn
 * blocked). The hold keeps a member from being reaped under the walk -- kern_wait's leavepgrp and
 * free come after its PSTALL reap3 -- as allproc_scan holds its processes; a member that setpgid
 * moved away while fn slept no longer links into pg, so the walk starts again at the head,
 * passing over the members it has already handled.
 */
function* pgrp_foreach_held(pg: Handle, fn: (p: ProcV) => KGen): KGen {
  const pgv = pgrpV(pg);
  const done = new Set<Handle>();
  yield* lwkt_gettoken(pgv.ptr("pg_token"));
  let h = pgv.pg_members;
  while (h !== NULL) {
    const p = procV(h);
    if (done.has(h)) {
      h = p.p_pglist;
      continue;
    }
    done.add(h);
    PHOLD(p.ptr("p_lock"));
    yield* fn(p);
    h = p.p_pgrp === pg ? p.p_pglist : pgv.pg_members;
    PRELE(p.ptr("p_lock"));
  }
  lwkt_reltoken(pgv.ptr("pg_token"));
}

/** pgsignal (kern_sig.c): every member of pg, under pg_lock EXCLUSIVE (interlocks fork1). */
export function* pgsignal(pg: Handle, sig: number): KGen {
  if (pg === NULL) return;
  pgref(pg);
  yield* lockmgr(pgrpV(pg).ptr("pg_lock"), LK_EXCLUSIVE);
  yield* pgrp_foreach(pg, (p) => ksignal(p, sig, pg));
  if (sig) atomic_add_int(pgrpV(pg).ptr("pg_sigseq"), 1);
  yield* lockmgr(pgrpV(pg).ptr("pg_lock"), LK_RELEASE);
  yield* pgrel(pg);
}

/** dokillpg (kern_sig.c:664-711): kill(0|-pgid) and killpg; the broadcast for kill(-1). */
export function* dokillpg(sig: number, pgid: number, all: boolean): KGen<number> {
  const cp = curproc();
  let nfound = 0;
  if (all) {
    // allproc_scan(killpg_all_callback): each process PHOLD'd across CANSIGNAL and ksignal.
    yield* allproc_scan(function* (p) {
      if (p.p_pid <= 1 || data_race(() => p.p_flags & P_SYSTEM) || p.h === cp.h || !(yield* CANSIGNAL(p, sig, false))) return 0;
      nfound++;
      if (sig) yield* ksignal(p, sig);
      return 0;
    });
    return nfound ? 0 : ESRCH;
  }
  let pg: Handle;
  if (pgid === 0) {
    pg = cp.p_pgrp;
    pgref(pg);
  } else {
    pg = yield* pgfind(pgid);
    if (pg === NULL) return ESRCH;
  }
  // Must interlock all signals against fork.
  yield* lockmgr(pgrpV(pg).ptr("pg_lock"), LK_EXCLUSIVE);
  yield* pgrp_foreach(pg, function* (p) {
    // The member's flags under pg_lock alone, not its p_token: ksignal re-tests under it.
    if (p.p_pid <= 1 || p.p_stat === SZOMB || data_race(() => p.p_flags & P_SYSTEM) || !(yield* CANSIGNAL(p, sig, false))) return;
    nfound++;
    if (sig) yield* ksignal(p, sig, pg);
  });
  if (sig) atomic_add_int(pgrpV(pg).ptr("pg_sigseq"), 1);
  yield* lockmgr(pgrpV(pg).ptr("pg_lock"), LK_RELEASE);
  yield* pgrel(pg);
  return nfound ? 0 : ESRCH;
}
import { PROC } from "./structs.js";
const procTable = () => PROC;

/** kern_kill (kern_sig.c:738-): one process, a group, or everyone. */
export function* kern_kill(sig: number, pid: number): KGen<number> {
  if (sig < 0 || sig >= NSIG) return EINVAL;
  if (pid > 0) {
    const p = yield* pfind(pid);
    if (p === null) {
      // A zombie not yet reaped: success without delivery (kern_sig.c 755-759).
      const z = yield* zpfind(pid);
      if (z === null) return ESRCH;
      PRELE(z.ptr("p_lock"));
      return 0;
    }
    if (p.h !== curproc().h) {
      yield* lwkt_gettoken_shared(p.ptr("p_token"));
      if (!(yield* CANSIGNAL(p, sig, true))) {
        lwkt_reltoken(p.ptr("p_token"));
        PRELE(p.ptr("p_lock"));
        return EPERM;
      }
      lwkt_reltoken(p.ptr("p_token"));
    }
    if (data_race(() => p.p_flags & P_WEXIT)) { // held, not tokened: ksignal re-tests under p_token
      PRELE(p.ptr("p_lock"));
      return 0;
    }
    if (sig) yield* ksignal(p, sig);
    PRELE(p.ptr("p_lock"));
    return 0;
  }
  if (pid === -1) return yield* dokillpg(sig, 0, true);
  if (pid === 0) return yield* dokillpg(sig, 0, false);
  return yield* dokillpg(sig, -pid, false);
}

/** kern_sigaction for the dispositions the model keeps; SIGCHLD sets PS_NOCLDWAIT/PS_CLDSIGIGN. */
export function* kern_sigaction(sig: number, handler: number, flags: number): KGen<number> {
  if (sig <= 0 || sig >= NSIG) return EINVAL;
  if ((sig === SIGKILL || sig === SIGSTOP) && handler !== SIG_DFL) return EINVAL;
  const p = curproc();
  yield* lwkt_gettoken(p.ptr("p_token"));
  const ps = sigactsV(p.p_sigacts);
  const m = sigmask(sig);
  ps.ps_sigcatch = handler === SIG_CATCH ? ps.ps_sigcatch | m : ps.ps_sigcatch & ~m;
  ps.ps_sigignore = handler === SIG_IGN ? ps.ps_sigignore | m : ps.ps_sigignore & ~m;
  ps.ps_sigintr = handler === SIG_CATCH && !(flags & SA_RESTART) ? ps.ps_sigintr | m : ps.ps_sigintr & ~m;
  if (sig === SIGCHLD) {
    if (flags & SA_NOCLDWAIT) {
      // init never sets PS_NOCLDWAIT.
      ps.ps_flag = p.p_pid === 1 ? ps.ps_flag & ~PS_NOCLDWAIT : ps.ps_flag | PS_NOCLDWAIT;
    } else ps.ps_flag = ps.ps_flag & ~PS_NOCLDWAIT;
    ps.ps_flag = handler === SIG_IGN ? ps.ps_flag | PS_CLDSIGIGN : ps.ps_flag & ~PS_CLDSIGIGN;
  }
  // Setting SIG_IGN (or a default-ignore SIG_DFL) discards what is pending.
  if (handler === SIG_IGN || (handler === SIG_DFL && SIG_DFL_IGNORE & m)) {
    atomic_clear_int(p.ptr("p_siglist"), m);
    atomic_clear_int(p.ptr("p_pgsigpend"), m);
  }
  lwkt_reltoken(p.ptr("p_token"));
  return 0;
}

/**
 * issignal/postsig for userret: take pending unmasked signals; a caught one runs its handler
 * (counted in p_nsigcaught), an ignored one is dropped, a fatal one is returned for sigexit.
 * The look without a lock is __cursig's (signal2.h); with something pending, issignal decides
 * holding p_token (trap.c 278-281 CURSIG_LCK_TRACE; kern_sig.c 1916-1918), so kern_sigaction,
 * which changes the dispositions under it, cannot change them under the decision.
 * A taken signal leaves the lwp's set under lwp_spin, as lwp_delsig is always called (kern_sig.c
 * 1987-1989, 2157-2159, 2202-2204; signal2.h 65-70): lwpsignal sets it under the same spin lock,
 * and killlwps' SIGKILL must not be lost to this clear's load and store.
 */
export function* postsig_all(lp: LwpV): KGen<{ fatal: number; caught: number[] }> {
  const p = procV(lp.lwp_proc);
  const caught: number[] = [];
  if (data_race(() => pendingOf(p, lp)) === 0) return { fatal: 0, caught }; // lwp_sigpend, before p_token
  yield* lwkt_gettoken(p.ptr("p_token"));
  let fatal = 0;
  for (let pend = pendingOf(p, lp); pend !== 0; pend = pendingOf(p, lp)) {
    let sig = 1;
    while (!(pend & sigmask(sig))) sig++;
    const d = disposition(p.p_sigacts, sig);
    if (d === "kill") {
      fatal = sig;
      break;
    }
    atomic_clear_int(p.ptr("p_siglist"), sigmask(sig));
    atomic_clear_int(p.ptr("p_pgsigpend"), sigmask(sig));
    spin_lock(lp.ptr("lwp_spin"));
    lp.lwp_siglist = lp.lwp_siglist & ~sigmask(sig);
    spin_unlock(lp.ptr("lwp_spin"));
    if (d === "catch") {
      caught.push(sig);
      atomic_add_int(p.ptr("p_nsigcaught"), 1);
    }
  }
  lwkt_reltoken(p.ptr("p_token"));
  return { fatal, caught };
}

export { SIGCHLD };

/**
 * Detector "pgsignal-missed-by-fork" (the law fork1's pg_lock interlock keeps, 000:368-386): a
 * child put on its parent's group list must not have missed a signal sent to that group. Called
 * by fork1 right after the child is on the pglist; seq is pg_sigseq read where fork1 passed its
 * CURSIG_NOBLOCK check. Under pg_lock SHARED no walk of the group can complete in between, and a
 * walk completed before left an actionable signal pending on the parent, which the check refuses.
 */
export function pgsignal_fork_check(p1: ProcV, lp1: LwpV, pg: Handle, seq: number): void {
  const now = pgrpV(pg).pg_sigseq;
  if (now !== seq) {
    violation("pgsignal-missed-by-fork", `pid ${p1.p_pid} forked into pgrp ${pgrpV(pg).pg_id} while ${now - seq} group signal(s) completed: the child missed them`);
    return;
  }
  const sig = CURSIG_NOBLOCK(lp1);
  if (sig !== 0 && p1.p_pgsigpend & sigmask(sig) && p1.p_pgsiggrp === pg) {
    violation("pgsignal-missed-by-fork", `pid ${p1.p_pid} forked with group signal ${sig} of pgrp ${pgrpV(pg).pg_id} pending: the child missed it`);
  }
}
import { violation } from "../../shm/hooks.js";
