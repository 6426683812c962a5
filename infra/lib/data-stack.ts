import { ArnFormat, CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { acknowledge, cfnLintIgnoreRoleDependency } from './nag.ts';
import type { Construct } from 'constructs';
import { names, parameters, prefix, services } from './names.ts';
import { contextValue, requireSettings } from './settings.ts';

/** The most the projection database scales to, in Aurora capacity units. */
export const projectionsMaxCapacity = 8;

/**
 * Aurora PostgreSQL's default max_connections on an Aurora Serverless v2 instance, which it derives
 * from the cluster's maximum capacity (the Aurora User Guide, "Maximum connections for Aurora
 * Serverless v2", table for Aurora PostgreSQL). Only the capacities this app uses are listed:
 * take another's from that table before changing the maximum.
 */
export const auroraPostgresMaxConnections: Readonly<Record<number, number>> = { 8: 1669 };

/**
 * The share of max_connections the functions may not take (reserved concurrency × pool size,
 * query-stack.ts): room for an operator's session, `npm run rebuild` from a workstation and the
 * slots Aurora keeps for its superusers.
 */
export const connectionHeadroom = 0.2;

export function maxConnectionsAt(capacity: number): number {
  const connections = auroraPostgresMaxConnections[capacity];
  if (connections === undefined) throw new Error(`no max_connections known for ${capacity} ACU: add it to auroraPostgresMaxConnections from the Aurora User Guide`);
  return connections;
}

/** An AMI given by id (the `natImageId` setting): the same image on every deploy, until the setting changes. */
function pinnedImage(imageId: string): ec2.IMachineImage {
  return { getImage: () => ({ imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() }) };
}

/**
 * What outlives every deploy: the event log (docs/events.md), the projection database, the network it
 * lives in, the image repositories and the topic alarms notify. Deployed rarely, by hand, never
 * by a service pipeline; needs no settings (context `alarmEmail` optionally subscribes an
 * address to the alarms).
 */
export class DataStack extends Stack {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    this.table = new dynamodb.Table(this, 'Events', {
      tableName: names.eventsTable,
      partitionKey: { name: 'streamId', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'version', type: dynamodb.AttributeType.NUMBER },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // Retained even when the stack's first create rolls back: DynamoDB refuses to delete a table
      // under deletion protection, so retain-except-on-create would only turn that rollback into
      // a failed one. A table left by a failed first deploy is empty (no service can be deployed
      // before this stack); DEPLOY.md, "A failed first deploy", says how to clear or import it.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The query functions need two things outside the VPC: Secrets Manager (database
    // credentials) and the identity provider's JWKS, which is on the internet, so some NAT is
    // needed whatever else there is. One t4g.nano NAT instance (~$7/month with its public
    // address) instead of a NAT gateway (~$33/month before traffic), in one AZ: an outage of
    // that AZ or instance cuts the query side from the JWKS and Secrets Manager until it is
    // replaced, which a sample deployment accepts (DEPLOY.md, "What it costs at rest").
    // DynamoDB goes through a free gateway endpoint.
    // Its image is pinned by the `natImageId` setting: an image resolved at deploy time (the
    // latest-AL2023 SSM parameter) would replace the instance whenever Amazon Linux publishes a
    // new one (minutes without egress, a new public address). DEPLOY.md says how to choose it.
    const natImageId = requireSettings(this, ['natImageId'])?.natImageId;
    const nat = ec2.NatProvider.instanceV2({
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
      // Without the setting the stack carries its error and cannot be deployed; the id below
      // only lets the rest of the app synthesize.
      machineImage: pinnedImage(natImageId ?? 'ami-00000000'),
      defaultAllowedTraffic: ec2.NatTrafficDirection.OUTBOUND_ONLY,
      associatePublicIpAddress: true,
    });
    const vpc = new ec2.Vpc(this, 'Network', {
      maxAzs: 2,
      natGateways: 1,
      natGatewayProvider: nat,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
      flowLogs: {
        // Rejected traffic only: what an investigation needs, at a price near zero at rest.
        rejected: {
          trafficType: ec2.FlowLogTrafficType.REJECT,
          destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', { retention: logs.RetentionDays.ONE_MONTH })),
        },
      },
    });
    // The function behind the custom resource that empties the default security group (CDK's own).
    const restrictDefaultGroup = this.node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider')?.node.tryFindChild('Handler');
    if (restrictDefaultGroup instanceof CfnResource) cfnLintIgnoreRoleDependency(restrictDefaultGroup);
    // Only the VPC's own hosts may send traffic through the NAT instance.
    nat.connections.allowFrom(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.allTraffic(), 'traffic from the VPC to the internet');
    acknowledge(vpc, 'The NAT instance accepts traffic from the VPC\'s own address range only (a reference cdk-nag cannot evaluate)', 'AwsSolutions-EC23');
    for (const instance of nat.gatewayInstances) {
      // An encrypted gp3 root volume of the image's size (the default volume is unencrypted).
      (instance.node.defaultChild as ec2.CfnInstance).blockDeviceMappings = [
        { deviceName: '/dev/xvda', ebs: { encrypted: true, volumeType: 'gp3', volumeSize: 8, deleteOnTermination: true } },
      ];
      acknowledge(
        instance,
        'The NAT instance is stateless and replaceable: detailed monitoring would cost more than the instance, and termination protection would block deleting the stack',
        'AwsSolutions-EC28',
        'AwsSolutions-EC29',
      );
      acknowledge(
        instance,
        'The AMI id is pinned on purpose (the natImageId setting, for the region deployed to): one resolved at deploy time would replace the instance whenever a new image is published',
        'CloudFormation-Validate::W9010',
      );
    }

    const clients = new ec2.SecurityGroup(this, 'DatabaseClients', {
      vpc,
      description: 'Functions that may reach the projection database',
      allowAllOutbound: true,
    });

    // Aurora Serverless v2 with a floor of 0 ACU: after 10 minutes without connections it
    // pauses and costs storage only; the first connection after a pause waits ~15 s while it
    // resumes (0 ACU needs Aurora PostgreSQL 16.3 or later). TLS is required of every client,
    // and no secret is ever put into a URL or an environment: the functions read the
    // credentials from the secret below when they connect.
    const engine = rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 });
    const cluster = new rds.DatabaseCluster(this, 'Projections', {
      engine,
      parameterGroup: new rds.ParameterGroup(this, 'ProjectionsParameters', {
        engine,
        description: 'TLS for every connection',
        parameters: { 'rds.force_ssl': '1' },
      }),
      credentials: rds.Credentials.fromGeneratedSecret(names.databaseUser, { secretName: names.databaseSecret }),
      defaultDatabaseName: names.databaseName,
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      serverlessV2MinCapacity: 0,
      serverlessV2MaxCapacity: projectionsMaxCapacity,
      serverlessV2AutoPauseDuration: Duration.minutes(10),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      storageEncrypted: true,
      iamAuthentication: true,
      clusterIdentifier: `${prefix}-projections`,
      cloudwatchLogsExports: ['postgresql'],
      backup: { retention: Duration.days(7) },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    cluster.connections.allowDefaultPortFrom(clients, 'query and projector functions');
    // The log group RDS exports to, made here so that it has a retention (without a custom resource).
    // Named, so retained only once it was created for good: a first deploy that rolls back deletes
    // it, and a retry can create it again.
    cluster.node.addDependency(
      new logs.LogGroup(this, 'DatabaseLogs', {
        logGroupName: `/aws/rds/cluster/${prefix}-projections/postgresql`,
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      }),
    );
    acknowledge(cluster, 'The port is no secret worth hiding: only the database clients security group reaches it, over TLS', 'AwsSolutions-RDS11');
    acknowledge(
      cluster,
      'Rotation is left to the operator (DEPLOY.md, "Postgres"): it deploys AWS\'s rotation function from the Serverless Application Repository into the VPC, reaching Secrets Manager through the NAT instance; the functions already re-read the secret when the database refuses the password',
      'AwsSolutions-SMG4',
    );

    const alarms = new sns.Topic(this, 'Alarms', { topicName: names.alarmTopic, displayName: 'cqrs-es alarms', enforceSSL: true });
    alarms.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [alarms.topicArn],
        conditions: { ArnLike: { 'aws:SourceArn': this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${prefix}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
      }),
    );
    acknowledge(
      alarms,
      'Alarm notifications carry no data; CloudWatch cannot publish to a topic under the AWS managed key, and a customer key costs $1/month',
      'AwsSolutions-SNS2',
    );
    const email = contextValue(this, 'alarmEmail');
    if (email) alarms.addSubscription(new subscriptions.EmailSubscription(email));

    for (const service of services) {
      const repository = new ecr.Repository(this, `${service}Repository`, {
        repositoryName: names.repository(service),
        imageScanOnPush: true,
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        lifecycleRules: [{ maxImageCount: 30, description: 'keep the last 30 fingerprints for rollbacks' }],
        // Its images are kept when the stack is deleted or the repository replaced; a first deploy
        // that rolls back deletes it (still empty: only the pipelines push), so a retry can create it.
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      // Lambda pulls the image of a function of this account (the deploy roles cannot edit
      // repository policies, so the permission is here before the first function is created).
      repository.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('lambda.amazonaws.com')],
          actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          conditions: { StringLike: { 'aws:sourceArn': this.formatArn({ service: 'lambda', resource: 'function', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
        }),
      );
    }

    const publish = (id: string, parameterName: string, stringValue: string) => new ssm.StringParameter(this, id, { parameterName, stringValue });
    publish('StreamArnParameter', parameters.eventsStreamArn, this.table.tableStreamArn!);
    publish('PrivateSubnetsParameter', parameters.privateSubnetIds, vpc.privateSubnets.map((s) => s.subnetId).join(','));
    publish('ClientSecurityGroupParameter', parameters.databaseClientSecurityGroupId, clients.securityGroupId);
    publish('DatabaseSecretParameter', parameters.databaseSecretArn, cluster.secret!.secretArn);
  }
}
