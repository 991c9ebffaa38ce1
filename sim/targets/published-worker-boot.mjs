// Entry of the published target's worker thread: registers tsx's loader in this thread, then
// loads the TypeScript worker (Node 20 does not apply a parent's --import hooks to a worker's entry).
import { register } from "tsx/esm/api";

register();
await import("./published-worker.ts");
