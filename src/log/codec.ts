import { deserialize, serialize } from 'node:v8';
import type { Command } from '../worker/model.ts';

/**
 * Log records are v8-serialized: fast, binary-safe for the protobuf bodies they carry, and
 * stable for the Node versions Endure supports.
 */
export function encodeCommand(command: Command, partition?: number): Uint8Array {
  return serialize(partition === undefined ? { command } : { command, partition });
}

/** Inverse of encodeCommand. */
export function decodeCommand(bytes: Uint8Array): { command: Command; partition?: number } {
  return deserialize(bytes) as { command: Command; partition?: number };
}
