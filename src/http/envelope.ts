import type { ErrorCode, ErrorDetails } from './errors.ts';

export interface SuccessEnvelope<T> {
  success: true;
  data: T;
  error: null;
  timestamp: string;
}

export interface ErrorEnvelope {
  success: false;
  data: null;
  error: { code: ErrorCode; message: string; details: ErrorDetails };
  timestamp: string;
}

export function successEnvelope<T>(data: T): SuccessEnvelope<T> {
  return { success: true, data, error: null, timestamp: new Date().toISOString() };
}

export function errorEnvelope(code: ErrorCode, message: string, details: ErrorDetails): ErrorEnvelope {
  return { success: false, data: null, error: { code, message, details }, timestamp: new Date().toISOString() };
}
