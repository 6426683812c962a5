import Joi from 'joi';
import { roles } from '../contracts/events.ts';
import type { Role } from '../contracts/events.ts';
import { canonicalUuid } from '../contracts/ids.ts';

/**
 * The joi schemas of values both APIs carry, stated once. Only route schema files import this,
 * and those load on first use (`lazySchema`), so joi still waits for the first request.
 */

/** A chat or message id, in its one spelling (another spelling of a UUID is 400, never a 404 or a 500). */
export const uuid = Joi.string().guid().pattern(canonicalUuid, 'canonical UUID');

/** A member's role. */
export const role = Joi.string<Role>().valid(...roles);
