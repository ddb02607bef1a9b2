// The infra/local build scripts' contract: progress on stderr (passed through: a first build takes
// minutes and should say so), the directory of what they built or reused as the last stdout line.
import { spawn } from 'node:child_process';

/** Runs `script` (bash) and returns the directory it printed last. */
export async function runBuildScript(script: string): Promise<string> {
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const dir = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !dir) throw new Error(`${script} failed (exit ${code})`);
  return dir;
}
