/*
 * The DragonFly system-call table and return-to-user path of the model (the worker side of the
 * kernel). Arguments come encoded by model.ts (CallSpec.encode); results go back as RawResult.
 * ERESTART is handed back to the script as is: the script is the userland that re-issues.
 */
import { THREAD } from "../../shm/core.js";
import { NULL } from "../../shm/table.js";
import { curthread, image, type KGen } from "../../sync/seam.js";
import { EINVAL, EPERM, ESRCH } from "../../sync/errno.js";
import { PRELE } from "../../sync/phold.js";
import { spin_lock, spin_unlock } from "../../sync/spinlock.js";
import { lwkt_gettoken, lwkt_gettoken_shared, lwkt_reltoken } from "../../sync/token.js";
import { data_race } from "../../sync/observe.js";
import { EXITED, isScriptProgram } from "../usermode.js";
import type { RawResult } from "../kernel.js";
import { CALL_NAMES } from "./calls.js";
import { credV, G, lwpV, pgrpV, plimitV, procglob, procV, type ProcV } from "./globals.js";
import { at_fork, rm_at_fork, sys_fork, sys_lwp_create, sys_lwp_create2, sys_procctl, sys_rfork, sys_vfork } from "./kern_fork.js";
import { exit1, kern_exec, kern_wait, lwp_exit } from "./kern_exit.js";
import { chgproccnt, cralloc, crfree, crhold, curlwp, curproc, enterpgrp, lwps_of, pfind, pgfind, pgrel, plimit_modify_nproc, sysctl_kern_proc } from "./kern_proc.js";
import { dokillpg, install_sigcheck, kern_kill, kern_sigaction, postsig_all } from "./kern_sig.js";
import { ALLPROC_HSIZE, LWP_MP_WEXIT, P_SUGID, P_WEXIT, SIGABRT, SIGCHLD, sigmask, SZOMB, W_EXITCODE, WAIT_ANY, WNOHANG } from "./structs.js";

const ok = (ret: number, out: number[] = []): RawResult => ({ ret, errno: 0, out });
const err = (errno: number): RawResult => ({ ret: -1, errno, out: [] });

/** sys_setpgid (kern_prot.c): self or a child, into an existing group of the session or a new one. */
function* sys_setpgid(pid: number, pgid: number): KGen<number> {
  const cur = curproc();
  if (pgid < 0) return EINVAL;
  let targ: ProcV;
  let held = false;
  if (pid !== 0 && pid !== cur.p_pid) {
    const t = yield* pfind(pid);
    if (t === null) return ESRCH;
    held = true;
    targ = t;
    if (targ.p_pptr !== cur.h) {
      PRELE(targ.ptr("p_lock"));
      return ESRCH;
    }
  } else targ = cur;
  // kern_prot.c sys_setpgid: the target's p_token is held from here to the end (enterpgrp
  // takes it again, recursively); p_pgrp and the session are checked under it.
  yield* lwkt_gettoken(targ.ptr("p_token"));
  try {
    if (targ.p_pgrp === NULL || pgrpV(targ.p_pgrp).pg_session !== pgrpV(cur.p_pgrp).pg_session) return EPERM;
    if (pgid === 0) pgid = targ.p_pid;
    const sess = pgrpV(cur.p_pgrp).pg_session;
    if (pgid !== targ.p_pid) {
      const pg = yield* pgfind(pgid);
      if (pg === NULL) return EPERM;
      const same = pgrpV(pg).pg_session === sess;
      yield* pgrel(pg);
      if (!same) return EPERM;
    }
    return yield* enterpgrp(targ, pgid);
  } finally {
    lwkt_reltoken(targ.ptr("p_token"));
    if (held) PRELE(targ.ptr("p_lock"));
  }
}

