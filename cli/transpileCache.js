/**
 * `node -r ./cli/transpileCache.js cli/replay.ts`: runs the TypeScript sources as ts-node
 * --transpile-only does (each file transpiled alone with tsconfig.json's compiler options, no type
 * check), but keeps each file's output under node_modules/.cache, keyed by the TypeScript version,
 * tsconfig.json and the file's text. `npm run replay` transpiled about 400 KB of sources on every run
 * (a third of a million-record replay's CPU, most of its start-up); with the cache, TypeScript is not
 * even loaded until a source changes. A stale entry cannot be used: any change to its key misses.
 */
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.dirname(require.resolve("../package.json"));
const CACHE_DIR = path.join(ROOT, "node_modules", ".cache", "flash-netpol-transpile");
const TSCONFIG_TEXT = fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8");
const TYPESCRIPT_VERSION = JSON.parse(
  fs.readFileSync(require.resolve("typescript/package.json"), "utf8"),
).version;

let typescript;
let compilerOptions;

function transpile(source, filename) {
  if (typescript === undefined) {
    typescript = require("typescript");
    const config = typescript.parseConfigFileTextToJson("tsconfig.json", TSCONFIG_TEXT);
    if (config.error !== undefined)
      throw new Error(
        `tsconfig.json: ${typescript.flattenDiagnosticMessageText(config.error.messageText, "\n")}`,
      );
    compilerOptions = typescript.convertCompilerOptionsFromJson(config.config.compilerOptions, ROOT).options;
  }
  return typescript.transpileModule(source, {
    fileName: filename,
    compilerOptions: { ...compilerOptions, sourceMap: false, inlineSourceMap: false, declaration: false },
    reportDiagnostics: false,
  }).outputText;
}

require.extensions[".ts"] = function loadTypeScript(module, filename) {
  const source = fs.readFileSync(filename, "utf8");
  const key = crypto
    .createHash("sha256")
    .update(`${TYPESCRIPT_VERSION}\0${TSCONFIG_TEXT}\0${filename}\0${source}`)
    .digest("hex");
  const cached = path.join(CACHE_DIR, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, "utf8");
  } catch {
    output = transpile(source, filename);
    try {
      fs.mkdirSync(CACHE_DIR, { recursive: true });
      // Written aside and renamed, so a concurrent run never reads half a file.
      const partial = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(partial, output);
      fs.renameSync(partial, cached);
    } catch {
      // A read-only checkout still runs, only without the cache.
    }
  }
  module._compile(output, filename);
};
