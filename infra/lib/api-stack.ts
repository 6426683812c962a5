import { Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { parameters, prefix } from './names.ts';

export interface ApiStackProps extends StackProps {
  /** Throttling of the default stage: steady requests per second and burst. */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** With both, API Gateway checks JWTs before a function runs (the functions check them too). */
  readonly jwtIssuer?: string;
  readonly jwtAudience?: string;
}

/**
 * The one HTTP API both services hang their routes on. It owns no routes itself, so a service
 * stack adds or changes its own without touching this stack or the other service.
 */
export class ApiStack extends Stack {
  readonly api: apigw.HttpApi;

  constructor(scope: Construct, id: string, props: ApiStackProps = {}) {
    super(scope, id, props);
    const throttle = props.throttle ?? { rateLimit: 200, burstLimit: 400 };
    this.api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `${prefix}-api`,
      createDefaultStage: false,
    });
    new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
    });
    new ssm.StringParameter(this, 'ApiIdParameter', { parameterName: parameters.httpApiId, stringValue: this.api.apiId });

    if (props.jwtIssuer && props.jwtAudience) {
      const authorizer = new apigw.HttpAuthorizer(this, 'JwtAuthorizer', {
        httpApi: this.api,
        type: apigw.HttpAuthorizerType.JWT,
        identitySource: ['$request.header.Authorization'],
        jwtIssuer: props.jwtIssuer,
        jwtAudience: [props.jwtAudience],
      });
      new ssm.StringParameter(this, 'AuthorizerIdParameter', {
        parameterName: parameters.httpApiAuthorizerId,
        stringValue: authorizer.authorizerId,
      });
    }
  }
}
