// Every service of the semantics end-to-end tests (test/e2e/semantics), for the shared
// HTTP/2 test endpoint. The request/response and versioned endpoints have their own entries.
import { semShortWorkflow, semWorkflow } from "./semantics-workflow.ts";
import { semAwake } from "./semantics-awake.ts";
import { makeCombo, makeComboHelper } from "./semantics-combo.ts";
import { semChild, semLock, semParent } from "./semantics-cancel.ts";
import { semNondet, semRetry } from "./semantics-retry.ts";
import { semIdem, semIdemObj, semIdemShort } from "./semantics-idem.ts";

const comboHelper = makeComboHelper("SemComboHelper");

/** The service definitions to bind on the test endpoint. */
export const semanticsServices = [
  semWorkflow,
  semShortWorkflow,
  semAwake,
  comboHelper,
  makeCombo("SemCombo", comboHelper),
  semChild,
  semParent,
  semLock,
  semRetry,
  semNondet,
  semIdem,
  semIdemShort,
  semIdemObj,
] as const;
