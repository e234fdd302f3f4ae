/**
 * Families of rollout stages as cubes: a few flags fixed (enforced or off), every other flag free.
 * Merging and counting them never lists a stage, so 2^86 stages cost what their few families cost.
 */
/** A stage of the family `cube`: flag index -> enforced. */
export type Cube = ReadonlyMap<number, boolean>;

export function cubeKey(cube: Cube): string {
  return [...cube.entries()]
    .sort(([a], [b]) => a - b)
    .map(([flag, on]) => `${flag}${on ? "+" : "-"}`)
    .join(",");
}

/** Merges families that differ in one flag only, and drops families inside another, until none does. */
export function mergeCubes(cubes: readonly Cube[]): Cube[] {
  let current = new Map(cubes.map((cube) => [cubeKey(cube), cube]));
  for (let changed = true; changed;) {
    changed = false;
    const next = new Map<string, Cube>();
    const merged = new Set<string>();
    const list = [...current.values()];
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const [a, b] = [list[i], list[j]];
        if (a.size !== b.size) continue;
        let differing: number | undefined;
        let ok = true;
        for (const [flag, on] of a) {
          const other = b.get(flag);
          if (other === undefined) ok = false;
          else if (other !== on) {
            if (differing !== undefined) ok = false;
            differing = flag;
          }
          if (!ok) break;
        }
        if (!ok || differing === undefined) continue;
        const joined = new Map(a);
        joined.delete(differing);
        next.set(cubeKey(joined), joined);
        merged.add(cubeKey(a)).add(cubeKey(b));
        changed = true;
      }
    }
    for (const [key, cube] of current) if (!merged.has(key)) next.set(key, cube);
    // Absorption: a family inside a wider one says nothing more.
    const all = [...next.values()];
    const inside = (small: Cube, wide: Cube) =>
      small !== wide &&
      wide.size < small.size &&
      [...wide.entries()].every(([flag, on]) => small.get(flag) === on);
    current = new Map(
      all.filter((cube) => !all.some((wide) => inside(cube, wide))).map((cube) => [cubeKey(cube), cube]),
    );
  }
  return [...current.values()];
}

/** Stages of the union of the families, over `flagCount` free flags, without listing any (disjoint sharp). */
export function countUnion(cubes: readonly Cube[], flagCount: number): bigint {
  const disjoint: Cube[] = [];
  for (const cube of cubes) {
    let pieces: Cube[] = [cube];
    for (const taken of disjoint) {
      pieces = pieces.flatMap((piece) => sharp(piece, taken));
      if (pieces.length === 0) break;
    }
    disjoint.push(...pieces);
  }
  return disjoint.reduce((sum, cube) => sum + 2n ** BigInt(flagCount - cube.size), 0n);
}

/** `piece` minus `taken`, as disjoint cubes. */
function sharp(piece: Cube, taken: Cube): Cube[] {
  for (const [flag, on] of taken) if (piece.has(flag) && piece.get(flag) !== on) return [piece];
  const result: Cube[] = [];
  const prefix = new Map(piece);
  for (const [flag, on] of taken) {
    if (piece.has(flag)) continue;
    result.push(new Map([...prefix, [flag, !on]]));
    prefix.set(flag, on);
  }
  return result;
}
