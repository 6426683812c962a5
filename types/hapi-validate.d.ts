/**
 * `@hapi/validate` is hapi's own validator: joi 17's engine with fewer rules (no `uri()`,
 * `label()`, `description()`, examples). hapi loads it anyway, so checks made before a service
 * listens use it instead of joi. Typed as joi's root; use only what it has (its tests say which).
 */
declare module '@hapi/validate' {
  import type { Root } from 'joi';
  const Validate: Root;
  export default Validate;
}
