/**
 * `cdk synth` / `cdk deploy` entry. The config is releng.config.json (or the file RELENG_CONFIG
 * names) merged over the defaults; `-c stage=NAME` picks the stage.
 */
import { existsSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { buildConfig, CONFIG_FILE, mergeConfig, readConfigFile } from '../shared/config/load.ts';
import { buildRelengApp } from './build.ts';

const app = new App();
const file = process.env.RELENG_CONFIG ?? (existsSync(CONFIG_FILE) ? CONFIG_FILE : undefined);
const stage: unknown = app.node.tryGetContext('stage');
const overrides = mergeConfig(file ? readConfigFile(file) : {}, stage ? { stage } : {});
buildRelengApp({ app, config: buildConfig(overrides, file ?? 'defaults'), configOverrides: overrides });
