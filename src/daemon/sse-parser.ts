/**
 * An incremental parser for `text/event-stream` (the WHATWG "server-sent events" format): feed it
 * decoded text as it arrives, get back complete events. Handles CRLF/LF/CR line ends split across
 * chunks, comments, multi-line `data`, `id` (ignored when it contains NUL) and field lines without
 * a colon. A line longer than `maxLineChars` is dropped so a hostile server cannot grow memory.
 */

export interface SseEvent {
  /** `event:` field; `"message"` when absent. */
  event: string;
  data: string;
  /** The last event id after this event (the `Last-Event-ID` to resume from). */
  lastEventId: string;
}

export class SseParser {
  private buf = "";
  private data: string[] = [];
  private eventType = "";
  private sawCr = false;
  private dropping = false;
  lastEventId = "";

  constructor(private readonly maxLineChars = 1024 * 1024) {}

  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10 && this.sawCr) {
        // The LF of a CRLF whose CR ended the previous line.
        this.sawCr = false;
        start = i + 1;
        continue;
      }
      this.sawCr = false;
      if (c === 10 || c === 13) {
        this.append(chunk.slice(start, i));
        this.line(this.dropping ? undefined : this.buf, out);
        this.buf = "";
        this.dropping = false;
        this.sawCr = c === 13;
        start = i + 1;
      }
    }
    this.append(chunk.slice(start));
    return out;
  }

  private append(s: string): void {
    if (this.dropping) return;
    if (this.buf.length + s.length > this.maxLineChars) {
      this.dropping = true;
      this.buf = "";
      return;
    }
    this.buf += s;
  }

  private line(line: string | undefined, out: SseEvent[]): void {
    if (line === undefined) return;
    if (line.length === 0) {
      if (this.data.length > 0) {
        out.push({
          event: this.eventType || "message",
          data: this.data.join("\n"),
          lastEventId: this.lastEventId,
        });
      }
      this.data = [];
      this.eventType = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.eventType = value;
    else if (field === "id" && !value.includes("\u0000")) this.lastEventId = value;
  }
}
