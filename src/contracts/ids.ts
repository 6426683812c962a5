/**
 * The one spelling of a chat or message id (docs/api.md, Ids): 36 characters, lowercase hex,
 * hyphens at 8-4-4-4-12. Any other spelling of a UUID (uppercase, braces, brackets, no hyphens,
 * `:` separators, `urn:uuid:`) is not an id, so that one id has one spelling everywhere: in
 * stream names, in Postgres and in answers.
 */
export const canonicalUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
