/**
 * A Byzantine insider as a real process (run by attacks.test.ts, never by the test runner: it does
 * nothing unless DRACO_TEST_INSIDER=1). It holds a valid worker key and tries to speak for another
 * rank every way the protocol leaves open to it: a HELLO claiming the other rank, and, once
 * authenticated as itself, a GRAD for the other rank at every step. For its own rank it sends a
 * wrong gradient of the right length (a Byzantine worker may send anything for its own rank).
 *
 *   DRACO_TEST_INSIDER=1 node insider.js ENDPOINT KEYFILE TARGET_RANK
 */
import { readFileSync } from 'node:fs';
import { parseWorkerKey } from '../../src/cluster/keys.js';
import { Dtype, MsgType, parseMessage } from '../../src/cluster/protocol.js';
import { Peer } from './peer.js';

async function main(endpoint: string, keyFile: string, target: number): Promise<number> {
  const key = parseWorkerKey(readFileSync(keyFile, 'utf8'), keyFile);
  const p = new Peer(endpoint, key);
  try {
    await p.send(p.hello(target));
    const s = await p.handshake();
    await p.send(Peer.up(s, { type: MsgType.READY }));
    // STEP = d float32 parameters, then the step's Byzantine ranks (s of them) as u32.
    const byzantine = (JSON.parse(s.config.payload.toString('utf8')) as { byzantine: number }).byzantine;
    let forged = 0;
    for (;;) {
      const r = parseMessage(await p.next(120_000), s.down, 1 << 30);
      if (!r.ok) continue;
      const h = r.frame.header;
      if (h.type === MsgType.BYE) break;
      if (h.type === MsgType.EVICT) return 3;
      if (h.type !== MsgType.STEP) continue;
      await p.send(
        Peer.up(
          s,
          { type: MsgType.GRAD, dtype: Dtype.FLOAT32, rank: target, step: h.step },
          Buffer.alloc(64, 0xc2),
        ),
      );
      forged++;
      const wrong = new Float32Array((r.frame.payload.byteLength - 4 * byzantine) / 4).fill(-100);
      await p.send(
        Peer.up(s, { type: MsgType.GRAD, dtype: Dtype.FLOAT32, step: h.step }, Buffer.from(wrong.buffer)),
      );
    }
    process.stdout.write(`forged ${forged}\n`);
    return 0;
  } finally {
    await p.close();
  }
}

if (process.env.DRACO_TEST_INSIDER === '1') {
  const [endpoint, keyFile, target] = process.argv.slice(2);
  main(endpoint, keyFile, Number(target)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`insider: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
