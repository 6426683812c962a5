import type { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { names } from './names.ts';
import type { ServiceName } from './names.ts';

/**
 * Every role a service stack creates carries the service's permissions boundary (a managed
 * policy of the PipelinesStack): the service's deploy role may create roles only with it, so a
 * change to the stack code cannot grant a function more than the boundary allows.
 */
export function applyServiceBoundary(stack: Stack, service: ServiceName): void {
  iam.PermissionsBoundary.of(stack).apply(iam.ManagedPolicy.fromManagedPolicyName(stack, 'Boundary', names.boundary(service)));
}