/** sys_setuid: root may become anyone; the per-uid process count moves (change_ruid). */
function* sys_setuid(uid: number): KGen<number> {
  const p = curproc();
  yield* lwkt_gettoken(p.ptr("p_token"));
  const ocr = p.p_ucred;
  const o = credV(ocr);
  if (uid !== o.cr_ruid && o.cr_uid !== 0) {
    lwkt_reltoken(p.ptr("p_token"));
    return EPERM;
  }
  const ncr = yield* cralloc(uid);
  chgproccnt(o.cr_ruidinfo, -1, 0);
  chgproccnt(credV(ncr).cr_ruidinfo, 1, 0);
  // cratom_proc (kern_prot.c 1114-1116): the store under p_spin, so a sysctl kern.proc scan's
  // pcredcache re-read and crhold of the old credential come before this crfree of it.
  spin_lock(p.ptr("p_spin"));
  p.p_ucred = ncr;
  spin_unlock(p.ptr("p_spin"));
  p.p_flags = p.p_flags | P_SUGID;
  for (const h of lwps_of(p)) {
    const lp = lwpV(h);
    const old = lp.lwp_ucred;
    lp.lwp_ucred = crhold(ncr);
    if (old !== NULL) crfree(old);
  }
  lwkt_reltoken(p.ptr("p_token"));
  crfree(ocr);
  return 0;
}

/** setrlimit(RLIMIT_NPROC): raising above the hard limit needs root. */
function* sys_setrlimit_nproc(value: number): KGen<number> {
  const p = curproc();
  // kern_setrlimit (kern_plimit.c 245-378): a negative limit is RLIM_INFINITY ("historical bugs"),
  // raising past the hard limit needs privilege, and RLIMIT_NPROC is then clamped to
  // maxprocperuid and raised to at least 1 -- so 0 never reaches chgproccnt as "no limit".
  const want = value < 0 ? Infinity : value;
  yield* lwkt_gettoken(p.ptr("p_token"));
  if (want > plimitV(p.p_limit).pl_nproc_max && credV(p.p_ucred).cr_uid !== 0) {
    lwkt_reltoken(p.ptr("p_token"));
    return EPERM;
  }
  yield* plimit_modify_nproc(p, Math.max(1, Math.min(want, G().maxprocperuid)));
  lwkt_reltoken(p.ptr("p_token"));
  return 0;
}

/** sys_lwp_exit: the last thread exits the process (init's last thread may not: EPERM, as exit). */
function* sys_lwp_exit(): KGen<number> {
  const p = curproc();
  yield* lwkt_gettoken(p.ptr("p_token"));
  if (p.p_nthreads === 1 && !(p.p_flags & P_WEXIT)) {
    lwkt_reltoken(p.ptr("p_token"));
    if (p.h === G().initproc) return EPERM;
    yield* exit1(W_EXITCODE(0, 0));
    return 0;
  }
  yield* lwp_exit(false, NULL);
  return 0;
}

