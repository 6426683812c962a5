import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { parameters, prefix } from './names.ts';
import { requireSettings, serviceSettingKeys } from './settings.ts';

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
    this.api = new apigw.HttpApi(this, 'HttpApi', { apiName: `${prefix}-api`, createDefaultStage: false });
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
