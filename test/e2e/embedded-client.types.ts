// Compiled by `tsc --noEmit` (npm test), never run: endure.client's types come from the service
// definitions, so a wrong argument, an unknown handler or a wrong result type does not compile.
// Each line below must fail to compile; tsc reports an unused @ts-expect-error if one compiles.
import type { EmbeddedEndure } from "../../src/index.ts";
import { counter, greeter, signup } from "../services/typed-client.ts";

export async function typedCallsDoNotCompileWhenWrong(e: EmbeddedEndure): Promise<void> {
  // @ts-expect-error greet takes a string
  await e.client.serviceClient(greeter).greet(42);
  // @ts-expect-error Greeter has no handler greeet
  await e.client.serviceClient(greeter).greeet("Ada");
  // @ts-expect-error add takes a number
  await e.client.objectClient(counter, "k").add("one");
  // @ts-expect-error greet returns a string
  const n: number = await e.client.serviceClient(greeter).greet("Ada");
  // @ts-expect-error the workflow takes { email }
  await e.client.workflowClient(signup, "id").workflowSubmit({ mail: "x" });
  void n;
}
