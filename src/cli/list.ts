/*
 * `forkstorm list`: the kernels, scenarios and bugs.
 */
import { listCatalog, REFERENCE_LEGEND, withoutReferences } from "../run/list.js";
import { EXIT } from "./exit.js";
import { command, flag } from "./options.js";

export const listCommand = command({
  name: "list",
  summary: "kernels, scenarios and bugs, with one-line descriptions",
  options: {
    json: flag("print the catalogue as JSON"),
    verbose: flag("keep the kernel source lines each description cites, and say what they mean"),
  },
  async run(v) {
    const { kernels, scenarios, bugs } = listCatalog();
    if (v.json) {
      process.stdout.write(JSON.stringify({ kernels, scenarios, bugs }, null, 2) + "\n");
      return EXIT.clean;
    }
    const out = (line: string) => process.stdout.write(line + "\n");
    const text = v.verbose ? (d: string) => d : withoutReferences;
    out("kernels:");
    for (const k of kernels) out(`  ${k.name.padEnd(12)} ${k.description}`);
    out("scenarios:");
    for (const s of scenarios) out(`  ${`${s.kernel}/${s.name}`.padEnd(28)} ${text(s.description)}`);
    out("bugs:");
    for (const b of bugs) out(`  ${b.id.padEnd(28)} [${b.interlock}] ${text(b.description)}`);
    if (v.verbose) {
      out("references in the descriptions:");
      for (const line of REFERENCE_LEGEND) out(`  ${line}`);
    } else out("(forkstorm list --verbose adds the kernel source lines each description cites)");
    return EXIT.clean;
  },
});
