/** What a transaction changes for one stream's rows: the rows it read and the rows the fold made. */
export interface RowChange<Rows> {
  readonly before: Rows;
  readonly after: Rows;
}

/** Whether two rows hold the same values (dates by instant), so an unchanged row is not written again. */
export function sameRow(a: object | undefined, b: object | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => {
    const x = left[key];
    const y = right[key];
    if (x instanceof Date && y instanceof Date) return x.getTime() === y.getTime();
    return x === y;
  });
}

/**
 * Rows per multi-row statement: a few thousand rows keep every statement far below Postgres's
 * 65,535 bind parameters at the widest table (7 columns).
 */
const rowsPerStatement = 2_000;

/** Runs `write` on consecutive slices of `rows`, one statement each. */
export async function inChunks<T>(rows: readonly T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < rows.length; start += rowsPerStatement) await write(rows.slice(start, start + rowsPerStatement));
}
