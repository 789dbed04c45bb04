/**
 * HTTPS on the same port (SPEC §10): the certificate chain and key are PEM
 * files named in the config, read at start and again on SIGHUP. A reload
 * swaps the context new handshakes use (server.setSecureContext); open
 * connections keep theirs, so none is dropped. A reload that fails (a file
 * missing or half written, a key that does not match) keeps the old context.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';
import { CgiError } from '../errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** Reads and checks the pair (createSecureContext fails on a bad PEM or a key that is not the certificate's). */
export function readTls(files: TlsFiles): TlsMaterial {
  const read = (what: 'cert' | 'key') => {
    try {
      return readFileSync(files[what]);
    } catch (e) {
      throw new CgiError('CONFIG_INVALID', `tls.${what}: cannot read ${files[what]}: ${(e as Error).message}`);
    }
  };
  const material = { cert: read('cert'), key: read('key') };
  try {
    createSecureContext(material);
  } catch (e) {
    throw new CgiError(
      'CONFIG_INVALID',
      `tls: ${files.cert} and ${files.key} are not a usable certificate and key: ${(e as Error).message}`,
    );
  }
  return material;
}

/** Reads the files again and gives new handshakes the new context; throws (keeping the old one) if they are not usable. */
export function reloadTls(server: TlsServer, files: TlsFiles): void {
  server.setSecureContext(readTls(files));
}
