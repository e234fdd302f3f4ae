// Preloaded into a measured process (`node -r ./bench/maxRss.js ...`): prints its peak resident set
// size on exit, on stderr, for bench/scale.ts to read. Plain JS so it loads before ts-node.
process.on("exit", () => {
  process.stderr.write(`\nMAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
});
