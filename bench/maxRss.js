// Preloaded into a measured process (`node -r ./bench/maxRss.js ...`): prints its peak resident set
// size and its CPU time (user + system, its children left out) on exit, on stderr, for
// bench/scale.ts to read. Plain JS so it loads before ts-node.
process.on("exit", () => {
  const usage = process.resourceUsage();
  const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
  process.stderr.write(`\nMAX_RSS_KB=${usage.maxRSS} CPU_MS=${cpuMs.toFixed(0)}\n`);
});
