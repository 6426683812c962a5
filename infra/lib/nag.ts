import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on a construct and everything under it, with the reason next to
 * the resource. `findings` are the finding ids cdk-nag reports, e.g.
 * `AwsSolutions-IAM5[Resource::*]` (each wildcard is its own finding, so each is named).
 */
export function acknowledge(scope: IConstruct, reason: string, ...findings: string[]): void {
  Validations.of(scope).acknowledge(...findings.map((id) => ({ id, reason })));
}

/**
 * Acknowledges the wildcards of one policy statement (AwsSolutions-IAM5), named the way
 * cdk-nag names them, so that a wildcard added later to the same role is still reported.
 */
export function acknowledgeWildcards(scope: IConstruct, statement: iam.PolicyStatement, reason: string): void {
  const stack = Stack.of(scope);
  const flat = (value: string) => flattenCfnReference(stack.resolve(value));
  const findings = [
    ...statement.actions.filter((action) => action.includes('*')).map((action) => `Action::${action}`),
    ...statement.resources.map(flat).filter((resource) => resource.includes('*')).map((resource) => `Resource::${resource}`),
  ];
  acknowledge(scope, reason, ...findings.map((finding) => `AwsSolutions-IAM5[${finding}]`));
}
