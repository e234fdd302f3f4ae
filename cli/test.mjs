// `npm test [-- FILE... | mocha flags]`: the whole suite, or only the files named. Mocha adds a
// config file's `spec` to the files given on the command line, so the default lives here instead.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
const wantsHelp = args.includes("--help") || args.includes("-h");
if (wantsHelp) {
  // Our own usage first, then mocha's options (mocha prints its help only when given nothing else).
  process.stdout.write(
    "Usage: npm test [-- FILE... | mocha flags]\n\n" +
      "Runs the whole suite (tests/**/*.test.ts), or only the test files named.\n" +
      "npm run test:fast skips the suites tagged @process. Any mocha flag may follow; mocha's own help:\n\n",
  );
}
const namesFiles = args.some((arg) => /\.test\.ts$/.test(arg) || arg.startsWith("tests/"));
const mocha = createRequire(import.meta.url).resolve("mocha/bin/mocha.js");
const mochaArgs = wantsHelp ? ["--help"] : [...args, ...(namesFiles ? [] : ["tests/**/*.test.ts"])];
const child = spawn(process.execPath, [mocha, ...mochaArgs], { stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
