import Joi from 'joi';
import type { AnySchema, ObjectSchema } from 'joi';
import { role as anyRole, uuid } from '../../shared/id-schemas.ts';

/**
 * joi schemas of the command API, the one place that owns the shape of its input (docs/api.md, text
 * and limits): trimmed and bounded names, text, user ids, roles. Deciders receive what passed and
 * check only rules of state. The schemas also feed the OpenAPI description. The routes
 * (command.routes.ts) import this module on first use, so a cold start evaluates joi only when a
 * command arrives.
 */

export const limits = { nameMaxLength: 64, textMaxLength: 4000 } as const;
const userIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
/** C0/C1 control characters: never part of a chat name. */
const controlCharacters = /\p{Cc}/u;
/** Half of a surrogate pair with no other half: no store keeps it as it was sent. */
const loneSurrogate = /\p{Cs}/u;

/** Messages may hold line breaks and tabs, but no other control character. */
const textControlCharacters = /[^\P{Cc}\n\r\t]/u;

/**
 * Characters that show nothing: format characters (zero-width space, soft hyphen, bidi controls:
 * Unicode `Cf`), separators and whitespace, and the fillers and blanks that are letters or symbols
 * by category but draw nothing (Hangul fillers, braille blank, Mongolian vowel separator). A name
 * or text of only these is empty to a reader.
 */
const invisibleOnly = /^[\p{Cf}\p{Z}\s\u115F\u1160\u3164\uFFA0\u2800\u180E]*$/u;


export const name = Joi.string()
  .trim()
  .min(1)
  .max(limits.nameMaxLength)
  .custom((value: string, helpers) => {
    if (loneSurrogate.test(value)) return helpers.error('string.unpaired');
    if (controlCharacters.test(value)) return helpers.error('string.controlCharacters');
    if (invisibleOnly.test(value)) return helpers.error('string.invisible');
    // One spelling of the same name: NFC, so a rename to it in another normal form is no change.
    return value.normalize('NFC');
  })
  .messages({
    'string.controlCharacters': '{{#label}} must not contain control characters',
    'string.unpaired': '{{#label}} must be well-formed Unicode',
    'string.invisible': '{{#label}} must contain a visible character',
  })
  .required()
  .example('Weekend trip');

export const text = Joi.string()
  .max(limits.textMaxLength)
  .custom((value: string, helpers) => {
    if (loneSurrogate.test(value)) return helpers.error('string.unpaired');
    if (invisibleOnly.test(value)) return helpers.error('string.blank');
    if (textControlCharacters.test(value)) return helpers.error('string.controlCharacters');
    return value.normalize('NFC');
  })
  .messages({
    'string.blank': '{{#label}} must contain a visible character',
    'string.unpaired': '{{#label}} must be well-formed Unicode',
    'string.controlCharacters': '{{#label}} must not contain control characters other than line breaks and tabs',
  })
  .required()
  .example('Who brings the tent?');

export const userId = Joi.string()
  .pattern(userIdPattern)
  .messages({ 'string.pattern.base': '{{#label}} must be 1-64 characters of A-Z, a-z, 0-9, _ or -' })
  .required()
  .example('bob');

export const role = anyRole.required().example('member');

const idempotencyKey = Joi.string()
  .max(128)
  .pattern(/^[\x21-\x7e]+$/)
  .messages({ 'string.pattern.base': '{{#label}} must be printable ASCII without spaces' })
  .description('Makes a retried command return its original answer and append nothing');

const ifMatch = Joi.string()
  .pattern(/^"(0|[1-9][0-9]{0,14})"$/)
  .messages({ 'string.pattern.base': '{{#label}} must be a quoted stream version, e.g. "3"' })
  .description('Fail with 412 unless the stream is at this version');

/** Headers of commands on an existing stream. */
export const updateHeaders = Joi.object({ 'idempotency-key': idempotencyKey, 'if-match': ifMatch }).unknown(true);
/** Headers of commands that start a new stream: If-Match has nothing to match. */
export const createHeaders = Joi.object({
  'idempotency-key': idempotencyKey,
  'if-match': Joi.forbidden().messages({ 'any.unknown': '{{#label}} is not allowed when creating' }),
}).unknown(true);

/** DELETE routes take no body; anything sent is refused rather than ignored. */
export const noBody = Joi.object({}).allow(null);

const version = Joi.number().integer().min(1).required().description('The stream version after the command');
const token = Joi.string().required().description('Consistency token for X-Consistency-Token on queries');

export const accepted = Joi.object({ version, token }).label('CommandAccepted');
export const groupChatCreated = Joi.object({ groupChatId: uuid.required(), version, token }).label('GroupChatCreated');
export const messagePosted = Joi.object({ messageId: uuid.required(), version, token }).label('MessagePosted');

/** Every path parameter a command route may have, by its name: a route's `{id}` is checked by `id`'s schema. */
const pathParameters = { id: uuid.required(), messageId: uuid.required(), userId };
export type PathParameters = keyof typeof pathParameters;

/** The parameters of a route's path, each by its name's schema. */
export const params = (names: readonly PathParameters[]): ObjectSchema =>
  Joi.object(
    Object.fromEntries(
      names.map((name) => {
        // The compiler holds a route's path to these names; a path it could not see is refused here, not by an object's prototype.
        if (!Object.hasOwn(pathParameters, name)) throw new Error(`no schema for the path parameter {${name}}`);
        return [name, pathParameters[name]];
      }),
    ),
  );
/**
 * The kinds of field a command's body is made of (its route names each field and its kind,
 * `command.routes.ts`): each kind's schema is stated here once, whatever body carries it. A field of
 * a kind already here needs nothing more.
 */
export const fieldKinds = {
  name,
  text,
  userId,
  role,
  flag: Joi.boolean().required().example(true),
  count: Joi.number().integer().min(0).max(1_000_000).required().example(30),
};
export type FieldKinds = typeof fieldKinds;

/** What a field of a kind holds once validated. */
export type FieldValue<Kind extends keyof FieldKinds> = FieldKinds[Kind] extends AnySchema<infer V> ? V : never;

/** A command's body: these fields, each of its kind, under the name the API description gives it. */
export const body = <Shape extends Record<string, keyof FieldKinds>>(name: string, shape: Shape): ObjectSchema<{ [Field in keyof Shape]: FieldValue<Shape[Field]> }> =>
  Joi.object(
    Object.fromEntries(
      Object.entries(shape).map(([field, kind]) => {
        if (!Object.hasOwn(fieldKinds, kind)) throw new Error(`no schema for the field kind ${kind}`);
        return [field, fieldKinds[kind]];
      }),
    ),
  ).label(name);
