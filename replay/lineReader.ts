/**
 * Lines of a plain or gzip-compressed file, streamed, numbered from 1; read errors name the file.
 * Compression is told by the file's first bytes, not its name: S3 objects saved without `.gz`, or
 * several `.log.gz` objects concatenated (`cat *.log.gz`: gzip members one after another, which
 * zlib's gunzip reads through), read the same.
 */
import * as fs from "node:fs";
import * as readline from "node:readline";
import * as zlib from "node:zlib";
import type { Readable } from "node:stream";
import { ReplayInputError } from "./inputError";

export type FileKind = "gzip" | "parquet" | "text";

const GZIP_MAGIC = [0x1f, 0x8b];
const PARQUET_MAGIC = "PAR1";

/** What the first bytes say the file is: gzip (RFC 1952 ID1 ID2), Parquet ("PAR1"), or text. */
export async function fileKind(file: string): Promise<FileKind> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, "r");
  } catch (cause) {
    throw new ReplayInputError(file, undefined, undefined, `cannot be read (${(cause as Error).message})`);
  }
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return "gzip";
    if (bytesRead === 4 && head.toString("latin1") === PARQUET_MAGIC) return "parquet";
    return "text";
  } finally {
    await handle.close();
  }
}

export async function forEachLine(
  file: string,
  onLine: (line: string, lineNumber: number) => void,
  kind?: FileKind,
): Promise<void> {
  const compressed = (kind ?? (await fileKind(file))) === "gzip";
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  let input: Readable = raw;
  if (compressed) {
    const gunzip = zlib.createGunzip({ chunkSize: 1 << 18 });
    raw.on("error", (error) => gunzip.destroy(error));
    input = raw.pipe(gunzip);
  }
  // readline ends quietly when its input fails (a damaged gzip): keep the error to report it.
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
      `cannot be read (${(cause as Error).message})${compressed ? "; it starts as gzip (bytes 1f 8b) but does not decompress: expected a whole gzip file, as S3 delivers flow logs" : ""}`,
    );
  } finally {
    lines.close();
    raw.destroy();
  }
}
