import type { Role } from '../../contracts/events.ts';
import { roles } from '../../contracts/events.ts';
import { invalid } from './domain-error.ts';
import type { DomainError } from './domain-error.ts';

/** Limits of SPEC §2, shared by the deciders and the HTTP schemas so both say the same. */
export const limits = {
  nameMaxLength: 64,
  textMaxLength: 4000,
  userIdMaxLength: 64,
  maxMembers: 100,
} as const;

export const userIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
/** C0/C1 control characters: never part of a chat name. */
export const controlCharacters = /\p{Cc}/u;
/** Messages may hold line breaks and tabs, but no other control character. */
export const textControlCharacters = /[^\P{Cc}\n\r\t]/u;

/** The trimmed name, or why it is refused. */
export function checkName(raw: string): string | DomainError {
  const name = raw.trim();
  if (name.length === 0) return invalid('name must not be empty');
  if (name.length > limits.nameMaxLength) return invalid(`name must be at most ${limits.nameMaxLength} characters`);
  if (controlCharacters.test(name)) return invalid('name must not contain control characters');
  return name;
}

export function checkText(text: string): string | DomainError {
  if (text.trim().length === 0) return invalid('text must not be empty or only whitespace');
  if (text.length > limits.textMaxLength) return invalid(`text must be at most ${limits.textMaxLength} characters`);
  if (textControlCharacters.test(text)) return invalid('text must not contain control characters other than line breaks and tabs');
  return text;
}

export function checkUserId(userId: string): DomainError | undefined {
  return userIdPattern.test(userId) ? undefined : invalid('userId must be 1-64 characters of A-Z, a-z, 0-9, _ or -');
}

export function checkRole(role: string): DomainError | undefined {
  return (roles as readonly string[]).includes(role) ? undefined : invalid('role must be admin or member');
}

export type { Role };
