/** Lines of a plain or gzip-compressed file, streamed, numbered from 1; read errors name the file. */
import * as fs from "node:fs";
import * as readline from "node:readline";
import * as zlib from "node:zlib";
import type { Readable } from "node:stream";
import { ReplayInputError } from "./inputError";

export async function forEachLine(
  file: string,
  onLine: (line: string, lineNumber: number) => void,
): Promise<void> {
  try {
    await fs.promises.access(file, fs.constants.R_OK);
  } catch (cause) {
    throw new ReplayInputError(file, undefined, undefined, `cannot be read (${(cause as Error).message})`);
  }
  const raw = fs.createReadStream(file);
  let input: Readable = raw;
  if (file.endsWith(".gz")) {
    const gunzip = zlib.createGunzip();
    raw.on("error", (error) => gunzip.destroy(error));
    input = raw.pipe(gunzip);
  }
  // readline ends quietly when its input fails (a .gz that is not gzip): keep the error to report it.
  let streamError: Error | undefined;
  input.on("error", (error: Error) => (streamError = error));
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) onLine(line, ++lineNumber);
    if (streamError !== undefined) throw streamError;
  } catch (cause) {
    if (cause instanceof ReplayInputError) throw cause;
    throw new ReplayInputError(
      file,
      lineNumber + 1,
      undefined,
      `cannot be read (${(cause as Error).message})${file.endsWith(".gz") ? "; expected a gzip file, as S3 delivers flow logs" : ""}`,
    );
  } finally {
    lines.close();
    raw.destroy();
  }
}
