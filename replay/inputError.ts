/**
 * Bad replay input: the message names the file, the line (1-based) and the field, what was found and
 * what was expected, so an operator can fix the export instead of reading a stack trace.
 */
export class ReplayInputError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
    problem: string,
  ) {
    const where = `${file}${line === undefined ? "" : `:${line}`}${field === undefined ? "" : `: field ${field}`}`;
    super(`${where}: ${problem}`);
  }
}

/** The 1-based line of a character offset, for parsers that report positions. */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let index = 0; index < offset && index < text.length; index++)
    if (text.charCodeAt(index) === 10) line++;
  return line;
}
