import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { names, parameters, services } from './names.ts';

/**
 * What outlives every deploy: the event log (SPEC §3), the projection database, the network it
 * lives in and the image repositories. Deployed rarely, and never by a service pipeline.
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
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Two AZs, one NAT gateway (the query functions fetch the identity provider's JWKS), and a
    // gateway endpoint so reads of the event log stay off the NAT.
    const vpc = new ec2.Vpc(this, 'Network', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
      gatewayEndpoints: { DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
    });

    const clients = new ec2.SecurityGroup(this, 'DatabaseClients', {
      vpc,
      description: 'Functions that may reach the projection database',
      allowAllOutbound: true,
    });

    // Aurora Serverless v2 scales with load and down to its floor when idle.
    const cluster = new rds.DatabaseCluster(this, 'Projections', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
      credentials: rds.Credentials.fromGeneratedSecret('projector', { secretName: names.databaseSecret }),
      defaultDatabaseName: names.databaseName,
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 8,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      storageEncrypted: true,
      backup: { retention: Duration.days(7) },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });

    // Every Lambda instance holds its own small pool; the proxy multiplexes them onto a few
    // database connections, so a burst of cold starts cannot exhaust max_connections.
    const proxy = cluster.addProxy('Proxy', {
      secrets: [cluster.secret!],
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      requireTLS: true,
      securityGroups: [new ec2.SecurityGroup(this, 'ProxySecurityGroup', { vpc, description: 'RDS Proxy of the projections' })],
    });
    proxy.connections.allowFrom(clients, ec2.Port.tcp(5432), 'functions to the proxy');
    cluster.connections.allowDefaultPortFrom(proxy, 'proxy to the cluster');

    for (const service of services) {
      new ecr.Repository(this, `${service}Repository`, {
        repositoryName: names.repository(service),
        imageScanOnPush: true,
        imageTagMutability: ecr.TagMutability.IMMUTABLE,
        lifecycleRules: [{ maxImageCount: 30, description: 'keep the last 30 fingerprints for rollbacks' }],
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }

    const publish = (id: string, parameterName: string, stringValue: string) =>
      new ssm.StringParameter(this, id, { parameterName, stringValue });
    publish('StreamArnParameter', parameters.eventsStreamArn, this.table.tableStreamArn!);
    publish('PrivateSubnetsParameter', parameters.privateSubnetIds, vpc.privateSubnets.map((s) => s.subnetId).join(','));
    publish('ClientSecurityGroupParameter', parameters.databaseClientSecurityGroupId, clients.securityGroupId);
    publish('ProxyEndpointParameter', parameters.databaseProxyEndpoint, proxy.endpoint);
  }
}
