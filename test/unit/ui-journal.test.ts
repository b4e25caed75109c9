// The web UI's journal timeline: entries' results read from their raw bytes with the
// protocol's schemas, and notifications paired with the commands they complete.
import { describe, expect, it } from "vitest";
import { MessageType, encodeMessage, schemaForType } from "../../src/protocol/index.ts";
import { buildTimeline } from "../../src/ui/app/journal.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const text = (s: string) => new TextEncoder().encode(s);

function row(index: number, entryType: string, type: number, init: object, extra: Record<string, unknown> = {}) {
  return { index, entry_type: entryType, raw: hex(encodeMessage(schemaForType(type)!, init as never)), ...extra };
}

describe("the UI's journal timeline", () => {
  it("shows each step's result on the command it completes, and a call's failure", () => {
    const t = buildTimeline([
      row(0, "Input", MessageType.InputCommand, { value: { content: text('"o-1"') } }),
      row(1, "Run", MessageType.RunCommand, { name: "reserve", resultCompletionId: 1 }, { name: "reserve", completed: true }),
      row(2, "RunCompletionNotification", MessageType.RunCompletionNotification, { completionId: 1, result: { case: "value", value: { content: text('"ok"') } } }),
      row(3, "Call", MessageType.CallCommand, { serviceName: "Stock", handlerName: "take", invocationIdNotificationIdx: 2, resultCompletionId: 3 }, { invoked_id: "inv_1x", invoked_target: "Stock/take", completed: true }),
      row(4, "CallInvocationIdCompletionNotification", MessageType.CallInvocationIdCompletionNotification, { completionId: 2, invocationId: "inv_1x" }),
      row(5, "CallCompletionNotification", MessageType.CallCompletionNotification, { completionId: 3, result: { case: "failure", value: { code: 409, message: "sold out" } } }),
    ]);
    expect(t[0]!.result).toEqual({ ok: true, text: '"o-1"' });
    expect(t[1]!.completedBy?.index).toBe(2);
    expect(t[1]!.completedBy?.result).toEqual({ ok: true, text: '"ok"' });
    expect(t[2]!.completes).toBe(1);
    expect(t[3]!.invokedId).toBe("inv_1x");
    expect(t[3]!.completedBy?.result).toEqual({ ok: false, code: 409, message: "sold out" });
    expect(t[4]!.completes).toBe(3);
    expect(t[5]!.completes).toBe(3);
  });

  it("keeps signals and awakeable completions as entries of their own", () => {
    const [signal] = buildTimeline([
      row(7, "SignalNotification", MessageType.SignalNotification, { signalId: { case: "idx", value: 17 }, result: { case: "value", value: { content: text('"approved"') } } }),
    ]);
    expect(signal!.category).toBe("notification");
    expect(signal!.signalId).toBe(17);
    expect(signal!.completes).toBeUndefined();
    expect(signal!.result).toEqual({ ok: true, text: '"approved"' });
  });

  it("says when a value is not text, and survives bytes that do not decode", () => {
    const t = buildTimeline([
      row(0, "Input", MessageType.InputCommand, { value: { content: Uint8Array.of(0xff, 0xfe, 0x00) } }),
      { index: 1, entry_type: "Run", raw: "ffffffff" },
      { index: 2, entry_type: "SomethingNew", raw: "00" },
    ]);
    expect(t[0]!.result).toEqual({ ok: true, text: "(3 bytes, not UTF-8)" });
    expect(t[1]!.result).toBeUndefined();
    expect(t[2]!.type).toBe("SomethingNew");
  });
});
