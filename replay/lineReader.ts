/**
 * Lines of a plain or gzip-compressed file, streamed, numbered from 1; read errors name the file.
 * Compression is told by the file's first bytes, not its name: S3 objects saved without `.gz`, or
 * several `.log.gz` objects concatenated (`cat *.log.gz`: gzip members one after another, which
 * zlib's gunzip reads through), read the same.
 */
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import type { Readable } from "node:stream";
import { ReplayInputError } from "./inputError";

export type FileKind = "gzip" | "parquet" | "text";

const GZIP_MAGIC = [0x1f, 0x8b];
const PARQUET_MAGIC = "PAR1";
const NEWLINE = 10;
const CARRIAGE_RETURN = 13;

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

/**
 * Calls `onLine` for each line, decoded as UTF-8. Lines are cut on "\n" here rather than by
 * node:readline, which costs more than the parsing itself at a million records; a trailing "\r" is
 * dropped.
 */
export async function forEachLine(
  file: string,
  onLine: (line: string, lineNumber: number) => void,
  kind?: FileKind,
): Promise<void> {
  await forEachLineBytes(
    file,
    (bytes, start, end, lineNumber) => onLine(bytes.toString("utf8", start, end), lineNumber),
    kind,
  );
}

/**
 * As forEachLine, but a line is handed as the bytes between `start` and `end` of `bytes`: a reader
 * that needs only a few fields of each line (flow-log records) parses them where they lie, and skips
 * decoding a million lines into strings, which costs as much as gunzip itself.
 */
export async function forEachLineBytes(
  file: string,
  onLine: (bytes: Buffer, start: number, end: number, lineNumber: number) => void,
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
  let lineNumber = 0;
  const emit = (bytes: Buffer, start: number, end: number) => {
    const cut = end > start && bytes[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    onLine(bytes, start, cut, ++lineNumber);
  };
  try {
    let rest: Buffer | undefined;
    for await (const chunk of input) {
      const bytes = rest === undefined ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
      let start = 0;
      let newline = bytes.indexOf(NEWLINE);
      while (newline !== -1) {
        emit(bytes, start, newline);
        start = newline + 1;
        newline = bytes.indexOf(NEWLINE, start);
      }
      rest = start < bytes.length ? bytes.subarray(start) : undefined;
    }
    if (rest !== undefined) emit(rest, 0, rest.length);
  } catch (cause) {
    if (cause instanceof ReplayInputError) throw cause;
    throw new ReplayInputError(
      file,
      lineNumber + 1,
      undefined,
      `cannot be read (${(cause as Error).message})${compressed ? "; it starts as gzip (bytes 1f 8b) but does not decompress: expected a whole gzip file, as S3 delivers flow logs" : ""}`,
    );
  } finally {
    raw.destroy();
  }
}
