import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { parameters } from './names.ts';
import { acknowledge } from './nag.ts';

/**
 * The methods a service's user routes take, named one by one rather than as ANY: a browser's CORS
 * preflight (OPTIONS) then matches no route, and API Gateway answers it from the API's CORS
 * settings (ApiStack, `corsOrigins`) instead of sending it, without a token, to the authorizer
 * and the function.
 */
export const userMethods = [apigw.HttpMethod.GET, apigw.HttpMethod.POST, apigw.HttpMethod.PUT, apigw.HttpMethod.PATCH, apigw.HttpMethod.DELETE] as const;

/** A service's user routes: every path under `prefix`, each method of `userMethods`, behind the authorizer. */
export const userRoutes = (prefix: string): ServiceRoute[] => userMethods.map((method) => ({ path: `${prefix}/{proxy+}`, method, authorize: true }));

export interface ServiceRoute {
  readonly path: string;
  readonly method: apigw.HttpMethod;
  /** Guarded by the API's JWT authorizer when the app uses one (health checks are not). */
  readonly authorize: boolean;
}

/**
 * Adds a service's routes to the shared HTTP API, found through SSM at deploy time (no
 * CloudFormation export ties the service to the API stack).
 */
export function addServiceRoutes(scope: Construct, fn: lambda.IFunction, routes: readonly ServiceRoute[], useJwtAuthorizer: boolean): void {
  const httpApiId = ssm.StringParameter.valueForStringParameter(scope, parameters.httpApiId);
  const httpApi = apigw.HttpApi.fromHttpApiAttributes(scope, 'HttpApi', { httpApiId });
  const integration = new HttpLambdaIntegration('Integration', fn, { payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0 });
  const authorizerId = useJwtAuthorizer ? ssm.StringParameter.valueForStringParameter(scope, parameters.httpApiAuthorizerId) : undefined;
  const jwt: apigw.IHttpRouteAuthorizer | undefined = authorizerId
    ? { bind: () => ({ authorizerId, authorizationType: apigw.HttpAuthorizerType.JWT }) }
    : undefined;
  routes.forEach((route, index) => {
    const created = new apigw.HttpRoute(scope, `Route${index}`, {
      httpApi,
      routeKey: apigw.HttpRouteKey.with(route.path, route.method),
      integration,
      ...(jwt && route.authorize ? { authorizer: jwt } : {}),
    });
    if (!route.authorize) acknowledge(created, 'A health check answers anyone, by design: it reveals nothing and the adapter\'s readiness uses the same path', 'AwsSolutions-APIG4');
    else if (!jwt) acknowledge(created, 'The function verifies every token itself (JWKS, issuer, audience); the API Gateway authorizer is an optional second check (useJwtAuthorizer)', 'AwsSolutions-APIG4');
  });
}
