// Real visearch servers on loopback for the contract and client-example tests: `visearch serve` or
// `visearch label` as a child process on a free port, stderr to a log file, stopped with SIGTERM.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every server started, so a failing test can end them all (even those still starting).
const started = new Set();
export function killAll() {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// Starts `binary ARGS... --host 127.0.0.1 --port P`. `wait`: 'ready' (GET /ping answers 200: models loaded)
// or 'listening' (/ping answers at all). Throws with the log when the process exits first or never gets
// there (bounded: 180 s, for a loaded CI machine).
export async function startServer(binary, args, { name, logDir, wait = 'ready', env = {} }) {
  const port = await freePort();
  const log = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(log, 'w');
  const child = spawn(binary, [...args, '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'ignore', fd],
    env: { ...process.env, ...env },
  });
  fs.closeSync(fd);
  started.add(child);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const server = {
    name,
    port,
    base: `http://127.0.0.1:${port}`,
    child,
    log,
    exited,
    logText: () => fs.readFileSync(log, 'utf8'),
    // SIGTERM, then the exit status (SIGKILL and -1 after 60 s).
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? -1;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
      const { code } = await exited;
      clearTimeout(timer);
      return code ?? -1;
    },
  };
  const deadline = Date.now() + 180000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up (${child.exitCode ?? child.signalCode}):\n${server.logText()}`);
    }
    try {
      const res = await fetch(`${server.base}/ping`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (wait === 'listening' || res.status === 200) return server;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not start:\n${server.logText()}`);
}
