/**
 * Frame-key translation between the reference broker and our connector stub. The reference writes
 * and reads connector frames keyed `event` (`{"event":"REGISTER",…}`); our broker and the stub use
 * `type`. Only the top-level key is renamed; a frame whose first key is the tag takes a string fast
 * path, anything else is re-serialised.
 */

export function toWire(text: string): string {
  return rename(text, "event", "type");
}

export function fromWire(text: string): string {
  return rename(text, "type", "event");
}

function rename(text: string, from: string, to: string): string {
  const prefix = `{"${from}":`;
  if (text.startsWith(prefix)) return `{"${to}":${text.slice(prefix.length)}`;
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o !== "object" || o === null || !(from in o)) return text;
    const { [from]: tag, ...rest } = o;
    return JSON.stringify({ [to]: tag, ...rest });
  } catch {
    return text;
  }
}
