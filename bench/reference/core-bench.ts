/**
 * The core comparison, reference side: targeted messages to one endpoint through the published
 * broker in process (in-memory connector socket, api port answering at once, real IPC plugin),
 * with a window of messages in flight, measured from the first frame to the final DELIVERY_ACK.
 */

import { BenchPlugin } from "../plugin-client.ts";
import type { ThroughputResult } from "../core-delivery.ts";
import { loadReference, memoryApiPort, startReference } from "./drive.ts";

function frame(seq: number, endpointId: string, content: string): string {
  return JSON.stringify({
    event: "MESSAGE_RECEIVED",
    messageId: `msg-${seq}`,
    seq,
    from: "agent://sender",
    content,
    contentType: "text",
    metadata: { target_endpoint_id: endpointId },
  });
}

export async function referenceCoreTargeted(
  dir: string,
  messages: number,
  window: number,
  content = "hello from the bench",
): Promise<ThroughputResult> {
  const mods = await loadReference(dir);
  const ref = await startReference(mods, { wire: { kind: "memory" }, apiPort: memoryApiPort() });
  const plugin = new BenchPlugin(ref.running.ipcUrl, ref.running.bearerToken);
  try {
    await plugin.openStream();
    const ep = await plugin.register();
    const wire = ref.wire;
    if (!wire) throw new Error("reference: no in-memory socket was opened");
    const run = (from: number, count: number) =>
      new Promise<void>((resolve, reject) => {
        const last = from + count - 1;
        let sent = from - 1;
        let scheduled = false;
        const top = () => {
          scheduled = false;
          const limit = Math.min(last, wire.ackedUpTo + window);
          while (sent < limit) {
            sent++;
            wire.deliver(frame(sent, ep, content));
          }
        };
        const stall = setInterval(() => {
          if (wire.ackedUpTo < last && performance.now() - lastProgress > 10_000) {
            clearInterval(stall);
            reject(new Error(`reference stalled at ack ${wire.ackedUpTo} of ${last}`));
          }
        }, 1_000);
        let lastProgress = performance.now();
        wire.onAck = (upTo) => {
          lastProgress = performance.now();
          if (upTo >= last) {
            clearInterval(stall);
            wire.onAck = undefined;
            resolve();
            return;
          }
          if (!scheduled) {
            scheduled = true;
            setImmediate(top);
          }
        };
        top();
      });
    const warm = Math.min(1_000, Math.floor(messages / 10));
    await run(1, warm);
    const t0 = performance.now();
    await run(warm + 1, messages);
    const ms = performance.now() - t0;
    return { messages, ms, msgsPerSec: (messages / ms) * 1000, acked: wire.ackedUpTo };
  } finally {
    plugin.close();
    await ref.close();
  }
}
