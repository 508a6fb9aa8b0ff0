/*
 * The DragonFly worker module: every cpu imports it (KernelModel.module) before it runs. It
 * registers the kernel entry (the `dragonfly.script` user program, src/kern/usermode.ts) and the
 * kernel's own thread (the deadlwp task).
 */
import { registerProgram } from "../../sched/programs.js";
import { registerKernelEntry } from "../usermode.js";
import { setSettledLaws, setWakeupLaws } from "../../sched/quiescent.js";
import { dragonflyLostWakeup, dragonflyUnpaidWakeup, dragonflySleepLaws } from "../../invariants/sleepers.js";
import { KGLOBALS } from "./structs.js";
import { CALL_NAMES } from "./calls.js";
import { deadlwp_task } from "./kern_exit.js";
import { lab_pgsignal_paused, lab_reaper_lock_paused } from "./lab.js";
import { dfly_syscall, dfly_userret } from "./syscalls.js";

registerKernelEntry("dragonfly", { names: CALL_NAMES, syscall: dfly_syscall, userret: dfly_userret });
setSettledLaws(KGLOBALS.name, (img) => dragonflySleepLaws(img, true));
setWakeupLaws(KGLOBALS.name, { made: dragonflyLostWakeup, unpaid: dragonflyUnpaidWakeup });
registerProgram("dragonfly.deadlwp", () => deadlwp_task());
registerProgram("dragonfly.lab.pgsignal_paused", (args) => lab_pgsignal_paused(args));
registerProgram("dragonfly.lab.reaper_lock_paused", () => lab_reaper_lock_paused());
