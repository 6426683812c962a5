import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { corsExposedHeaders, corsMaxAgeSeconds, corsRequestHeaders, parseOrigins } from '../../src/shared/cors.ts';
import { parameters, prefix } from './names.ts';
import { userMethods } from './service-routes.ts';
import { contextValue, requireSettings, serviceSettingKeys } from './settings.ts';

export interface ApiStackProps extends StackProps {
  /** Throttling of the default stage: steady requests per second and burst. */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
}

/** One JSON line per request: what an operator looks for first at 3 a.m. */
export const accessLogFormat = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  method: '$context.httpMethod',
  path: '$context.path',
  route: '$context.routeKey',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  responseLength: '$context.responseLength',
} as const;

/**
 * The one HTTP API both services hang their routes on, and the settings they deploy with. It
 * owns no routes itself, so a service stack adds or changes its own without touching this stack
 * or the other service. Needs the identity settings (context `jwksUrl`, `jwtIssuer`,
 * `jwtAudience`, optionally `useJwtAuthorizer`), and stores them under `/cqrs-es/settings/` for
 * the pipelines, so the authorizer and the functions always deploy with the same values.
 */
export class ApiStack extends Stack {
  readonly api: apigw.HttpApi;

  constructor(scope: Construct, id: string, props: ApiStackProps = {}) {
    super(scope, id, props);
    const throttle = props.throttle ?? { rateLimit: 200, burstLimit: 400 };
    this.api = new apigw.HttpApi(this, 'HttpApi', { apiName: `${prefix}-api`, createDefaultStage: false, corsPreflight: corsSettings(this) });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      logGroupName: `/${prefix}/api/access`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // The throttle caps the request rate; what bounds database connections is the query
      // functions' reserved concurrency (databaseClients in query-stack.ts; DEPLOY.md, "Postgres").
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFormat)),
      },
    });
    new ssm.StringParameter(this, 'ApiIdParameter', { parameterName: parameters.httpApiId, stringValue: this.api.apiId });

    const settings = requireSettings(this, serviceSettingKeys);
    if (!settings) return;
    for (const key of serviceSettingKeys) {
      new ssm.StringParameter(this, `Setting-${key}`, {
        parameterName: `${parameters.settingsPath}${key}`,
        stringValue: settings[key],
        description: `deploy setting ${key} of the service stacks (from the ApiStack's context)`,
      });
    }
    if (settings.useJwtAuthorizer === 'true') {
      const authorizer = new apigw.HttpAuthorizer(this, 'JwtAuthorizer', {
        httpApi: this.api,
        type: apigw.HttpAuthorizerType.JWT,
        identitySource: ['$request.header.Authorization'],
        jwtIssuer: settings.jwtIssuer,
        jwtAudience: [settings.jwtAudience],
      });
      new ssm.StringParameter(this, 'AuthorizerIdParameter', { parameterName: parameters.httpApiAuthorizerId, stringValue: authorizer.authorizerId });
    }
  }
}

/**
 * The API's CORS settings from context `corsOrigins` (comma-separated exact origins; none when
 * unset): the same policy `npm start` applies from CORS_ORIGINS (src/shared/cors.ts). API Gateway
 * answers the preflights itself, since no route takes OPTIONS, and adds the headers to the
 * functions' answers. A malformed list is an error on the stack.
 */
function corsSettings(stack: Stack): apigw.CorsPreflightOptions | undefined {
  const value = contextValue(stack, 'corsOrigins');
  if (value === undefined) return undefined;
  const parsed = parseOrigins(value);
  if ('error' in parsed) {
    Annotations.of(stack).addError(`${stack.stackName}: malformed corsOrigins: ${parsed.error}`);
    return undefined;
  }
  if (parsed.origins.length === 0) return undefined;
  return {
    allowOrigins: [...parsed.origins],
    allowMethods: userMethods.map((method) => apigw.CorsHttpMethod[method as keyof typeof apigw.CorsHttpMethod]),
    allowHeaders: [...corsRequestHeaders],
    exposeHeaders: [...corsExposedHeaders],
    allowCredentials: false,
    maxAge: Duration.seconds(corsMaxAgeSeconds),
  };
}
