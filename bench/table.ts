/** A plain text table for the bench report: a title, a header row, right-aligned figures. */

export class Table {
  private readonly rows: string[][] = [];

  constructor(
    private readonly title: string,
    private readonly header: string[],
  ) {}

  row(...cells: string[]): void {
    this.rows.push(cells);
  }

  print(): void {
    const all = [this.header, ...this.rows];
    const widths = this.header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
    const line = (r: string[]) =>
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    console.log(`\n${this.title}`);
    console.log(line(this.header));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const r of this.rows) console.log(line(r));
  }
}
