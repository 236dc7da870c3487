import { buildCrd } from './src/api/v1alpha1/crd.ts';
import YAML from 'yaml';
console.log(YAML.stringify(buildCrd()));
