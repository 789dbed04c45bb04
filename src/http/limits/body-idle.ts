/**
 * A request body that stops arriving is cut off (nginx's client_body_timeout):
 * bytes must keep coming at least once every `ms` until the body is whole.
 * It watches the socket's byte count rather than listening for data, so it
 * neither takes the body from its reader nor costs anything per chunk.
 */
import type { IncomingMessage } from 'node:http';

export function watchBodyIdle(req: IncomingMessage, ms: number): void {
  const socket = req.socket;
  let seen = socket.bytesRead;
  const check = () => {
    if (req.complete || socket.destroyed) return;
    const now = socket.bytesRead;
    if (now === seen) {
      socket.destroy();
      return;
    }
    seen = now;
    timer.refresh();
  };
  const timer = setTimeout(check, ms);
  timer.unref();
  const stop = () => clearTimeout(timer);
  req.once('end', stop);
  req.once('close', stop);
}