export function* dfly_syscall(call: number, a: readonly number[]): KGen<RawResult> {
  install_sigcheck();
  const td = curthread() as ReturnType<typeof curthread> & { pid: number; syscall: string };
  const name = CALL_NAMES[call];
  const p = curproc();
  td.pid = p.p_pid;
  td.syscall = name ?? `call${call}`;
  switch (name) {
    case "fork": {
      const r = yield* sys_fork();
      return r.error ? err(r.error) : ok(r.pid);
    }
    case "vfork": {
      const r = yield* sys_vfork();
      return r.error ? err(r.error) : ok(r.pid);
    }
    case "rfork": {
      const r = yield* sys_rfork(a[0]);
      return r.error ? err(r.error) : ok(r.pid);
    }
    case "exit":
      // init may not exit: exit1 panics "Going nowhere without my init!" (kern_exit.c 304-307).
      if (p.h === G().initproc) return err(EPERM);
      yield* exit1(W_EXITCODE(a[0] & 0xff, 0));
      return EXITED;
    case "wait": {
      const r = yield* kern_wait(a[0], a[1]);
      return r.error ? err(r.error) : ok(r.pid, [r.pid, r.status]);
    }
    case "exec": {
      const e = yield* kern_exec();
      if (e < 0) {
        // sys_execve: "We hit a lethal error condition. Let's die now." (kern_exec.c 626-629)
        yield* exit1(W_EXITCODE(0, SIGABRT));
        return EXITED;
      }
      return e ? err(e) : ok(0);
    }
    case "kill": {
      const e = yield* kern_kill(a[1], a[0]);
      return e ? err(e) : ok(0);
    }
    case "killpg": {
      if (a[0] < 0) return err(EINVAL);
      const e = yield* dokillpg(a[1], a[0], false);
      return e ? err(e) : ok(0);
    }
    case "setpgid": {
      const e = yield* sys_setpgid(a[0], a[1]);
      return e ? err(e) : ok(0);
    }
    case "sigaction": {
      const e = yield* kern_sigaction(a[0], a[1], a[2]);
      return e ? err(e) : ok(0);
    }
    case "setrlimit": {
      const e = yield* sys_setrlimit_nproc(a[0]);
      return e ? err(e) : ok(0);
    }
    case "setuid": {
      const e = yield* sys_setuid(a[0]);
      return e ? err(e) : ok(0);
    }
    case "getpid":
      return ok(p.p_pid);
    case "getppid": {
      // sys_getppid (kern_prot.c): p_pptr->p_pid under p_token shared, so the parent can be
      // neither changed (proc_reparent takes the child's p_token) nor reaped meanwhile.
      yield* lwkt_gettoken_shared(p.ptr("p_token"));
      const ppid = p.p_pptr !== NULL ? procV(p.p_pptr).p_pid : 0;
      lwkt_reltoken(p.ptr("p_token"));
      return ok(ppid);
    }
    case "lwp_create": {
      const r = yield* sys_lwp_create({ fault: a[0] !== 0 });
      return r.error ? err(r.error) : ok(r.tid);
    }
    case "lwp_create2": {
      const r = yield* sys_lwp_create2({ fault: a[1] !== 0 }, a[0]);
      return r.error ? err(r.error) : ok(r.tid);
    }
    case "lwp_exit": {
      const e = yield* sys_lwp_exit();
      return e ? err(e) : EXITED;
    }
    case "procctl": {
      const id = a[1] === 0 ? p.p_pid : a[1];
      const r = yield* sys_procctl(id, a[0]);
      if (r.error) return err(r.error);
      return r.status ? ok(0, [r.status.flags, r.status.refs, r.status.pid_head]) : ok(0);
    }
    case "at_fork":
      return ok(yield* at_fork(a[0]));
    case "rm_at_fork":
      return ok(rm_at_fork(a[0]));
    case "vmstat": {
      const g = G();
      return ok(0, [g.v_forks, g.v_vforks, g.v_rforks, g.v_kthreads]);
    }
    case "forklog": {
      const g = G();
      const n = g.callout_seq;
      const log = [g.callout_log0, g.callout_log1, g.callout_log2, g.callout_log3];
      // oldest first among the last min(n, 4)
      const out: number[] = [];
      for (let i = Math.max(0, n - 4); i < n; i++) out.push(log[i & 3]);
      return ok(n, out);
    }
    case "sysctl_proc":
      return ok(yield* sysctl_kern_proc(a[0], a[1] !== 0));
    case "ps": {
      let n = 0;
      for (let c = 0; c < ALLPROC_HSIZE; c++) for (let h = procglob(c).allproc; h !== NULL; h = procV(h).p_list) if (procV(h).p_stat !== SZOMB) n++;
      return ok(n);
    }
  }
  return err(EINVAL);
}

/**
 * userret: an lwp told to exit leaves; pending signals are taken (a fatal one exits the
 * process); the scripted init reaps every zombie child it has with WNOHANG waits (its SIGCHLD
 * handling; a stress run's init waits for its children itself).
 */
export function* dfly_userret(): KGen<boolean> {
  install_sigcheck();
  const lp = curlwp();
  const p = procV(lp.lwp_proc);
  if (data_race(() => p.p_flags & P_WEXIT) || lp.lwp_mpflags & LWP_MP_WEXIT) {
    yield* lwkt_gettoken(p.ptr("p_token"));
    if (p.p_nthreads === 1 && !(p.p_flags & P_WEXIT)) {
      lwkt_reltoken(p.ptr("p_token"));
      yield* exit1(W_EXITCODE(0, 0));
    } else yield* lwp_exit(false, NULL);
    return false;
  }
  const { fatal, caught } = yield* postsig_all(lp);
  if (fatal) {
    yield* exit1(W_EXITCODE(0, fatal));
    return false;
  }
  if (p.h === G().initproc && isScriptProgram(threadOf(curthread().h).td_prog)) {
    void caught.includes(SIGCHLD);
    void sigmask;
    for (;;) {
      const r = yield* kern_wait(WAIT_ANY, WNOHANG);
      if (r.error || r.pid === 0) break;
    }
  }
  return true;
}

export function threadOf(h: number) {
  return image.table(THREAD).view(h);
}
