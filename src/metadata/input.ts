import type { HandlerSchema } from './schema.ts';

/** Why a request body does not fit a handler's declared input, or undefined when it fits. */
export function checkHandlerInput(
  handler: HandlerSchema,
  contentType: string | undefined,
  bodyLength: number,
): string | undefined {
  if (bodyLength === 0 && contentType === undefined) {
    if (handler.acceptsEmptyInput) return undefined;
    return handler.inputContentType !== undefined ? 'Empty content-type' : 'Empty input';
  }
  const pattern = handler.inputContentType;
  if (pattern === undefined) return `Expected empty input but got content-type '${contentType ?? ''}'`;
  if (contentType === undefined) return 'Empty content-type';
  if (!contentTypeMatches(pattern, contentType)) {
    return `Content-type '${contentType}' does not match expected content-type '${pattern}'`;
  }
  if (handler.inputJsonSchema !== undefined && bodyLength === 0) return 'Empty value is not a valid JSON value';
  return undefined;
}

/** Whether a request content type (parameters ignored) matches `*\/*`, `type/*` or `type/subtype`. */
export function contentTypeMatches(pattern: string, contentType: string): boolean {
  if (pattern === '*/*') return true;
  const actual = (contentType.split(';')[0] as string).trim().toLowerCase();
  const [pType, pSub] = pattern.split('/') as [string, string];
  const [aType, aSub] = actual.split('/');
  if (aType === undefined || aSub === undefined) return false;
  return pType === aType && (pSub === '*' || pSub === aSub);
}
