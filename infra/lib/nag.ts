import { Stack, Validations } from 'aws-cdk-lib';
import type { CfnResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
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
 * cdk-nag names them. cdk-nag reports per policy resource, not per statement: on a policy that
 * holds other statements, an acknowledged `Resource::*` would also cover any later statement on
 * `*`. Use it for named wildcards (an ARN prefix, `Action::x:*`), and `starPolicy` for `*`.
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

/**
 * A statement on `*` (an action that takes no narrower resource), in a policy of its own attached
 * to `role` and acknowledged on that policy alone: a later statement on `*` added to the role's
 * other policies is still reported. `dependents` (e.g. the function that needs the grant when it
 * is created) wait for the policy.
 */
export function starPolicy(role: iam.IRole & IConstruct, id: string, statement: iam.PolicyStatement, reason: string, dependents: IConstruct[] = []): iam.Policy {
  const policy = new iam.Policy(role, id, { statements: [statement], roles: [role] });
  acknowledgeWildcards(policy, statement, reason);
  for (const dependent of dependents) dependent.node.addDependency(policy);
  return policy;
}

/** The construct metadata that records why cfn-lint skips rules on a resource (read by the tests). */
export const cfnLintIgnoredKey = 'cqrs-es:cfn-lint-ignored';

/**
 * Has cfn-lint skip `rules` on one resource (its template Metadata, `cfn-lint` → `ignore_checks`),
 * with the reason here in code, as for cdk-nag above. infra/cfn-lint.test.ts runs cfn-lint over
 * every synthesized template and fails on any finding not skipped this way.
 */
export function cfnLintIgnore(resource: CfnResource, reason: string, ...rules: string[]): void {
  const current = (resource.getMetadata('cfn-lint') as { config?: { ignore_checks?: string[] } } | undefined)?.config?.ignore_checks ?? [];
  resource.addMetadata('cfn-lint', { config: { ignore_checks: [...new Set([...current, ...rules])] } });
  resource.node.addMetadata(cfnLintIgnoredKey, { rules, reason });
}

/**
 * W3005 (a DependsOn already implied by a Ref or GetAtt): aws-cdk-lib writes both for a resource
 * that uses its role (a function, a pipeline, CDK's own custom-resource handler), so that the role's
 * policies exist before it; the redundant entry changes nothing CloudFormation does.
 */
export function cfnLintIgnoreRoleDependency(resource: CfnResource): void {
  cfnLintIgnore(resource, 'aws-cdk-lib makes a resource that uses a role depend on it explicitly as well as through GetAtt; the duplicate DependsOn is harmless', 'W3005');
}
