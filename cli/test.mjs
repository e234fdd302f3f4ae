// `npm test [-- FILE... | mocha flags]`: the whole suite, or only the files named. Mocha adds a
// config file's `spec` to the files given on the command line, so the default lives here instead.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
const namesFiles = args.some((arg) => /\.test\.ts$/.test(arg) || arg.startsWith("tests/"));
const mocha = createRequire(import.meta.url).resolve("mocha/bin/mocha.js");
const child = spawn(process.execPath, [mocha, ...args, ...(namesFiles ? [] : ["tests/**/*.test.ts"])], {
  stdio: "inherit",
});
child.on("exit", (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
