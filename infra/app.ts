/**
 * The CDK app (`npx cdk synth`, `npx cdk deploy <Stack> --exclusively`). Synth is offline: no AWS
 * account, no Docker. Settings come from context (`-c key=value` or cdk.json).
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from './lib/build-app.ts';

const app = new App();
buildApp(app);
app.synth();
