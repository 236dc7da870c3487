// desiredState: model + Secret values → every child manifest. The one path
// from a relay to its children, shared by the reconciler (real Secret values,
// random generated ones) and `render` (no cluster: placeholders). Pure.
import type { KubeObject } from '../object.js';
import { secretsChecksum, type SecretValue } from './hash.js';
import { desiredChildren, usedSecretRefs } from './index.js';
import type { RelayModel } from './model.js';
import { generatedSecretValues, type RandomSecret } from './secret.js';

/** SecretInputs is what the relay's Secrets hold now, and where missing generated values come from. */
export interface SecretInputs {
  /** Values of the user's Secret keys the pods read (value undefined when unknown). */
  referenced: readonly SecretValue[];
  /** Decoded data of <name>-generated, when it exists; its values are kept. */
  existingGenerated: Readonly<Record<string, string>> | undefined;
  /** Source of generated values not yet in existingGenerated. */
  random: RandomSecret;
}

/** userSecretRefs lists the Secret keys the pods read from the user's Secrets (not <name>-generated). */
export function userSecretRefs(m: RelayModel): { name: string; key: string }[] {
  return usedSecretRefs(m).filter((r) => r.name !== m.names.generatedSecret);
}

/** desiredState draws the generated Secret values, checksums every value the pods read and builds the children. */
export function desiredState(model: RelayModel, secrets: SecretInputs): KubeObject[] {
  const generated = generatedSecretValues(model, secrets.existingGenerated, secrets.random);
  const generatedValues = Object.entries(generated).map(([key, value]) => ({ name: model.names.generatedSecret, key, value }));
  return desiredChildren({ model, generated, secretsChecksum: secretsChecksum([...secrets.referenced, ...generatedValues]) });
}
