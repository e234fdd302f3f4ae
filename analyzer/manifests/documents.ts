/**
 * Reading Kubernetes manifests into located objects: files, folders (recursively, `.yaml`, `.yml`,
 * `.json`), or stdin; multi-document YAML; `*List` kinds flattened, their items taking the kind
 * the list names when they omit it (as kubectl prints `kubectl get -A -o yaml`). Evaluation lives
 * elsewhere: this module only knows where each object came from.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { LineCounter, parseAllDocuments } from "yaml";
import { isRecord } from "../../core/records";

/** An input problem, located by file, document index (0-based) and line (1-based). */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly documentIndex: number | undefined,
    readonly line: number | undefined,
    readonly problem: string,
  ) {
    const where = [
      file,
      documentIndex === undefined ? undefined : `document ${documentIndex}`,
      line === undefined ? undefined : `line ${line}`,
    ].filter((part) => part !== undefined);
    super(`${where.join(": ")}: ${problem}`);
    this.name = "ManifestError";
  }
}

export interface LocatedObject {
  readonly file: string;
  readonly documentIndex: number;
  readonly line: number;
  /** Index inside a `*List` document's items; undefined for a top-level object. */
  readonly itemIndex?: number;
  readonly object: Record<string, unknown>;
}

export const STDIN_NAME = "-";
const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Every manifest file under `target` in a stable (sorted) order; a file is itself. */
export function manifestFiles(target: string): string[] {
  let stats;
  try {
    stats = statSync(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new ManifestError(
      target,
      undefined,
      undefined,
      `cannot read (${code}); expected a file, a folder or "-" for stdin`,
    );
  }
  if (!stats.isDirectory()) return [target];
  return readdirSync(target, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const child = path.join(target, entry.name);
      if (entry.isDirectory()) return manifestFiles(child);
      return MANIFEST_EXTENSIONS.has(path.extname(entry.name).toLowerCase()) ? [child] : [];
    });
}

/**
 * The objects a Kubernetes value holds: itself, or the items of a `List`/`*List` (or of a bare
 * `{items: [...]}` when `kindOfBareItems` is given), each item without a kind taking the one its
 * list names ("NetworkPolicyList" -> "NetworkPolicy"), else `kindOfBareItems` (a caller that knows
 * what kubectl printed); a problem is returned as text.
 */
export function expandList(
  value: Record<string, unknown>,
  kindOfBareItems?: string,
): { object: Record<string, unknown>; itemIndex?: number }[] | string {
  const kind = value.kind;
  const bare = kind === undefined && kindOfBareItems !== undefined;
  if (!bare && (typeof kind !== "string" || !kind.endsWith("List"))) return [{ object: value }];
  const listName = bare ? "the list" : String(kind);
  const items = value.items ?? [];
  if (!Array.isArray(items)) return `expected "items" of ${listName} to be a list`;
  // "NetworkPolicyList" names its items' kind; a plain "List" (kubectl -o yaml) needs each item's.
  const itemKind = bare || kind === "List" ? kindOfBareItems : String(kind).slice(0, -"List".length);
  const expanded: { object: Record<string, unknown>; itemIndex?: number }[] = [];
  for (const [itemIndex, item] of (items as unknown[]).entries()) {
    if (!isRecord(item)) return `expected items[${itemIndex}] of ${listName} to be an object`;
    const object = item.kind === undefined && itemKind !== undefined ? { ...item, kind: itemKind } : item;
    if (typeof object.kind !== "string")
      return `expected items[${itemIndex}] of ${listName} to name its "kind"`;
    expanded.push({ object, itemIndex });
  }
  return expanded;
}

/** Splits one file's text into objects; an empty document (`---` alone) is skipped. */
export function parseManifestText(text: string, file: string): LocatedObject[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  if (!Array.isArray(documents)) return []; // an empty stream
  const objects: LocatedObject[] = [];
  documents.forEach((document, documentIndex) => {
    const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
    const firstError = document.errors[0];
    if (firstError !== undefined) {
      throw new ManifestError(
        file,
        documentIndex,
        lineAt(firstError.pos[0]),
        `expected valid YAML or JSON (${firstError.message.split("\n")[0]})`,
      );
    }
    const line = lineAt(document.contents?.range[0] ?? 0);
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (!isRecord(value)) {
      throw new ManifestError(
        file,
        documentIndex,
        line,
        "expected a Kubernetes object (a mapping with apiVersion and kind)",
      );
    }
    const kind = value.kind;
    if (typeof kind !== "string" || kind === "") {
      throw new ManifestError(file, documentIndex, line, 'expected a "kind" field naming the object\'s kind');
    }
    const expanded = expandList(value);
    if (typeof expanded === "string") throw new ManifestError(file, documentIndex, line, expanded);
    expanded.forEach(({ object, itemIndex }) =>
      objects.push({ file, documentIndex, line, itemIndex, object }),
    );
  });
  return objects;
}

/** Reads `target` (a file, a folder, or "-" with `readStdin`) into located objects. */
export function readManifestObjects(target: string, readStdin: () => string): LocatedObject[] {
  if (target === STDIN_NAME) return parseManifestText(readStdin(), "<stdin>");
  return manifestFiles(target).flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw new ManifestError(file, undefined, undefined, `cannot read file (${code})`);
    }
    return parseManifestText(text, file);
  });
}
