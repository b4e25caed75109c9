import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { ProtocolError, ProtocolErrorCode } from './errors.ts';
import { encodeFrame, isCommand, isCustomEntry, MessageType, type Frame } from './framing.ts';
import * as pb from './generated/endure/protocol_pb.ts';

/** The schema of each message type's body. */
export const MESSAGE_SCHEMAS = {
  [MessageType.Start]: pb.StartMessageSchema,
  [MessageType.Suspension]: pb.SuspensionMessageSchema,
  [MessageType.Error]: pb.ErrorMessageSchema,
  [MessageType.End]: pb.EndMessageSchema,
  [MessageType.ProposeRunCompletion]: pb.ProposeRunCompletionMessageSchema,
  [MessageType.AwaitingOn]: pb.AwaitingOnMessageSchema,
  [MessageType.ProposeRunCompletionAck]: pb.ProposeRunCompletionAckMessageSchema,
  [MessageType.InputCommand]: pb.InputCommandMessageSchema,
  [MessageType.OutputCommand]: pb.OutputCommandMessageSchema,
  [MessageType.GetLazyStateCommand]: pb.GetLazyStateCommandMessageSchema,
  [MessageType.SetStateCommand]: pb.SetStateCommandMessageSchema,
  [MessageType.ClearStateCommand]: pb.ClearStateCommandMessageSchema,
  [MessageType.ClearAllStateCommand]: pb.ClearAllStateCommandMessageSchema,
  [MessageType.GetLazyStateKeysCommand]: pb.GetLazyStateKeysCommandMessageSchema,
  [MessageType.GetEagerStateCommand]: pb.GetEagerStateCommandMessageSchema,
  [MessageType.GetEagerStateKeysCommand]: pb.GetEagerStateKeysCommandMessageSchema,
  [MessageType.GetPromiseCommand]: pb.GetPromiseCommandMessageSchema,
  [MessageType.PeekPromiseCommand]: pb.PeekPromiseCommandMessageSchema,
  [MessageType.CompletePromiseCommand]: pb.CompletePromiseCommandMessageSchema,
  [MessageType.SleepCommand]: pb.SleepCommandMessageSchema,
  [MessageType.CallCommand]: pb.CallCommandMessageSchema,
  [MessageType.OneWayCallCommand]: pb.OneWayCallCommandMessageSchema,
  [MessageType.SendSignalCommand]: pb.SendSignalCommandMessageSchema,
  [MessageType.RunCommand]: pb.RunCommandMessageSchema,
  [MessageType.AttachInvocationCommand]: pb.AttachInvocationCommandMessageSchema,
  [MessageType.GetInvocationOutputCommand]: pb.GetInvocationOutputCommandMessageSchema,
  [MessageType.CompleteAwakeableCommand]: pb.CompleteAwakeableCommandMessageSchema,
  [MessageType.GetLazyStateCompletionNotification]: pb.GetLazyStateCompletionNotificationMessageSchema,
  [MessageType.GetLazyStateKeysCompletionNotification]: pb.GetLazyStateKeysCompletionNotificationMessageSchema,
  [MessageType.GetPromiseCompletionNotification]: pb.GetPromiseCompletionNotificationMessageSchema,
  [MessageType.PeekPromiseCompletionNotification]: pb.PeekPromiseCompletionNotificationMessageSchema,
  [MessageType.CompletePromiseCompletionNotification]: pb.CompletePromiseCompletionNotificationMessageSchema,
  [MessageType.SleepCompletionNotification]: pb.SleepCompletionNotificationMessageSchema,
  [MessageType.CallCompletionNotification]: pb.CallCompletionNotificationMessageSchema,
  [MessageType.CallInvocationIdCompletionNotification]: pb.CallInvocationIdCompletionNotificationMessageSchema,
  [MessageType.RunCompletionNotification]: pb.RunCompletionNotificationMessageSchema,
  [MessageType.AttachInvocationCompletionNotification]: pb.AttachInvocationCompletionNotificationMessageSchema,
  [MessageType.GetInvocationOutputCompletionNotification]: pb.GetInvocationOutputCompletionNotificationMessageSchema,
  [MessageType.SignalNotification]: pb.SignalNotificationMessageSchema,
} as const;

/** Type codes whose body schema Endure knows. */
export type KnownMessageType = keyof typeof MESSAGE_SCHEMAS;
/** The body schema of a known message type. */
export type SchemaOf<T extends KnownMessageType> = (typeof MESSAGE_SCHEMAS)[T];
/** The decoded body of a known message type. */
export type MessageOf<T extends KnownMessageType> = MessageShape<SchemaOf<T>>;

const NAMES = new Map<number, string>(Object.entries(MessageType).map(([name, code]) => [code, name]));

/** Whether Endure knows the body schema of this type (custom entries are opaque: false). */
export function isKnownMessageType(type: number): type is KnownMessageType {
  return Object.hasOwn(MESSAGE_SCHEMAS, type);
}

/**
 * Whether a command a service sends is journaled: a command type of the protocol, or a custom
 * entry (0xFC00–0xFFFF, opaque by the spec). The protocol has no optional or ignorable message
 * types, so any other code in the command range is unknown and a protocol violation.
 */
export function isJournaledCommand(type: number): boolean {
  return isCustomEntry(type) || (isCommand(type) && isKnownMessageType(type));
}

/** The body schema of a message type; undefined for custom entries and unknown types. */
export function schemaForType<T extends KnownMessageType>(type: T): SchemaOf<T>;
export function schemaForType(type: number): DescMessage | undefined;
export function schemaForType(type: number): DescMessage | undefined {
  return isKnownMessageType(type) ? MESSAGE_SCHEMAS[type] : undefined;
}

/** A readable name for logs and errors: `CallCommand`, or `0xfc01` for unknown types. */
export function messageTypeName(type: number): string {
  return NAMES.get(type) ?? `0x${type.toString(16).padStart(4, '0')}`;
}

/** Encodes a message body from a plain initializer. */
export function encodeMessage<Desc extends DescMessage>(schema: Desc, init?: MessageInitShape<Desc>): Uint8Array {
  return toBinary(schema, create(schema, init));
}

/** Decodes a message body; throws ProtocolError when the bytes do not fit the schema. */
export function decodeMessage<Desc extends DescMessage>(schema: Desc, body: Uint8Array): MessageShape<Desc> {
  try {
    return fromBinary(schema, body);
  } catch (err) {
    throw new ProtocolError(
      ProtocolErrorCode.BadMessage,
      `cannot decode ${schema.typeName}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/** Encodes a whole frame (header and body) of a known type from a plain initializer. */
export function encodeMessageFrame<T extends KnownMessageType>(
  type: T,
  init?: MessageInitShape<SchemaOf<T>>,
  flags = 0,
): Uint8Array {
  return encodeFrame(type, encodeMessage<DescMessage>(MESSAGE_SCHEMAS[type], init), flags);
}

/**
 * Decodes a frame's body by its type. Throws ProtocolError for types without a known schema
 * (custom entries included: callers journal those as opaque bytes, they never decode them).
 */
export function decodeFrame<T extends KnownMessageType>(frame: Frame & { readonly type: T }): MessageOf<T>;
export function decodeFrame(frame: Frame): MessageShape<DescMessage>;
export function decodeFrame(frame: Frame): MessageShape<DescMessage> {
  const schema = schemaForType(frame.type);
  if (!schema) {
    throw new ProtocolError(ProtocolErrorCode.UnknownMessage, `no schema for message type ${messageTypeName(frame.type)}`);
  }
  return decodeMessage(schema, frame.body);
}
