/** Assertions on the host's HTTP answers. */
import { expect } from 'vitest';
import type { ApiResponse } from './host.js';

/**
 * An error answer with exactly this status and code, in the SPEC's envelope:
 * JSON `{error: {code, message, details?, requestId}}` with a non-empty
 * message and the request's x-request-id.
 */
export function expectError(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }, res.text).toEqual({ status, code });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const { error } = res.body;
  expect(Object.keys(error).sort()).toEqual(
    error.details === undefined ? ['code', 'message', 'requestId'] : ['code', 'details', 'message', 'requestId'],
  );
  expect(typeof error.message).toBe('string');
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.requestId).toBe(res.headers.get('x-request-id'));
}
