/**
 * One authenticated IPC request as a plugin makes it (bearer token, `x-plugin-pid`), answered as
 * parsed JSON, or `{ raw }` when the body is not JSON. Shared by the daemon and conformance worlds.
 */

export interface IpcAnswer {
  status: number;
  body: Record<string, unknown>;
}

export async function ipcRequest(
  target: { ipcUrl: string; bearerToken: string; pid: number },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<IpcAnswer> {
  const res = await fetch(`${target.ipcUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${target.bearerToken}`,
      "x-plugin-pid": String(target.pid),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed };
}
