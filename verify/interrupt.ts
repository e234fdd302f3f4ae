/**
 * Ctrl-C during a live run. `npm run` forwards SIGINT to the script while the terminal sends it to
 * the whole process group too, so one keypress can arrive twice: the handler stays installed for
 * the whole run, and every signal after the first only says cleanup is still under way. Removing
 * it after the first (Node's default then exits at once) is what left probe pods behind.
 */
export function installInterruptHandler(
  processLike: NodeJS.EventEmitter,
  say: (line: string) => void,
): AbortController {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      say("verify: still deleting the probe pods; they end by themselves if this is killed\n");
      return;
    }
    say("verify: interrupted; deleting the probe pods\n");
    controller.abort();
  };
  processLike.on("SIGINT", onSignal);
  processLike.on("SIGTERM", onSignal);
  return controller;
}
