/**
 * Flow logs delivered to S3 as Parquet (AWS "Flow log files": each file Gzip-compressed; columns
 * named as the fields, hyphens as underscores in Athena's DDL and in some writers, so both are read).
 * hyparquet (pure JavaScript, no dependencies) reads the file; it decodes Snappy pages itself and is
 * handed Node's own zlib for Gzip pages. Each row becomes the text fields the record parser checks,
 * so a Parquet record meets the same rules, counts and messages as a text one ("-" for a null).
 */
import * as fs from "node:fs";
import * as zlib from "node:zlib";
import { ReplayInputError } from "./inputError";
import type { FlowLogParser } from "./flowLogRecords";

function fieldText(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "string")
    return String(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  return JSON.stringify(value);
}

export async function replayFlowLogParquet(file: string, parser: FlowLogParser): Promise<void> {
  const { parquetMetadata, parquetReadObjects, parquetSchema } = await import("hyparquet");
  let rows: Record<string, unknown>[];
  let names: string[];
  try {
    const bytes = fs.readFileSync(file);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const metadata = parquetMetadata(buffer);
    names = parquetSchema(metadata).children.map((child) => child.element.name);
    rows = await parquetReadObjects({
      file: buffer,
      metadata,
      compressors: { GZIP: (input: Uint8Array) => new Uint8Array(zlib.gunzipSync(input)) },
    });
  } catch (cause) {
    throw new ReplayInputError(
      file,
      undefined,
      undefined,
      `starts as Parquet ("PAR1") but cannot be read (${(cause as Error).message}); expected a flow-log Parquet file as S3 delivers it`,
    );
  }
  parser.setLayout(
    names.map((name) => name.replace(/_/g, "-")),
    undefined,
  );
  rows.forEach((row, index) => {
    parser.record(
      names.map((name) => fieldText(row[name])),
      index + 1,
    );
  });
}
