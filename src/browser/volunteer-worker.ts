/**
 * The Web Worker of the volunteers' page (assets/volunteer/volunteer.js starts it): runs
 * `runVolunteer` off the page's main thread, where compiling draco's WebAssembly kernels
 * synchronously is allowed and a long gradient does not freeze the page. Messages in:
 * `{ type: 'start', url, wasmPath, attack? }`, `{ type: 'stop' }`; out: `{ type: 'status', status }`.
 */
import { runVolunteer, type Volunteer } from './volunteer.js';

interface Scope {
  onmessage:
    ((e: { data: { type: string; url?: string; wasmPath?: string; attack?: string } }) => void) | null;
  postMessage(m: unknown): void;
}

const scope = globalThis as unknown as Scope;
let running: Volunteer | null = null;

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'start' && running === null && m.url !== undefined && m.wasmPath !== undefined) {
    running = runVolunteer({
      url: m.url,
      wasmPath: m.wasmPath,
      attack: m.attack,
      status: (status) => scope.postMessage({ type: 'status', status }),
    });
  } else if (m.type === 'stop') running?.stop();
};
