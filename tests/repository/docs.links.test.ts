/**
 * The documentation holds together: every relative link of README.md, CONTRIBUTING.md and
 * docs/**\/*.md names a file of the repository, every `#anchor` a heading of its target (GitHub's
 * slugs), and README.md stays short enough to be read first (issue 19: at most 15 KB).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const README_MAX_BYTES = 15 * 1024;

/** Markdown without fenced code blocks and inline code spans, where `[x](y)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** The targets of inline links and images: `[text](target)` / `![alt](target "title")`. */
export function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
    targets.push(match[1]!);
  return targets;
}

/** GitHub's heading anchors (github-slugger): lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = match[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Each broken relative link of `file` (repository-relative), as `file: target (why)`. */
export function brokenLinks(
  file: string,
  read: (file: string) => string = (f) => readFileSync(path.join(ROOT, f), "utf8"),
): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(read(file))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...: not ours to check offline
    const [pathPart, anchor] = target.split("#", 2) as [string, string | undefined];
    const resolved =
      pathPart === ""
        ? file
        : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURI(pathPart)));
    if (resolved.startsWith("..")) {
      problems.push(`${file}: ${target} (leaves the repository)`);
      continue;
    }
    const absolute = path.join(ROOT, resolved);
    if (!existsSync(absolute)) {
      problems.push(`${file}: ${target} (no file ${resolved})`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!resolved.endsWith(".md") || statSync(absolute).isDirectory()) {
      problems.push(`${file}: ${target} (an anchor into ${resolved}, which is not a markdown file)`);
    } else if (!headingAnchors(read(resolved)).has(anchor)) {
      problems.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
    }
  }
  return problems;
}

function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? walk(path.posix.join(dir, entry.name))
        : entry.name.endsWith(".md")
          ? [path.posix.join(dir, entry.name)]
          : [],
    );
  return ["README.md", "CONTRIBUTING.md", ...walk("docs")];
}

describe("documentation links", () => {
  it("README.md is at most 15 KB", () => {
    const size = statSync(path.join(ROOT, "README.md")).size;
    assert.ok(
      size <= README_MAX_BYTES,
      `README.md is ${size} bytes; move a subject into docs/ (limit ${README_MAX_BYTES})`,
    );
  });

  it("the docs pages the README promises exist", () => {
    for (const page of [
      "adopting",
      "configuration",
      "aws-discovery",
      "rollout",
      "operations",
      "policy-pack",
      "plan",
      "verify",
      "replay",
      "analyzer",
      "design",
    ]) {
      assert.ok(existsSync(path.join(ROOT, "docs", `${page}.md`)), `docs/${page}.md`);
    }
    assert.ok(existsSync(path.join(ROOT, "docs", "fidelity", "README.md")), "docs/fidelity/README.md");
  });

  it("every relative link and #anchor in README.md, CONTRIBUTING.md and docs/ resolves", () => {
    const files = markdownFiles();
    assert.ok(files.length > 10, `found only ${files.join(", ")}`);
    assert.deepEqual(
      files.flatMap((file) => brokenLinks(file)),
      [],
    );
  });

  it("nothing refers to the old single-page docs/fidelity.md", () => {
    assert.equal(existsSync(path.join(ROOT, "docs", "fidelity.md")), false);
    for (const file of markdownFiles()) {
      assert.ok(
        !readFileSync(path.join(ROOT, file), "utf8").includes("docs/fidelity.md"),
        `${file} names docs/fidelity.md`,
      );
    }
  });

  describe("the checker itself", () => {
    const pages: Record<string, string> = {
      "docs/a.md": "# Page A\n\n## Shadow replay (`npm run replay`)\n\n## Twice\n\n## Twice\n",
      "docs/b.md": [
        "[ok](a.md#shadow-replay-npm-run-replay) [ok](a.md#twice-1) [ok](#local) [ok](https://example.com/x)",
        "[bad file](missing.md) [bad anchor](a.md#nowhere) [out](../../etc/passwd)",
        "`[not a link](nope.md)`",
        "```md\n[not a link either](nope.md)\n```",
        "## Local",
      ].join("\n\n"),
    };
    // The fake pages are read from memory; only existence checks touch the disk, so name real files.
    const read = (file: string): string => pages[file] ?? readFileSync(path.join(ROOT, file), "utf8");

    it("derives GitHub's anchors: punctuation dropped, spaces to hyphens, repeats numbered", () => {
      assert.deepEqual(
        [...headingAnchors(pages["docs/a.md"]!)],
        ["page-a", "shadow-replay-npm-run-replay", "twice", "twice-1"],
      );
    });

    it("finds links outside code only", () => {
      assert.deepEqual(linkTargets(pages["docs/b.md"]!), [
        "a.md#shadow-replay-npm-run-replay",
        "a.md#twice-1",
        "#local",
        "https://example.com/x",
        "missing.md",
        "a.md#nowhere",
        "../../etc/passwd",
      ]);
    });

    it("reports a missing file, a missing anchor and a link out of the repository", () => {
      // docs/a.md does not exist on disk: point the fake at real files for the existence checks.
      const problems = brokenLinks("docs/plan.md", (file) =>
        file === "docs/plan.md"
          ? "[ok](verify.md) [bad](missing.md) [bad anchor](verify.md#nowhere) [ok anchor](#here) [out](../../x.md)\n\n## Here"
          : read(file),
      );
      assert.deepEqual(problems, [
        "docs/plan.md: missing.md (no file docs/missing.md)",
        "docs/plan.md: verify.md#nowhere (no heading #nowhere in docs/verify.md)",
        "docs/plan.md: ../../x.md (leaves the repository)",
      ]);
    });
  });
});
