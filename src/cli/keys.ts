/** `draco keys`: a key set for a multi-machine run (src/cluster/keys.ts). */
import { Command } from 'commander';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { generateKeySet, writeKeySet, writeNewSecretFile, type KeySet } from '../cluster/keys.js';
import { positiveInt } from './args.js';

/** Most workers one key set holds (one CURVE + one rank key per worker; the ZAP table is in memory). */
const MAX_WORKERS = 65_536;

export function keysCommand(): Command {
  return new Command('keys')
    .summary('make the PS key and one key per worker')
    .description(
      "Write DIR/ps.key (the PS: its secret keys and the workers' public keys) and DIR/worker-<i>.key for " +
        "i = 0..N-1 (worker i: its own secret keys and the PS's public keys), mode 0600. Give ps.key to the " +
        'PS and each worker-<i>.key to worker i only: a worker key lets its holder speak as that rank and ' +
        'no other. Existing key files are never overwritten.\n\n' +
        'With --k8s, also DIR/k8s-keys.yaml (one Secret for the PS, one per worker) and DIR/k8s-workers.yaml ' +
        '(one Job per rank, each mounting only its own Secret); see deploy/k8s/README.md.',
    )
    .addHelpText(
      'after',
      '\nExample:\n' +
        '  draco keys --workers 6 --out keys\n' +
        '  draco ps --bind tcp://0.0.0.0:5555 --key keys/ps.key --workers 6 ...\n' +
        '  draco worker --connect tcp://PS_HOST:5555 --key keys/worker-3.key',
    )
    .requiredOption('--workers <n>', 'number of workers (ranks 0..n-1)', positiveInt)
    .requiredOption('--out <dir>', 'folder for the key files')
    .option('--k8s', 'also write Kubernetes Secrets and one worker Job per rank')
    .option('--image <image>', 'container image for --k8s', 'draco:latest')
    .option('--ps-address <addr>', 'PS address the --k8s workers connect to', 'tcp://draco-ps:5555')
    .action((o: { workers: number; out: string; k8s?: boolean; image: string; psAddress: string }) => {
      if (o.workers > MAX_WORKERS) throw new UsageError(`--workers ${o.workers}: at most ${MAX_WORKERS}`);
      const set = generateKeySet(o.workers);
      const files = writeKeySet(o.out, set);
      if (o.k8s) files.push(...writeK8s(o.out, set, o.image, o.psAddress));
      process.stdout.write(
        `draco keys: ${o.workers} worker keys and the PS key in ${o.out} (${files.length} files, mode 0600)\n` +
          `  PS:      --key ${join(o.out, 'ps.key')}\n` +
          `  workers: --key ${join(o.out, 'worker-<i>.key')} (copy each to its worker only)\n`,
      );
    });
}

/** Kubernetes manifests: Secrets (PS, and one per rank) and one single-pod Job per rank. */
function writeK8s(dir: string, set: KeySet, image: string, psAddress: string): string[] {
  const secret = (name: string, file: string, text: string) =>
    [
      'apiVersion: v1',
      'kind: Secret',
      'metadata:',
      `  name: ${name}`,
      'type: Opaque',
      'stringData:',
      `  ${file}: ${JSON.stringify(text)}`,
    ].join('\n');
  const secrets = [
    secret('draco-ps-key', 'ps.key', JSON.stringify(set.ps)),
    ...set.workers.map((w) => secret(`draco-worker-key-${w.rank}`, 'worker.key', JSON.stringify(w))),
  ];
  // One Job per rank: a pod can mount only Secrets its own spec names, so each gets only its key.
  const jobs = set.workers.map((w) =>
    [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      `  name: draco-worker-${w.rank}`,
      '  labels: { app: draco-worker }',
      'spec:',
      '  backoffLimit: 100',
      '  template:',
      '    metadata:',
      '      labels: { app: draco-worker }',
      '    spec:',
      '      restartPolicy: OnFailure',
      '      containers:',
      '        - name: worker',
      `          image: ${image}`,
      '          imagePullPolicy: IfNotPresent',
      `          args: [worker, --connect, ${JSON.stringify(psAddress)}, --key, /etc/draco/worker.key]`,
      '          volumeMounts:',
      '            - { name: key, mountPath: /etc/draco, readOnly: true }',
      '          resources:',
      '            requests: { cpu: "1", memory: 1Gi }',
      '      volumes:',
      '        - name: key',
      '          secret:',
      `            secretName: draco-worker-key-${w.rank}`,
      '            defaultMode: 0400',
    ].join('\n'),
  );
  const out: string[] = [];
  for (const [name, docs] of [
    ['k8s-keys.yaml', secrets],
    ['k8s-workers.yaml', jobs],
  ] as const) {
    const path = join(dir, name);
    writeNewSecretFile(path, docs.join('\n---\n') + '\n');
    out.push(path);
  }
  return out;
}
