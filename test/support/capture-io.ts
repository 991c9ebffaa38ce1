/** An `Io` for the runner and pool CLIs that keeps every printed line (tests read `out`/`err`). */
export function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), progress: false },
    out,
    err,
  };
}
