/** The connlist printed for machines (JSON, as np-guard's `-o json`) and for people. */
import type { ConnlistResult, Connection } from "./connlist";

export const CONNLIST_FORMATS = ["connlist", "json", "txt", "md", "dot", "mermaid"] as const;
export type ConnlistFormat = (typeof CONNLIST_FORMATS)[number];

function hostNetworkNote(result: ConnlistResult, prefix: string): string {
  if (result.hostNetworkWorkloads.length === 0) return "";
  return `${prefix}host-network workloads (evaluated as pods; a real cluster sees their node's address, which ipBlocks may match): ${result.hostNetworkWorkloads.join(", ")}\n`;
}

function quoted(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function nodesOf(connections: readonly Connection[]): string[] {
  return [...new Set(connections.flatMap((c) => [c.src, c.dst]))].sort();
}

function markdown(result: ConnlistResult): string {
  const cell = (text: string): string => text.replace(/\|/g, "\\|");
  const rows = result.connections.map((c) => `| ${cell(c.src)} | ${cell(c.dst)} | ${cell(c.conn)} |`);
  return (
    ["| src | dst | conn |", "|-----|-----|------|", ...rows].join("\n") +
    "\n" +
    hostNetworkNote(result, "\n")
  );
}

function dot(result: ConnlistResult): string {
  const nodes = nodesOf(result.connections).map((name) => `  ${quoted(name)};`);
  const edges = result.connections.map(
    (c) => `  ${quoted(c.src)} -> ${quoted(c.dst)} [label=${quoted(c.conn)}];`,
  );
  const host = result.hostNetworkWorkloads.map(
    (name) => `  ${quoted(name)} [shape=box, style=dashed, label=${quoted(`${name} (hostNetwork)`)}];`,
  );
  return ["digraph connlist {", ...nodes, ...host, ...edges, "}"].join("\n") + "\n";
}

function mermaid(result: ConnlistResult): string {
  const ids = new Map(nodesOf(result.connections).map((name, index) => [name, `n${index}`]));
  // Mermaid labels are quoted strings; '#quot;' is its escape for a double quote.
  const label = (text: string): string => `"${text.replace(/"/g, "#quot;")}"`;
  const nodes = [...ids].map(([name, id]) => `  ${id}[${label(name)}]`);
  const edges = result.connections.map((c) => `  ${ids.get(c.src)} -->|${label(c.conn)}| ${ids.get(c.dst)}`);
  const host = result.hostNetworkWorkloads.map(
    (name, index) => `  h${index}[${label(`${name} (hostNetwork)`)}]`,
  );
  return ["flowchart LR", ...nodes, ...host, ...edges].join("\n") + "\n";
}

export function formatConnlist(result: ConnlistResult, format: ConnlistFormat): string {
  switch (format) {
    case "connlist":
    case "json":
      return `${JSON.stringify(result.connections, null, 2)}\n`;
    case "txt":
      return (
        result.connections.map((c) => `${c.src} => ${c.dst} : ${c.conn}\n`).join("") +
        hostNetworkNote(result, "")
      );
    case "md":
      return markdown(result);
    case "dot":
      return dot(result);
    case "mermaid":
      return mermaid(result);
  }
}
